"""Bolt listeners, one module per surface. `register` installs them all on an App."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse, Respond
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.middleware import Middleware

from bot.metrics import ACK_SECONDS
from bot.services import Services
from handlers import actions, agreement, commands, events, matching, outcomes, views
from handlers.after_ack import AfterAck, tell_about_unexpected_error

logger = logging.getLogger(__name__)


class ListenerTools(Middleware):
    """Put `services` and the request's `after_ack` into Bolt's context, where listeners ask for them by name.

    A Middleware subclass rather than a function: Bolt builds no keyword arguments for it on every request.
    """

    def __init__(self, services: Services, after_ack: AfterAck) -> None:
        self.services = services
        self.after_ack = after_ack

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]  # noqa: A002
                ) -> BoltResponse | None:
        context = req.context
        claim_once = context.get("claim_once")  # HTTP mode: False for a replay of a request already handled
        if claim_once is not None and req.body.get("type") == "view_submission" and not claim_once():
            return BoltResponse(status=200, body="")  # its listener saves before answering: claim first
        context["services"] = self.services
        context["after_ack"] = self.after_ack.for_request(req.body, context.respond,
                                                          request_id=context.get("request_id"), claim=claim_once)
        started = time.perf_counter()
        response = next()
        body = req.body
        ACK_SECONDS.labels(kind="command" if "command" in body else str(body.get("type", "unknown"))[:40]).observe(
            time.perf_counter() - started)
        if logger.isEnabledFor(logging.INFO):  # describing the request costs more than the skipped line
            logger.info(
                "slack request acknowledged kind=%s user=%s status=%s ms=%.1f",
                _describe(req.body),
                context.get("user_id"),
                getattr(response, "status", "acked"),
                (time.perf_counter() - started) * 1000,
            )
        return response


def register(app: App, *, services: Services, after_ack: AfterAck) -> None:
    """Install the listeners on `app`, with `services` and a per-request `after_ack` injectable into each."""
    app.middleware(ListenerTools(services, after_ack))

    @app.error
    def handle_unexpected_error(error: Exception, body: dict[str, Any], respond: Respond | None,
                                context: BoltContext) -> BoltResponse | None:
        if isinstance(error, BoltUnhandledRequestError):
            logger.warning("no listener for %s (request %s)", _describe(body), context.get("request_id") or "-")
            # Acknowledged all the same: Slack would retry an event answered 404 and mark a button failed.
            return BoltResponse(status=200, body="")
        tell_about_unexpected_error(error, body, respond, request_id=context.get("request_id"))
        return None

    # Bolt tries listeners in this order and builds every keyword argument for each one it tries, so the
    # requests that come most (the command, then the prompt buttons) are matched first.
    commands.register(app)
    actions.register(app)
    agreement.register(app)
    views.register(app)
    events.register(app)
    matching.register(app)
    outcomes.register(app)


def _describe(body: dict[str, Any]) -> str:
    """Name a request for the log without any of its user text."""
    if "command" in body:
        return f"command:{body['command']}"
    if body.get("type") == "event_callback":
        return f"event:{body.get('event', {}).get('type')}"
    if body.get("type") == "block_actions":
        return "action:" + ",".join(a.get("action_id", "?") for a in body.get("actions", []))
    if body.get("type") in ("view_submission", "view_closed"):
        return f"{body['type']}:{body.get('view', {}).get('callback_id')}"
    return str(body.get("type", "unknown"))
