"""HTTP mode: Slack's requests on POST /slack/events and a health check, served by waitress."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import Engine

from bot.db import database_status
from bot.metrics import metrics_response

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Request threads. Answering Slack is pure Python under one GIL (the work after the answer runs on the
# reply pool), so threads beyond a few add no throughput, only contenders for the GIL and memory: on the
# 2-core bench, 4 and 16 threads gave the same p99 time to HTTP 200 at 50 concurrent requests (60-100 ms).
REQUEST_THREADS = 4


def build_wsgi_app(app: App, engine: Engine) -> WsgiApp:
    """Return the WSGI app: Bolt for Slack's requests, `/healthz` for load balancers, `/metrics` for Prometheus."""
    slack = SlackRequestHandler(app, path="/slack/events")

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            database = database_status(engine)
            status = "200 OK" if database == "ok" else "503 Service Unavailable"
            body = {"ok": database == "ok", "database": database}
            payload = json.dumps(body).encode()
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
            return [payload]
        if environ.get("PATH_INFO") == "/metrics" and environ.get("REQUEST_METHOD") == "GET":
            return metrics_response(start_response)
        return slack(environ, start_response)

    return wsgi


def serve(app: App, engine: Engine, port: int, *, threads: int = REQUEST_THREADS) -> None:
    """Serve until interrupted; waitress handles requests on a thread pool."""
    from waitress import serve as waitress_serve

    waitress_serve(build_wsgi_app(app, engine), host="0.0.0.0", port=port, threads=threads, ident="mentorbot")
