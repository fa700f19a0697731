"""Events API: the App Home, and dropping events Slack delivers more than once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from bot.services import Services


class SkipRedeliveredEvents(Middleware):
    """Handle each `event_id` once: Slack retries, and several instances may each receive one."""

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]  # noqa: A002
                ) -> BoltResponse | None:
        body = req.body
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not req.context["services"].events.is_first_delivery(str(event_id)):
            return BoltResponse(status=200, body="")
        return next()


def handle_app_home_opened(event: dict[str, Any], services: Services, after_ack: Callable[..., None]) -> None:
    if event.get("tab", "home") != "home":
        return
    # Bolt acknowledges an event when its listener returns; publishing waits for that.
    after_ack(services.home.publish_home, user_id=event["user"])


def register(app: App) -> None:
    app.middleware(SkipRedeliveredEvents())
    app.event("app_home_opened")(handle_app_home_opened)
