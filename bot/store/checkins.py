"""Queries for check-ins, attention settings, help requests and the Home. Never commits."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from bot.domain.models import (
    CheckIn,
    Goal,
    GoalStatus,
    HelpRequest,
    MemberState,
    Nudge,
    PrivateNote,
)
from bot.store import get_member_state  # noqa: F401  (re-exported for callers)


def list_member_states(person_id: str, pair_ids: Iterable[int], *, session: Session) -> dict[int, MemberState]:
    ids = list(pair_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(MemberState).where(MemberState.person_id == person_id, col(MemberState.pair_id).in_(ids))
    )
    return {row.pair_id: row for row in rows}


def record_response(state: MemberState, now: datetime) -> None:
    """Note that the person answered: the unanswered-prompt count starts again."""
    state.unanswered_prompts = 0
    state.last_response_at = now


def stopped_kinds(state: MemberState | None) -> list[str]:
    if state is None or not state.stopped_kinds:
        return []
    return [kind for kind in state.stopped_kinds.split(",") if kind]


def set_stopped_kinds(state: MemberState, kinds: list[str]) -> None:
    state.stopped_kinds = ",".join(dict.fromkeys(kinds))


def prompts_in_message(channel: str, ts: str, *, pair_id: int, recipients: tuple[str, ...], session: Session
                       ) -> list[Nudge]:
    """Return this pair's nudges shown in message `ts` of `channel` and sent to one of `recipients`.

    A press names its message itself, so only a message we sent this pair, to the presser or the pair's
    own conversation, counts: never another member's.
    """
    return list(session.exec(select(Nudge).where(Nudge.channel == channel, Nudge.ts == ts, Nudge.pair_id == pair_id,
                                                 Nudge.recipient.in_(recipients))))  # type: ignore[attr-defined]


def mark_nudge_answered(channel: str, ts: str, now: datetime, *, pair_id: int, recipients: tuple[str, ...],
                        session: Session) -> bool:
    """Record in the ledger that the pair's nudge shown in message `ts` got an answer; False when none is."""
    nudges = prompts_in_message(channel, ts, pair_id=pair_id, recipients=recipients, session=session)
    for nudge in nudges:
        if nudge.answered_at is None:
            nudge.answered_at = now
            session.add(nudge)
    return bool(nudges)


def list_open_goals(pair_id: int, *, session: Session) -> list[Goal]:
    """Return the pair's open goals, soonest due first, undated last."""
    goals = session.exec(select(Goal).where(Goal.pair_id == pair_id, Goal.status == GoalStatus.OPEN))
    return sorted(goals, key=lambda g: (g.due_on is None, g.due_on or date.max, g.id or 0))


def has_goals(pair_id: int, *, session: Session) -> bool:
    return session.exec(select(Goal.id).where(Goal.pair_id == pair_id).limit(1)).first() is not None


def latest_checkin(pair_id: int, *, session: Session) -> CheckIn | None:
    return session.exec(
        select(CheckIn).where(CheckIn.pair_id == pair_id)
        .order_by(col(CheckIn.met_on).desc(), col(CheckIn.id).desc()).limit(1)
    ).first()


def next_meeting_on(pair_id: int, today: date, *, session: Session) -> date | None:
    """Return the soonest planned meeting from today on, as recorded in any check-in."""
    return session.exec(
        select(func.min(CheckIn.next_meeting_on)).where(CheckIn.pair_id == pair_id, CheckIn.next_meeting_on >= today)
    ).first()


def recent_checkins_by(pair_id: int, author_id: str, *, session: Session, limit: int = 3) -> list[CheckIn]:
    return list(session.exec(
        select(CheckIn).where(CheckIn.pair_id == pair_id, CheckIn.author_id == author_id)
        .order_by(col(CheckIn.met_on).desc(), col(CheckIn.id).desc()).limit(limit)
    ))


def own_private_notes(checkin_ids: list[int], author_id: str, *, session: Session) -> dict[int, PrivateNote]:
    """Return `author_id`'s own notes for these check-ins; another author's note is never loaded."""
    if not checkin_ids:
        return {}
    rows = session.exec(
        select(PrivateNote).where(col(PrivateNote.checkin_id).in_(checkin_ids), PrivateNote.author_id == author_id)
    )
    return {row.checkin_id: row for row in rows}


def recent_help_request(pair_id: int, since: datetime, *, session: Session) -> HelpRequest | None:
    """Return a help request either member of the pair made since `since`, if any."""
    return session.exec(
        select(HelpRequest).where(HelpRequest.pair_id == pair_id, HelpRequest.created_at >= since).limit(1)
    ).first()


def last_met_on(pair_ids: list[int], *, session: Session) -> dict[int, date]:
    """Return each pair's newest meeting date (pairs with no check-in are left out), in one statement."""
    if not pair_ids:
        return {}
    return dict(session.exec(
        select(CheckIn.pair_id, func.max(CheckIn.met_on)).where(col(CheckIn.pair_id).in_(pair_ids))
        .group_by(CheckIn.pair_id)
    ).all())


def as_utc(moment: datetime) -> datetime:
    """Return `moment` as aware UTC; SQLite hands stored aware times back naive."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _update_member_state(
    *, session: Session, pair_id: int, person_id: str, values: dict[str, Any], initial: dict[str, Any]
) -> None:
    """Update the member's state, creating it with `initial` when it does not exist yet.

    Raises IntegrityError when a handler created the row at the same moment: roll back and call again.
    """
    result = session.execute(
        update(MemberState)
        .where(MemberState.pair_id == pair_id, MemberState.person_id == person_id)  # type: ignore[arg-type]
        .values(**values)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        session.add(MemberState(pair_id=pair_id, person_id=person_id, **initial))
        session.flush()


def count_unanswered_prompt(*, session: Session, pair_id: int, person_id: str) -> None:
    """Add one to the member's unanswered "how is it going?" prompts (atomically, in SQL)."""
    _update_member_state(session=session, pair_id=pair_id, person_id=person_id,
                         values={"unanswered_prompts": MemberState.unanswered_prompts + 1},
                         initial={"unanswered_prompts": 1})


def mark_prompts_paused(*, session: Session, pair_id: int, person_id: str, now: datetime) -> None:
    _update_member_state(session=session, pair_id=pair_id, person_id=person_id,
                         values={"prompts_paused_at": now}, initial={"prompts_paused_at": now})
