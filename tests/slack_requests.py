"""Correctly signed Slack requests (slash commands, interactions, events) for the real Bolt App."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_bolt import App, BoltRequest, BoltResponse

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
TEAM_ID = "T0001"
_counter = itertools.count(1)


def signed_headers(body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None,
                   content_type: str = "application/x-www-form-urlencoded") -> dict[str, list[str]]:
    """Return headers carrying Slack's v0 signature of `body`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "content-type": [content_type],
        "x-slack-request-timestamp": [ts],
        "x-slack-signature": [f"v0={digest}"],
    }


def command_body(text: str, *, user_id: str, channel_id: str = "C0000GEN", response_url: str,
                 trigger_id: str | None = None) -> str:
    return urlencode({
        "token": "legacy-unused",
        "team_id": TEAM_ID,
        "team_domain": "test",
        "channel_id": channel_id,
        "channel_name": "general",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": "/mentoring",
        "text": text,
        "api_app_id": "A0001",
        "response_url": response_url,
        "trigger_id": trigger_id or f"trigger.{next(_counter)}",
    })


class SlackDriver:
    """Sends signed requests into the App through Bolt's own dispatch, as Slack would."""

    def __init__(self, app: App, response_url: str) -> None:
        self.app = app
        self.response_url = response_url

    def _dispatch(self, body: str, content_type: str = "application/x-www-form-urlencoded",
                  extra_headers: dict[str, list[str]] | None = None) -> BoltResponse:
        headers = signed_headers(body, content_type=content_type)
        headers.update(extra_headers or {})
        return self.app.dispatch(BoltRequest(body=body, headers=headers))

    def command(self, text: str, *, user_id: str, channel_id: str = "C0000GEN",
                trigger_id: str | None = None) -> BoltResponse:
        return self._dispatch(command_body(text, user_id=user_id, channel_id=channel_id,
                                           response_url=f"{self.response_url}{next(_counter)}",
                                           trigger_id=trigger_id))

    def interaction(self, payload: dict[str, Any]) -> BoltResponse:
        payload.setdefault("team", {"id": TEAM_ID, "domain": "test"})
        payload.setdefault("api_app_id", "A0001")
        payload.setdefault("token", "legacy-unused")
        payload.setdefault("trigger_id", f"trigger.{next(_counter)}")
        return self._dispatch(urlencode({"payload": json.dumps(payload)}))

    def block_action(self, *, user_id: str, action_id: str, value: str = "", block_id: str = "b",
                     channel_id: str | None = None, message_ts: str | None = None,
                     view: dict[str, Any] | None = None, selected_option: dict[str, Any] | None = None
                     ) -> BoltResponse:
        action: dict[str, Any] = {"type": "button", "action_id": action_id, "block_id": block_id,
                                  "action_ts": f"{time.time():.6f}"}
        if value:
            action["value"] = value
        if selected_option is not None:
            action = {**action, "type": "overflow", "selected_option": selected_option}
        payload: dict[str, Any] = {"type": "block_actions", "user": {"id": user_id, "team_id": TEAM_ID},
                                   "actions": [action], "response_url": f"{self.response_url}{next(_counter)}"}
        if view is not None:
            payload["view"] = view
            payload["container"] = {"type": "view", "view_id": view.get("id", "V0001")}
        if channel_id is not None:
            payload["channel"] = {"id": channel_id}
            payload["container"] = {"type": "message", "channel_id": channel_id, "message_ts": message_ts or "1.0"}
            payload["message"] = {"ts": message_ts or "1.0", "text": "", "blocks": []}
        return self.interaction(payload)

    def view_submission(self, *, user_id: str, callback_id: str, values: dict[str, dict[str, Any]],
                        private_metadata: str = "") -> BoltResponse:
        payload = {
            "type": "view_submission",
            "user": {"id": user_id, "team_id": TEAM_ID},
            "view": {"id": "V0001", "type": "modal", "callback_id": callback_id,
                     "private_metadata": private_metadata, "state": {"values": values}},
        }
        return self.interaction(payload)

    def event(self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None
              ) -> BoltResponse:
        body = json.dumps({
            "token": "legacy-unused", "team_id": TEAM_ID, "api_app_id": "A0001", "type": "event_callback",
            "event_id": event_id or f"Ev{next(_counter):08d}", "event_time": int(time.time()), "event": event,
        })
        extra = {"x-slack-retry-num": [str(retry_num)], "x-slack-retry-reason": ["http_timeout"]} \
            if retry_num else None
        return self._dispatch(body, content_type="application/json", extra_headers=extra)
