"""A small fake of Slack's Web API on 127.0.0.1: records every call and answers like Slack.

Tests own one per test; the app reaches it through SLACK_API_URL. It also serves
`response_url`s (`/respond/<id>`) so `respond()` from listeners is recorded too.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.block_kit_rules import message_errors, view_errors


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    times: int = 1
    drop: bool = False
    keep: bool = False  # with `drop`: Slack acts on the call, then the connection drops before the answer
    channel: str | None = None  # only calls to this conversation (a DM as the fake names it: D…); None: any


@dataclass
class Refusal:
    """A call Slack would refuse for its blocks or view: the test that caused it fails at teardown."""

    method: str
    error: str
    errors: list[str]


# Methods whose `blocks` Slack checks, and those whose `view` it checks.
BLOCK_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral", "chat.scheduleMessage",
                           "response_url"})
VIEW_METHODS = frozenset({"views.open", "views.update", "views.publish", "views.push"})


def _decode_params(content_type: str, body: bytes, query: str) -> dict[str, Any]:
    params: dict[str, Any] = {k: v[0] for k, v in parse_qs(query).items()}
    if not body:
        return params
    if "application/json" in content_type:
        params.update(json.loads(body.decode("utf-8")))
    else:
        for key, values in parse_qs(body.decode("utf-8"), keep_blank_values=True).items():
            value = values[0]
            if key in ("blocks", "view", "metadata", "attachments") and value[:1] in "[{":
                value = json.loads(value)
            params[key] = value
    return params


class FakeSlack:
    """State and behaviour of the fake; the HTTP handler only decodes and delegates."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.responses: list[Call] = []  # what listeners sent to response_url
        self.users: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.faults: dict[str, list[Fault]] = {}
        # Calls refused for their blocks or view; the `fake_slack` fixture fails a test that leaves any.
        self.refusals: list[Refusal] = []
        self.bot_user_id = "UBOT"
        self.team_id = "T0001"
        self.socket_mode_url: str | None = None  # what apps.connections.open hands out
        # Seconds to think before answering a method, or "response_url" (a slow or distant Slack).
        self.delays: dict[str, float] = {}
        # What `Call.at` and rate limits read; a test pacing the sweep on a fake clock gives it the same one.
        self.clock: Callable[[], float] = time.monotonic
        # Seconds Slack's wall clock runs ahead of this host's (negative: behind); message ts carry it.
        self.skew = 0.0
        # Crash harness: SIGKILL `kill_pid` at its `kill_at`-th chat.postMessage, at `kill_mode`:
        # "unseen" (before Slack keeps it), "kept" (kept, never answered) or "answered" (right after answering).
        self.kill_pid: int | None = None
        self.kill_at = 0
        self.kill_mode = "kept"
        self._posts = 0
        self._kill_after_answer = False
        self._lock = threading.Lock()
        self._last_ts = 0.0
        self._server: ThreadingHTTPServer | None = None
        # External uploads: file id → what getUploadURLExternal was told and the bytes posted since; files
        # shared by completeUploadExternal, in order (each with its channel).
        self.uploads: dict[str, dict[str, Any]] = {}
        self.shared_files: list[dict[str, Any]] = []
        self._thread: threading.Thread | None = None

    # ---- set-up -------------------------------------------------------------------
    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        *,
        tz: str | None = "UTC",
        is_admin: bool = False,
        is_owner: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> None:
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": (name or user_id).lower(),
            "real_name": name or user_id,
            "deleted": deleted,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_bot": is_bot,
            "profile": {"display_name": name or user_id, "real_name": name or user_id},
        }
        if tz is not None:
            user["tz"] = tz
        self.users[user_id] = user

    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        drop: bool = False,
        keep: bool = False,
        channel: str | None = None,
    ) -> None:
        """Make the next `times` calls of `method` fail: HTTP `status`, Slack `error`, or a dropped socket.

        With `drop` and `keep`, Slack acts on the call (a message is kept) before the socket drops. With
        `channel`, only calls to that conversation fail (a user id counts as their DM).
        """
        where = self.conversation({"channel": channel}) if channel else None
        with self._lock:
            self.faults.setdefault(method, []).append(
                Fault(status=status, error=error, retry_after=retry_after, times=times, drop=drop, keep=keep,
                      channel=where)
            )

    def rate_limit(self, channel: str, *, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next `times` chat.postMessage calls to `channel` as Slack's per-conversation limit does:
        HTTP 429, `ratelimited`, `Retry-After`; posts to other conversations go through."""
        self.fail("chat.postMessage", status=429, retry_after=retry_after, times=times, channel=channel)

    def take_refusals(self) -> list[Refusal]:
        """Return the refusals so far and forget them (a test that meant to provoke them)."""
        with self._lock:
            taken, self.refusals = self.refusals, []
        return taken

    # ---- reading what happened -----------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Return the params of every successful chat.postMessage, optionally to one channel."""
        with self._lock:
            return [
                m for msgs in self.messages.values() for m in msgs if channel is None or m["channel"] == channel
            ]

    def all_text(self) -> str:
        """Return everything ever sent to Slack, as one string, for leak checks."""
        with self._lock:
            return json.dumps([c.params for c in self.calls + self.responses], ensure_ascii=False)

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()
            self.responses.clear()

    # ---- serving ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/"

    @property
    def response_url(self) -> str:
        return self.url.replace("/api/", "/respond/")

    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802
                self._handle()

            def do_GET(self) -> None:  # noqa: N802
                self._handle()

            def _handle(self) -> None:
                parsed = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if parsed.path.startswith("/upload/"):  # a file's bytes, raw, to an upload_url we handed out
                    self._send(*fake.receive_upload(parsed.path.removeprefix("/upload/"), body))
                    return
                params = _decode_params(self.headers.get("Content-Type", ""), body, parsed.query)
                headers = {k.lower(): v for k, v in self.headers.items()}
                if parsed.path.startswith("/respond/"):
                    with fake._lock:
                        fake.responses.append(Call("response_url", params, headers, fake.clock()))
                    if fake.delays.get("response_url"):
                        time.sleep(fake.delays["response_url"])
                    self._send(200, fake.check_payload("response_url", params) or {"ok": True})
                    return
                method = parsed.path.removeprefix("/api/")
                status, payload, extra = fake.answer(method, params, headers)
                if status == -1:
                    self.close_connection = True
                    self.connection.close()
                    return
                self._send(status, payload, extra)
                if fake._kill_after_answer:
                    fake._kill_after_answer = False
                    self.wfile.flush()
                    fake._kill()

            def _send(self, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # ---- Slack's behaviour -----------------------------------------------------------
    @staticmethod
    def conversation(params: dict[str, Any]) -> str:
        """Return the conversation a call addresses: a user id means their DM, as the fake names it."""
        channel = str(params.get("channel", ""))
        return "D" + channel.lstrip("U") if channel.startswith("U") else channel

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        queue = self.faults.get(method)
        if not queue:
            return None
        conversation = self.conversation(params)
        for i, fault in enumerate(queue):
            if fault.channel is None or fault.channel == conversation:
                fault.times -= 1
                if fault.times <= 0:
                    queue.pop(i)
                return fault
        return None

    def check_payload(self, method: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """Return Slack's refusal of the call's blocks or view, or None when Block Kit's rules allow them.

        Messages are refused with `invalid_blocks`, views with `invalid_arguments`; both HTTP 200, with the
        problems in `errors` (messages) and `response_metadata.messages` as "[ERROR] …" lines.
        """
        if method in BLOCK_METHODS and params.get("blocks") is not None:
            blocks = params["blocks"]
            if isinstance(blocks, str):
                try:
                    blocks = json.loads(blocks)
                except ValueError:
                    blocks = None
            errors, error = message_errors(blocks), "invalid_blocks"
        elif method in VIEW_METHODS:
            view = params.get("view")
            if isinstance(view, str):
                try:
                    view = json.loads(view)
                except ValueError:
                    view = None
            errors, error = view_errors(view), "invalid_arguments"
        else:
            return None
        if not errors:
            return None
        with self._lock:
            self.refusals.append(Refusal(method, error, errors))
        payload: dict[str, Any] = {"ok": False, "error": error,
                                   "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]}}
        if error == "invalid_blocks":
            payload["errors"] = errors
        return payload

    def answer(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict, dict]:
        with self._lock:
            self.calls.append(Call(method, params, headers, self.clock()))
            fault = self._take_fault(method, params)
        if self.delays.get(method):
            time.sleep(self.delays[method])
        if fault is not None:
            if fault.drop:
                handler = getattr(self, "_" + method.replace(".", "_"), None)
                if fault.keep and handler is not None:
                    handler(params)
                return -1, {}, {}
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            if fault.status == 429:
                return 429, {"ok": False, "error": "ratelimited"}, extra
            if fault.status >= 500:
                return fault.status, {"ok": False, "error": "internal_error"}, extra
            return 200, {"ok": False, "error": fault.error or "unknown_error"}, extra
        token_prefix = "Bearer xapp-" if method == "apps.connections.open" else "Bearer xoxb-"
        if not headers.get("authorization", "").startswith(token_prefix):
            return 200, {"ok": False, "error": "not_authed"}, {}
        refusal = self.check_payload(method, params)
        if refusal is not None:
            return 200, refusal, {}
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {"ok": True}, {}
        if method == "chat.postMessage" and self.kill_pid is not None:
            with self._lock:
                self._posts += 1
                due = self._posts == self.kill_at
            if due and self.kill_mode == "unseen":
                self._kill()
                return -1, {}, {}
            if due and self.kill_mode == "kept":
                handler(params)
                self._kill()
                return -1, {}, {}
            if due:
                self._kill_after_answer = True
        return 200, handler(params), {}

    def _next_ts(self) -> str:
        """Return a message ts like Slack's: the real time, unique and increasing."""
        with self._lock:
            self._last_ts = max(time.time() + self.skew, self._last_ts + 0.000001)
            return f"{self._last_ts:.6f}"

    def _kill(self) -> None:
        if self.kill_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.kill_pid, signal.SIGKILL)

    def _auth_test(self, _params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "team_id": self.team_id, "team": "Test Team", "user_id": self.bot_user_id,
                "bot_id": "B0001", "url": "https://test.example/"}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(params.get("user")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = sorted(u for u in str(params.get("users", "")).split(",") if u)
        for user in users:
            if user not in self.users:
                return {"ok": False, "error": "user_not_found"}
            if self.users[user].get("deleted"):
                return {"ok": False, "error": "user_disabled"}
        prefix = "D" if len(users) == 1 else "G"
        return {"ok": True, "channel": {"id": prefix + "".join(u.lstrip("UW") for u in users)}}

    def _chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        channel = str(params.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel.startswith("U"):
            user = self.users.get(channel)
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            if user.get("dm_error"):  # e.g. a user who turned off DMs from apps
                return {"ok": False, "error": user["dm_error"]}
            channel = "D" + channel.lstrip("U")
        ts = self._next_ts()
        message = dict(params, channel=channel, ts=ts)
        with self._lock:
            self.messages.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": params.get("text"), "ts": ts}}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        oldest = float(params.get("oldest") or 0)
        with self._lock:
            found = [
                {"type": "message", "ts": m["ts"], "text": m.get("text"), "bot_id": "B0001",
                 **({"metadata": m["metadata"]} if m.get("metadata") else {})}
                for m in self.messages.get(channel, [])
                if float(m["ts"]) >= oldest
            ]
        # Newest first, `limit` a page (Slack's default 100), the rest behind an opaque cursor.
        found.reverse()
        start = int(str(params.get("cursor") or "page:0").removeprefix("page:"))
        end = start + int(params.get("limit") or 100)
        more = end < len(found)
        return {"ok": True, "messages": found[start:end], "has_more": more,
                "response_metadata": {"next_cursor": f"page:{end}" if more else ""}}

    def _apps_connections_open(self, _params: dict[str, Any]) -> dict[str, Any]:
        if not self.socket_mode_url:
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": self.socket_mode_url}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id"):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "view": {"id": "V0001", **(params.get("view") or {})}}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "view": {"id": "VHOME", **(params.get("view") or {})}}

    # Slack's external upload, three steps: files.getUploadURLExternal (filename and length in bytes) hands
    # out an upload_url and a file id; the bytes are POSTed to that URL; files.completeUploadExternal with
    # the file ids (and a channel) shares them. A file not uploaded, or of another length, is refused.
    def _files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        filename, length = str(params.get("filename") or ""), str(params.get("length") or "")
        if not filename or not length.isdigit() or int(length) < 1:
            return {"ok": False, "error": "invalid_arguments"}
        with self._lock:
            file_id = f"F{len(self.uploads) + 1:08d}"
            self.uploads[file_id] = {"filename": filename, "length": int(length), "data": None}
        return {"ok": True, "upload_url": self.url.replace("/api/", f"/upload/{file_id}"), "file_id": file_id}

    def receive_upload(self, file_id: str, data: bytes) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.calls.append(Call("upload", {"file_id": file_id, "length": len(data)}, {}, self.clock()))
            upload = self.uploads.get(file_id)
            if upload is None:
                return 404, {"ok": False, "error": "not_found"}
            upload["data"] = data
        return 200, {"ok": True}

    def _files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        try:
            files = json.loads(str(params.get("files") or ""))
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        channel = params.get("channel_id")
        if channel is not None and not str(channel).startswith(("C", "G", "D")):
            return {"ok": False, "error": "channel_not_found"}
        with self._lock:
            for item in files:
                upload = self.uploads.get(str(item.get("id")))
                if upload is None or upload["data"] is None or len(upload["data"]) != upload["length"]:
                    return {"ok": False, "error": "file_not_found" if upload is None else "file_upload_size_mismatch"}
            shared = [{"id": item["id"], "title": item.get("title") or self.uploads[item["id"]]["filename"],
                       "channel": channel, "initial_comment": params.get("initial_comment"),
                       **self.uploads[item["id"]]} for item in files]
            self.shared_files.extend(shared)
        return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in shared]}


class RateLimitedSlack(FakeSlack):
    """The fake, with chat.postMessage limited per conversation by a token bucket (429 + Retry-After).

    Slack allows about one message a second per conversation with short bursts: `burst` tokens at the
    start, refilled at `rate` a second up to `burst`; a post takes a token, and a post finding less than one
    is answered 429 with Retry-After = the whole seconds until the next token (at least 1), and not kept.
    """

    def __init__(self, rate: float = 1.0, burst: int = 1) -> None:
        super().__init__()
        self.rate = rate
        self.burst = burst
        self.buckets: dict[str, tuple[float, float]] = {}  # conversation -> (tokens, when they were counted)
        self.refused = 0
        self.accepted_at: list[float] = []

    def _wait_for_token(self, conversation: str) -> int:
        """Take a token from the conversation's bucket; return 0, or the whole seconds until one is there."""
        now = self.clock()
        with self._lock:
            tokens, counted = self.buckets.get(conversation, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - counted) * self.rate)
            if tokens >= 1:
                self.buckets[conversation] = (tokens - 1, now)
                return 0
            self.buckets[conversation] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.rate))

    def answer(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict, dict]:
        if method == "chat.postMessage":
            wait = self._wait_for_token(self.conversation(params))
            if wait:
                with self._lock:
                    self.calls.append(Call(method, params, headers, self.clock()))
                    self.refused += 1
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)}
        status, payload, extra = super().answer(method, params, headers)
        if method == "chat.postMessage" and status == 200 and payload.get("ok"):
            with self._lock:
                self.accepted_at.append(self.clock())
        return status, payload, extra
