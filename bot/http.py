"""HTTP mode: Slack's requests on POST /slack/events and a health check, served by waitress."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt import App, BoltRequest
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.db import database_status
from bot.inbound import (
    MAX_BODY_BYTES,
    SIGNATURE_MAX_AGE_SECONDS,
    Refused,
    Signed,
    check_shape,
    declared_length,
    read_body,
    verify,
)
from bot.metrics import metrics_response
from bot.store import once as seen

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

logger = logging.getLogger(__name__)

# Request threads. Answering Slack is pure Python under one GIL (the work after the answer runs on the
# reply pool), so threads beyond a few add no throughput, only contenders for the GIL and memory (measured:
# bench/README.md, "HTTP threads").
REQUEST_THREADS = 4
# How often one instance forgets the signatures too old to be replayed: rarely enough to cost nothing per request.
PRUNE_EVERY_SECONDS = 60


class ReplayGuard:
    """Remembers each signed request in the database, so a replay is ignored by every instance."""

    def __init__(self, engine: Engine) -> None:
        # Autocommit: the claim is one statement and one round trip, with no transaction around it.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._lock = threading.Lock()
        self._next_prune = 0.0

    def is_first(self, signature: str, timestamp: int) -> bool:
        signed_at = datetime.fromtimestamp(timestamp, UTC)
        with self._engine.connect() as connection:
            first = seen.claim_once(seen.REQUEST, signature, signed_at, on=connection)
            if self._prune_due():
                too_old = datetime.now(UTC) - timedelta(seconds=SIGNATURE_MAX_AGE_SECONDS)
                seen.forget_seen(seen.REQUEST, too_old, on=connection)
        return first

    def claim(self, signed: Signed, request_id: str) -> Callable[[], bool]:
        """Return the request's claim, made by the listener's middleware or work after the acknowledgement,
        so the acknowledgement itself waits for no database write. True: act; False: a replay, ignore it."""
        outcome: list[bool] = []
        lock = threading.Lock()

        def claim_once() -> bool:
            with lock:
                if not outcome:
                    try:
                        outcome.append(self.is_first(signed.signature, signed.timestamp))
                    except SQLAlchemyError as error:
                        # Nothing could be saved anyway; the work that follows fails and is reported.
                        logger.error("could not check a request for replay: %s (request %s)", type(error).__name__,
                                     request_id)
                        outcome.append(True)
                    if not outcome[0]:
                        logger.warning("ignored a replayed request to /slack/events (request %s)", request_id)
                return outcome[0]

        return claim_once

    def _prune_due(self) -> bool:
        now = time.monotonic()
        with self._lock:
            if now < self._next_prune:
                return False
            self._next_prune = now + PRUNE_EVERY_SECONDS
            return True


class SlackEvents:
    """POST /slack/events: refuse what is too large, unsigned, replayed or malformed; hand the rest to Bolt."""

    def __init__(self, app: App, signing_secret: str, replays: ReplayGuard) -> None:
        self.app = app
        self.secret = signing_secret
        self.replays = replays

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request_id = secrets.token_hex(4)
        try:
            body = read_body(environ["wsgi.input"], declared_length(environ))
            signed = verify(body, environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"),
                            environ.get("HTTP_X_SLACK_SIGNATURE"), secret=self.secret, now=time.time())
            content_type = environ.get("CONTENT_TYPE")
            check_shape(signed.body, content_type)
        except Refused as refusal:
            logger.warning("refused a request to /slack/events with %s: %s (request %s)", refusal.status,
                           refusal.reason, request_id)
            return _answer(start_response, refusal.status, _REASONS[refusal.status].encode(), _TEXT)
        headers: dict[str, str] = {"content-type": content_type or "",
                                   "x-slack-request-timestamp": str(signed.timestamp),
                                   "x-slack-signature": signed.signature}
        for key in ("HTTP_X_SLACK_RETRY_NUM", "HTTP_X_SLACK_RETRY_REASON"):
            if key in environ:
                headers[key[5:].lower().replace("_", "-")] = environ[key]
        response = self.app.dispatch(BoltRequest(body=signed.body, query=environ.get("QUERY_STRING", ""),
                                                 headers=headers,
                                                 context={"request_id": request_id,
                                                          "claim_once": self.replays.claim(signed, request_id)}))
        payload = response.body.encode() if isinstance(response.body, str) else response.body
        status_line = f"{response.status} {_REASONS.get(response.status, 'Status')}"
        out = [(name, value) for name, values in response.headers.items() for value in values
               if name.lower() != "content-length"]
        start_response(status_line, [*out, ("Content-Length", str(len(payload)))])
        return [payload]


_TEXT = "text/plain; charset=utf-8"
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
            413: "Content Too Large", 500: "Internal Server Error", 503: "Service Unavailable"}


def _answer(start_response: Callable[..., Any], status: int, body: bytes, content_type: str) -> list[bytes]:
    start_response(f"{status} {_REASONS[status]}", [("Content-Type", content_type),
                                                    ("Content-Length", str(len(body)))])
    return [body]


def build_wsgi_app(app: App, engine: Engine, *, signing_secret: str) -> WsgiApp:
    """Return the WSGI app: Slack's requests on /slack/events, `/healthz` for load balancers, `/metrics`."""
    events = SlackEvents(app, signing_secret, ReplayGuard(engine))

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if path == "/healthz" and method == "GET":
            database = database_status(engine)
            body = {"ok": database == "ok", "database": database}
            return _answer(start_response, 200 if database == "ok" else 503, json.dumps(body).encode(),
                           "application/json")
        if path == "/metrics" and method == "GET":
            return metrics_response(start_response)
        if path == "/slack/events":
            if method != "POST":
                return _answer(start_response, 405, b"POST only", _TEXT)
            return events(environ, start_response)
        return _answer(start_response, 404, b"Not Found", _TEXT)

    return wsgi


def serve(app: App, engine: Engine, port: int, *, signing_secret: str, threads: int = REQUEST_THREADS) -> None:
    """Serve until interrupted; waitress handles requests on a thread pool."""
    from waitress import serve as waitress_serve

    # waitress refuses a declared or chunked body over the limit itself, with a 413, before reading it.
    waitress_serve(build_wsgi_app(app, engine, signing_secret=signing_secret), host="0.0.0.0", port=port,
                   threads=threads, ident="mentorbot", max_request_body_size=MAX_BODY_BYTES)
