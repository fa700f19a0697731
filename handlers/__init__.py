"""Bolt listeners, one module per surface. `register` installs them all on an App."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse

from bot.services import Services
from handlers import actions, agreement, commands, events, views

logger = logging.getLogger(__name__)


def register(app: App, *, services: Services) -> None:
    """Install the listeners on `app`, with `services` injectable into each of them."""

    @app.middleware
    def inject_services(
        request: BoltRequest, context: dict[str, Any], next: Callable[[], BoltResponse]  # noqa: A002
    ) -> BoltResponse:
        context["services"] = services
        started = time.perf_counter()
        response = next()
        logger.info(
            "slack request handled kind=%s user=%s status=%s ms=%.1f",
            _describe(request.body),
            context.get("user_id"),
            getattr(response, "status", "acked"),
            (time.perf_counter() - started) * 1000,
        )
        return response

    @app.error
    def handle_unexpected_error(error: Exception, body: dict[str, Any], respond: Any, logger: logging.Logger) -> None:
        logger.exception("unhandled error in a listener: %s", type(error).__name__, exc_info=error)
        if body.get("response_url"):
            respond(text="Sorry, something went wrong on our side. Please try again in a minute.",
                    response_type="ephemeral", replace_original=False)

    commands.register(app)
    agreement.register(app)
    actions.register(app)
    views.register(app)
    events.register(app)


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
