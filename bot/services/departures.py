"""People who left the workspace, and nudges that cannot reach someone: their pairs pause and the coordinators
are told, once per pair and recipient."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from bot.blocks import Reply
from bot.blocks.nudges import NudgeFacts, build_offer_undeliverable_notice, build_undeliverable_notice
from bot.delivery.recovery import DeliveryInDoubt, post_keyed
from bot.domain import pairs
from bot.domain.models import NudgeKind, Pair
from bot.domain.offers import MATCH
from bot.domain.policy import DueNudge, PairFacts, PairView, nudge_key
from bot.gateway import SlackCallFailed
from bot.services.context import ServiceContext
from bot.services.people import INFO_MAX_AGE, PeopleService
from bot.store import ledger
from bot.store.pairs import active_pairs_of
from bot.store.people import stale_people

logger = logging.getLogger(__name__)

DELIVERY_FAILED = "delivery_failed"  # the ledger kind of the one notice about an undeliverable recipient
# Errors that mean the person is no longer in the workspace: their pairs pause and coordinators are told.
DEPARTED_ERRORS = frozenset({"user_not_found", "user_disabled", "account_inactive_user"})


class DepartureService:
    def __init__(self, ctx: ServiceContext, people: PeopleService, *, worker: str) -> None:
        self.ctx = ctx
        self.people = people
        self.worker = worker

    def refresh_stale_people(self, now: datetime) -> None:
        """Ask Slack again about people whose cached profile is older than a week (only those: sweeps stay
        fast), and coordinators we have never met, so at-risk alerts follow their own zone. The pairs of
        people Slack says were deactivated are paused, and coordinators told."""
        coordinators = tuple(self.ctx.settings.coordinators)
        with self.ctx.session() as session:
            stale = stale_people(session=session, before=now - INFO_MAX_AGE, coordinators=coordinators)
        departed: list[str] = []
        for user_id in stale:
            # One short transaction per person: a parallel sweep refreshing the same person never blocks us.
            with self.ctx.session() as own:
                try:
                    person = self.people.get_person(own, user_id, now)
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

    def nudge_undeliverable(self, nudge: DueNudge, facts: PairFacts | None, code: str, now: datetime) -> None:
        """Slack refused `nudge` for good: pause the pairs of a recipient who left, and tell the coordinators."""
        paused = False
        if nudge.role != "coordinator" and nudge.recipient[:1] in ("U", "W") and (
                code in DEPARTED_ERRORS or self._has_left(nudge.recipient, now)):
            paused = bool(self._pause_departed(nudge.recipient))
        if nudge.kind == NudgeKind.MATCH_OFFER:
            # An offer belongs to no pair: the coordinators hear of it once per person.
            notice = build_offer_undeliverable_notice(nudge.recipient, code)
            self._tell_coordinators(MATCH, None, nudge.recipient, notice, now)
        elif facts is None or nudge.role == "coordinator":
            # The summary channel or a coordinator's own DM failed: nobody else to tell; the log and ledger say it.
            logger.error("cannot deliver %s to %s (%s); fix the bot's access", nudge.kind, nudge.recipient,
                         code)
        else:
            self._report_undeliverable(facts.pair, nudge.recipient, code, now, paused=paused)

    def _has_left(self, user_id: str, now: datetime) -> bool:
        """Ask Slack whether `user_id` was deactivated or removed (a DM error alone does not always say)."""
        with self.ctx.session() as session:
            try:
                person = self.people.get_person(session, user_id, now, refresh=True)
                session.commit()
            except SlackCallFailed as problem:
                return problem.code in DEPARTED_ERRORS
            except IntegrityError:
                return False  # a parallel lookup recorded them; their DM error stands on its own
            return person.is_deleted

    def _pause_departed(self, person_id: str) -> list[int]:
        """Pause the active pairs of someone who left the workspace; return their ids."""
        with self.ctx.session() as session:
            paused = []
            for pair in active_pairs_of(person_id, session=session):
                pairs.pause(pair, until=None)
                paused.append(pair.id or 0)
            session.commit()
        if paused:
            logger.warning("%s has left the workspace: pairs %s paused", person_id, paused)
        return paused

    def _report_undeliverable(
        self, pair: PairView, recipient: str, reason: str, now: datetime, *, paused: bool = False
    ) -> None:
        """Tell the coordinators, once per pair and recipient, that someone cannot be reached."""
        notice = build_undeliverable_notice(NudgeFacts(pair=pair), recipient, reason, paused=paused)
        self._tell_coordinators(pair.id or 0, pair.id or 0, recipient, notice, now)

    def _tell_coordinators(self, about: int | str, pair_id: int | None, recipient: str, notice: Reply,
                           now: datetime) -> None:
        """Send each coordinator `notice` once for `about` (a pair, or MATCH) and `recipient` (the ledger keeps it)."""
        for coordinator in self.ctx.settings.coordinators:
            key = nudge_key(about, coordinator, DELIVERY_FAILED, recipient)
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
