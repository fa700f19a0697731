"""The scheduler: one sweep job with the right options, and the job really sweeps (clock moved, no sleep)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlmodel import Session

from bot.domain.models import Phase
from scheduler import SWEEP_JOB_ID, build_scheduler
from scheduler.jobs import send_due_nudges
from tests.conftest import MENTEE, MENTOR, make_settings
from tests.factories import make_checkin, make_pair, make_person


def test_the_sweep_job_is_registered_once_with_safe_options(runtime, settings):
    scheduler = build_scheduler(runtime.services, settings)
    [job] = scheduler.get_jobs()
    assert job.id == SWEEP_JOB_ID
    assert job.func is send_due_nudges
    assert job.args == (runtime.services,)
    assert job.coalesce is True
    assert job.max_instances == 1
    assert job.misfire_grace_time == settings.sweep_minutes * 60
    assert job.trigger.interval == timedelta(minutes=settings.sweep_minutes)
    assert str(scheduler.timezone) == "UTC"


def test_the_first_sweep_is_at_start_and_the_next_one_interval_later(runtime, settings):
    started = datetime(2026, 1, 27, 10, 3, tzinfo=UTC)
    with time_machine.travel(started, tick=False):
        scheduler = build_scheduler(runtime.services, settings)
        scheduler.start(paused=True)
        try:
            job = scheduler.get_job(SWEEP_JOB_ID)
            assert job.next_run_time == started
            interval = timedelta(minutes=settings.sweep_minutes)
            assert job.trigger.get_next_fire_time(started, started) == started + interval
        finally:
            scheduler.shutdown(wait=False)


def test_the_interval_follows_the_setting(runtime, fake_slack, database_url):
    scheduler = build_scheduler(runtime.services, make_settings(fake_slack, database_url, sweep_minutes=15))
    assert scheduler.get_job(SWEEP_JOB_ID).trigger.interval == timedelta(minutes=15)


def test_building_twice_replaces_the_job_instead_of_adding_one(runtime, settings):
    scheduler = build_scheduler(runtime.services, settings)
    scheduler.start(paused=True)
    try:
        scheduler.add_job(send_due_nudges, "interval", minutes=1, args=[runtime.services], id=SWEEP_JOB_ID,
                          replace_existing=True)
        assert len(scheduler.get_jobs()) == 1
    finally:
        scheduler.shutdown(wait=False)


def test_the_job_sweeps_as_of_the_real_clock(runtime, engine, fake_slack):
    with Session(engine) as session:
        seen = datetime(2026, 1, 27, 9, tzinfo=UTC)
        make_person(session, MENTOR, tz="UTC", info_fetched_at=seen)
        make_person(session, MENTEE, tz="UTC", info_fetched_at=seen)
        pair = make_pair(session, phase=Phase.PROGRESSION)
        make_checkin(session, pair, runtime.services.ctx.cipher)
        session.commit()
    with time_machine.travel(datetime(2026, 1, 27, 10, tzinfo=UTC), tick=False):
        send_due_nudges(runtime.services)
    assert sorted(m["channel"] for m in fake_slack.posted()) == ["DMENTEE1", "DMENTOR1"]
