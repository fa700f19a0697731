"""A raw Slack request checked before Bolt sees it: its size, then its signature, then its shape.

Bolt reads and parses the whole body before it checks the signature, so an unsigned request could make the
bot build hundreds of MiB, and a malformed signed one reached the listeners and failed there with a
traceback. Here the body is read at most up to the limit, the signature is checked on those raw bytes,
and only then is anything decoded or parsed; whatever Bolt would fail on is refused with a 400.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import parse_qsl

# The largest body we read. Slack's largest requests to us are view submissions, which echo the whole view:
# our largest (a check-in with 90 goals) with every text at its limit in 4-byte characters, JSON-escaped and
# percent-encoded, comes to under 0.9 MiB. 2 MiB is twice that, and all an unsigned sender can make us hold.
MAX_BODY_BYTES = 2 * 1024 * 1024
# Slack signs the timestamp with the body; a request signed more than this long ago (or ahead) is refused.
SIGNATURE_MAX_AGE_SECONDS = 5 * 60

INTERACTIVE_TYPES = frozenset({"block_actions", "view_submission", "view_closed", "shortcut", "message_action",
                               "block_suggestion"})


class Refused(Exception):
    """A request we answer with `status` and no further work; `reason` is for the log, never the sender."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Signed:
    """A request whose signature and timestamp held."""

    body: str
    signature: str
    timestamp: int


def declared_length(environ: dict[str, Any]) -> int | None:
    """Return the Content-Length, None when absent (chunked); refuse one that is malformed or too large."""
    text = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise Refused(400, "malformed Content-Length")
    length = int(text)
    if length > MAX_BODY_BYTES:
        raise Refused(413, f"body of {length} bytes is over the {MAX_BODY_BYTES}-byte limit")
    return length


def read_body(stream: BinaryIO, length: int | None) -> bytes:
    """Read the body, never more than the limit (a chunked body is read until one byte past it)."""
    if length is not None:
        return stream.read(length)
    body = stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise Refused(413, f"chunked body over the {MAX_BODY_BYTES}-byte limit")
    return body


def verify(body: bytes, timestamp: str | None, signature: str | None, *, secret: str, now: float) -> Signed:
    """Check Slack's v0 signature over the raw bytes and the timestamp's age; then decode the body."""
    if not timestamp or not signature:
        raise Refused(401, "no signature")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise Refused(401, "malformed signature timestamp")
    if abs(now - int(timestamp)) > SIGNATURE_MAX_AGE_SECONDS:
        raise Refused(401, "signature timestamp outside the 5-minute window")
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest("v0=" + digest, signature):
        raise Refused(401, "bad signature")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "body is not UTF-8") from None
    return Signed(body=text, signature=signature, timestamp=int(timestamp))


def check_shape(body: str, content_type: str | None) -> None:
    """Refuse a signed body that Bolt would fail on or could not route: each must be a Slack envelope."""
    # Bolt's own rule for telling a JSON body from a form.
    if content_type == "application/json" or body.startswith("{"):
        envelope = _json_object(body, "JSON body")
        if not isinstance(envelope.get("type"), str):
            raise Refused(400, "JSON body without a type")
        return
    if not body:
        raise Refused(400, "empty body")
    form = dict(parse_qsl(body, keep_blank_values=True))
    if "payload" in form:
        _check_interaction(_json_object(form["payload"], "payload"))
    elif not isinstance(form.get("command"), str) and "ssl_check" not in form:
        raise Refused(400, "form body that is neither a command nor an interaction")


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except RecursionError:  # the C parser's guard against nesting deeper than the interpreter allows
        raise Refused(400, f"{what} is nested too deep") from None
    except ValueError:
        raise Refused(400, f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise Refused(400, f"{what} is {type(value).__name__}, not an object")
    return value


def _check_interaction(payload: dict[str, Any]) -> None:
    """Refuse an interaction whose envelope the listeners cannot read: who pressed, what, on which view."""
    kind = payload.get("type")
    if kind not in INTERACTIVE_TYPES:
        raise Refused(400, f"interaction of unknown type {str(kind)[:40]!r}")
    user = payload.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        raise Refused(400, f"{kind} without a user id")
    if kind == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions or not all(
                isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
            raise Refused(400, "block_actions without readable actions")
    if kind in ("view_submission", "view_closed"):
        view = payload.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("callback_id"), str):
            raise Refused(400, f"{kind} without a view callback_id")
