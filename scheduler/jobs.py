"""One thin function per scheduled job: read the clock, call the service."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.services import Services


def send_due_nudges(services: Services) -> None:
    """Run one nudge sweep as of now (APScheduler logs a failed tick; the next tick tries again)."""
    services.sweep.run(now=datetime.now(UTC))
