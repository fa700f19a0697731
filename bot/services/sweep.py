"""The sweep: decide what is due now (pure policy), apply the calendar's moves, hand the nudges to delivery."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlmodel import Session

from bot.blocks import Reply
from bot.blocks.nudges import GOAL_LISTING_KINDS, NudgeFacts, build_nudge_message
from bot.blocks.outcomes import OUTCOME_KINDS, build_outcome_question
from bot.delivery.lease import SweepLease, sweep_lease
from bot.delivery.recovery import CLAIM_LEASE, recover_stale_claims
from bot.delivery.worker import Deliverer, Outcomes
from bot.domain import pairs
from bot.domain.figures import program_today
from bot.domain.health import days_silent
from bot.domain.models import NudgeKind
from bot.domain.offers import offer_nudges
from bot.domain.policy import (
    Decision,
    DueNudge,
    PairFacts,
    ProgramState,
    decide,
    plan,
)
from bot.services.context import ServiceContext
from bot.services.departures import DepartureService
from bot.services.events import EventService
from bot.services.matching import MatchingService
from bot.services.reports import ReportService
from bot.store.pairs import pairs_by_id
from bot.store.profiles import current_questions, waiting_offers
from bot.store.snapshot import claimed_keys, load_program_state, read_program

logger = logging.getLogger(__name__)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold off Python's cycle collector while a sweep builds its decision.

    On a big program the decision allocates many small objects, freed by reference counting (they form no
    cycles). Each allocation burst would trigger full collections that walk every live object, for nothing
    (bench/README.md has what that cost). The pause lasts the decision only; what other threads leave in
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
class SweepResult(Outcomes):
    """What one sweep did; `due` is everything the policy picked (all of it, on a dry run)."""

    due: list[DueNudge] = field(default_factory=list)
    state_changes: int = 0
    recovered: list[str] = field(default_factory=list)  # dead processes' claims found in Slack's history
    busy: bool = False  # another instance was sweeping; this one did nothing


@dataclass
class SweepService:
    """The clock's use case: decide what is due now, move pairs the calendar moves, and send the nudges."""

    ctx: ServiceContext
    worker: str
    departures: DepartureService
    events: EventService
    reports: ReportService
    matching: MatchingService
    # Set on shutdown: the sweep finishes the nudges in flight and leaves the rest to the next sweep.
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.delivery = Deliverer(self.ctx.session, self.ctx.gateway, worker=self.worker, stopping=self.stopping,
                                  message_for=self._message_for,
                                  on_undeliverable=self.departures.nudge_undeliverable, on_sent=self._after_sent,
                                  applies=self._applies)

    def _applies(self, nudge: DueNudge) -> bool:
        return nudge.kind != NudgeKind.MATCH_OFFER or self.matching.offer_applies(nudge)

    def _after_sent(self, nudge: DueNudge, channel: str, now: datetime) -> None:
        if nudge.kind == NudgeKind.WEEKLY_SUMMARY:
            self.reports.outcomes.post_chart(channel, now)

    # ---- the sweep ---------------------------------------------------------------------------------------

    def load_state(self, session: Session, now: datetime) -> ProgramState:
        """Return the whole program snapshot, with the ledger keys of every candidate (a fixed number of
        statements, however big the program)."""
        state = load_program_state(**self._read_arguments(session, now))
        return self._with_ledger_keys(session, state, decide(state, state.pairs, now))

    def _read_arguments(self, session: Session, now: datetime) -> dict[str, object]:
        settings = self.ctx.settings
        return {"session": session, "now": now, "program_tz": settings.timezone,
                "summary_channel": settings.summary_channel, "coordinators": tuple(settings.coordinators),
                "max_dms_per_week": settings.max_dms_per_week}

    @staticmethod
    def _with_ledger_keys(session: Session, state: ProgramState, decision: Decision) -> ProgramState:
        """Return `state` with the ledger keys of the decision's candidates (`claimed_keys`)."""
        keys = claimed_keys((c.key for c in decision.candidates), session=session)
        return replace(state, ledger_keys=keys)

    def run(self, *, now: datetime, dry_run: bool = False) -> SweepResult:
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
            result.recovered = recover_stale_claims(self.ctx.session, self.ctx.gateway, now)
            self.events.forget_old(now)
            # Before the decision, so it reads today's zones and leaves out the pairs of people who left.
            self.departures.refresh_stale_people(now)
            # Before the decision too, so a mentee whose mentor stayed silent hears of their next choices now.
            self.matching.expire_silent_requests(now=now)
        with self.ctx.session() as session, collector_paused():
            # Each pair is decided as it streams by; none is kept (delivery reads its pair again).
            state, stream = read_program(**self._read_arguments(session, now))
            decision = decide(state, stream, now)
            if not state.quiet:
                decision.candidates.extend(offer_nudges(waiting_offers(now, session=session), now,
                                                        state.program_tz))
            state = self._with_ledger_keys(session, state, decision)
            decided = plan(state, now, decision)
            del decision, state
        if not dry_run and decided.changes:
            # In a transaction of their own: the reads above may have opened one (SQLite's ledger lookup
            # writes a temporary table), and a write on a stale read would be refused.
            with self.ctx.session() as session:
                today = program_today(now, self.ctx.settings.zone)
                changes = {c.pair_id: c.status for c in decided.changes}
                for pair in pairs_by_id(list(changes), session=session):
                    pairs.follow_clock(pair, changes[pair.id or 0], now, today)
                session.commit()
        result.due = decided.nudges
        result.state_changes = len(decided.changes)
        if dry_run:
            return result
        renew = None if holder is None else holder.renew
        self.delivery.send(decided.nudges, result, now, renew=renew, elapsed=time.monotonic() - started)
        if result.sent or result.undeliverable:
            logger.info("sweep at %s: %d sent, %d undeliverable, %d skipped, %d to retry", now.isoformat(),
                        len(result.sent), len(result.undeliverable), len(result.skipped), len(result.retry_later))
        return result

    def _message_for(self, nudge: DueNudge, facts: PairFacts | None, now: datetime) -> Reply:
        if nudge.kind == NudgeKind.WEEKLY_SUMMARY:
            return self.reports.summary_reply(now)
        if nudge.kind == NudgeKind.MATCH_OFFER:
            return self.matching.offer_message(nudge)
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
