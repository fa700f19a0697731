"""The sweep posts at Slack's pace per conversation, against a fake Slack that enforces it (token bucket,
429 + Retry-After): a shared channel gets a nudge a second, other conversations do not wait for it, a 429
rests only its conversation, and a shutdown or a long rest is handled mid-pacing. Time is a fake clock
shared by the sweep and the fake Slack, so no test waits for it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update
from sqlmodel import Session, select

from bench.dataset import NOW, build_due_program
from bot.config import Settings
from bot.delivery.lease import SWEEP_LOCK_KEY
from bot.delivery.recovery import CLAIM_LEASE
from bot.delivery.worker import LEASE_RENEWAL
from bot.domain.models import Nudge, NudgeStatus, WorkspaceFlag
from bot.store import flags
from tests.conftest import COORDINATOR, THIS_DATABASE, fail_if_refused, is_postgres, make_settings
from tests.fake_slack import Call, RateLimitedSlack

POST = "chat.postMessage"
FIRST, SECOND = "CCOHORT0000", "CCOHORT0001"


class FakeClock:
    """Monotonic seconds that move only when the sweep waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []
        self.on_wait: Callable[[], None] = lambda: None

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.on_wait()
        self.now += seconds


@pytest.fixture
def fake_slack() -> Iterator[RateLimitedSlack]:
    """Slack's per-conversation limit with no burst: any post sooner than a second after the last is a 429."""
    fake = RateLimitedSlack(rate=1.0, burst=1).start()
    fake.add_user(COORDINATOR, "Cora Coordinator", tz="Europe/London")
    yield fake
    fake.stop()
    fail_if_refused(fake)


@pytest.fixture
def settings(fake_slack: RateLimitedSlack, database_url: str) -> Settings:
    return make_settings(fake_slack, database_url, summary_channel=None)  # only the pairs' nudges are due


@pytest.fixture
def services(runtime):  # type: ignore[no-untyped-def]
    return runtime.services


@pytest.fixture
def clock(services, fake_slack) -> FakeClock:  # type: ignore[no-untyped-def]
    clock = FakeClock()
    services.sweep.delivery.clock = clock
    services.sweep.delivery.sleep = clock.sleep
    fake_slack.clock = clock
    return clock


def seed(engine, pairs: int, channels: int) -> None:  # type: ignore[no-untyped-def]
    """Pairs that each owe their channel one nudge; channel 0 takes the first run of pairs, and so on."""
    build_due_program(engine, pairs, channels, clustered=True)


def posts_to(fake_slack: RateLimitedSlack, channel: str) -> list[Call]:
    return [c for c in fake_slack.calls_to(POST) if c.params["channel"] == channel]


def key_of(call: Call) -> str:
    return str(call.params["metadata"]["event_payload"]["key"])


def delivered(fake_slack: RateLimitedSlack) -> list[str]:
    return [m["metadata"]["event_payload"]["key"] for m in fake_slack.posted()]


def ledger(engine) -> dict[str, Nudge]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return {row.key: row for row in session.exec(select(Nudge))}


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_a_shared_channel_gets_a_nudge_a_second_and_other_channels_do_not_wait_for_it(
    services, engine, fake_slack, clock
):
    seed(engine, 6, 2)
    result = services.sweep.run(now=NOW)
    assert fake_slack.refused == 0, "never posted sooner than Slack allows"
    for channel in (FIRST, SECOND):
        assert [c.at for c in posts_to(fake_slack, channel)] == [0.0, 1.0, 2.0]
    due_order = [n.key for n in result.due]
    first = [key_of(c) for c in posts_to(fake_slack, FIRST)]
    assert first == sorted(first, key=due_order.index), "priority order is kept within a conversation"
    assert sorted(delivered(fake_slack)) == sorted(due_order) and sorted(result.sent) == sorted(due_order)
    assert sum(clock.waits) == 2.0


def test_a_429_rests_only_its_conversation_and_its_nudge_goes_first_after_retry_after(
    services, engine, fake_slack, clock
):
    seed(engine, 6, 2)
    fake_slack.fail(POST, status=429, retry_after=5)  # the very first post, to the first channel
    result = services.sweep.run(now=NOW)
    refused, *accepted = posts_to(fake_slack, FIRST)
    assert refused.at == 0.0
    assert [c.at for c in posts_to(fake_slack, SECOND)] == [0.0, 1.0, 2.0], "the other channel went on at once"
    assert [c.at for c in accepted] == [5.0, 6.0, 7.0], "the refused channel rested the whole Retry-After"
    assert key_of(accepted[0]) == key_of(refused)
    assert result.stopped is None and not result.retry_later
    keys = delivered(fake_slack)
    assert sorted(keys) == sorted(n.key for n in result.due), "each nudge reached Slack exactly once"
    assert all(row.status == NudgeStatus.SENT for row in ledger(engine).values())


def test_a_shutdown_during_a_pacing_wait_leaves_the_rest_to_the_next_sweep(services, engine, fake_slack, clock):
    seed(engine, 6, 2)
    clock.on_wait = services.sweep.stopping.set  # SIGTERM arrives while every channel rests
    first = services.sweep.run(now=NOW)
    assert first.stopped == "shutting down"
    assert len(first.sent) == 2 and len(fake_slack.posted()) == 2, "one per channel, then the wait"
    assert {row.status for row in ledger(engine).values()} == {NudgeStatus.SENT}, "no claim left open"
    services.sweep.stopping.clear()
    clock.on_wait = lambda: None
    second = services.sweep.run(now=NOW + timedelta(minutes=5))
    assert sorted(delivered(fake_slack)) == sorted(n.key for n in first.due)
    assert len(second.sent) == len(first.due) - 2


def test_a_shutdown_cuts_a_long_rest_short(services, engine, fake_slack):
    seed(engine, 3, 1)
    fake_slack.fail(POST, status=429, retry_after=600)  # the only conversation must rest ten minutes
    results = []
    worker = threading.Thread(target=lambda: results.append(services.sweep.run(now=NOW)))
    worker.start()
    while not (fake_slack.calls_to(POST) and not ledger(engine)):  # refused, and its claim released
        time.sleep(0.01)
    services.sweep.stopping.set()
    worker.join(timeout=10)
    assert not worker.is_alive(), "the real wait must end on shutdown"
    assert results[0].stopped == "shutting down" and not fake_slack.posted()


def test_a_long_rest_renews_the_sweep_lease_and_later_claims_carry_the_time_they_were_made(
    services, engine, fake_slack, clock
):
    seed(engine, 2, 1)
    fake_slack.fail(POST, status=429, retry_after=150)
    leases: list[datetime] = []
    locked: list[bool] = []

    def note_lease() -> None:
        with Session(engine) as session:
            if is_postgres():  # an advisory lock, held by the sweep's own connection
                locked.append(session.execute(text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = :low"
                    f"{THIS_DATABASE}"
                ), {"low": SWEEP_LOCK_KEY & 0xFFFFFFFF}).scalar() == 1)
                return
            lease = session.get(WorkspaceFlag, flags.SWEEP_LEASE)
            assert lease is not None
            leases.append(aware(lease.updated_at))

    clock.on_wait = note_lease
    result = services.sweep.run(now=NOW)
    assert len(result.sent) == 2
    assert max(clock.waits) <= LEASE_RENEWAL.total_seconds(), "waits are sliced so the lease keeps being renewed"
    if is_postgres():
        assert locked and all(locked), "the lock is held through the rest"
    else:
        assert max(leases) - NOW >= LEASE_RENEWAL, "the lease was renewed during the rest"
        assert max(leases) - NOW < CLAIM_LEASE
    refused_key = key_of(fake_slack.calls_to(POST)[0])
    assert aware(ledger(engine)[refused_key].claimed_at) >= NOW + timedelta(seconds=150)


def test_a_sweep_that_lost_its_lease_starts_nothing_more(services, engine, fake_slack, clock):
    seed(engine, 2, 1)
    fake_slack.fail(POST, status=429, retry_after=150)  # the only conversation rests while the lease is lost

    def lose_the_lease() -> None:
        with Session(engine) as session:
            if is_postgres():  # the lock's connection is cut, as a failing network would
                session.execute(text("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                                     f" AND objid = :low{THIS_DATABASE}"), {"low": SWEEP_LOCK_KEY & 0xFFFFFFFF})
            else:  # another instance took the lease over
                session.execute(update(WorkspaceFlag).where(WorkspaceFlag.name == flags.SWEEP_LEASE)
                                .values(updated_by="another", updated_at=NOW + timedelta(hours=1)))
            session.commit()
        clock.on_wait = lambda: None

    clock.on_wait = lose_the_lease
    result = services.sweep.run(now=NOW)
    assert result.stopped is not None and "lease was lost" in result.stopped
    assert len(fake_slack.calls_to(POST)) == 1 and not fake_slack.posted()
    assert not ledger(engine), "nothing left claimed"


def test_posts_to_different_conversations_overlap_once_slack_has_answered_one(services, engine, fake_slack):
    seed(engine, 9, 9)
    post = fake_slack._chat_postMessage
    lock = threading.Lock()
    in_progress: list[int] = []  # posts being answered, seen as each one arrives

    def slow_post(params):  # type: ignore[no-untyped-def]
        with lock:
            in_progress.append(in_progress[-1] + 1 if in_progress else 1)
        time.sleep(0.1)  # a round trip to Slack
        with lock:
            in_progress.append(in_progress[-1] - 1)
        return post(params)

    fake_slack._chat_postMessage = slow_post  # type: ignore[method-assign]
    result = services.sweep.run(now=NOW)
    assert len(result.sent) == 9 and fake_slack.refused == 0
    assert in_progress[:2] == [1, 0], "the first post goes alone, so a refused token costs one call"
    assert services.sweep.delivery.workers > 1
    assert max(in_progress) == services.sweep.delivery.workers, "then several conversations at once, no more than that"
