"""Correctly signed Slack requests (slash commands, interactions, events) for the real Bolt App."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from slack_bolt import App, BoltRequest, BoltResponse

from tests.block_kit_rules import input_block_ids, message_errors, view_errors

if TYPE_CHECKING:
    from tests.fake_slack import FakeSlack

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

    def __init__(self, app: App, response_url: str, *, fake: FakeSlack | None = None) -> None:
        self.app = app
        self.response_url = response_url
        self.fake = fake  # where the views that submissions answer were opened

    def _dispatch(self, body: str, content_type: str = "application/x-www-form-urlencoded",
                  extra_headers: dict[str, list[str]] | None = None) -> BoltResponse:
        headers = signed_headers(body, content_type=content_type)
        headers.update(extra_headers or {})
        response = self.app.dispatch(BoltRequest(body=body, headers=headers))
        check_ack_blocks(response)
        return response

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

    def press(self, message: dict[str, Any], label: str, *, user_id: str) -> BoltResponse:
        """Press the button labelled `label` in a message the app posted, as Slack sends it: that button's own
        action id, value and block id, and the message it sits in."""
        for block in message.get("blocks") or []:
            for element in block.get("elements") or [] if block.get("type") == "actions" else []:
                if element.get("type") == "button" and element["text"]["text"] == label:
                    action = {"type": "button", "action_id": element["action_id"], "block_id": block["block_id"],
                              "text": element["text"], "action_ts": f"{time.time():.6f}"}
                    if "value" in element:
                        action["value"] = element["value"]
                    channel = str(message.get("channel", ""))
                    return self.interaction({
                        "type": "block_actions", "user": {"id": user_id, "team_id": TEAM_ID},
                        "actions": [action], "response_url": f"{self.response_url}{next(_counter)}",
                        "channel": {"id": channel},
                        "container": {"type": "message", "channel_id": channel, "message_ts": message.get("ts")},
                        "message": {"ts": message.get("ts"), "text": message.get("text", ""),
                                    "blocks": message.get("blocks") or []},
                    })
        raise AssertionError(f"no button {label!r} in the message: {message.get('text')!r}")

    def view_submission(self, *, user_id: str, callback_id: str, values: dict[str, dict[str, Any]],
                        private_metadata: str = "") -> BoltResponse:
        """Submit a modal; fail as Slack would if the answer is a view Slack refuses, or names in
        `response_action: errors` a block that is not an input block of the submitted view."""
        view = self._opened_view(callback_id)
        payload = {
            "type": "view_submission",
            "user": {"id": user_id, "team_id": TEAM_ID},
            "view": {"id": "V0001", "type": "modal", "callback_id": callback_id,
                     "private_metadata": private_metadata, "state": {"values": values}},
        }
        if view is not None:
            payload["view"] = {**view, **payload["view"]}
        response = self.interaction(payload)
        check_view_answer(response, view, values)
        return response

    def _opened_view(self, callback_id: str) -> dict[str, Any] | None:
        """Return the latest view with `callback_id` the app opened, pushed or updated, if any."""
        if self.fake is None:
            return None
        for call in reversed(self.fake.calls):
            view = call.params.get("view")
            if call.method in ("views.open", "views.push", "views.update") and isinstance(view, dict) \
                    and view.get("callback_id") == callback_id:
                return view
        return None

    def event(self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None
              ) -> BoltResponse:
        body = json.dumps({
            "token": "legacy-unused", "team_id": TEAM_ID, "api_app_id": "A0001", "type": "event_callback",
            "event_id": event_id or f"Ev{next(_counter):08d}", "event_time": int(time.time()), "event": event,
        })
        extra = {"x-slack-retry-num": [str(retry_num)], "x-slack-retry-reason": ["http_timeout"]} \
            if retry_num else None
        return self._dispatch(body, content_type="application/json", extra_headers=extra)


def check_ack_blocks(response: BoltResponse) -> None:
    """Refuse, as Slack does, an acknowledgement (e.g. a slash command's reply) whose blocks break Block Kit."""
    if response.status != 200 or not response.body.startswith("{"):
        return
    answer = json.loads(response.body)
    if answer.get("blocks") is not None:
        problems = message_errors(answer["blocks"])
        if problems:
            raise AssertionError(f"Slack would refuse the acknowledgement's blocks: {problems}")


def check_view_answer(response: BoltResponse, view: dict[str, Any] | None,
                      values: dict[str, dict[str, Any]]) -> None:
    """Refuse, as Slack does, a view_submission answer it would not accept.

    `errors` may name only input blocks of the view (those of `view` when known; otherwise those in the
    submitted state, which holds every input block of the view); an `update` or `push` view must be valid.
    """
    if response.status != 200 or not response.body:
        return
    try:
        answer = json.loads(response.body)
    except ValueError:
        return
    action = answer.get("response_action")
    if action == "errors":
        known = input_block_ids(view) if view is not None else set(values)
        unknown = sorted(set(answer.get("errors") or {}) - known)
        if unknown or not answer.get("errors"):
            raise AssertionError(f"Slack would refuse response_action errors naming {unknown or 'nothing'}: "
                                 f"the view's input blocks are {sorted(known)}")
    elif action in ("update", "push"):
        problems = view_errors(answer.get("view"))
        if problems:
            raise AssertionError(f"Slack would refuse the {action} view: {problems}")
