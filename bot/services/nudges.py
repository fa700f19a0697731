"""Scheduled nudges: decide what is due (pure policy), claim it in the ledger, deliver it once."""

from __future__ import annotations

import csv
import gc
import io
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.blocks import Reply
from bot.blocks.nudges import GOAL_LISTING_KINDS, NudgeFacts, build_nudge_message, build_undeliverable_notice
from bot.blocks.outcomes import OUTCOME_KINDS, build_outcome_question
from bot.blocks.summary import build_summary_message
from bot.delivery.lease import SweepLease, sweep_lease
from bot.domain.export import EXPORT_COLUMNS, export_rows
from bot.domain.health import days_silent
from bot.domain.models import ClosureReason, Nudge, NudgeKind, Pair, PairStatus
from bot.domain.outcomes import OUTCOME_EXPORT_COLUMNS
from bot.domain.policy import (
    GROUP,
    Decision,
    DueNudge,
    PairFacts,
    PairView,
    ProgramState,
    decide,
    nudge_key,
    plan,
)
from bot.domain.summary import summary_figures
from bot.gateway import SlackCallFailed
from bot.services.context import ServiceContext
from bot.services.errors import UserError
from bot.services.pacing import Pacer
from bot.services.people import INFO_MAX_AGE
from bot.services.recovery import DeliveryInDoubt, find_in_history, post_keyed
from bot.store import nudges as ledger
from bot.store.nudges import load_export_inputs, load_program_state, load_summary_inputs, read_program
from bot.store.profiles import current_questions

if TYPE_CHECKING:
    from bot.services import Services

logger = logging.getLogger(__name__)
NO_OUTCOMES = dict.fromkeys(OUTCOME_EXPORT_COLUMNS, "")

DELIVERY_FAILED = "delivery_failed"  # the ledger kind of the one notice about an undeliverable recipient
# A sweep lease not renewed for this long is free even when its holder cannot be seen to have died (on SQLite,
# a holder on another host); a live sweep renews it every LEASE_RENEWAL.
CLAIM_LEASE = timedelta(minutes=10)
# An open claim older than this, met by a sweep holding the lease, was left by a sweep that died, finished in
# doubt, or lost the lease: it is settled from Slack's history. Younger ones may still be in flight at a sweep
# that lost the lease a moment ago (it starts nothing more once it notices, within LEASE_RENEWAL, and a send
# ends within about two minutes: three attempts of ten seconds, each followed by a history read and retries).
CLAIM_SETTLE_AFTER = timedelta(minutes=3)
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
# Slack redelivers an event for at most about an hour; a week of ids is plenty.
HANDLED_EVENT_RETENTION = timedelta(days=7)
# Errors that mean the person is no longer in the workspace: their pairs pause and coordinators are told.
DEPARTED_ERRORS = frozenset({"user_not_found", "user_disabled", "account_inactive_user"})


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold off Python's cycle collector while a sweep builds its decision.

    At 100,000 pairs the decision allocates about a million small objects, freed by reference counting (they
    form no cycles). Each allocation burst would trigger full collections that walk every live object, a
    third of the decision's time. The pause lasts the decision only (seconds); what other threads leave in
    cycles meanwhile is collected when it ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class SweepResult:
    """What one sweep did; `due` is everything the policy picked (all of it, on a dry run)."""

    due: list[DueNudge] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # claimed by another sweep, or no longer applies
    retry_later: list[str] = field(default_factory=list)
    undeliverable: list[str] = field(default_factory=list)
    state_changes: int = 0
    stopped: str | None = None  # set when Slack refused the token and the sweep stopped
    recovered: list[str] = field(default_factory=list)  # dead processes' claims found in Slack's history
    busy: bool = False  # another instance was sweeping; this one did nothing


class NudgeService:
    def __init__(self, ctx: ServiceContext, services: Services) -> None:
        self.ctx = ctx
        self.services = services
        self.worker = f"{socket.gethostname()}:{os.getpid()}"[:64]
        # Set on shutdown: the sweep finishes the nudge in flight and leaves the rest to the next sweep.
        self.stopping = threading.Event()
        # Slack's last refusal of the token: logged once when it starts, once when it ends, not every sweep.
        self.refused: str | None = None
        # What pacing reads the time from and waits with; a shutdown cuts a wait short. Tests swap both.
        self.clock: Callable[[], float] = time.monotonic
        self.sleep: Callable[[float], object] = self.stopping.wait
        self.workers = DELIVERY_WORKERS

    # ---- the sweep ---------------------------------------------------------------------------------------

    def load_state(self, session: Session, now: datetime) -> ProgramState:
        """Return the whole program snapshot, with the ledger keys of every candidate (seven statements)."""
        state = load_program_state(**self._read_arguments(session, now))
        return self._with_ledger_keys(session, state, decide(state, state.pairs, now))

    def _read_arguments(self, session: Session, now: datetime) -> dict[str, object]:
        settings = self.ctx.settings
        return {"session": session, "now": now, "program_tz": settings.timezone,
                "summary_channel": settings.summary_channel, "coordinators": tuple(settings.coordinators),
                "max_dms_per_week": settings.max_dms_per_week}

    @staticmethod
    def _with_ledger_keys(session: Session, state: ProgramState, decision: Decision) -> ProgramState:
        """Return `state` with the ledger keys of the decision's candidates (one statement)."""
        keys = ledger.claimed_keys([c.key for c in decision.candidates], session=session)
        return replace(state, ledger_keys=keys)

    def sweep(self, *, now: datetime, dry_run: bool = False) -> SweepResult:
        """Send every nudge due at `now`, each exactly once; with `dry_run`, only report them."""
        if dry_run:
            return self._sweep(now=now, dry_run=True)
        with self._sweep_lock(now) as holder:
            if holder is None:
                logger.info("sweep at %s skipped: another instance is sweeping", now.isoformat())
                return SweepResult(busy=True)
            return self._sweep(now=now, dry_run=False, holder=holder)

    @contextmanager
    def _sweep_lock(self, now: datetime) -> Iterator[SweepLease | None]:
        """Hold the sweep lease for the whole sweep, so one sweep runs at a time (bot/delivery/lease.py: how
        and why); a sweep that died holds it up no longer than its process lives."""
        with sweep_lease(self.ctx.engine, now=now, lease=CLAIM_LEASE) as lease:
            yield lease

    def _sweep(self, *, now: datetime, dry_run: bool, holder: SweepLease | None = None) -> SweepResult:
        result = SweepResult()
        started = time.monotonic()
        if not dry_run:
            result.recovered = self._recover_stale_claims(now)
            with self.ctx.session() as session:
                ledger.prune_handled_events(session=session, before=now - HANDLED_EVENT_RETENTION)
                session.commit()
            # Before the decision, so it reads today's zones and leaves out the pairs of people who left.
            self._refresh_stale_people(now)
        with self.ctx.session() as session:
            with collector_paused():
                # Each pair is decided as it streams by; none is kept (delivery reads its pair again).
                state, pairs = read_program(**self._read_arguments(session, now))
                decision = decide(state, pairs, now)
                state = self._with_ledger_keys(session, state, decision)
                decided = plan(state, now, decision)
                del decision, state
            if not dry_run:
                for change in decided.changes:
                    ledger.apply_state_change(
                        session=session, pair_id=change.pair_id, status=change.status,
                        phase=change.phase, now=now, closure_reason=ClosureReason.COMPLETED,
                    )
                session.commit()
        result.due = decided.nudges
        result.state_changes = len(decided.changes)
        if dry_run:
            return result
        pacer = Pacer((self._conversation_of(n), n) for n in decided.nudges)
        self._send_paced(pacer, result, now, holder=holder, elapsed=time.monotonic() - started)
        if result.sent or result.undeliverable:
            logger.info("sweep at %s: %d sent, %d undeliverable, %d skipped, %d to retry", now.isoformat(),
                        len(result.sent), len(result.undeliverable), len(result.skipped), len(result.retry_later))
        return result

    def _refresh_stale_people(self, now: datetime) -> None:
        """Ask Slack again about people whose cached profile is older than a week (only those: sweeps stay
        fast), and coordinators we have never met, so at-risk alerts follow their own zone. The pairs of
        people Slack says were deactivated are paused, and coordinators told."""
        coordinators = tuple(self.ctx.settings.coordinators)
        with self.ctx.session() as session:
            stale = ledger.stale_people(session=session, before=now - INFO_MAX_AGE, coordinators=coordinators)
        departed: list[str] = []
        for user_id in stale:
            # One short transaction per person: a parallel sweep refreshing the same person never blocks us.
            with self.ctx.session() as own:
                try:
                    person = self.services.people.get_person(own, user_id, now)
                    if person.is_deleted and user_id not in coordinators:
                        departed.append(user_id)
                    own.commit()
                except IntegrityError:
                    own.rollback()  # another sweep recorded this person at the same moment; its answer will do
                except SlackCallFailed as problem:
                    if problem.code in DEPARTED_ERRORS and user_id not in coordinators:
                        departed.append(user_id)
                    else:  # keep the cached zone; Slack may answer next time
                        logger.warning("could not refresh %s from users.info (%s)", user_id, problem.code)
        for person_id in departed:
            for pair_id in self._pause_departed(person_id):
                with self.ctx.session() as session:
                    pair = session.get(Pair, pair_id)
                    session.expunge_all()
                if pair is not None:
                    self._report_undeliverable(pair, person_id, "user_deactivated", now, paused=True)

    def _send_paced(self, pacer: Pacer[DueNudge], result: SweepResult, now: datetime, *, holder: SweepLease | None,
                    elapsed: float) -> None:
        """Deliver the pacer's nudges at Slack's pace per conversation, noting each outcome in `result`.

        Up to `self.workers` conversations are posted to at once (a post waits on Slack's round trip, so
        one at a time falls far short of Slack's rate over many conversations) — but only one until Slack
        has answered a post, and again one after a 429: a refused token or a limit costs one call, not a
        volley. This thread alone drives the pacer, the lease and `result`; workers only claim, post, record.

        Args:
            elapsed: real seconds the sweep spent before delivery began, so claims carry the real time.
        """
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
                if holder is not None and claimed_at - renewed_at > LEASE_RENEWAL:
                    if not holder.renew(claimed_at) and result.stopped is None:
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

    @staticmethod
    def _conversation_of(nudge: DueNudge) -> str:
        """Name the conversation a nudge goes to, without asking Slack (a group DM may have no id yet)."""
        if nudge.is_group:
            return nudge.channel or f"pair:{nudge.pair_id}"
        return nudge.recipient  # one DM per person; a channel id is its own conversation

    def _deliver(self, nudge: DueNudge, now: datetime, *, claimed_at: datetime) -> str:
        """Claim, send and record one nudge; return sent | skipped | retry | undeliverable | auth.

        Raises SlackCallFailed("ratelimited") on a 429, with the claim released, for the caller to pace.
        """
        facts = None
        if nudge.pair_id is not None:
            with self.ctx.session() as session:
                facts = ledger.read_pair(nudge.pair_id, session=session)
            # A closing survey belongs to a pair that ended; everything else to one still running.
            wanted = PairStatus.ENDED if nudge.kind == NudgeKind.CLOSING_SURVEY else PairStatus.ACTIVE
            gone = facts is None or facts.pair.status != wanted or (
                nudge.goal_id is not None and all(g.id != nudge.goal_id for g in facts.goals))
            if gone:
                # Paused, ended or erased since the decision (say, a member left during this sweep), or its
                # goal closed: the nudge no longer applies. Unclaimed, so it is decided afresh next time.
                return "skipped"
        with self.ctx.session() as session:
            claimed = ledger.claim_nudge(
                session=session, key=nudge.key, pair_id=nudge.pair_id, recipient=nudge.recipient,
                kind=nudge.kind, period=nudge.period, now=claimed_at, claimed_by=self.worker,
            )
            if not claimed:
                return "skipped"
            session.commit()
        try:
            reply = self._message_for(nudge, facts, now)
            channel = self._channel_for(nudge, facts)
            ts = post_keyed(self.ctx.gateway, channel, reply, nudge.key, paced=True)
        except DeliveryInDoubt as doubt:
            # Releasing the claim could send it twice; a later sweep settles it from Slack's history.
            logger.warning("%s; its claim stays open until a sweep after %s settles it from Slack's history",
                           doubt, CLAIM_SETTLE_AFTER)
            return "retry"
        except SlackCallFailed as problem:
            if problem.code == "ratelimited":
                with self.ctx.session() as session:
                    ledger.release_claim(session=session, key=nudge.key)
                    session.commit()
                raise
            return self._failed(nudge, facts, problem, now)
        if self.refused is not None:
            logger.info("Slack accepts the bot token again: delivery resumed")
            self.refused = None
        with self.ctx.session() as session:
            ledger.mark_sent(session=session, key=nudge.key, now=now, channel=channel, ts=ts)
            session.commit()
        logger.info("nudge sent key=%s pair=%s kind=%s channel=%s ts=%s", nudge.key, nudge.pair_id, nudge.kind,
                    channel, ts)
        if nudge.pair_id is not None and nudge.kind in (NudgeKind.HOW_IS_IT_GOING, NudgeKind.PROMPTS_PAUSED):
            self._record_prompt(nudge.kind, nudge.recipient, nudge.pair_id, now)
        if nudge.kind == NudgeKind.WEEKLY_SUMMARY:
            self.services.outcomes.post_chart(channel, now)
        return "sent"

    def _recover_stale_claims(self, now: datetime) -> list[str]:
        """Settle claims left open by a dead process: found in Slack → sent; not found → free to send again."""
        with self.ctx.session() as session:
            claims = ledger.stale_claims(session=session, before=now - CLAIM_SETTLE_AFTER)
        recovered = []
        for claim in claims:
            try:
                found_ts, channel = self._find_in_history(claim)
            except SlackCallFailed as problem:
                logger.warning("cannot check Slack's history for stale claim %s (%s); trying next sweep",
                               claim.key, problem.code)
                continue
            with self.ctx.session() as session:
                if found_ts is not None:
                    won = ledger.mark_recovered(session=session, claim=claim, now=now, channel=channel, ts=found_ts)
                else:
                    won = ledger.drop_stale_claim(session=session, claim=claim)
                session.commit()
            if not won:
                continue
            if found_ts is not None:
                recovered.append(claim.key)
                logger.info("nudge recovered key=%s pair=%s: Slack had it (ts=%s)", claim.key, claim.pair_id, found_ts)
                if claim.pair_id is not None and claim.kind in (NudgeKind.HOW_IS_IT_GOING, NudgeKind.PROMPTS_PAUSED):
                    self._record_prompt(claim.kind, claim.recipient, claim.pair_id, now)
            else:
                logger.info("nudge key=%s was claimed by dead %s and never reached Slack; it will be sent again",
                            claim.key, claim.claimed_by)
        return recovered

    def _find_in_history(self, claim: Nudge) -> tuple[str | None, str]:
        """Return (ts, channel) of the message carrying `claim`'s key in its conversation, or (None, channel)."""
        channel = self._channel_of_claim(claim)
        return find_in_history(self.ctx.gateway, channel, claim.key, since=claim.claimed_at), channel

    def _channel_of_claim(self, claim: Nudge) -> str:
        if claim.recipient == GROUP and claim.pair_id is not None:
            with self.ctx.session() as session:
                pair = session.get(Pair, claim.pair_id)
                if pair is not None and pair.channel_id:
                    return pair.channel_id
                if pair is not None:
                    return self.ctx.gateway.open_conversation([pair.mentor_id, pair.mentee_id])
        if claim.recipient[:1] in ("U", "W"):
            return self.ctx.gateway.open_conversation([claim.recipient])  # the DM channel's id, for its history
        return claim.recipient

    def _record_prompt(self, kind: str, recipient: str, pair_id: int, now: datetime) -> None:
        """Count an unanswered prompt, or note that prompts are paused (retried once if a handler raced us)."""
        for _attempt in range(2):
            with self.ctx.session() as session:
                try:
                    if kind == NudgeKind.HOW_IS_IT_GOING:
                        ledger.count_unanswered_prompt(session=session, pair_id=pair_id, person_id=recipient)
                    else:
                        ledger.mark_prompts_paused(session=session, pair_id=pair_id, person_id=recipient, now=now)
                    session.commit()
                    return
                except IntegrityError:
                    session.rollback()

    def _failed(self, nudge: DueNudge, facts: PairFacts | None, problem: SlackCallFailed, now: datetime) -> str:
        with self.ctx.session() as session:
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
        paused = False
        if nudge.role != "coordinator" and nudge.recipient[:1] in ("U", "W") and (
                problem.code in DEPARTED_ERRORS or self._has_left(nudge.recipient, now)):
            paused = bool(self._pause_departed(nudge.recipient))
        if facts is None or nudge.role == "coordinator":
            # The summary channel or a coordinator's own DM failed: nobody else to tell; the log and ledger say it.
            logger.error("cannot deliver %s to %s (%s); fix the bot's access", nudge.kind, nudge.recipient,
                         problem.code)
        else:
            self._report_undeliverable(facts.pair, nudge.recipient, problem.code, now, paused=paused)
        return "undeliverable"

    def _has_left(self, user_id: str, now: datetime) -> bool:
        """Ask Slack whether `user_id` was deactivated or removed (a DM error alone does not always say)."""
        with self.ctx.session() as session:
            try:
                person = self.services.people.get_person(session, user_id, now, refresh=True)
                session.commit()
            except SlackCallFailed as problem:
                return problem.code in DEPARTED_ERRORS
            except IntegrityError:
                return False  # a parallel lookup recorded them; their DM error stands on its own
            return person.is_deleted

    def _pause_departed(self, person_id: str) -> list[int]:
        """Pause the active pairs of someone who left the workspace; return their ids."""
        with self.ctx.session() as session:
            paused = ledger.pause_pairs_of(session=session, person_id=person_id)
            session.commit()
        if paused:
            logger.warning("%s has left the workspace: pairs %s paused", person_id, paused)
        return paused

    def _report_undeliverable(
        self, pair: PairView, recipient: str, reason: str, now: datetime, *, paused: bool = False
    ) -> None:
        """Tell the coordinators, once per pair and recipient, that someone cannot be reached."""
        pair_id = pair.id or 0
        notice = build_undeliverable_notice(NudgeFacts(pair=pair), recipient, reason, paused=paused)
        for coordinator in self.ctx.settings.coordinators:
            key = nudge_key(pair_id, coordinator, DELIVERY_FAILED, recipient)
            with self.ctx.session() as session:
                if not ledger.claim_nudge(session=session, key=key, pair_id=pair_id, recipient=coordinator,
                                          kind=DELIVERY_FAILED, period=recipient, now=now,
                                          claimed_by=self.worker):
                    continue
                session.commit()
            try:
                ts = post_keyed(self.ctx.gateway, coordinator, notice, key)
            except DeliveryInDoubt as doubt:
                logger.warning("%s; recovery settles it later", doubt)
                continue
            except SlackCallFailed as problem:
                with self.ctx.session() as session:
                    ledger.mark_undeliverable(session=session, key=key, reason=problem.code)
                    session.commit()
                logger.error("could not tell coordinator %s about an undeliverable nudge (%s)", coordinator,
                             problem.code)
                continue
            with self.ctx.session() as session:
                ledger.mark_sent(session=session, key=key, now=now, channel=coordinator, ts=ts)
                session.commit()

    def _channel_for(self, nudge: DueNudge, facts: PairFacts | None) -> str:
        if nudge.is_group and facts is not None:
            return facts.pair.channel_id or self.ctx.gateway.open_conversation(
                [facts.pair.mentor_id, facts.pair.mentee_id])
        return nudge.recipient  # a user id opens the DM; a channel id posts there

    def _message_for(self, nudge: DueNudge, facts: PairFacts | None, now: datetime) -> Reply:
        if nudge.kind == NudgeKind.WEEKLY_SUMMARY:
            return self._summary_reply(now)
        assert facts is not None  # every other kind belongs to a pair, read as it is sent (`read_pair`)
        if nudge.kind in OUTCOME_KINDS:
            return build_outcome_question(nudge, facts.pair)
        today = nudge.local_at.date()
        last_met = facts.last_met_on
        goal = next((g for g in facts.goals if g.id == nudge.goal_id), None)
        return build_nudge_message(nudge, NudgeFacts(
            pair=facts.pair,
            goal=goal,
            open_goals=facts.goals if nudge.kind in GOAL_LISTING_KINDS else (),
            last_met_on=last_met,
            next_meeting_on=facts.next_meeting_on,
            days_silent=days_silent(facts.pair, last_met, today),
            mentee_questions=self._mentee_questions(facts.pair.mentee_id)
            if nudge.kind == NudgeKind.MEETING_PREP and nudge.role == "mentor" else "",
        ))

    def _mentee_questions(self, mentee_id: str) -> str:
        with self.ctx.session() as session:
            return current_questions(mentee_id, session=session)

    # ---- the summary -------------------------------------------------------------------------------------

    def _summary_reply(self, now: datetime) -> Reply:
        today = now.astimezone(ZoneInfo(self.ctx.settings.timezone)).date()
        with self.ctx.session() as session:
            inputs = load_summary_inputs(session=session, today=today)
        return self.services.outcomes.with_outcomes(build_summary_message(summary_figures(inputs, today)), today)

    def post_summary(self, *, actor: str, now: datetime) -> Reply:
        """Post the program summary to the summary channel now (a coordinator asked for it)."""
        with self.ctx.session() as session:
            allowed = self.services.people.is_coordinator(session, actor, now)
            session.commit()
        if not allowed:
            raise UserError("Only a program coordinator can post the summary.", "/mentoring summary")
        channel = self.ctx.settings.summary_channel
        if not channel:
            raise UserError("No summary channel is configured. Set MENTORBOT_SUMMARY_CHANNEL to a channel ID "
                            "and invite the bot there.")
        reply = self._summary_reply(now)
        try:
            self.ctx.gateway.post_message(channel, reply.text, reply.blocks)
        except SlackCallFailed as problem:
            raise UserError(f"Slack would not take the summary in <#{channel}> ({problem.code}). "
                            "Is the bot invited to that channel?") from None
        chart_problem = self.services.outcomes.post_chart(channel, now)
        if chart_problem:
            return Reply(text=f":white_check_mark: Posted the program summary to <#{channel}>, without its chart "
                              f"({chart_problem}).")
        return Reply(text=f":white_check_mark: Posted the program summary to <#{channel}>.")

    # ---- the export --------------------------------------------------------------------------------------

    def export_csv(self) -> str:
        """Return the CSV of every pair (figures and dates, no note text)."""
        with self.ctx.session() as session:
            rows = export_rows(load_export_inputs(session=session))
        outcomes = self.services.outcomes.export_columns()
        for row in rows:
            row.update(outcomes.get(int(row["pair_id"]), NO_OUTCOMES))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=[*EXPORT_COLUMNS, *OUTCOME_EXPORT_COLUMNS], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()

    def list_undeliverable(self) -> list[tuple[str, str, str, str]]:
        """Return (when, recipient, kind, reason) for nudges the ledger records as undeliverable."""
        with self.ctx.session() as session:
            return [(n.claimed_at.isoformat(timespec="minutes"), n.recipient, n.kind, n.error or "")
                    for n in ledger.list_undeliverable(session=session)]

