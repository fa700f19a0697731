"""Slack faults during a sweep: doubtful sends settled from history, a 429 rests its conversation, 5xx
retried then deferred, a refused token logged once, and members who left the workspace."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.delivery.recovery import BACKOFF_SECONDS, CLAIM_LEASE, SEND_ATTEMPTS
from bot.domain.models import Nudge, NudgeStatus, Pair, PairStatus, Person
from tests.conftest import COORDINATOR
from tests.test_crash_and_instances import NOW, delivered_keys
from tests.test_crash_and_instances import program as program  # noqa: PLC0414  (the fixture)


@pytest.fixture
def services(runtime):  # type: ignore[no-untyped-def]
    return runtime.services


def ledger(engine) -> dict[str, Nudge]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return {row.key: row for row in session.exec(select(Nudge))}


def posts_of(fake_slack, key: str) -> list:  # type: ignore[no-untyped-def]
    """Every chat.postMessage attempt (answered or not) carrying `key`."""
    return [c for c in fake_slack.calls_to("chat.postMessage")
            if ((c.params.get("metadata") or {}).get("event_payload") or {}).get("key") == key]


def first_key(fake_slack) -> str:  # type: ignore[no-untyped-def]
    call = fake_slack.calls_to("chat.postMessage")[0]
    return call.params["metadata"]["event_payload"]["key"]


def coordinator_notices(fake_slack) -> list[dict]:  # type: ignore[no-untyped-def]
    return [m for m in fake_slack.posted() if m["channel"] == "D" + COORDINATOR[1:]]


def test_a_message_slack_kept_before_the_connection_dropped_is_not_sent_again(services, program, fake_slack, engine):
    fake_slack.fail("chat.postMessage", drop=True, keep=True)
    result = services.sweep.run(now=NOW)
    key = first_key(fake_slack)
    keys = delivered_keys(fake_slack)
    assert sorted(keys) == sorted(program), "each nudge reaches Slack exactly once"
    assert len(posts_of(fake_slack, key)) == 1, "no resend once the history shows Slack has it"
    [kept] = [m for m in fake_slack.posted() if m["metadata"]["event_payload"]["key"] == key]
    row = ledger(engine)[key]
    assert (row.status, row.ts) == (NudgeStatus.SENT, kept["ts"])
    assert key in result.sent


def test_a_connection_dropped_before_slack_kept_it_is_sent_again_after_a_pause(services, program, fake_slack):
    fake_slack.fail("chat.postMessage", drop=True)
    result = services.sweep.run(now=NOW)
    key = first_key(fake_slack)
    attempts = posts_of(fake_slack, key)
    assert len(attempts) == 2
    assert attempts[1].at - attempts[0].at >= BACKOFF_SECONDS[0]
    looked = [c for c in fake_slack.calls_to("conversations.history") if attempts[0].at < c.at < attempts[1].at]
    assert looked, "the history is read before sending again"
    assert sorted(delivered_keys(fake_slack)) == sorted(program) and key in result.sent


def test_server_errors_are_retried_with_backoff_then_deferred_and_the_sweep_goes_on(
    services, program, fake_slack, engine
):
    fake_slack.fail("chat.postMessage", status=503, times=SEND_ATTEMPTS)
    first = services.sweep.run(now=NOW)
    key = first_key(fake_slack)
    attempts = posts_of(fake_slack, key)
    assert len(attempts) == SEND_ATTEMPTS
    gaps = [later.at - earlier.at for earlier, later in zip(attempts, attempts[1:], strict=False)]
    assert all(gap >= pause for gap, pause in zip(gaps, BACKOFF_SECONDS, strict=True)), gaps
    assert first.retry_later == [key] and len(first.sent) == len(program) - 1
    assert key not in ledger(engine), "the claim is released for the next sweep"
    second = services.sweep.run(now=NOW + timedelta(minutes=5))
    assert second.sent == [key]
    assert sorted(delivered_keys(fake_slack)) == sorted(program)


def test_an_unreadable_history_after_a_doubtful_send_keeps_the_claim_until_recovery(
    services, program, fake_slack, engine
):
    fake_slack.fail("chat.postMessage", drop=True, keep=True)
    fake_slack.fail("conversations.history", status=500, times=3)  # outlasts the client's two retries
    first = services.sweep.run(now=NOW)
    key = first_key(fake_slack)
    assert key in first.retry_later
    assert ledger(engine)[key].status == NudgeStatus.CLAIMED
    soon = services.sweep.run(now=NOW + timedelta(minutes=1))
    assert key not in soon.sent and ledger(engine)[key].status == NudgeStatus.CLAIMED
    later = services.sweep.run(now=NOW + CLAIM_LEASE + timedelta(minutes=5))
    assert later.recovered == [key]
    assert ledger(engine)[key].status == NudgeStatus.SENT
    keys = delivered_keys(fake_slack)
    assert sorted(keys) == sorted(program), "kept once, never resent"


def test_one_rate_limit_rests_only_its_conversation_and_the_sweep_sends_everything(services, program, fake_slack):
    fake_slack.fail("chat.postMessage", status=429, retry_after=1)
    result = services.sweep.run(now=NOW)
    calls = fake_slack.calls_to("chat.postMessage")
    assert len(calls) == len(program) + 1, "one retry for one 429, no storm"
    refused = calls[0]
    [retry] = [c for c in calls[1:] if c.params["metadata"] == refused.params["metadata"]]
    assert retry.at - refused.at >= 1, "Retry-After was respected"
    assert calls[1].at - refused.at < 1, "other conversations did not wait for it"
    assert sorted(result.sent) == sorted(program) and not result.stopped


@pytest.mark.parametrize("code", ["invalid_auth", "account_inactive"])
def test_a_refused_token_stops_delivery_with_one_log_line_until_slack_accepts_it(
    code, services, program, fake_slack, engine, caplog
):
    fake_slack.fail("chat.postMessage", error=code, times=2)
    with caplog.at_level(logging.INFO, logger="bot"):
        first = services.sweep.run(now=NOW)
        second = services.sweep.run(now=NOW + timedelta(minutes=5))
        assert first.stopped and second.stopped and not first.sent and not second.sent
        assert len(fake_slack.calls_to("chat.postMessage")) == 2, "one try per sweep while refused"
        assert not [r for r in ledger(engine).values() if r.status == NudgeStatus.CLAIMED]
        third = services.sweep.run(now=NOW + timedelta(minutes=10))
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and code in errors[0] and "SLACK_BOT_TOKEN" in errors[0]
    assert any("delivery resumed" in r.getMessage() for r in caplog.records)
    assert sorted(third.sent) == sorted(program)


def _make_personal(engine, mentee: str) -> int:  # type: ignore[no-untyped-def]
    """Give `mentee`'s pair a long cadence so a personal DM, not the group drift nudge, is due for it."""
    with Session(engine) as session:
        pair = session.exec(select(Pair).where(Pair.mentee_id == mentee)).one()
        pair.cadence_days = 28
        session.add(pair)
        session.commit()
        return pair.id


def _status(engine, pair_id: int) -> str:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return session.get(Pair, pair_id).status


def test_a_user_not_found_pauses_their_pair_and_coordinators_are_told_once(services, program, fake_slack, engine):
    pair_id = _make_personal(engine, "UCRASHE02")
    del fake_slack.users["UCRASHE02"]
    first = services.sweep.run(now=NOW)
    assert _status(engine, pair_id) == PairStatus.PAUSED
    gone = [r for r in ledger(engine).values() if r.recipient == "UCRASHE02"]
    assert [(r.status, r.error) for r in gone] == [(NudgeStatus.UNDELIVERABLE, "user_not_found")]
    assert len(first.undeliverable) == 1
    notices = coordinator_notices(fake_slack)
    assert len(notices) == 1 and "left the workspace" in notices[0]["text"]
    services.sweep.run(now=NOW + timedelta(days=1))
    assert len(coordinator_notices(fake_slack)) == 1


def test_a_dm_refused_for_someone_users_info_says_is_deleted_pauses_their_pair(services, program, fake_slack, engine):
    pair_id = _make_personal(engine, "UCRASHE05")
    fake_slack.users["UCRASHE05"]["dm_error"] = "channel_not_found"  # the DM error alone does not say why
    fake_slack.users["UCRASHE05"]["deleted"] = True
    services.sweep.run(now=NOW)
    assert _status(engine, pair_id) == PairStatus.PAUSED
    assert len(coordinator_notices(fake_slack)) == 1 and "left the workspace" in coordinator_notices(fake_slack)[0][
        "text"]
    with Session(engine) as session:
        assert session.get(Person, "UCRASHE05").is_deleted


@pytest.mark.parametrize("how", ["deactivated", "removed"])
def test_a_member_who_left_since_last_week_is_found_by_the_sweep_and_their_pair_paused(
    how, services, program, fake_slack, engine
):
    with Session(engine) as session:
        person = session.get(Person, "UCRASHM04")
        person.info_fetched_at = NOW - timedelta(days=8)  # stale: the sweep asks users.info again
        session.add(person)
        pair_id = session.exec(select(Pair.id).where(Pair.mentor_id == "UCRASHM04")).one()
        session.commit()
    if how == "deactivated":
        fake_slack.users["UCRASHM04"]["deleted"] = True  # users.info says deleted
    else:
        del fake_slack.users["UCRASHM04"]  # users.info says user_not_found
    result = services.sweep.run(now=NOW)
    assert _status(engine, pair_id) == PairStatus.PAUSED
    assert not [k for k in result.sent if k.startswith(f"{pair_id}:")], "nothing goes to a paused pair"
    assert len(coordinator_notices(fake_slack)) == 1
    assert "UCRASHM04" in coordinator_notices(fake_slack)[0]["text"]
    services.sweep.run(now=NOW + timedelta(days=8, minutes=1))
    assert len(coordinator_notices(fake_slack)) == 1, "coordinators are told once"


def test_slacks_per_conversation_limit_rests_only_that_conversation(services, program, fake_slack):
    due = services.sweep.run(now=NOW, dry_run=True).due
    target = next(n.channel for n in due if n.channel)  # a pair's group DM
    fake_slack.rate_limit(target, retry_after=1, times=2)
    result = services.sweep.run(now=NOW)
    calls = fake_slack.calls_to("chat.postMessage")
    limited = [c for c in calls if fake_slack.conversation(c.params) == target]
    assert len(limited) == 3, "refused twice, then kept"
    assert all(b.at - a.at >= 1 for a, b in zip(limited, limited[1:], strict=False)), "Retry-After was respected"
    assert len(calls) - len(limited) == len(program) - 1, "no other conversation was refused"
    assert sorted(result.sent) == sorted(program)
