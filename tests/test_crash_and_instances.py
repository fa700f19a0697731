"""Real `mentorbot sweep` processes on one database: the seeded program, and two sweeping at once (the kill
points are in test_crash_recovery.py)."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from bot.domain.models import Phase
from tests.conftest import stamp_head
from tests.factories import make_agreement, make_checkin, make_goal, make_pair, make_person
from tests.test_cli_and_server import MENTORBOT, mentorbot_env

NOW = datetime(2026, 2, 9, 10, 0, tzinfo=UTC)  # a Monday morning: prompts, drift and the summary are due
PAIRS = 8


@pytest.fixture
def program(engine, runtime, fake_slack) -> frozenset[str]:
    """Seed a program with many nudges due at NOW; return the keys a sweep must deliver."""
    stamp_head(engine)
    cipher = runtime.services.ctx.cipher
    with Session(engine) as session:
        for index in range(PAIRS):
            mentor, mentee = f"UCRASHM{index:02d}", f"UCRASHE{index:02d}"
            for user in (mentor, mentee):
                fake_slack.add_user(user, tz="UTC")
                make_person(session, user, tz="UTC", info_fetched_at=NOW)
            pair = make_pair(session, mentor_id=mentor, mentee_id=mentee, phase=Phase.PROGRESSION,
                             channel_id=f"GCRASH{index:02d}")
            make_agreement(session, pair)
            make_goal(session, pair, due_on=date(2026, 12, 1))
            make_checkin(session, pair, cipher, met_on=date(2026, 1, 12 - index % 3), private_note="kept apart")
        session.commit()
    due = runtime.services.sweep.run(now=NOW, dry_run=True).due
    assert len(due) >= PAIRS, "the seeded program should have plenty due"
    return frozenset(n.key for n in due)


def sweep(fake_slack, database_url: str, cwd: Path, now: datetime, *, kill_at: int = 0, kill_mode: str = "kept"
          ) -> subprocess.CompletedProcess[str] | int:
    """Run `mentorbot sweep --now`; when `kill_at` is set, the fake Slack SIGKILLs it at that message."""
    env = mentorbot_env(fake_slack, database_url, LOG_LEVEL="WARNING", MENTORBOT_SUMMARY_CHANNEL="CSUMMARY1")
    process = subprocess.Popen([MENTORBOT, "sweep", "--now", now.isoformat()], env=env, cwd=cwd,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if kill_at:
        fake_slack.kill_pid, fake_slack.kill_at, fake_slack.kill_mode = process.pid, kill_at, kill_mode
        fake_slack._posts = 0
    out, err = process.communicate(timeout=120)
    fake_slack.kill_pid = None
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def delivered_keys(fake_slack) -> list[str]:
    keys = []
    for message in fake_slack.posted():
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        if payload.get("key"):
            keys.append(payload["key"])
    return keys


def test_two_processes_sweeping_at_once_send_each_nudge_once(program, fake_slack, database_url, tmp_path):
    env = mentorbot_env(fake_slack, database_url, LOG_LEVEL="WARNING", MENTORBOT_SUMMARY_CHANNEL="CSUMMARY1")
    processes = [subprocess.Popen([MENTORBOT, "sweep", "--now", NOW.isoformat()], env=env, cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    keys = delivered_keys(fake_slack)
    assert sorted(keys) == sorted(set(keys)), "a nudge reached Slack twice"
    assert set(keys) == program
    # And a third sweep a minute later finds nothing left to send.
    again = sweep(fake_slack, database_url, tmp_path, NOW + timedelta(minutes=1))
    assert "Sent 0," in again.stdout
    assert len(delivered_keys(fake_slack)) == len(program)
