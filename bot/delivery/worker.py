"""The delivery worker loop: post the due nudges at Slack's pace per conversation, each claimed once."""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.blocks import Reply
from bot.delivery.pacing import Pacer
from bot.delivery.recovery import CLAIM_SETTLE_AFTER, DeliveryInDoubt, post_keyed, record_prompt
from bot.domain.models import NudgeKind, PairStatus
from bot.domain.policy import DueNudge, PairFacts
from bot.gateway import SlackCallFailed, SlackGateway
from bot.store import ledger
from bot.store.snapshot import read_pair

logger = logging.getLogger(__name__)

# A long sweep renews its lease this often, so it never looks dead to another instance.
LEASE_RENEWAL = timedelta(minutes=1)
# This many 429s in a row, over any conversations and with no post answered between them, means Slack is
# limiting more than one conversation (the workspace, or someone else posting): the rest waits for the next
# sweep rather than feeding the storm.
RATE_LIMIT_STREAK = 4
# Posts in flight at once, each to a different conversation. Over many conversations a post's round trip to
# Slack, not Slack's limit, bounds one sender (50 ms a post caps it at 20 a second); a few workers fill the
# limit without crowding the database pool or the cores.
DELIVERY_WORKERS = 4

# Renders a nudge as it is sent (its pair read again then; None for a program-wide nudge).
MessageFor = Callable[[DueNudge, PairFacts | None, datetime], Reply]
# Told about a nudge Slack refused for good (recipient, reason code): who left, who to tell.
OnUndeliverable = Callable[[DueNudge, PairFacts | None, str, datetime], None]


def worker_name() -> str:
    """Return this process's name in the ledger's claims."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


@dataclass
class Outcomes:
    """What happened to each nudge handed to the worker, by key."""

    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # claimed by another sweep, or no longer applies
    retry_later: list[str] = field(default_factory=list)
    undeliverable: list[str] = field(default_factory=list)
    stopped: str | None = None  # set when delivery stopped early (shutdown, a refused token, a 429 storm)


def conversation_of(nudge: DueNudge) -> str:
    """Name the conversation a nudge goes to, without asking Slack (a group DM may have no id yet)."""
    if nudge.is_group:
        return nudge.channel or f"pair:{nudge.pair_id}"
    return nudge.recipient  # one DM per person; a channel id is its own conversation


@dataclass
class Deliverer:
    """Claims, posts and records nudges; one per process, shared by its sweeps."""

    session: Callable[[], Session]
    gateway: SlackGateway
    worker: str
    # Set on shutdown: the nudges in flight finish and are recorded; the rest waits for the next sweep.
    stopping: threading.Event
    message_for: MessageFor
    on_undeliverable: OnUndeliverable
    # Told about each nudge Slack took, with the conversation it went to (say, to add the summary's chart).
    on_sent: Callable[[DueNudge, str, datetime], None] = lambda nudge, channel, now: None
    # Whether a nudge that belongs to no pair still applies as it is about to be claimed (a match offer whose
    # proposal was answered meanwhile does not); a pair's nudge is checked against its pair, read again.
    applies: Callable[[DueNudge], bool] = lambda nudge: True
    # Slack's last refusal of the token: logged once when it starts, once when it ends, not every sweep.
    refused: str | None = None
    # What pacing reads the time from and waits with (by default the stopping event: a shutdown cuts a wait
    # short). Tests swap both.
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], object] = field(init=False)
    workers: int = DELIVERY_WORKERS

    def __post_init__(self) -> None:
        self.sleep = self.stopping.wait

    def send(self, nudges: list[DueNudge], result: Outcomes, now: datetime, *,
             renew: Callable[[datetime], bool] | None, elapsed: float) -> None:
        """Deliver `nudges` (most important first) at Slack's pace per conversation, noting each outcome in
        `result`.

        Up to `self.workers` conversations are posted to at once (a post waits on Slack's round trip, so
        one at a time falls far short of Slack's rate over many conversations) — but only one until Slack
        has answered a post, and again one after a 429: a refused token or a limit costs one call, not a
        volley. This thread alone drives the pacer, the lease and `result`; workers only claim, post, record.

        Args:
            renew: renews the sweep's lease, called every LEASE_RENEWAL while sending; False when it was lost.
            elapsed: real seconds the sweep spent before delivery began, so claims carry the real time.
        """
        pacer = Pacer((conversation_of(n), n) for n in nudges)
        begun = self.clock()
        renewed_at = now
        refusals = 0  # 429s answered in a row, with no other answer between them
        answered = False
        in_flight: dict[Future[str], tuple[str, DueNudge]] = {}
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="nudge-delivery") as pool:
            while True:
                if result.stopped is None and self.stopping.is_set():
                    result.stopped = "shutting down"  # the nudges in flight finish and are recorded
                moment = self.clock()
                # A claim carries the real time it was made (the sweep's `now` plus what has elapsed), so a
                # long sweep's late claims never look stale to another instance.
                claimed_at = now + timedelta(seconds=elapsed + moment - begun)
                if renew is not None and claimed_at - renewed_at > LEASE_RENEWAL:
                    if not renew(claimed_at) and result.stopped is None:
                        # Another sweep may be planning now: start nothing more (the posts in flight finish).
                        result.stopped = "the sweep lease was lost; the rest waits for the next sweep"
                        logger.warning("sweep at %s: %s", now.isoformat(), result.stopped)
                    renewed_at = claimed_at
                room = (self.workers if answered and not refusals else 1) - len(in_flight)
                step = pacer.take(moment) if result.stopped is None and room > 0 else math.inf
                if isinstance(step, tuple):
                    conversation, nudge = step
                    future = pool.submit(self._deliver, nudge, now, claimed_at=claimed_at)
                    in_flight[future] = step
                    continue
                if not in_flight:
                    if step is None or step == math.inf:
                        return  # all done, or stopped
                    # Every conversation left is resting: wait, in slices short enough to renew the lease.
                    self.sleep(min(step, LEASE_RENEWAL.total_seconds() / 2))
                    continue
                # Wait for a post to finish, or for a resting conversation's next slot.
                timeout = None if step is None or step == math.inf else min(step, LEASE_RENEWAL.total_seconds() / 2)
                done, _pending = wait(in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
                for future in done:
                    conversation, nudge = in_flight.pop(future)
                    try:
                        outcome = future.result()
                    except SlackCallFailed as limited:  # a 429: Slack kept nothing and the claim is released
                        if limited.code != "ratelimited":
                            raise
                        refusals += 1
                        if result.stopped is None and refusals >= RATE_LIMIT_STREAK:
                            result.stopped = "Slack is rate limiting; the rest waits for the next sweep"
                        if result.stopped is not None:
                            result.retry_later.append(nudge.key)
                            continue
                        logger.warning("Slack rate limited nudge %s; %s rests %ss while other conversations go on",
                                       nudge.key, conversation, limited.retry_after)
                        pacer.refused(conversation, self.clock(), limited.retry_after)
                        continue
                    if outcome == "auth":
                        result.stopped = "Slack refused the bot token"
                        continue
                    if outcome == "skipped":
                        pacer.untouched(conversation)
                    else:
                        pacer.posted(conversation, self.clock())
                        answered, refusals = True, 0
                    {"sent": result.sent, "skipped": result.skipped, "retry": result.retry_later,
                     "undeliverable": result.undeliverable}[outcome].append(nudge.key)

    def _deliver(self, nudge: DueNudge, now: datetime, *, claimed_at: datetime) -> str:
        """Claim, send and record one nudge; return sent | skipped | retry | undeliverable | auth.

        Raises SlackCallFailed("ratelimited") on a 429, with the claim released, for the caller to pace.
        """
        facts = None
        if nudge.pair_id is not None:
            with self.session() as session:
                facts = read_pair(nudge.pair_id, session=session)
            # A closing survey belongs to a pair that ended; everything else to one still running.
            wanted = PairStatus.ENDED if nudge.kind == NudgeKind.CLOSING_SURVEY else PairStatus.ACTIVE
            gone = facts is None or facts.pair.status != wanted or (
                nudge.goal_id is not None and all(g.id != nudge.goal_id for g in facts.goals))
            if gone:
                # Paused, ended or erased since the decision (say, a member left during this sweep), or its
                # goal closed: the nudge no longer applies. Unclaimed, so it is decided afresh next time.
                return "skipped"
        elif not self.applies(nudge):
            return "skipped"
        with self.session() as session:
            claimed = ledger.claim_nudge(
                session=session, key=nudge.key, pair_id=nudge.pair_id, recipient=nudge.recipient,
                kind=nudge.kind, period=nudge.period, now=claimed_at, claimed_by=self.worker,
            )
            if not claimed:
                return "skipped"
            session.commit()
        try:
            reply = self.message_for(nudge, facts, now)
            channel = self._channel_for(nudge, facts)
            ts = post_keyed(self.gateway, channel, reply, nudge.key, paced=True)
        except DeliveryInDoubt as doubt:
            # Releasing the claim could send it twice; a later sweep settles it from Slack's history.
            logger.warning("%s; its claim stays open until a sweep after %s settles it from Slack's history",
                           doubt, CLAIM_SETTLE_AFTER)
            return "retry"
        except SlackCallFailed as problem:
            if problem.code == "ratelimited":
                with self.session() as session:
                    ledger.release_claim(session=session, key=nudge.key)
                    session.commit()
                raise
            return self._failed(nudge, facts, problem, now)
        if self.refused is not None:
            logger.info("Slack accepts the bot token again: delivery resumed")
            self.refused = None
        with self.session() as session:
            ledger.mark_sent(session=session, key=nudge.key, now=now, channel=channel, ts=ts)
            session.commit()
        logger.info("nudge sent key=%s pair=%s kind=%s channel=%s ts=%s", nudge.key, nudge.pair_id, nudge.kind,
                    channel, ts)
        if nudge.pair_id is not None and nudge.kind in (NudgeKind.HOW_IS_IT_GOING, NudgeKind.PROMPTS_PAUSED):
            record_prompt(self.session, nudge.kind, nudge.recipient, nudge.pair_id, now)
        self.on_sent(nudge, channel, now)
        return "sent"

    def _failed(self, nudge: DueNudge, facts: PairFacts | None, problem: SlackCallFailed, now: datetime) -> str:
        with self.session() as session:
            if problem.kind == "undeliverable":
                ledger.mark_undeliverable(session=session, key=nudge.key, reason=problem.code)
            else:
                ledger.release_claim(session=session, key=nudge.key)
            session.commit()
        if problem.kind == "auth":
            if self.refused is None:
                # One line for the whole outage: each later sweep tries one nudge, quietly, until Slack accepts.
                logger.error("Slack refused the bot token (%s): nudge delivery for this workspace is stopped "
                             "until it accepts it again. Fix SLACK_BOT_TOKEN and run `mentorbot check`.",
                             problem.code)
            self.refused = problem.code
            return "auth"
        if problem.kind == "retry":
            logger.warning("nudge %s not sent (%s); a later sweep retries it", nudge.key, problem.code)
            return "retry"
        logger.warning("nudge %s undeliverable: %s", nudge.key, problem.code)
        self.on_undeliverable(nudge, facts, problem.code, now)
        return "undeliverable"

    def _channel_for(self, nudge: DueNudge, facts: PairFacts | None) -> str:
        if nudge.is_group and facts is not None:
            return facts.pair.channel_id or self.gateway.open_conversation(
                [facts.pair.mentor_id, facts.pair.mentee_id])
        return nudge.recipient  # a user id opens the DM; a channel id posts there
