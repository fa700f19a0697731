"""The clock: one APScheduler job that asks the services what is due now."""

from __future__ import annotations

from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Settings
from bot.services import Services
from scheduler.jobs import send_due_nudges

SWEEP_JOB_ID = "send_due_nudges"


def build_scheduler(services: Services, settings: Settings) -> BackgroundScheduler:
    """Return a UTC scheduler (not started) with the single nudge sweep job, whose first sweep is at start.

    At start rather than one interval later: a restarted bot (a deploy, a crash) sends what fell due while it
    was down without first waiting a whole interval. Later sweeps follow every interval from the first.
    """
    scheduler = BackgroundScheduler(timezone="UTC")
    interval = settings.sweep_minutes * 60
    scheduler.add_job(
        send_due_nudges,
        trigger=IntervalTrigger(seconds=interval, timezone="UTC"),
        args=[services],
        next_run_time=datetime.now(UTC),  # a start within the grace time below still runs it
        id=SWEEP_JOB_ID,
        name="send due nudges",
        replace_existing=True,
        coalesce=True,  # after a pause, one catch-up sweep, not one per missed tick
        max_instances=1,  # a slow sweep is never overlapped by the next tick
        misfire_grace_time=interval,  # a tick late by up to one interval still runs
    )
    return scheduler
