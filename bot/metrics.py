"""The process's Prometheus metrics, in one place, and the text that `GET /metrics` answers with.

Importing prometheus_client costs ~1 MB and ~10 ms beside the bot's other imports, so it is not lazy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

# A `_created` timestamp beside every series doubles the page and no dashboard of ours reads it.
disable_created_metrics()
REGISTRY = CollectorRegistry(auto_describe=True)

NUDGES = Counter(
    "mentorbot_nudges", "Nudges by kind and outcome: sent, failed (undeliverable) or deferred (to retry later).",
    ["kind", "outcome"], registry=REGISTRY,
)
SWEEP_SECONDS = Histogram(
    "mentorbot_sweep_duration_seconds", "Wall time of one nudge sweep (not dry runs, not skipped ones).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300), registry=REGISTRY,
)
ACK_SECONDS = Histogram(
    "mentorbot_ack_latency_seconds", "Time from a Slack request reaching the listeners to its acknowledgement.",
    ["kind"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 3, 5), registry=REGISTRY,
)
SLACK_CALLS = Counter(
    "mentorbot_slack_api_calls", "Slack Web API calls by method and outcome: ok, Slack's error code, "
    "ratelimited (HTTP 429), http_5xx or connection.", ["method", "outcome"], registry=REGISTRY,
)


def record_sweep(*, seconds: float, sent: list[str], undeliverable: list[str], retry_later: list[str]) -> None:
    """Count one sweep's outcomes; the lists hold ledger keys, `pair:recipient:kind:period`."""
    SWEEP_SECONDS.observe(seconds)
    for outcome, keys in (("sent", sent), ("failed", undeliverable), ("deferred", retry_later)):
        for key in keys:
            parts = key.split(":")
            NUDGES.labels(kind=parts[2] if len(parts) > 2 else "unknown", outcome=outcome).inc()


def slack_outcome(code: str) -> str:
    """Fold a failure's code into a label of few values (a connection error's text names its exception)."""
    return "connection" if code.startswith("connection") else code


def metrics_response(start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer `GET /metrics` (WSGI) with every metric in Prometheus' text format."""
    body = generate_latest(REGISTRY)
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
    return [body]
