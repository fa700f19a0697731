"""Socket Mode: the connection to Slack, and the small HTTP server for `/healthz` and `/metrics` beside it."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.db import database_status
from bot.metrics import SLACK_CALLS, metrics_response

if TYPE_CHECKING:
    from slack_bolt import App
    from sqlalchemy import Engine

logger = logging.getLogger(__name__)

# What apps.connections.open answers when the app-level token is wrong, revoked or of the wrong kind.
REFUSED_CODES = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive",
                           "not_allowed_token_type"})
# A connection lost for less than this is being re-established (Slack asks clients to reconnect every
# few hours, and a reconnect takes a second or two); longer, and the orchestrator should restart us.
RECONNECT_GRACE_SECONDS = 60.0
# Envelopes handled at once. Each listener returns right after ack() (the rest runs on the reply pool),
# so the workers only parse, route and answer; see bench/README.md for how the number was chosen.
ENVELOPE_WORKERS = 10


class AppTokenRefused(Exception):
    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"Slack refused SLACK_APP_TOKEN ({code}). Create an app-level token with "
                         "connections:write on your Slack app's Basic Information page, put it in SLACK_APP_TOKEN, "
                         "then run `mentorbot check`.")


class SocketModeUnavailable(Exception):
    """The first connection could not be opened for a reason other than the token; the message is one line."""


def open_connection_url(app_token: str, api_url: str) -> str:
    """One apps.connections.open call: return the WebSocket URL, or raise AppTokenRefused."""
    try:
        response = WebClient(base_url=api_url, timeout=10).apps_connections_open(app_token=app_token)
    except SlackApiError as error:
        code = str(error.response.get("error") or f"http_{error.response.status_code}")
        SLACK_CALLS.labels(method="apps.connections.open", outcome=code).inc()
        if code in REFUSED_CODES:
            raise AppTokenRefused(code) from None
        raise
    SLACK_CALLS.labels(method="apps.connections.open", outcome="ok").inc()
    return str(response["url"])


class ConnectionWatch:
    """Whether the Socket Mode connection is up, or was lost less than RECONNECT_GRACE_SECONDS ago."""

    def __init__(self, is_connected: Callable[[], bool], clock: Callable[[], float] = time.monotonic) -> None:
        self.is_connected = is_connected
        self.clock = clock
        self.down_since: float | None = None
        self._lock = threading.Lock()

    def lost(self, *_args: object) -> None:
        """The client's close listener: start the grace period now rather than at the next health check."""
        with self._lock:
            if self.down_since is None:
                self.down_since = self.clock()

    def status(self) -> str:
        """Return "open", "reconnecting" (within the grace period) or "lost"."""
        now = self.clock()
        with self._lock:
            if self.is_connected():
                self.down_since = None
                return "open"
            if self.down_since is None:
                self.down_since = now
            return "reconnecting" if now - self.down_since < RECONNECT_GRACE_SECONDS else "lost"


def build_ops_app(engine: Engine, watch: ConnectionWatch) -> Callable[..., Iterable[bytes]]:
    """The WSGI app on MENTORBOT_METRICS_PORT: `GET /healthz` and `GET /metrics`."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if method == "GET" and path == "/metrics":
            return metrics_response(start_response)
        if method == "GET" and path == "/healthz":
            database, connection = database_status(engine), watch.status()
            healthy = database == "ok" and connection != "lost"
            payload = json.dumps({"ok": healthy, "database": database, "socket_mode": connection}).encode()
            start_response("200 OK" if healthy else "503 Service Unavailable",
                           [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
            return [payload]
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "10")])
        return [b"not found\n"]

    return wsgi


class OpsServer:
    """The health and metrics server on a daemon thread."""

    def __init__(self, app: Callable[..., Iterable[bytes]], port: int, host: str) -> None:
        from waitress.server import create_server

        self._server: Any = create_server(app, host=host, port=port, threads=2, ident="mentorbot")
        self.port: int = self._server.effective_port
        threading.Thread(target=self._run, name="ops-http", daemon=True).start()

    def _run(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # close() from another thread pulls the socket away
            self._server.run()

    def close(self) -> None:
        # Let the request threads finish before the server's wake-up pipe is closed under them.
        self._server.task_dispatcher.shutdown(timeout=5)
        self._server.close()


def serve_ops(app: Callable[..., Iterable[bytes]], port: int, host: str = "0.0.0.0") -> OpsServer:  # noqa: S104
    """Serve `app` on a daemon thread until `.close()`."""
    return OpsServer(app, port, host)


class SocketModeRunner:
    """Bolt's built-in Socket Mode client, with a watch on its connection."""

    def __init__(self, app: App, app_token: str, *, workers: int = ENVELOPE_WORKERS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        quiet = logging.getLogger("mentorbot.socket_mode.client")
        if not logger.isEnabledFor(logging.DEBUG):
            quiet.setLevel(logging.WARNING)  # the client logs every reconnect at INFO
        self.handler = SocketModeHandler(app, app_token, logger=quiet, concurrency=workers)
        self.watch = ConnectionWatch(self.handler.client.is_connected, clock)
        self.handler.client.on_close_listeners.append(self.watch.lost)

    def connect(self) -> None:
        """Open the first connection; raise AppTokenRefused when Slack refuses the app token, else
        SocketModeUnavailable when it cannot be opened."""
        from slack_sdk.errors import SlackRequestError

        client = self.handler.client
        failures: list[Exception] = []
        client.on_error_listeners.append(failures.append)  # the client reports a failed connect, not raises
        try:
            client.wss_uri = open_connection_url(client.app_token, client.web_client.base_url)
            client.connect()
        except (SlackApiError, SlackRequestError, OSError) as error:
            failures.append(error)
        finally:
            client.on_error_listeners.remove(failures.append)
        if not client.is_connected():
            error = failures[0] if failures else None
            code = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
            raise SocketModeUnavailable(f"cannot open the Socket Mode connection ({code}). Check SLACK_API_URL "
                                        "and the network, then run `mentorbot check`.")

    def close(self) -> None:
        self.handler.close()
