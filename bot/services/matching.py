"""Matching: propose mentors for the pool, accept or skip (coordinator mode), or let each mentee choose and the
mentor answer (mentee-choice mode); an accepted proposal becomes a pair through `/mentoring pair`'s own path."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from bot.blocks import Block, Reply, mention
from bot.blocks.matching import (
    ProposalRow,
    build_choices_message,
    build_proposals_reply,
    build_request_message,
    build_what_each_brings,
)
from bot.delivery.recovery import DeliveryInDoubt, post_keyed
from bot.domain.commands import USAGE, RegisterPair, shown
from bot.domain.matching import (
    OFFER_KIND,
    REQUEST_WORKING_DAYS,
    Candidate,
    Role,
    best_choices,
    is_request_expired,
    propose_matches,
    why_unmatched_mentee,
)
from bot.domain.models import MatchProposal, ProposalStatus
from bot.domain.policy import is_within_working_hours, nudge_key, zone_of
from bot.gateway import SlackCallFailed
from bot.services.context import ServiceContext
from bot.services.errors import UserError
from bot.services.pairs import PairService
from bot.services.people import PeopleService
from bot.store import ledger
from bot.store import profiles as store
from bot.store.pairs import find_open_pair_between

logger = logging.getLogger(__name__)

PENDING = (ProposalStatus.OFFERED, ProposalStatus.CHOSEN)
STATUS_WORDS = {ProposalStatus.ACCEPTED: "was already accepted", ProposalStatus.SKIPPED: "was skipped",
                ProposalStatus.SUPERSEDED: "was replaced by a newer `/mentoring match`",
                ProposalStatus.WITHDRAWN: "was withdrawn: one of them left the pool",
                ProposalStatus.DECLINED: "was declined", ProposalStatus.EXPIRED: "expired unanswered",
                ProposalStatus.NOT_CHOSEN: "is no longer open: another mentor was picked",
                ProposalStatus.CHOSEN: "is waiting for the mentor's answer"}


def _candidates(pool: dict[str, store.PoolEntry], *, pending: Counter[str] | None = None,
                busy: frozenset[str] = frozenset()) -> list[Candidate]:
    """Return the matcher's view of the pool: a mentee who has a mentor, or is `busy` choosing, only mentors."""
    found = []
    for person_id, entry in pool.items():
        role = Role(entry.profile.role)
        if entry.has_mentor or person_id in busy:
            if role == Role.MENTEE:
                continue
            role = Role.MENTOR
        found.append(Candidate(
            person_id, shown(entry.name, 40), role, offered=frozenset(entry.offered), wanted=frozenset(entry.wanted),
            zone=entry.zone, capacity=entry.profile.capacity,
            current_pairs=entry.mentoring_now + (pending or Counter())[person_id],
            blocked=frozenset(entry.blocked), former_partners=frozenset(entry.former_partners),
            front_of_queue=entry.profile.front_of_queue,
        ))
    return found


def parse_proposal_id(value: str | None) -> int:
    """Return the proposal id a button carries."""
    value = value or ""
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise UserError("That button no longer points at a proposal. Run `/mentoring match` again.")
    return int(value)


def _row(proposal: MatchProposal) -> ProposalRow:
    return ProposalRow(proposal_id=proposal.id or 0, mentor_id=proposal.mentor_id, mentee_id=proposal.mentee_id,
                       reason=proposal.reason)


class MatchingService:
    def __init__(self, ctx: ServiceContext, *, people: PeopleService, pairs: PairService) -> None:
        self.ctx = ctx
        self.people = people
        self.pairs = pairs

    @property
    def mentee_choice(self) -> bool:
        return self.ctx.settings.matching == "mentee-choice"

    # ---- proposing ----------------------------------------------------------------------------------

    def propose(self, *, actor: str, now: datetime) -> Reply:
        """Propose mentors for everyone waiting: to the coordinator, or as choices to each mentee."""
        with self.ctx.session() as session:
            self.pairs.require_coordinator(session, actor, now, "propose matches", USAGE["match"])
            for stale in store.list_proposals([ProposalStatus.PROPOSED], session=session):
                stale.status = ProposalStatus.SUPERSEDED
                session.add(stale)
            pool = store.load_pool(session=session)
            if self.mentee_choice:
                return self._offer_everyone(session, pool, actor=actor, now=now)
            result = propose_matches(_candidates(pool))
            proposals = [MatchProposal(mentor_id=p.mentor_id, mentee_id=p.mentee_id, score=p.score, reason=p.reason,
                                       created_at=now, created_by=actor) for p in result.proposals]
            session.add_all(proposals)
            session.commit()
        unmatched = [(u.person_id, u.reason) for u in result.unmatched]
        return build_proposals_reply([_row(p) for p in proposals], unmatched)

    def _offer_everyone(self, session: Session, pool: dict[str, store.PoolEntry], *, actor: str, now: datetime
                        ) -> Reply:
        waiting = store.proposals_by_mentee(PENDING, session=session)
        pending = Counter(p.mentor_id for ps in waiting.values() for p in ps if p.status == ProposalStatus.CHOSEN)
        candidates = _candidates(pool, pending=pending, busy=frozenset(waiting))
        mentors = [c for c in candidates if c.may_mentor]
        offers, unmatched = [], []
        mentees = sorted((c for c in candidates if c.may_be_mentored),
                         key=lambda c: (not c.front_of_queue, pool[c.person_id].profile.joined_at))
        for mentee in mentees:
            offer = self._offer(session, mentee, mentors, now=now, actor=actor)
            if offer:
                offers.append((mentee.person_id, offer))
            elif mentee.role == Role.MENTEE:
                unmatched.append((mentee.person_id, why_unmatched_mentee(mentee, mentors)))
        session.commit()
        for mentee_id, offer in offers:
            self._post(mentee_id, build_choices_message([_row(p) for p in offer]))
        lines = [f"• {mention(m)} — {reason}" for m, reason in unmatched[:40]]
        text = (f":envelope: Sent mentor choices to {len(offers)} mentee{'s' if len(offers) != 1 else ''}; each "
                "picks one and the mentor is asked." + (f"\n*Not matched ({len(unmatched)})*\n" + "\n".join(lines)
                                                        if unmatched else ""))
        return Reply(text=text)

    def _offer(self, session: Session, mentee: Candidate, mentors: list[Candidate], *, now: datetime, actor: str
               ) -> list[MatchProposal]:
        """Store the mentee's best choices, leaving out mentors who declined or let a request expire."""
        refused = {p.mentor_id for p in store.list_proposals([ProposalStatus.DECLINED, ProposalStatus.EXPIRED],
                                                             session=session, mentee_id=mentee.person_id)}
        offer = [MatchProposal(mentor_id=c.mentor_id, mentee_id=c.mentee_id, score=c.score, rank=rank,
                               reason=c.reason, status=ProposalStatus.OFFERED, created_at=now, created_by=actor)
                 for rank, c in enumerate(best_choices(mentee, mentors, skip=refused), start=1)]
        session.add_all(offer)
        session.flush()
        return offer

    def _post(self, channel: str, reply: Reply) -> None:
        try:
            self.ctx.gateway.post_message(channel, reply.text, reply.blocks)
        except SlackCallFailed as failure:
            logger.warning("could not post a matching message to %s: %s", channel, failure.code)

    # ---- coordinator mode -----------------------------------------------------------------------------

    def _open_proposal(self, session: Session, proposal_id: int, status: ProposalStatus) -> MatchProposal:
        proposal = store.get_proposal(proposal_id, session=session)
        if proposal is None:
            raise UserError("That proposal no longer exists. Run `/mentoring match` again.")
        if proposal.status != status:
            said = STATUS_WORDS.get(ProposalStatus(proposal.status), "is no longer open")
            raise UserError(f"The proposal {mention(proposal.mentor_id)} → {mention(proposal.mentee_id)} {said}.")
        return proposal

    def accept(self, *, actor: str, proposal_id: int) -> Reply:
        """Register the proposed pair exactly as `/mentoring pair` does, welcoming it with what each brings."""
        return self._accept(actor, proposal_id, self.ctx.now())

    def _accept(self, actor: str, proposal_id: int, now: datetime) -> Reply:
        with self.ctx.session() as session:
            self.pairs.require_coordinator(session, actor, now, "accept proposed matches")
            proposal = self._open_proposal(session, proposal_id, ProposalStatus.PROPOSED)
            introduction = self._still_fits(session, proposal)
        reply = self.pairs.register_pair(
            actor=actor, command=RegisterPair(mentor_id=proposal.mentor_id, mentee_id=proposal.mentee_id), now=now,
            introduction=introduction)
        self._accepted(proposal_id, actor, now)
        return reply

    def skip(self, *, actor: str, proposal_id: int) -> Reply:
        now = self.ctx.now()
        with self.ctx.session() as session:
            self.pairs.require_coordinator(session, actor, now, "skip proposed matches")
            proposal = self._open_proposal(session, proposal_id, ProposalStatus.PROPOSED)
            proposal.status, proposal.decided_at, proposal.decided_by = ProposalStatus.SKIPPED, now, actor
            session.add(proposal)
            session.commit()
            text = f"Skipped {mention(proposal.mentor_id)} → {mention(proposal.mentee_id)}; nobody was told."
        return Reply(text=text)

    def accept_all(self, *, actor: str, value: str) -> Reply:
        """Accept every open proposal of one round (`value` is "first_id:last_id"); say which could not be."""
        now = self.ctx.now()
        first, _, last = value.partition(":")
        if not (first.isascii() and first.isdigit() and last.isascii() and last.isdigit()):
            raise UserError("That button no longer points at a round of proposals. Run `/mentoring match` again.")
        with self.ctx.session() as session:
            self.pairs.require_coordinator(session, actor, now, "accept proposed matches")
            ids = [p.id or 0 for p in store.list_proposals([ProposalStatus.PROPOSED], session=session)
                   if int(first) <= (p.id or 0) <= int(last)]
        if not ids:
            raise UserError("Nothing left to accept in that round: each proposal was accepted, skipped or replaced.")
        done, problems = 0, []
        for proposal_id in ids:
            try:
                self._accept(actor, proposal_id, now)
                done += 1
            except UserError as problem:
                problems.append(f"• {problem.text}")
        text = f":white_check_mark: Accepted {done} of {len(ids)} proposals; each pair got its welcome."
        return Reply(text=text + ("\n" + "\n".join(problems[:20]) if problems else ""))

    def _still_fits(self, session: Session, proposal: MatchProposal) -> list[Block]:
        """Check the pair can still be made (mentee free, mentor has room); return what each brings."""
        pool = store.load_pool(session=session, person_ids=[proposal.mentor_id, proposal.mentee_id])
        mentor, mentee = pool.get(proposal.mentor_id), pool.get(proposal.mentee_id)
        if mentee is None or mentor is None or not (mentee.profile.in_pool and mentor.profile.in_pool):
            raise UserError(f"{mention(proposal.mentor_id)} or {mention(proposal.mentee_id)} has left the pool "
                            "since this was proposed.")
        if mentee.has_mentor:
            raise UserError(f"{mention(proposal.mentee_id)} has a mentor already.")
        if mentor.mentoring_now >= mentor.profile.capacity:
            raise UserError(f"{mention(proposal.mentor_id)} is full ({mentor.mentoring_now} of "
                            f"{mentor.profile.capacity} mentees).")
        return build_what_each_brings(mentor_id=proposal.mentor_id, mentee_id=proposal.mentee_id,
                                      strengths=mentor.profile.strengths,
                                      shared=sorted(mentor.offered & mentee.wanted), wanted=sorted(mentee.wanted),
                                      questions=mentee.profile.questions)

    def _accepted(self, proposal_id: int, actor: str, now: datetime) -> None:
        with self.ctx.session() as session:
            proposal = store.get_proposal(proposal_id, session=session)
            assert proposal is not None
            pair = find_open_pair_between(proposal.mentor_id, proposal.mentee_id, session=session)
            proposal.status, proposal.decided_at, proposal.decided_by = ProposalStatus.ACCEPTED, now, actor
            proposal.pair_id = pair.id if pair is not None else None
            session.add(proposal)
            profile = store.get_profile(proposal.mentee_id, session=session)
            if profile is not None:
                profile.front_of_queue = False
                session.add(profile)
            session.commit()

    # ---- mentee-choice mode ---------------------------------------------------------------------------

    def _addressed_proposal(self, session: Session, proposal_id: int, actor: str, *, mentee: bool) -> MatchProposal:
        """Return the proposal `actor` is asked about, while it waits for them: the mentee's choice (offered) or
        the mentor's answer (chosen); nobody else may answer it."""
        proposal = store.get_proposal(proposal_id, session=session)
        if proposal is None or (proposal.mentee_id if mentee else proposal.mentor_id) != actor:
            raise UserError("That choice isn't yours to make." if mentee else "That request isn't addressed to you.")
        return self._open_proposal(session, proposal_id, ProposalStatus.OFFERED if mentee else ProposalStatus.CHOSEN)

    def pick(self, *, actor: str, proposal_id: int) -> Reply:
        """The mentee picks one of their choices: the others close, and that mentor alone is asked."""
        now = self.ctx.now()
        with self.ctx.session() as session:
            proposal = self._addressed_proposal(session, proposal_id, actor, mentee=True)
            for other in store.list_proposals([ProposalStatus.OFFERED], session=session, mentee_id=actor):
                other.status = ProposalStatus.CHOSEN if other.id == proposal_id else ProposalStatus.NOT_CHOSEN
                other.decided_at = now
                session.add(other)
            proposal.asked_at = now
            entry = store.load_pool(session=session, person_ids=[actor]).get(actor)
            session.commit()
        wanted = sorted(entry.wanted) if entry else []
        questions = entry.profile.questions if entry else ""
        self._post(proposal.mentor_id, build_request_message(_row(proposal), wanted=wanted, questions=questions,
                                                             days=REQUEST_WORKING_DAYS))
        return Reply(text=f":envelope: I've asked {mention(proposal.mentor_id)}. If they can't take you on, or don't "
                          f"answer within {REQUEST_WORKING_DAYS} working days, you'll get your next best choices.")

    def answer(self, *, actor: str, proposal_id: int, accept: bool) -> Reply:
        """The mentor accepts (the pair is registered) or declines (the mentee is offered their next best)."""
        now = self.ctx.now()
        with self.ctx.session() as session:
            proposal = self._addressed_proposal(session, proposal_id, actor, mentee=False)
            introduction = self._still_fits(session, proposal) if accept else []
        if not accept:
            self._close_and_reoffer(proposal_id, ProposalStatus.DECLINED, actor, now)
            return Reply(text=f"You declined; {mention(proposal.mentee_id)} will be offered someone else. Thank you "
                              "for answering.")
        self.pairs.register_pair(
            actor=actor, command=RegisterPair(mentor_id=proposal.mentor_id, mentee_id=proposal.mentee_id), now=now,
            introduction=introduction, chosen_by_members=True)
        self._accepted(proposal_id, actor, now)
        with self.ctx.session() as session:
            mentor = store.load_pool(session=session, person_ids=[actor]).get(actor)
            full = mentor is None or mentor.mentoring_now >= mentor.profile.capacity
        if full:
            self.release_requests_to(actor, now)
        return Reply(text=f":tada: You're now {mention(proposal.mentee_id)}'s mentor; I've welcomed you both in a "
                          "group DM.")

    def release_requests_to(self, mentor_id: str, now: datetime) -> int:
        """Decline the requests still waiting on a mentor who is full or left, offering each mentee their next best."""
        with self.ctx.session() as session:
            waiting = [p.id or 0 for p in store.list_proposals([ProposalStatus.CHOSEN], session=session,
                                                               mentor_id=mentor_id)]
        return sum(self._close_and_reoffer(i, ProposalStatus.DECLINED, None, now) for i in waiting)

    def expire_requests(self, *, now: datetime) -> int:
        """Count as declined every mentor request unanswered for the working days allowed; return how many."""
        with self.ctx.session() as session:
            asked = store.list_proposals([ProposalStatus.CHOSEN], session=session)
            zones = {e.profile.person_id: e.zone for e in store.load_pool(
                session=session, person_ids={p.mentor_id for p in asked} | {p.mentee_id for p in asked}).values()}
        default = self.ctx.settings.timezone
        expired = 0
        for proposal in asked:
            mentee_local = now.astimezone(zone_of(zones.get(proposal.mentee_id), default))
            # The next offer is a DM to the mentee: it waits for their working hours.
            if (proposal.asked_at is not None and is_within_working_hours(mentee_local)
                    and is_request_expired(proposal.asked_at, zones.get(proposal.mentor_id), now,
                                           default_zone=default)):
                expired += self._close_and_reoffer(proposal.id or 0, ProposalStatus.EXPIRED, None, now)
        return expired

    def _close_and_reoffer(self, proposal_id: int, status: ProposalStatus, actor: str | None, now: datetime) -> int:
        """Close a chosen proposal and offer the mentee their next best, exactly once (the ledger's key)."""
        with self.ctx.session() as session:
            closed = session.execute(
                update(MatchProposal).where(col(MatchProposal.id) == proposal_id,
                                            col(MatchProposal.status) == ProposalStatus.CHOSEN)
                .values(status=status, decided_at=now, decided_by=actor))
            if closed.rowcount != 1:  # type: ignore[attr-defined]
                session.rollback()
                return 0
            proposal = store.get_proposal(proposal_id, session=session)
            assert proposal is not None
            key = nudge_key("match", proposal.mentee_id, OFFER_KIND, f"p{proposal_id}")
            if not ledger.claim_nudge(session=session, key=key, pair_id=None, recipient=proposal.mentee_id,
                                      kind=OFFER_KIND, period=f"p{proposal_id}", now=now, claimed_by="matching"):
                return 0
            waiting = store.proposals_by_mentee(PENDING, session=session)
            pending = Counter(p.mentor_id for ps in waiting.values() for p in ps if p.status == ProposalStatus.CHOSEN)
            candidates = _candidates(store.load_pool(session=session), pending=pending)
            mentee = next((c for c in candidates if c.person_id == proposal.mentee_id and c.may_be_mentored), None)
            mentors = [c for c in candidates if c.may_mentor]
            offer = self._offer(session, mentee, mentors, now=now, actor="") if mentee is not None else []
            session.commit()
        why = "couldn't take you on" if status == ProposalStatus.DECLINED else \
            f"didn't answer within {REQUEST_WORKING_DAYS} working days"
        lead = f"{mention(proposal.mentor_id)} {why}." + (
            "" if offer else " No other mentor fits right now; a coordinator will look for one.")
        reply = build_choices_message([_row(p) for p in offer], lead=lead)
        try:
            channel = proposal.mentee_id
            ts = post_keyed(self.ctx.gateway, channel, reply, key)
        except (DeliveryInDoubt, SlackCallFailed) as problem:
            logger.warning("next offer for %s not confirmed: %s", proposal.mentee_id, problem)
            return 1
        with self.ctx.session() as session:
            ledger.mark_sent(session=session, key=key, now=now, channel=channel, ts=ts)
            session.commit()
        return 1

    # ---- rematch ----------------------------------------------------------------------------------------
