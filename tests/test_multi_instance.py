"""Several real `mentorbot sweep` processes at once on one database, day after day: every nudge reaches
the fake Slack once, exactly what one sweep alone would send, and nobody gets two nudges on one day."""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlmodel import Session, select

from bot.app import build_services
from bot.db import make_engine, migrate, pending_migrations
from bot.domain.models import Nudge, NudgeStatus, Pair, Phase
from bot.domain.policy import GROUP
from tests.conftest import TEST_DATABASE_URL, is_postgres, make_settings
from tests.factories import make_agreement, make_checkin, make_goal, make_pair, make_person
from tests.fake_slack import FakeSlack
from tests.test_cli_and_server import MENTORBOT, mentorbot_env
from tests.test_crash_and_instances import NOW, delivered_keys

INSTANCES = 4
PAIRS = 24
# Named after the test database, so suites run at once on one server (CI's, each helper's) never drop each other's.
MULTI_DATABASE = f"{make_url(TEST_DATABASE_URL).database}_multi" if is_postgres() else "mentorbot_multi"


@pytest.fixture
def multi_url(tmp_path: Path) -> Iterator[str]:
    """A database of its own, of the suite's kind (CI runs the suite on both): a SQLite file (WAL, busy
    timeout), or a fresh PostgreSQL database on the suite's server."""
    if not is_postgres():
        yield f"sqlite:///{tmp_path / 'multi.db'}"
        return
    server = make_url(TEST_DATABASE_URL)
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {MULTI_DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {MULTI_DATABASE}"))
    try:
        yield server.set(database=MULTI_DATABASE).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {MULTI_DATABASE} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture
def multi_engine(multi_url: str) -> Iterator[Engine]:
    engine = make_engine(multi_url)
    migrate(engine)
    yield engine
    engine.dispose()


def seed(engine: Engine, fake: FakeSlack, cipher) -> None:  # type: ignore[no-untyped-def]
    """Pairs silent for different spells: drift, "how is it going?", reflection and goal nudges fall due."""
    with Session(engine) as session:
        for index in range(PAIRS):
            mentor, mentee = f"UMULTM{index:02d}", f"UMULTE{index:02d}"
            for user in (mentor, mentee):
                fake.add_user(user, tz="UTC")
                make_person(session, user, tz="UTC", info_fetched_at=NOW)
            pair = make_pair(session, mentor_id=mentor, mentee_id=mentee, phase=Phase.PROGRESSION,
                             channel_id=f"GMULT{index:02d}", cadence_days=(7, 14, 28)[index % 3])
            make_agreement(session, pair)
            make_goal(session, pair, due_on=NOW.date() + timedelta(days=index % 9))
            make_checkin(session, pair, cipher, met_on=date(2026, 1, 5) + timedelta(days=index), private_note="mine")
        session.commit()


def run_together(fake: FakeSlack, url: str, cwd: Path, now: datetime) -> list[subprocess.CompletedProcess[str]]:
    """Start INSTANCES `mentorbot sweep --now` processes at once and wait for them all."""
    env = mentorbot_env(fake, url, LOG_LEVEL="WARNING", MENTORBOT_SUMMARY_CHANNEL="CSUMMARY1")
    processes = [subprocess.Popen([MENTORBOT, "sweep", "--now", now.isoformat()], env=env, cwd=cwd,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(INSTANCES)]
    outputs = [p.communicate(timeout=180) for p in processes]
    return [subprocess.CompletedProcess(p.args, p.returncode, out, err)
            for p, (out, err) in zip(processes, outputs, strict=True)]


def nudges_per_person_per_day(engine: Engine) -> Counter[tuple[str, date]]:
    """Count scheduled nudges that reached each pair member, by day (a group nudge reaches both)."""
    with Session(engine) as session:
        members = {p.id: (p.mentor_id, p.mentee_id) for p in session.exec(select(Pair))}
        rows = list(session.exec(select(Nudge).where(Nudge.status == NudgeStatus.SENT, Nudge.pair_id.is_not(None))))  # type: ignore[union-attr]
    counts: Counter[tuple[str, date]] = Counter()
    for row in rows:
        if row.kind in ("at_risk", "delivery_failed"):
            continue  # to coordinators, not members
        for person in members[row.pair_id] if row.recipient == GROUP else (row.recipient,):
            counts[(person, row.sent_at.date())] += 1
    return counts


# Sixteen `mentorbot` processes start here, each importing the whole bot: on a loaded 2-core machine that
# alone can pass the suite's default 120 s.
@pytest.mark.timeout(360)
def test_several_instances_sweeping_at_once_send_each_nudge_once(
    multi_url, multi_engine, fake_slack, tmp_path
):
    services = build_services(make_settings(fake_slack, multi_url), engine=multi_engine)
    seed(multi_engine, fake_slack, services.ctx.cipher)
    expected_total: set[str] = set()
    for day in range(4):  # Monday to Thursday, 10:00 UTC
        now = NOW + timedelta(days=day)
        expected = {n.key for n in services.sweep.run(now=now, dry_run=True).due}
        assert expected or day, "the seeded program should have plenty due on the first day"
        before = set(delivered_keys(fake_slack))
        results = run_together(fake_slack, multi_url, tmp_path, now)
        assert [r.returncode for r in results] == [0] * INSTANCES, [r.stderr for r in results]
        keys = delivered_keys(fake_slack)
        assert len(keys) == len(set(keys)), f"sent twice: {sorted(k for k in set(keys) if keys.count(k) > 1)}"
        assert set(keys) - before == expected, f"day {day}: the instances together sent other than one sweep"
        busy = sum("Another instance is sweeping" in r.stdout for r in results)
        print(f"day {day}: {len(expected)} due, {len(set(keys) - before)} sent once, {busy} instance(s) found it busy")
        expected_total |= expected
        # A sweep a minute later finds nothing left (the processes are gone; what they left is the database).
        again = services.sweep.run(now=now + timedelta(minutes=1))
        assert not again.busy and again.stopped is None, again
        assert (again.due, again.sent, again.undeliverable, again.retry_later) == ([], [], [], []), again
        assert sorted(delivered_keys(fake_slack)) == sorted(keys), "a later sweep sent again"
    assert len(expected_total) > PAIRS, "several days' nudges were exercised"
    assert set(delivered_keys(fake_slack)) == expected_total
    crowded = {k: n for k, n in nudges_per_person_per_day(multi_engine).items() if n > 1}
    assert not crowded, f"more than one nudge a day: {crowded}"


def test_several_instances_starting_at_once_on_an_empty_database_all_come_up(multi_url, fake_slack, tmp_path):
    env = mentorbot_env(fake_slack, multi_url, LOG_LEVEL="WARNING")
    processes = [subprocess.Popen([MENTORBOT, "sweep", "--dry-run"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(INSTANCES)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0] * INSTANCES, [err for _out, err in outputs]
    engine = make_engine(multi_url)
    try:
        assert pending_migrations(engine) == []
    finally:
        engine.dispose()
