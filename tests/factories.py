"""Plain test-data factories with fixed defaults.

Each adds its row and flushes (so ids exist) but never commits: call `session.commit()` when done.
Signatures only ever grow keyword arguments, so every engineer's tests can rely on them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import Session

from bot.crypto import NoteCipher
from bot.domain.models import (
    Agreement,
    CheckIn,
    Goal,
    GoalStatus,
    Pair,
    PairStatus,
    Person,
    Phase,
    PrivateNote,
)
from tests.conftest import COORDINATOR, MENTEE, MENTOR

DEFAULT_STARTED_ON = date(2026, 1, 5)
DEFAULT_ENDS_ON = date(2028, 1, 3)


def make_person(
    session: Session,
    user_id: str,
    *,
    display_name: str | None = None,
    tz: str | None = "UTC",
    is_admin: bool = False,
    is_owner: bool = False,
    is_bot: bool = False,
    is_deleted: bool = False,
    info_fetched_at: datetime | None = None,
) -> Person:
    """Return the Person `user_id`, creating it with the given facts when absent."""
    person = session.get(Person, user_id)
    if person is not None:
        return person
    person = Person(
        slack_user_id=user_id,
        display_name=display_name or user_id,
        tz=tz,
        is_admin=is_admin,
        is_owner=is_owner,
        is_bot=is_bot,
        is_deleted=is_deleted,
        info_fetched_at=info_fetched_at,
    )
    session.add(person)
    session.flush()
    return person


def make_pair(
    session: Session,
    *,
    mentor_id: str = MENTOR,
    mentee_id: str = MENTEE,
    phase: str = Phase.RAPPORT,
    status: str = PairStatus.ACTIVE,
    cadence_days: int = 14,
    started_on: date = DEFAULT_STARTED_ON,
    ends_on: date = DEFAULT_ENDS_ON,
    created_by: str = COORDINATOR,
    channel_id: str | None = "GPAIR0001",
    paused_until: date | None = None,
    created_at: datetime | None = None,
    phase_changed_at: datetime | None = None,
    winding_up_at: datetime | None = None,
    ended_at: datetime | None = None,
    closure_reason: str | None = None,
) -> Pair:
    """Add a pair (and its two people when absent); by default active, in rapport, every 14 days."""
    make_person(session, mentor_id)
    make_person(session, mentee_id)
    begun = created_at or datetime(started_on.year, started_on.month, started_on.day, 9, tzinfo=UTC)
    pair = Pair(
        mentor_id=mentor_id,
        mentee_id=mentee_id,
        phase=phase,
        status=status,
        cadence_days=cadence_days,
        started_on=started_on,
        ends_on=ends_on,
        created_by=created_by,
        channel_id=channel_id,
        paused_until=paused_until,
        created_at=begun,
        phase_changed_at=phase_changed_at or begun,
        winding_up_at=winding_up_at,
        ended_at=ended_at,
        closure_reason=closure_reason,
    )
    session.add(pair)
    session.flush()
    return pair


def make_goal(
    session: Session,
    pair: Pair,
    *,
    text: str = "Ship the first demo",
    measure: str = "3 demos given",
    due_on: date | None = date(2026, 6, 30),
    status: str = GoalStatus.OPEN,
    achieved_on: date | None = None,
    created_by: str | None = None,
    created_at: datetime | None = None,
) -> Goal:
    """Add a goal to `pair`, written by the mentee unless told otherwise."""
    goal = Goal(
        pair_id=pair.id,
        text=text,
        measure=measure,
        due_on=due_on,
        status=status,
        achieved_on=achieved_on,
        created_by=created_by or pair.mentee_id,
        **({"created_at": created_at} if created_at is not None else {}),
    )
    session.add(goal)
    session.flush()
    return goal


def make_checkin(
    session: Session,
    pair: Pair,
    cipher: NoteCipher,
    *,
    author_id: str | None = None,
    met_on: date = date(2026, 1, 12),
    rating: int = 4,
    shared_text: str = "We worked on the demo plan.",
    private_note: str | None = None,
    next_meeting_on: date | None = None,
    created_at: datetime | None = None,
) -> CheckIn:
    """Add a logged meeting with its shared text encrypted, and a private note when given."""
    author = author_id or pair.mentee_id
    checkin = CheckIn(
        pair_id=pair.id,
        author_id=author,
        met_on=met_on,
        rating=rating,
        shared_text_enc=cipher.encrypt(shared_text),
        next_meeting_on=next_meeting_on,
        **({"created_at": created_at} if created_at is not None else {}),
    )
    session.add(checkin)
    session.flush()
    if private_note is not None:
        session.add(PrivateNote(checkin_id=checkin.id, author_id=author, text_enc=cipher.encrypt(private_note)))
        session.flush()
    return checkin


def make_agreement(
    session: Session,
    pair: Pair,
    *,
    meeting_frequency: str = "every 2 weeks",
    who_sets_up: str = "The mentee books the meeting.",
    contact: str = "Slack DM, video calls",
    confidentiality: str = "What we say stays between us.",
    off_limits: str = "Salary negotiations",
    success_measure: str = "The mentee leads a design review.",
    way_out: str = "Either of us can say so; we tell the coordinator.",
    updated_by: str | None = None,
    updated_at: datetime | None = None,
) -> Agreement:
    """Add the pair's agreement, filled in with ordinary answers."""
    agreement = Agreement(
        pair_id=pair.id,
        meeting_frequency=meeting_frequency,
        who_sets_up=who_sets_up,
        contact=contact,
        confidentiality=confidentiality,
        off_limits=off_limits,
        success_measure=success_measure,
        way_out=way_out,
        updated_by=updated_by or pair.mentee_id,
        **({"updated_at": updated_at} if updated_at is not None else {}),
    )
    session.add(agreement)
    session.flush()
    return agreement
