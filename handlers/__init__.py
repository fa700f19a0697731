"""Bolt listeners, one module per surface. `register` installs them all on an App."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse

from bot.services import Services
from handlers import commands

logger = logging.getLogger(__name__)


def register(app: App, *, services: Services) -> None:
    """Install the listeners on `app`, with `services` injectable into each of them."""

    @app.middleware
    def inject_services(context: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse:  # noqa: A002
        context["services"] = services
        return next()

    @app.error
    def handle_unexpected_error(error: Exception, body: dict[str, Any], respond: Any, logger: logging.Logger) -> None:
        logger.exception("unhandled error in a listener: %s", type(error).__name__, exc_info=error)
        if body.get("response_url"):
            respond(text="Sorry, something went wrong on our side. Please try again in a minute.",
                    response_type="ephemeral", replace_original=False)

    commands.register(app)
