"""SIGKILL a real `mentorbot sweep` at its first, second, middle and last message (before Slack keeps it, after,
and after Slack answers), and again while it recovers: the next scheduled sweep, one interval later, is not
held up by the dead one, and afterwards every due nudge has reached Slack exactly once (counted by the ledger
key each message carries as metadata). On SQLite and PostgreSQL alike (MENTORBOT_TEST_DATABASE_URL)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import fields
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.config import Settings
from bot.delivery.recovery import CLAIM_LEASE
from bot.delivery.worker import DELIVERY_WORKERS
from bot.domain.models import Nudge, NudgeStatus
from bot.store import ledger
from tests.fake_slack import FakeSlack
from tests.test_cli_and_server import MENTORBOT, mentorbot_env
from tests.test_crash_and_instances import NOW, delivered_keys
from tests.test_crash_and_instances import program as program  # noqa: PLC0414  (the fixture)

DUE = 9  # what the seeded program has due at NOW (checked below)
# The first message, the second (one settled before it), the middle one and the last: every kind of place a
# sweep can die at. Every k in 1..DUE passed too; the full range cost CI two minutes more.
KILL_POINTS = (1, 2, 5, DUE)
MODES = ("unseen", "kept", "answered")  # killed before Slack keeps it, after keeping it, after answering
AFTER_LEASE = NOW + CLAIM_LEASE + timedelta(minutes=5)
# The scheduler's interval (MENTORBOT_SWEEP_MINUTES, unset in these runs): the next sweep after a kill.
INTERVAL = timedelta(minutes=next(f.default for f in fields(Settings) if f.name == "sweep_minutes"))  # type: ignore[arg-type]
NEXT_SWEEP = NOW + INTERVAL

FIGURES: list[dict[str, object]] = []


@pytest.fixture(scope="module", autouse=True)
def crash_figures(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Print and record the totals over every kill point run in this module."""
    yield
    if not FIGURES:
        return
    totals = {
        "kill_points": len(FIGURES),
        "expected": sum(int(f["expected"]) for f in FIGURES),  # type: ignore[call-overload]
        "delivered": sum(int(f["delivered"]) for f in FIGURES),  # type: ignore[call-overload]
        "duplicates": sum(int(f["duplicates"]) for f in FIGURES),  # type: ignore[call-overload]
        "lost": sum(int(f["lost"]) for f in FIGURES),  # type: ignore[call-overload]
    }
    path = tmp_path_factory.getbasetemp() / "crash_figures.json"
    path.write_text(json.dumps({"totals": totals, "runs": FIGURES}, indent=1))
    print(f"\ncrash figures: {json.dumps(totals)} (every run: {path})")


def run_sweep(fake: FakeSlack, database_url: str, cwd: Path, now: datetime, *, kill_at: int = 0,
              kill_mode: str = "kept") -> subprocess.CompletedProcess[str]:
    """Run `mentorbot sweep --now`; with `kill_at`, the fake Slack SIGKILLs it at that chat.postMessage."""
    env = mentorbot_env(fake, database_url, LOG_LEVEL="WARNING", MENTORBOT_SUMMARY_CHANNEL="CSUMMARY1")
    process = subprocess.Popen([MENTORBOT, "sweep", "--now", now.isoformat()], env=env, cwd=cwd,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if kill_at:
        fake._posts = 0
        fake.kill_at, fake.kill_mode, fake.kill_pid = kill_at, kill_mode, process.pid
    try:
        out, err = process.communicate(timeout=120)
    finally:
        fake.kill_pid = None
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def claims_left(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return [n.key for n in session.exec(select(Nudge).where(Nudge.status == NudgeStatus.CLAIMED))]


def settle_and_count(runtime, engine, fake_slack, database_url, cwd, expected, *, label,  # type: ignore[no-untyped-def]
                     after=NEXT_SWEEP):
    """Run the next scheduled sweep at `after`: it settles the dead sweep's claims and sends the rest, once."""
    result = run_sweep(fake_slack, database_url, cwd, after)
    assert result.returncode == 0, result.stderr
    assert "Another instance is sweeping" not in result.stdout, "held up by the dead sweep"
    keys = delivered_keys(fake_slack)
    figures = {**label, "expected": len(expected), "delivered": len(set(keys) & expected),
               "duplicates": len(keys) - len(set(keys)), "lost": len(expected - set(keys))}
    FIGURES.append(figures)
    print(json.dumps(figures))
    assert figures["duplicates"] == 0, f"sent twice: {sorted(k for k in set(keys) if keys.count(k) > 1)}"
    assert figures["lost"] == 0, f"never delivered: {sorted(expected - set(keys))}"
    assert set(keys) == expected, "a recovery sweep sent something the first sweep had not planned"
    assert claims_left(engine) == []
    assert not runtime.services.sweep.run(now=after, dry_run=True).due


def test_the_seeded_program_has_every_kill_point_covered(program):
    assert len(program) == DUE


@pytest.mark.parametrize("kill_mode", MODES)
@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_a_sweep_killed_at_its_kth_message_loses_nothing_and_repeats_nothing(
    kill_at, kill_mode, program, runtime, engine, fake_slack, database_url, tmp_path
):
    killed = run_sweep(fake_slack, database_url, tmp_path, NOW, kill_at=kill_at, kill_mode=kill_mode)
    assert killed.returncode == -9, f"not killed: {killed.stdout} {killed.stderr}"
    # The messages in flight are left claimed: the one being answered when the process died (unless it was
    # answered and already recorded), and the posts to other conversations in flight beside it.
    assert (0 if kill_mode == "answered" else 1) <= len(claims_left(engine)) <= DELIVERY_WORKERS
    settle_and_count(runtime, engine, fake_slack, database_url, tmp_path, program,
                     label={"kill_at": kill_at, "mode": kill_mode})


@pytest.mark.parametrize("kill_mode", MODES)
def test_a_recovery_sweep_killed_too_still_loses_and_repeats_nothing(
    kill_mode, program, runtime, engine, fake_slack, database_url, tmp_path
):
    first = run_sweep(fake_slack, database_url, tmp_path, NOW, kill_at=4, kill_mode="kept")
    assert first.returncode == -9
    # The next sweep settles the dead claims from the history, then dies at its first new message.
    second_at = NOW + INTERVAL
    second = run_sweep(fake_slack, database_url, tmp_path, second_at, kill_at=1, kill_mode=kill_mode)
    assert second.returncode == -9
    settle_and_count(runtime, engine, fake_slack, database_url, tmp_path, program,
                     label={"kill_at": "4 then 1", "mode": f"kept then {kill_mode}"}, after=second_at + INTERVAL)


def test_a_message_slack_stamped_minutes_before_the_claim_is_found_and_not_sent_again(
    program, runtime, engine, fake_slack, database_url, tmp_path
):
    # Slack's clock runs five minutes behind this host's: the message kept at the kill carries a ts from before
    # the claim made for it.
    fake_slack.skew = (NOW - timedelta(minutes=5)).timestamp() - time.time()
    killed = run_sweep(fake_slack, database_url, tmp_path, NOW, kill_at=2, kill_mode="kept")
    assert killed.returncode == -9
    with Session(engine) as session:
        claims = {n.key: n.claimed_at for n in session.exec(select(Nudge).where(Nudge.status == NudgeStatus.CLAIMED))}
    stamped = {m["metadata"]["event_payload"]["key"]: float(m["ts"]) for m in fake_slack.posted()}
    kept = [key for key in claims if key in stamped]
    assert kept, "the message kept at the kill is still claimed"
    assert all(stamped[key] < claims[key].timestamp() - 60 for key in kept)
    settle_and_count(runtime, engine, fake_slack, database_url, tmp_path, program,
                     label={"kill_at": 2, "mode": "kept, Slack 5 minutes behind"})


def test_of_two_recoverers_of_one_stale_claim_only_one_wins(program, engine):
    key = sorted(program)[0]
    pair_id, recipient, kind, period = key.split(":", 3)
    with Session(engine) as session:
        session.add(Nudge(key=key, pair_id=int(pair_id) if pair_id.isdigit() else None, recipient=recipient,
                          kind=kind, period=period, status=NudgeStatus.CLAIMED, claimed_at=NOW, claimed_by="dead:1"))
        session.commit()
    # Both read the claim as the sweep does (a session closed without commit keeps what it read).
    with Session(engine) as reading:
        [seen_by_first] = ledger.stale_claims(session=reading, before=AFTER_LEASE)
    with Session(engine) as reading:
        [seen_by_second] = ledger.stale_claims(session=reading, before=AFTER_LEASE)
    with Session(engine) as first:
        assert ledger.drop_stale_claim(session=first, claim=seen_by_first)
        first.commit()
        # The first recoverer claims it afresh (as its sweep does); the second's snapshot is now out of date.
        assert ledger.claim_nudge(session=first, key=key, pair_id=seen_by_first.pair_id, recipient=recipient,
                                  kind=kind, period=period, now=AFTER_LEASE, claimed_by="alive:2")
        first.commit()
    with Session(engine) as second:
        assert not ledger.drop_stale_claim(session=second, claim=seen_by_second)
        assert not ledger.mark_recovered(session=second, claim=seen_by_second, now=AFTER_LEASE, channel="D1",
                                         ts="1.0")
        second.commit()
    with Session(engine) as session:
        row = session.exec(select(Nudge).where(Nudge.key == key)).one()
        assert (row.status, row.claimed_by) == (NudgeStatus.CLAIMED, "alive:2")
