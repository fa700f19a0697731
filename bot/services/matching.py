"""Matching: propose mentors for the pool, accept or skip (coordinator mode), or let each mentee choose and the
mentor answer (mentee-choice mode); an accepted proposal becomes a pair through `/mentoring pair`'s own path.

One module, longer than most, on purpose: it is the life of a proposal (proposed, offered, chosen, asked,
accepted, declined, expired, superseded), and every step changes the status others read with a compare-and-set;
split by mode, the two halves would each hold half of those transitions.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from bot.blocks import Block, Reply, mention, section
from bot.blocks.matching import (
    ProposalRow,
    build_choices_message,
    build_proposals_reply,
    build_request_message,
    build_what_each_brings,
)
from bot.domain.commands import USAGE, RegisterPair, shown
from bot.domain.matching import Candidate, Role, best_choices, propose_matches, why_unmatched_mentee
from bot.domain.models import MatchProposal, ProposalStatus
from bot.domain.offers import REQUEST_WORKING_DAYS, OfferStep, expired_requests, parse_offer_period
from bot.domain.policy import DueNudge
from bot.services.context import ServiceContext
from bot.services.errors import UserError
from bot.services.pairs import PairService
from bot.services.people import PeopleService
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


def _row(proposal: MatchProposal, outcome: str = "") -> ProposalRow:
    return ProposalRow(proposal_id=proposal.id or 0, mentor_id=proposal.mentor_id, mentee_id=proposal.mentee_id,
                       reason=proposal.reason, outcome=outcome)


def _said(text: str) -> Reply:
    """Return an answer that can stand in a pressed message's place."""
    return Reply(text=text, blocks=[section(text)])


def _outcome(proposal: MatchProposal) -> str:
    """Return what became of a coordinator's proposal, in words ("" while it is open)."""
    status = ProposalStatus(proposal.status)
    if status == ProposalStatus.PROPOSED:
        return ""
    if status == ProposalStatus.ACCEPTED:
        pair = f"{mention(proposal.mentor_id)} and {mention(proposal.mentee_id)}"
        return f":white_check_mark: Accepted — {pair} are now paired"
    if status == ProposalStatus.SKIPPED:
        return "Skipped — nobody was told"
    return f"This proposal {STATUS_WORDS.get(status, 'is no longer open')}."


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
        """Propose mentors for everyone waiting: to the coordinator, or as choices for each mentee."""
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
        """Store each waiting mentee's best choices; the sweep sends them, as it sends every nudge: in the
        mentee's working hours, once, within the caps."""
        waiting = store.proposals_by_mentee(PENDING, session=session)
        pending = Counter(p.mentor_id for ps in waiting.values() for p in ps if p.status == ProposalStatus.CHOSEN)
        candidates = _candidates(pool, pending=pending, busy=frozenset(waiting))
        mentors = [c for c in candidates if c.may_mentor]
        offered, unmatched = 0, []
        mentees = sorted((c for c in candidates if c.may_be_mentored),
                         key=lambda c: (not c.front_of_queue, pool[c.person_id].profile.joined_at))
        for mentee in mentees:
            if self._offer(session, mentee, mentors, now=now, actor=actor):
                offered += 1
            elif mentee.role == Role.MENTEE:
                unmatched.append((mentee.person_id, why_unmatched_mentee(mentee, mentors)))
        session.commit()
        lines = [f"• {mention(m)} — {reason}" for m, reason in unmatched[:40]]
        text = (f":envelope: Prepared mentor choices for {offered} mentee{'s' if offered != 1 else ''}; each gets "
                "theirs by DM in their own working hours, picks one, and that mentor is asked."
                + (f"\n*Not matched ({len(unmatched)})*\n" + "\n".join(lines) if unmatched else ""))
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

    # ---- coordinator mode -----------------------------------------------------------------------------

    def _open_proposal(self, session: Session, proposal_id: int, status: ProposalStatus) -> MatchProposal:
        proposal = store.get_proposal(proposal_id, session=session)
        if proposal is None:
            raise UserError("That proposal no longer exists. Run `/mentoring match` again.")
        if proposal.status != status:
            said = STATUS_WORDS.get(ProposalStatus(proposal.status), "is no longer open")
            raise UserError(f"The proposal {mention(proposal.mentor_id)} → {mention(proposal.mentee_id)} {said}.")
        return proposal

    def _round_reply(self, proposal_id: int, text: str, note: str | None = None) -> Reply:
        """Return the proposals message of `proposal_id`'s round as it stands: what became of each, buttons only
        on those still open."""
        with self.ctx.session() as session:
            proposal = store.get_proposal(proposal_id, session=session)
            assert proposal is not None
            rows = [_row(p, _outcome(p)) for p in store.list_round(proposal, session=session)]
        return build_proposals_reply(rows, [], text=text, note=note)

    def accept(self, *, actor: str, proposal_id: int) -> Reply:
        """Register the proposed pair exactly as `/mentoring pair` does, welcoming it with what each brings;
        return the proposals message with this one marked accepted, and what `/mentoring pair` says."""
        registered = self._accept(actor, proposal_id, self.ctx.now())
        return self._round_reply(proposal_id, registered.text, note=registered.text)

    def _accept(self, actor: str, proposal_id: int, now: datetime) -> Reply:
        with self.ctx.session() as session:
            self.pairs.require_coordinator(session, actor, now, "accept proposed matches")
            proposal = self._open_proposal(session, proposal_id, ProposalStatus.PROPOSED)
            introduction = self._still_fits(session, proposal)
        registered = self.pairs.register_pair(
            actor=actor, command=RegisterPair(mentor_id=proposal.mentor_id, mentee_id=proposal.mentee_id), now=now,
            introduction=introduction)
        self._accepted(proposal_id, actor, now)
        return registered

    def skip(self, *, actor: str, proposal_id: int) -> Reply:
        """Close a proposal without telling anyone; return the proposals message with it marked skipped."""
        now = self.ctx.now()
        with self.ctx.session() as session:
            self.pairs.require_coordinator(session, actor, now, "skip proposed matches")
            proposal = self._open_proposal(session, proposal_id, ProposalStatus.PROPOSED)
            closed = session.execute(
                update(MatchProposal).where(col(MatchProposal.id) == proposal_id,
                                            col(MatchProposal.status) == ProposalStatus.PROPOSED)
                .values(status=ProposalStatus.SKIPPED, decided_at=now, decided_by=actor))
            if closed.rowcount != 1:  # type: ignore[attr-defined]  # pressed twice at once: one wins
                session.rollback()
                self._open_proposal(session, proposal_id, ProposalStatus.PROPOSED)
            session.commit()
            text = f"Skipped {mention(proposal.mentor_id)} → {mention(proposal.mentee_id)}; nobody was told."
        return self._round_reply(proposal_id, text)

    def accept_all(self, *, actor: str, value: str) -> Reply:
        """Accept every open proposal of one round (`value` is "first_id:last_id"); return the proposals message
        with each marked, and which could not be accepted, and why."""
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
        note = text + ("\n" + "\n".join(problems[:20]) if problems else "")
        return self._round_reply(ids[0], text, note=note)

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
        """The mentee picks one of their choices: the others close, and that mentor alone is asked (by the
        sweep, in the mentor's working hours)."""
        now = self.ctx.now()
        with self.ctx.session() as session:
            proposal = self._addressed_proposal(session, proposal_id, actor, mentee=True)
            picked = session.execute(
                update(MatchProposal).where(col(MatchProposal.mentee_id) == actor,
                                            col(MatchProposal.status) == ProposalStatus.OFFERED)
                .values(status=ProposalStatus.NOT_CHOSEN, decided_at=now))
            if picked.rowcount < 1:  # type: ignore[attr-defined]  # picked twice at once: one wins
                session.rollback()
                self._addressed_proposal(session, proposal_id, actor, mentee=True)
            session.execute(update(MatchProposal).where(col(MatchProposal.id) == proposal_id)
                            .values(status=ProposalStatus.CHOSEN, asked_at=now))
            session.commit()
        return _said(f":envelope: You chose {mention(proposal.mentor_id)}; I'm asking them, in their working hours. "
                     f"If they can't take you on, or don't answer within {REQUEST_WORKING_DAYS} working days, you'll "
                     "get your next best choices.")

    def answer(self, *, actor: str, proposal_id: int, accept: bool) -> Reply:
        """The mentor accepts (the pair is registered) or declines (the mentee is offered their next best)."""
        now = self.ctx.now()
        with self.ctx.session() as session:
            proposal = self._addressed_proposal(session, proposal_id, actor, mentee=False)
            introduction = self._still_fits(session, proposal) if accept else []
        if not accept:
            if not self._close_and_reoffer(proposal_id, ProposalStatus.DECLINED, actor, now):
                with self.ctx.session() as session:  # closed meanwhile (expired, or pressed twice): say how
                    self._addressed_proposal(session, proposal_id, actor, mentee=False)
            return _said(f"Declined — {mention(proposal.mentee_id)} will be offered someone else. Thank you for "
                         "answering.")
        self.pairs.register_pair(
            actor=actor, command=RegisterPair(mentor_id=proposal.mentor_id, mentee_id=proposal.mentee_id), now=now,
            introduction=introduction, chosen_by_members=True)
        self._accepted(proposal_id, actor, now)
        with self.ctx.session() as session:
            mentor = store.load_pool(session=session, person_ids=[actor]).get(actor)
            full = mentor is None or mentor.mentoring_now >= mentor.profile.capacity
        if full:
            self.release_requests_to(actor, now)
        return _said(f":tada: Accepted — you're now {mention(proposal.mentee_id)}'s mentor; I've welcomed you both "
                     "in a group DM.")

    def release_requests_to(self, mentor_id: str, now: datetime) -> int:
        """Decline the requests still waiting on a mentor who is full or left, offering each mentee their next best."""
        with self.ctx.session() as session:
            waiting = [p.id or 0 for p in store.list_proposals([ProposalStatus.CHOSEN], session=session,
                                                               mentor_id=mentor_id)]
        return sum(self._close_and_reoffer(i, ProposalStatus.DECLINED, None, now) for i in waiting)

    def expire_silent_requests(self, *, now: datetime) -> int:
        """Count as declined every request its mentor left unanswered too long (the domain's rule); return how
        many. Each mentee's next offer then waits for the sweep, like any nudge."""
        with self.ctx.session() as session:
            requests = store.open_requests(session=session)
        expired = expired_requests(requests, now, self.ctx.settings.timezone)
        return sum(self._close_and_reoffer(i, ProposalStatus.EXPIRED, None, now) for i in expired)

    def _close_and_reoffer(self, proposal_id: int, status: ProposalStatus, actor: str | None, now: datetime) -> int:
        """Close a chosen proposal and store the mentee's next best choices, in one transaction and only if it
        was still open (of two sweeps, or a sweep and the mentor's press, one wins); return 1 if it closed."""
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
            waiting = store.proposals_by_mentee(PENDING, session=session)
            pending = Counter(p.mentor_id for ps in waiting.values() for p in ps if p.status == ProposalStatus.CHOSEN)
            candidates = _candidates(store.load_pool(session=session), pending=pending)
            mentee = next((c for c in candidates if c.person_id == proposal.mentee_id and c.may_be_mentored), None)
            mentors = [c for c in candidates if c.may_mentor]
            if mentee is not None:
                self._offer(session, mentee, mentors, now=now, actor="")
            session.commit()
        return 1

    # ---- match offers, as the sweep sends them ------------------------------------------------------------

    def offer_applies(self, nudge: DueNudge) -> bool:
        """Tell whether a match offer still says something true: its proposal is still waiting on its reader."""
        named = parse_offer_period(nudge.period)
        if named is None:
            return False
        step, proposal_id = named
        with self.ctx.session() as session:
            proposal = store.get_proposal(proposal_id, session=session)
            if proposal is None:
                return False
            if step == OfferStep.REQUEST:
                return proposal.status == ProposalStatus.CHOSEN
            if step == OfferStep.NEXT:
                entry = store.load_pool(session=session, person_ids=[proposal.mentee_id]).get(proposal.mentee_id)
                return entry is not None and entry.profile.in_pool and not entry.has_mentor
            return bool(store.list_proposals([ProposalStatus.OFFERED], session=session, mentee_id=nudge.recipient))

    def offer_message(self, nudge: DueNudge) -> Reply:
        """Return a match offer as its reader sees it now: a mentee's choices (after why the last request
        closed, if one did), or a mentor's request."""
        named = parse_offer_period(nudge.period)
        assert named is not None  # `offer_applies` said so
        step, proposal_id = named
        with self.ctx.session() as session:
            proposal = store.get_proposal(proposal_id, session=session)
            assert proposal is not None
            if step == OfferStep.REQUEST:
                entry = store.load_pool(session=session, person_ids=[proposal.mentee_id]).get(proposal.mentee_id)
                return build_request_message(_row(proposal), wanted=sorted(entry.wanted) if entry else [],
                                             questions=entry.profile.questions if entry else "",
                                             days=REQUEST_WORKING_DAYS)
            choices = [_row(p) for p in store.list_proposals([ProposalStatus.OFFERED], session=session,
                                                              mentee_id=nudge.recipient)]
        if step == OfferStep.CHOICES:
            return build_choices_message(choices)
        why = "couldn't take you on" if proposal.status == ProposalStatus.DECLINED else \
            f"didn't answer within {REQUEST_WORKING_DAYS} working days"
        lead = f"{mention(proposal.mentor_id)} {why}." + (
            "" if choices else " No other mentor fits right now; a coordinator will look for one.")
        return build_choices_message(choices, lead=lead)

    # ---- rematch ----------------------------------------------------------------------------------------
