"""The sweep lease after a crash, and Slack's history read despite clocks that differ: a dead sweep holds up
the next one no longer than its process (SQLite) or connection (PostgreSQL) lives; a live or unseen one keeps
it; a message Slack stamped before its claim, or behind a hundred newer ones, is found and never sent twice.
The kill-and-rerun runs with real processes are in test_crash_recovery.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session

from bot.blocks.nudges import nudge_metadata
from bot.delivery.lease import SWEEP_LOCK_KEY, _AdvisoryLease, is_running, sweep_lease, this_host
from bot.delivery.recovery import CLAIM_LEASE
from bot.domain.models import Nudge, NudgeStatus
from bot.store import flags
from tests.conftest import THIS_DATABASE, is_postgres
from tests.test_crash_and_instances import NOW, delivered_keys
from tests.test_crash_and_instances import program as program  # noqa: PLC0414  (the fixture)
from tests.test_crash_recovery import INTERVAL

sqlite_only = pytest.mark.skipif(is_postgres(), reason="SQLite's lease row; PostgreSQL holds an advisory lock")
postgres_only = pytest.mark.skipif(not is_postgres(), reason="PostgreSQL's advisory lock")


@pytest.fixture
def services(runtime):  # type: ignore[no-untyped-def]
    return runtime.services


def a_dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()  # reaped: no such process any more
    assert not is_running(process.pid)
    return process.pid


def hold_lease(engine, *, host: str, pid: int) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        assert flags.take_lease(flags.SWEEP_LEASE, session=session, holder="killed-sweep", now=NOW,
                                lease=CLAIM_LEASE, host=host, pid=pid)


@sqlite_only
def test_a_lease_whose_process_died_on_this_host_is_taken_over_at_once(services, program, engine):
    hold_lease(engine, host=this_host(), pid=a_dead_pid())
    result = services.sweep.run(now=NOW + timedelta(minutes=1))
    assert not result.busy and set(result.sent) == program


@sqlite_only
def test_a_lease_whose_process_runs_is_kept_until_it_runs_out(services, program, engine, fake_slack):
    hold_lease(engine, host=this_host(), pid=os.getppid())  # alive: the process that started the tests
    assert services.sweep.run(now=NOW + timedelta(minutes=1)).busy
    assert services.sweep.run(now=NOW + CLAIM_LEASE - timedelta(seconds=1)).busy
    assert not fake_slack.posted()
    assert set(services.sweep.run(now=NOW + CLAIM_LEASE + timedelta(seconds=1)).sent) == program


@sqlite_only
def test_a_lease_held_on_another_host_or_pid_namespace_is_kept_until_it_runs_out(services, program, engine):
    # Its PID means nothing here: that no such process runs on this host says nothing about it.
    hold_lease(engine, host="another-host pid:[1]", pid=a_dead_pid())
    assert services.sweep.run(now=NOW + INTERVAL).busy
    assert set(services.sweep.run(now=NOW + CLAIM_LEASE + timedelta(seconds=1)).sent) == program


@postgres_only
def test_the_lock_dies_with_its_holders_connection(services, program, engine):
    holder = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        assert holder.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": SWEEP_LOCK_KEY}).scalar()
        assert services.sweep.run(now=NOW + timedelta(minutes=1)).busy
        holder.invalidate()  # the connection closes without unlocking, as a killed process's does
    finally:
        holder.close()
    result = services.sweep.run(now=NOW + timedelta(minutes=1))
    assert not result.busy and set(result.sent) == program
    with Session(engine) as session:  # and the sweep gave its own lock back
        held = text(f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'{THIS_DATABASE}")
        assert not session.execute(held).scalar()


@postgres_only
def test_the_server_notices_within_minutes_when_the_holders_host_vanishes(engine):
    with sweep_lease(engine, now=NOW, lease=CLAIM_LEASE) as held:
        assert isinstance(held, _AdvisoryLease)
        settings = [held.connection.execute(text(f"SHOW tcp_keepalives_{name}")).scalar()
                    for name in ("idle", "interval", "count")]
    assert settings == ["60", "10", "3"]


def test_a_message_slack_stamped_a_second_before_its_claim_is_found(services, program, fake_slack, engine):
    key = sorted(k for k in program if ":group:" in k)[0]
    pair_id, recipient, kind, period = key.split(":", 3)
    with Session(engine) as session:  # the claim of a sweep that died right after posting
        session.add(Nudge(key=key, pair_id=int(pair_id), recipient=recipient, kind=kind, period=period,
                          status=NudgeStatus.CLAIMED, claimed_at=NOW, claimed_by="dead:1"))
        session.commit()
    channel = f"GCRASH{int(pair_id) - 1:02d}"
    fake_slack.skew = (NOW - timedelta(seconds=1)).timestamp() - time.time()  # Slack's clock a second behind
    services.ctx.gateway.post_message(channel, "the dead sweep's message", metadata=nudge_metadata(key))
    [message] = fake_slack.posted(channel)
    assert float(message["ts"]) < NOW.timestamp()
    result = services.sweep.run(now=NOW + INTERVAL)
    assert result.recovered == [key]
    assert delivered_keys(fake_slack).count(key) == 1


def test_a_doubtful_send_finds_its_message_though_slack_stamped_it_minutes_earlier(services, program, fake_slack):
    fake_slack.skew = -300.0  # Slack's clock five minutes behind this host's
    fake_slack.fail("chat.postMessage", drop=True, keep=True)  # kept, then the connection drops
    result = services.sweep.run(now=NOW)
    keys = delivered_keys(fake_slack)
    assert sorted(keys) == sorted(program) and set(result.sent) == program, "found in the history, not resent"


def test_a_claim_behind_a_hundred_newer_messages_is_still_found(services, program, fake_slack, engine):
    key = sorted(k for k in program if ":group:" in k)[0]
    pair_id, recipient, kind, period = key.split(":", 3)
    with Session(engine) as session:
        session.add(Nudge(key=key, pair_id=int(pair_id), recipient=recipient, kind=kind, period=period,
                          status=NudgeStatus.CLAIMED, claimed_at=NOW, claimed_by="dead:1"))
        session.commit()
    channel = f"GCRASH{int(pair_id) - 1:02d}"
    gateway = services.ctx.gateway
    gateway.post_message(channel, "the dead sweep's message", metadata=nudge_metadata(key))
    for index in range(150):  # the pair talks on; Slack gives the history a hundred at a time
        gateway.post_message(channel, f"chat {index}")
    result = services.sweep.run(now=NOW + INTERVAL)
    assert result.recovered == [key]
    assert delivered_keys(fake_slack).count(key) == 1
    pages = [c for c in fake_slack.calls_to("conversations.history") if c.params["channel"] == channel]
    assert len(pages) == 2 and pages[1].params.get("cursor")
