"""Queries shared by every use case. Functions take `session=` and never commit."""

from __future__ import annotations

from sqlmodel import Session, or_, select

from bot.domain.models import MemberState, Pair, PairStatus


def get_pair(pair_id: int, *, session: Session) -> Pair | None:
    return session.get(Pair, pair_id)


def list_pairs_for_person(user_id: str, *, session: Session, include_ended: bool = False) -> list[Pair]:
    """Return `user_id`'s pairs (not ended unless asked), oldest first."""
    query = select(Pair).where(or_(Pair.mentor_id == user_id, Pair.mentee_id == user_id))
    if not include_ended:
        query = query.where(Pair.status != PairStatus.ENDED)
    return list(session.exec(query.order_by(Pair.id)))


def list_active_pairs(*, session: Session) -> list[Pair]:
    """Return every pair that is not ended (active or paused), oldest first."""
    return list(session.exec(select(Pair).where(Pair.status != PairStatus.ENDED).order_by(Pair.id)))


def get_member_state(pair_id: int, person_id: str, *, session: Session) -> MemberState:
    """Return `person_id`'s attention settings for the pair, adding a fresh row when absent."""
    state = session.exec(
        select(MemberState).where(MemberState.pair_id == pair_id, MemberState.person_id == person_id)
    ).first()
    if state is None:
        state = MemberState(pair_id=pair_id, person_id=person_id)
        session.add(state)
        session.flush()
    return state
