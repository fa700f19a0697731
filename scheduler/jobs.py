"""One thin function per scheduled job: read the clock, call the service."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.services import Services


def send_due_nudges(services: Services) -> None:
    """Run one nudge sweep as of now (APScheduler logs a failed tick; the next tick tries again)."""
    now = datetime.now(UTC)
    services.nudges.sweep(now=now)
    services.matching.expire_requests(now=now)
