"""The one way out to Slack's Web API: messages, DMs, views and user lookups."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.metrics import SLACK_CALLS, slack_outcome

logger = logging.getLogger(__name__)

# Errors that will not go away by retrying: the recipient or channel is gone or refuses us.
UNDELIVERABLE_ERRORS = frozenset(
    {
        "user_not_found",
        "user_disabled",
        "account_inactive_user",
        "channel_not_found",
        "is_archived",
        "cannot_dm_bot",
        "not_in_channel",
        "messages_tab_disabled",
        "restricted_action",
        "user_is_restricted",
        "cant_invite",
        "user_not_visible",
        "no_permission",
    }
)
# The workspace itself has cut us off: stop all delivery until an operator acts.
AUTH_ERRORS = frozenset({"invalid_auth", "account_inactive", "token_revoked", "not_authed", "token_expired"})


class SlackCallFailed(Exception):
    """A Web API call failed after the client's own retries; `kind` says what to do about it."""

    def __init__(self, method: str, code: str, *, unsure: bool = False, retry_after: float | None = None) -> None:
        self.method = method
        self.code = code
        # True when Slack may have acted on the call anyway (dropped connection, timeout, 5xx).
        self.unsure = unsure
        # With code "ratelimited" (HTTP 429): the seconds Slack asked us to wait, when it said.
        self.retry_after = retry_after
        if code in AUTH_ERRORS:
            self.kind = "auth"
        elif code in UNDELIVERABLE_ERRORS:
            self.kind = "undeliverable"
        else:
            self.kind = "retry"
        super().__init__(f"{method} failed: {code}")


@dataclass(frozen=True)
class UserInfo:
    user_id: str
    display_name: str
    tz: str | None
    is_admin: bool
    is_owner: bool
    is_bot: bool
    is_deleted: bool


class CountedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Waits out a 429 like slack-sdk's own, and counts it: a 429 waited out never reaches `_call`."""

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        retry = super()._can_retry(state=state, request=request, response=response, error=error)
        if retry:
            SLACK_CALLS.labels(method=request.url.rsplit("/", 1)[-1].split("?")[0], outcome="ratelimited").inc()
        return retry


def make_web_client(token: str, base_url: str, *, rate_limit_retries: int = 3) -> WebClient:
    """Create a WebClient that waits out 429s and retries dropped connections and 5xx."""
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=10,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            CountedRateLimitRetryHandler(max_retry_count=rate_limit_retries),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def _retry_after(headers: dict[str, Any]) -> float | None:
    """Return the seconds of a 429's Retry-After header, or None when it is missing or unreadable."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                return None
    return None


class SlackGateway:
    def __init__(self, client: WebClient) -> None:
        self.client = client
        # For posts that must not be repeated blindly: a 429 is waited out (Slack did nothing), but after a
        # dropped connection or a 5xx Slack may already have the message, so the caller settles that doubt.
        self.once_client = WebClient(
            token=client.token, base_url=client.base_url, timeout=client.timeout,
            retry_handlers=[h for h in client.retry_handlers if isinstance(h, RateLimitErrorRetryHandler)],
        )
        # For posts whose caller paces itself: a 429 comes straight back (with Retry-After), so the caller
        # rests that one conversation while others go on, instead of the whole process sleeping.
        self.paced_client = WebClient(token=client.token, base_url=client.base_url, timeout=client.timeout,
                                      retry_handlers=[])

    def _call(self, method: str, *, form: bool = False, once: bool = False, paced: bool = False,
              **params: Any) -> dict[str, Any]:
        try:
            data = self._call_once(method, form=form, once=once, paced=paced, **params)
        except SlackCallFailed as failure:
            SLACK_CALLS.labels(method=method, outcome=slack_outcome(failure.code)).inc()
            raise
        SLACK_CALLS.labels(method=method, outcome="ok").inc()
        return data

    def _call_once(self, method: str, *, form: bool, once: bool, paced: bool, **params: Any) -> dict[str, Any]:
        # Slack's read methods take form fields only; the write methods take JSON (nested blocks).
        client = self.paced_client if paced else self.once_client if once else self.client
        try:
            if form:
                response = client.api_call(method, params={k: str(v) for k, v in params.items()})
            else:
                response = client.api_call(method, json=params)
        except SlackApiError as error:
            status = error.response.status_code
            if status == 429:
                raise SlackCallFailed(method, "ratelimited", retry_after=_retry_after(error.response.headers)
                                      ) from error
            code = str(error.response.get("error") or f"http_{status}")
            raise SlackCallFailed(method, code, unsure=status >= 500) from error
        except (SlackRequestError, OSError) as error:
            raise SlackCallFailed(method, f"connection: {type(error).__name__}", unsure=True) from error
        return dict(response.data) if isinstance(response.data, dict) else {}

    def auth_test(self) -> dict[str, Any]:
        return self._call("auth.test", form=True)

    def user_info(self, user_id: str) -> UserInfo:
        try:
            response = self.client.users_info(user=user_id)
        except SlackApiError as error:
            code = "ratelimited" if error.response.status_code == 429 else str(error.response.get("error"))
            SLACK_CALLS.labels(method="users.info", outcome=code).inc()
            raise SlackCallFailed("users.info", str(error.response.get("error"))) from error
        except (SlackRequestError, OSError) as error:
            SLACK_CALLS.labels(method="users.info", outcome="connection").inc()
            raise SlackCallFailed("users.info", f"connection: {type(error).__name__}") from error
        SLACK_CALLS.labels(method="users.info", outcome="ok").inc()
        user = response["user"]
        profile = user.get("profile") or {}
        return UserInfo(
            user_id=user_id,
            display_name=profile.get("display_name") or user.get("real_name") or user.get("name") or user_id,
            tz=user.get("tz"),
            is_admin=bool(user.get("is_admin")),
            is_owner=bool(user.get("is_owner")) or bool(user.get("is_primary_owner")),
            is_bot=bool(user.get("is_bot")) or user_id == "USLACKBOT",
            is_deleted=bool(user.get("deleted")),
        )

    def open_conversation(self, user_ids: list[str]) -> str:
        """Open (or find) the DM or group DM with `user_ids` and the bot; return its channel id."""
        data = self._call("conversations.open", form=True, users=",".join(user_ids))
        return str(data["channel"]["id"])

    def post_message(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        *,
        metadata: dict[str, Any] | None = None,
        once: bool = False,
        paced: bool = False,
    ) -> str:
        """Post a message; return its ts.

        With `once`, no resend after a doubtful failure (`unsure`); with `paced`, not even a 429 is waited
        out: it raises SlackCallFailed("ratelimited") with `retry_after`, for the caller to schedule.
        """
        params: dict[str, Any] = {"channel": channel, "text": text, "unfurl_links": False}
        if blocks:
            params["blocks"] = blocks
        if metadata:
            params["metadata"] = metadata
        data = self._call("chat.postMessage", once=once, paced=paced, **params)
        return str(data.get("ts", ""))

    def update_message(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        self._call("chat.update", channel=channel, ts=ts, text=text, blocks=blocks or [])

    def post_ephemeral(self, channel: str, user: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        params: dict[str, Any] = {"channel": channel, "user": user, "text": text}
        if blocks:
            params["blocks"] = blocks
        self._call("chat.postEphemeral", **params)

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        self._call("views.open", trigger_id=trigger_id, view=view)

    def publish_home(self, user_id: str, view: dict[str, Any]) -> None:
        self._call("views.publish", user_id=user_id, view=view)

    def upload_file(self, channel: str, content: bytes, *, filename: str, title: str, alt_text: str) -> str:
        """Share a file in `channel` (Slack's external upload: get a URL, send the bytes, complete); return
        the file's id."""
        try:
            response = self.once_client.files_upload_v2(channel=channel, content=content, filename=filename,
                                                        title=title, alt_txt=alt_text)
        except SlackApiError as error:
            method = str(error.response.api_url).rsplit("/", 1)[-1] if error.response else "files.upload"
            raise SlackCallFailed(method, str(error.response.get("error") or "upload_failed")) from error
        except (SlackRequestError, OSError) as error:
            raise SlackCallFailed("files.upload", f"connection: {type(error).__name__}") from error
        return str((response.get("file") or {}).get("id", ""))

    def recent_messages(self, channel: str, oldest: str, limit: int = 100) -> list[dict[str, Any]]:
        """Return the bot-visible messages in `channel` since `oldest`, with their metadata (every page)."""
        messages: list[dict[str, Any]] = []
        cursor = ""
        while True:
            page = {"cursor": cursor} if cursor else {}
            data = self._call("conversations.history", form=True, channel=channel, oldest=oldest, limit=limit,
                              include_all_metadata="true", **page)
            messages.extend(data.get("messages", []))
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or ""
            if not data.get("has_more") or not cursor:
                return messages
