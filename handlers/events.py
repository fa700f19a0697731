"""Events API: the App Home, and dropping events Slack delivers more than once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse

from bot.services import Services


def skip_redelivered_events(body: dict[str, Any], context: dict[str, Any],
                            next: Callable[[], BoltResponse]) -> BoltResponse:  # noqa: A002
    """Handle each `event_id` once: Slack retries, and several instances may each receive one."""
    event_id = body.get("event_id") if body.get("type") == "event_callback" else None
    if event_id and not context["services"].home.is_first_delivery(str(event_id)):
        return BoltResponse(status=200, body="")
    return next()


def handle_app_home_opened(event: dict[str, Any], services: Services) -> None:
    if event.get("tab", "home") != "home":
        return
    services.checkins.publish_home(user_id=event["user"])


def register(app: App) -> None:
    app.middleware(skip_redelivered_events)
    app.event("app_home_opened")(handle_app_home_opened)
