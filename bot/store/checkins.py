"""Queries for check-ins, attention settings, help requests and the Home. Never commits."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.domain.health import PairSignals
from bot.domain.models import (
    CheckIn,
    Goal,
    GoalStatus,
    HandledEvent,
    HelpRequest,
    MemberState,
    Nudge,
    PrivateNote,
)
from bot.store import get_member_state  # noqa: F401  (re-exported for callers)
from bot.store.outcomes import poor_fit_pairs


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


def load_signals(pair_ids: list[int], *, session: Session) -> dict[int, PairSignals]:
    """Return each pair's health signals with a few grouped queries (no per-pair round trips)."""
    if not pair_ids:
        return {}
    last_met = dict(session.exec(
        select(CheckIn.pair_id, func.max(CheckIn.met_on)).where(col(CheckIn.pair_id).in_(pair_ids))
        .group_by(CheckIn.pair_id)
    ).all())
    last_logged = dict(session.exec(
        select(CheckIn.pair_id, func.max(CheckIn.created_at)).where(col(CheckIn.pair_id).in_(pair_ids))
        .group_by(CheckIn.pair_id)
    ).all())
    last_help = dict(session.exec(
        select(HelpRequest.pair_id, func.max(HelpRequest.created_at)).where(col(HelpRequest.pair_id).in_(pair_ids))
        .group_by(HelpRequest.pair_id)
    ).all())
    paused = set(session.exec(
        select(MemberState.pair_id).where(
            col(MemberState.pair_id).in_(pair_ids), col(MemberState.prompts_paused_at).is_not(None)
        )
    ).all())
    poor_fit = poor_fit_pairs(session=session, pair_ids=pair_ids)
    signals = {}
    for pair_id in pair_ids:
        help_at, logged_at = last_help.get(pair_id), last_logged.get(pair_id)
        # A raised hand counts until a meeting is logged after it.
        raised = help_at is not None and (logged_at is None or as_utc(help_at) > as_utc(logged_at))
        signals[pair_id] = PairSignals(
            last_met_on=last_met.get(pair_id), help_requested=raised, prompts_paused=pair_id in paused,
            poor_fit=pair_id in poor_fit,
        )
    return signals


def as_utc(moment: datetime) -> datetime:
    """Return `moment` as aware UTC; SQLite hands stored aware times back naive."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def ratings_since(pair_ids: list[int], since: date, *, session: Session) -> list[tuple[int, int]]:
    """Return (pair id, rating) of every check-in met on or after `since`."""
    if not pair_ids:
        return []
    return [(p, r) for p, r in session.exec(
        select(CheckIn.pair_id, CheckIn.rating).where(col(CheckIn.pair_id).in_(pair_ids), CheckIn.met_on >= since)
    ).all()]


def claim_event(event_id: str, now: datetime, *, session: Session) -> None:
    """Record the event as handled; the flush raises IntegrityError when it already was."""
    session.add(HandledEvent(event_id=event_id, handled_at=now))
    session.flush()
