"""The composition root: the only module that wires settings, storage, Slack and the scheduler."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import Engine

import handlers
from bot.config import Settings
from bot.crypto import NoteCipher, key_file_for, load_or_create_key_file
from bot.db import make_engine
from bot.gateway import SlackGateway, make_web_client
from bot.services import ServiceContext, Services
from handlers.after_ack import AfterAck
from handlers.replies import refuse

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    client: WebClient
    services: Services
    app: App
    after_ack: AfterAck


def build_cipher(settings: Settings) -> NoteCipher:
    """Return the note cipher; with SQLite and no key set, a key file beside the database."""
    if settings.encryption_keys:
        return NoteCipher(settings.encryption_keys)
    path = key_file_for(settings.database_url)
    key, created = load_or_create_key_file(path)
    if created:
        logger.warning("Created encryption key file %s (mode 0600): back it up with the database.", path)
    return NoteCipher([key])


def build_services(settings: Settings, *, engine: Engine | None = None, client: WebClient | None = None) -> Services:
    engine = engine or make_engine(settings.database_url, pool_size=settings.db_pool_size)
    client = client or make_web_client(settings.slack_bot_token, settings.slack_api_url)
    ctx = ServiceContext(engine=engine, gateway=SlackGateway(client), settings=settings, cipher=build_cipher(settings))
    return Services(ctx)


def build_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    process_before_response: bool = False,
) -> Runtime:
    """Wire everything for one bot process; nothing here talks to Slack yet.

    Args:
        process_before_response: finish each listener's work before answering Slack (tests); otherwise
            the work after `ack()` runs on the reply pool once the answer is on its way.
    """
    services = build_services(settings, engine=engine)
    client = services.ctx.gateway.client
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        # We check the token in `mentorbot check` and at run start, not on every construction.
        token_verification_enabled=False,
        request_verification_enabled=not settings.socket_mode,
        # Listeners run in the request thread and return right after ack(): the answer leaves at once,
        # with no hop through Bolt's listener pool (where it queued behind earlier listeners' work).
        # The work after ack() goes to `after_ack`.
        process_before_response=True,
        ignoring_self_events_enabled=True,
        # A request no listener takes goes to the error handler, which logs it in one line (Bolt's own
        # warning is a multi-line code suggestion).
        raise_error_for_unhandled_request=True,
    )
    after_ack = AfterAck(inline=process_before_response, refuse=partial(refuse, services.notifier))
    handlers.register(app, services=services, after_ack=after_ack)
    return Runtime(settings=settings, engine=services.ctx.engine, client=client, services=services, app=app,
                   after_ack=after_ack)
