"""One thin function per scheduled job: read the clock, call the service."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bot.metrics import record_sweep
from bot.services import Services


def send_due_nudges(services: Services) -> None:
    """Run one nudge sweep as of now (APScheduler logs a failed tick; the next tick tries again)."""
    now = datetime.now(UTC)
    started = time.monotonic()
    result = services.sweep.run(now=now)
    if not result.busy:
        record_sweep(seconds=time.monotonic() - started, sent=result.sent, undeliverable=result.undeliverable,
                     retry_later=result.retry_later)
