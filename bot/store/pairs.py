"""Queries of the pair lifecycle: pairs, agreements, goals, member state. Never commit."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func
from sqlmodel import Session, and_, or_, select

from bot.domain.health import PairSignals
from bot.domain.models import Agreement, CheckIn, Goal, HelpRequest, MemberState, Pair, PairStatus
from bot.store import get_member_state  # noqa: F401  (re-exported for callers)


def find_open_pair_between(first: str, second: str, *, session: Session) -> Pair | None:
    """Return the not-ended pair of these two people, in either role."""
    query = select(Pair).where(
        Pair.status != PairStatus.ENDED,
        or_(
            and_(Pair.mentor_id == first, Pair.mentee_id == second),
            and_(Pair.mentor_id == second, Pair.mentee_id == first),
        ),
    )
    return session.exec(query.order_by(Pair.id)).first()


def count_open_pairs(*, session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Pair).where(Pair.status != PairStatus.ENDED)).one())


def list_open_pairs_page(*, session: Session, offset: int, limit: int) -> list[Pair]:
    """Return one page of the not-ended pairs, oldest first."""
    query = select(Pair).where(Pair.status != PairStatus.ENDED).order_by(Pair.id).offset(offset).limit(limit)
    return list(session.exec(query))


def last_met_on(pair_ids: list[int], *, session: Session) -> dict[int, date]:
    """Return each pair's latest logged meeting date (pairs without one are absent)."""
    if not pair_ids:
        return {}
    query = select(CheckIn.pair_id, func.max(CheckIn.met_on)).where(CheckIn.pair_id.in_(pair_ids))
    return {pair_id: met for pair_id, met in session.exec(query.group_by(CheckIn.pair_id)) if met is not None}


def signals_for(pairs: list[Pair], *, session: Session) -> dict[int, PairSignals]:
    """Return the health signals of each pair: last meeting, help asked since then, prompts paused."""
    ids = [p.id for p in pairs if p.id is not None]
    met = last_met_on(ids, session=session)
    helped: dict[int, date] = {}
    paused: set[int] = set()
    if ids:
        for pair_id, asked in session.exec(
            select(HelpRequest.pair_id, func.max(HelpRequest.created_at))
            .where(HelpRequest.pair_id.in_(ids)).group_by(HelpRequest.pair_id)
        ):
            if asked is not None:
                helped[pair_id] = asked.date()
        paused = set(session.exec(
            select(MemberState.pair_id).where(MemberState.pair_id.in_(ids), MemberState.prompts_paused_at.is_not(None))
        ))
    signals = {}
    for pair_id in ids:
        last = met.get(pair_id)
        asked = helped.get(pair_id)
        signals[pair_id] = PairSignals(
            last_met_on=last,
            help_requested=asked is not None and (last is None or asked >= last),
            prompts_paused=pair_id in paused,
        )
    return signals


def get_agreement(pair_id: int, *, session: Session) -> Agreement | None:
    return session.get(Agreement, pair_id)


def list_goals(pair_id: int, *, session: Session) -> list[Goal]:
    """Return the pair's goals in creation order (their 1-based position is the goal number)."""
    return list(session.exec(select(Goal).where(Goal.pair_id == pair_id).order_by(Goal.id)))

