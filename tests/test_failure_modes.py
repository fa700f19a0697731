"""Slack faults and stale state in one process: departures, rate limits, stale claims, shutdown, pruning."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.delivery.lease import sweep_lease
from bot.delivery.recovery import CLAIM_LEASE
from bot.domain.models import Nudge, NudgeStatus, Pair, PairStatus, SeenOnce
from tests.conftest import COORDINATOR
from tests.test_crash_and_instances import NOW, delivered_keys
from tests.test_crash_and_instances import program as program  # noqa: PLC0414  (the fixture)


@pytest.fixture
def services(runtime):  # type: ignore[no-untyped-def]
    return runtime.services


def rows(engine) -> list[Nudge]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return list(session.exec(select(Nudge)))


def test_a_departed_dm_recipient_pauses_the_pair(services, program, fake_slack, engine):
    fake_slack.users["UCRASHE03"]["dm_error"] = "user_disabled"
    with Session(engine) as session:
        # Make pair 4's mentee due a personal DM rather than the group drift nudge.
        pair = session.exec(select(Pair).where(Pair.mentee_id == "UCRASHE03")).one()
        pair.cadence_days = 28
        session.add(pair)
        session.commit()
    services.sweep.run(now=NOW)
    with Session(engine) as session:
        status = session.exec(select(Pair).where(Pair.mentee_id == "UCRASHE03")).one().status
    failed = [r for r in rows(engine) if r.recipient == "UCRASHE03"]
    assert failed[0].status == NudgeStatus.UNDELIVERABLE and failed[0].error == "user_disabled"
    assert status == PairStatus.PAUSED
    notice = [m for m in fake_slack.posted() if m["channel"] == "D" + COORDINATOR[1:]]
    assert len(notice) == 1 and "left the workspace" in notice[0]["text"]


def test_a_rate_limit_that_outlasts_the_retries_ends_the_sweep_without_a_storm(services, program, fake_slack, engine):
    fake_slack.fail("chat.postMessage", status=429, retry_after=0, times=4)
    result = services.sweep.run(now=NOW)
    assert result.stopped and "rate limit" in result.stopped
    # four conversations refused in a row: Slack limits more than one conversation; nothing more this sweep
    assert len(fake_slack.calls_to("chat.postMessage")) == 4
    assert rows(engine) == [] or all(r.status != NudgeStatus.CLAIMED for r in rows(engine))
    later = services.sweep.run(now=NOW + timedelta(minutes=5))
    assert set(delivered_keys(fake_slack)) == program
    assert later.sent


def test_a_fresh_claim_is_left_alone_and_a_stale_one_is_settled_from_slacks_history(
    services, program, fake_slack, engine
):
    due = sorted(program)
    fresh, kept, unseen = due[0], due[1], due[2]
    with Session(engine) as session:
        for key, at in ((fresh, NOW), (kept, NOW - CLAIM_LEASE * 2), (unseen, NOW - CLAIM_LEASE * 2)):
            pair_id, recipient, kind, period = key.split(":", 3)
            session.add(Nudge(key=key, pair_id=None if pair_id == "program" else int(pair_id), recipient=recipient,
                              kind=kind, period=period, status=NudgeStatus.CLAIMED, claimed_at=at, claimed_by="dead:1"))
        session.commit()
    # Slack already has `kept` (the dead process's message), not `unseen`.
    pair_id, recipient, _kind, _period = kept.split(":", 3)
    channel = (f"GCRASH{int(pair_id) - 1:02d}" if recipient == "group" else recipient)
    services.ctx.gateway.post_message(channel, "earlier", metadata={"event_type": "mentorbot_nudge",
                                                                     "event_payload": {"key": kept}})
    result = services.sweep.run(now=NOW + timedelta(minutes=1))
    assert kept in result.recovered
    keys = delivered_keys(fake_slack)
    assert keys.count(kept) == 1
    assert keys.count(unseen) == 1
    assert fresh not in keys  # its owner may still be sending it
    by_key = {r.key: r for r in rows(engine)}
    assert by_key[kept].status == NudgeStatus.SENT and by_key[fresh].status == NudgeStatus.CLAIMED


def test_shutdown_finishes_the_nudge_in_flight_and_leaves_the_rest(services, program, fake_slack, engine):
    slow = fake_slack._chat_postMessage

    def slow_post(params):  # type: ignore[no-untyped-def]
        time.sleep(0.3)
        return slow(params)

    fake_slack._chat_postMessage = slow_post  # type: ignore[method-assign]
    worker = threading.Thread(target=services.sweep.run, kwargs={"now": NOW})
    worker.start()
    while not fake_slack.calls_to("chat.postMessage"):
        time.sleep(0.01)
    services.sweep.stopping.set()
    worker.join(timeout=10)
    sent = [r for r in rows(engine) if r.status == NudgeStatus.SENT]
    assert len(sent) == 1, "the nudge in flight must be recorded as sent"
    assert not [r for r in rows(engine) if r.status == NudgeStatus.CLAIMED]
    assert len(fake_slack.posted()) == 1


def test_a_second_sweep_while_one_runs_does_nothing(services, program, fake_slack, engine):
    with sweep_lease(engine, now=NOW, lease=CLAIM_LEASE) as other:  # another instance, alive and sweeping
        assert other is not None
        result = services.sweep.run(now=NOW + timedelta(minutes=1))
        assert result.busy and not fake_slack.posted()
    # Once it has finished, the next sweep goes (a dead one's lease: tests/test_sweep_lease.py).
    result = services.sweep.run(now=NOW + timedelta(minutes=2))
    assert not result.busy and result.sent


def test_each_nudge_sent_is_logged_with_its_key_and_no_text(services, program, caplog):
    with caplog.at_level(logging.INFO, logger="bot"):
        result = services.sweep.run(now=NOW)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("nudge sent")]
    assert len(lines) == len(result.sent)
    assert all("key=" in line and "kept apart" not in line for line in lines)


def test_handled_event_ids_older_than_a_week_are_pruned_by_the_sweep(services, engine):
    with Session(engine) as session:
        session.add(SeenOnce(kind="event", key="Ev-old", seen_at=NOW - timedelta(days=8)))
        session.add(SeenOnce(kind="event", key="Ev-new", seen_at=NOW - timedelta(hours=1)))
        # A signed request's signature is the HTTP edge's to forget, on its own horizon.
        session.add(SeenOnce(kind="request", key="v0=old", seen_at=NOW - timedelta(days=8)))
        session.commit()
    services.sweep.run(now=NOW)
    with Session(engine) as session:
        assert sorted((e.kind, e.key) for e in session.exec(select(SeenOnce))) == [
            ("event", "Ev-new"), ("request", "v0=old")]


def test_sigterm_stops_mentorbot_run_cleanly(tmp_path, fake_slack, database_url):
    import signal
    import subprocess

    from tests.test_cli_and_server import MENTORBOT, _free_port, mentorbot_env

    env = mentorbot_env(fake_slack, database_url, PORT=str(_free_port()))
    process = subprocess.Popen([MENTORBOT, "run"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while not fake_slack.calls_to("auth.test") and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert "stopped" in output
