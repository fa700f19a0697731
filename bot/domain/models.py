"""SQLModel tables and value types. Every stored time is aware UTC; `*_at` are times, `*_on` dates.

One module, longer than most, on purpose: it is the schema. The migrations are checked against it as a whole
(tests/test_db.py), and a reader looking for where something is stored finds every table here, each value
type beside the table whose column holds it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import Column, Index, UniqueConstraint
from sqlalchemy import Text as SAText
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Phase(StrEnum):
    """A pair's stage in a mentoring relationship, in the order a pair moves through them."""

    RAPPORT = "rapport"
    DIRECTION = "direction"
    PROGRESSION = "progression"
    WINDING_UP = "winding_up"
    ENDED = "ended"

    def next(self) -> Phase | None:
        order = list(Phase)
        index = order.index(self)
        return order[index + 1] if index + 1 < len(order) else None


class PairStatus(StrEnum):
    """Whether a pair is being reminded (active), held (paused) or finished."""

    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class GoalStatus(StrEnum):
    """A goal is open until either member marks it achieved."""

    OPEN = "open"
    ACHIEVED = "achieved"


class NudgeKind(StrEnum):
    """Every message the sweep may send unprompted; the policy decides which are due."""

    HOW_IS_IT_GOING = "how_is_it_going"
    MEETING_PREP = "meeting_prep"
    REFLECTION = "reflection"
    GOAL_DUE_SOON = "goal_due_soon"
    GOAL_OVERDUE = "goal_overdue"
    AGREEMENT_PROMPT = "agreement_prompt"
    DIRECTION_PROMPT = "direction_prompt"
    DRIFT = "drift"
    AT_RISK = "at_risk"
    WINDING_UP = "winding_up"
    WEEKLY_SUMMARY = "weekly_summary"
    PROMPTS_PAUSED = "prompts_paused"
    SNOOZE_REMINDER = "snooze_reminder"
    FIT_CHECK = "fit_check"
    QUALITY_PULSE = "quality_pulse"
    CLOSING_SURVEY = "closing_survey"
    MATCH_OFFER = "match_offer"  # mentee-choice mode: a mentee's choices, or a mentor's request


class NudgeStatus(StrEnum):
    """A ledger row is claimed before its post and marked sent or undeliverable after."""

    CLAIMED = "claimed"
    SENT = "sent"
    UNDELIVERABLE = "undeliverable"


class Person(SQLModel, table=True):
    """A Slack user we have met, with what `users.info` told us (cached)."""

    # Each sweep asks for the profiles due for a refresh: a small range, not all the program's people.
    __table_args__ = (Index("ix_person_info_fetched", "info_fetched_at"),)

    slack_user_id: str = Field(primary_key=True, max_length=32)
    display_name: str = Field(default="", max_length=255)
    tz: str | None = Field(default=None, max_length=64)
    is_admin: bool = False
    is_owner: bool = False
    is_bot: bool = False
    is_deleted: bool = False
    info_fetched_at: datetime | None = None


class Pair(SQLModel, table=True):
    __table_args__ = (Index("ix_pair_status", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    mentor_id: str = Field(foreign_key="person.slack_user_id", index=True, max_length=32)
    mentee_id: str = Field(foreign_key="person.slack_user_id", index=True, max_length=32)
    phase: str = Field(default=Phase.RAPPORT, max_length=16)
    status: str = Field(default=PairStatus.ACTIVE, max_length=16)
    cadence_days: int = 14
    started_on: date
    ends_on: date
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = Field(max_length=32)
    channel_id: str | None = Field(default=None, max_length=32)
    paused_until: date | None = None
    phase_changed_at: datetime = Field(default_factory=utcnow)
    winding_up_at: datetime | None = None
    ended_at: datetime | None = None
    closure_reason: str | None = Field(default=None, max_length=16)


class ClosureReason(StrEnum):
    """Why a pair ended, as the member who ended it said (or completed, when the end date came)."""

    COMPLETED = "completed"
    ENDED_EARLY = "ended_early"
    REMATCHED = "rematched"


class Agreement(SQLModel, table=True):
    """What the pair agreed at its first meeting; one per pair."""

    pair_id: int = Field(foreign_key="pair.id", primary_key=True, ondelete="CASCADE")
    meeting_frequency: str = Field(default="", max_length=500)
    who_sets_up: str = Field(default="", max_length=500)
    contact: str = Field(default="", max_length=500)
    confidentiality: str = Field(default="", max_length=1000)
    off_limits: str = Field(default="", max_length=1000)
    success_measure: str = Field(default="", max_length=1000)
    way_out: str = Field(default="", max_length=1000)
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: str = Field(max_length=32)


class Goal(SQLModel, table=True):
    # The sweep reads only open goals due near today: a few percent of a program's goals.
    __table_args__ = (Index("ix_goal_status_due", "status", "due_on"),)

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id", index=True, ondelete="CASCADE")
    text: str = Field(max_length=500)
    measure: str = Field(default="", max_length=500)
    due_on: date | None = None
    status: str = Field(default=GoalStatus.OPEN, max_length=16)
    achieved_on: date | None = None
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = Field(max_length=32)


class CheckIn(SQLModel, table=True):
    """A logged meeting. `shared_text_enc` is seen by both members; private notes live apart."""

    __tablename__ = "checkin"
    __table_args__ = (Index("ix_checkin_pair_met", "pair_id", "met_on"),)

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id", ondelete="CASCADE")
    author_id: str = Field(foreign_key="person.slack_user_id", max_length=32)
    met_on: date
    rating: int
    shared_text_enc: str = Field(default="", sa_column=Column(SAText, nullable=False, default=""))
    next_meeting_on: date | None = None
    created_at: datetime = Field(default_factory=utcnow)


class PrivateNote(SQLModel, table=True):
    """The author-only note of a check-in, kept in its own table so no join shares it by accident."""

    __tablename__ = "private_note"

    id: int | None = Field(default=None, primary_key=True)
    checkin_id: int = Field(foreign_key="checkin.id", unique=True, ondelete="CASCADE")
    author_id: str = Field(max_length=32)
    text_enc: str = Field(sa_column=Column(SAText, nullable=False))


class GoalProgress(SQLModel, table=True):
    __tablename__ = "goal_progress"
    __table_args__ = (UniqueConstraint("checkin_id", "goal_id"),)

    id: int | None = Field(default=None, primary_key=True)
    checkin_id: int = Field(foreign_key="checkin.id", ondelete="CASCADE")
    goal_id: int = Field(foreign_key="goal.id", ondelete="CASCADE")
    progress: str = Field(max_length=16)


class MemberState(SQLModel, table=True):
    """One member's attention settings for one pair: snooze, ignored prompts, stopped kinds."""

    __tablename__ = "member_state"
    __table_args__ = (UniqueConstraint("pair_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id", ondelete="CASCADE")
    person_id: str = Field(foreign_key="person.slack_user_id", max_length=32)
    snoozed_until: datetime | None = None
    unanswered_prompts: int = 0
    prompts_paused_at: datetime | None = None
    stopped_kinds: str = Field(default="", max_length=500)
    last_response_at: datetime | None = None
    reflection_text_enc: str | None = Field(default=None, sa_column=Column(SAText, nullable=True))


class HelpRequest(SQLModel, table=True):
    __tablename__ = "help_request"

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id", index=True, ondelete="CASCADE")
    person_id: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    nudge_key: str | None = Field(default=None, max_length=255)


class Nudge(SQLModel, table=True):
    """The ledger: one row per nudge ever claimed. The unique key makes delivery exactly-once."""

    # (status, claimed_at): the caps read the last days' deliveries and recovery the old open claims, both a
    # range within a status; the ledger keeps every nudge ever sent, so neither may scan it. The caps read
    # nothing but the index's other columns, so the table is not visited for the week's deliveries.
    __table_args__ = (Index("ix_nudge_status_claimed", "status", "claimed_at", "sent_at", "recipient", "pair_id"),
                      Index("ix_nudge_recipient_sent", "recipient", "sent_at"))

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=255)
    pair_id: int | None = Field(default=None, foreign_key="pair.id", index=True, ondelete="SET NULL")
    recipient: str = Field(max_length=32)
    kind: str = Field(max_length=32)
    period: str = Field(max_length=64)
    status: str = Field(default=NudgeStatus.CLAIMED, max_length=16)
    claimed_at: datetime = Field(default_factory=utcnow)
    claimed_by: str = Field(default="", max_length=64)
    sent_at: datetime | None = None
    channel: str | None = Field(default=None, max_length=32)
    ts: str | None = Field(default=None, max_length=32)
    attempts: int = 0
    error: str | None = Field(default=None, max_length=255)
    answered_at: datetime | None = None


class WorkspaceFlag(SQLModel, table=True):
    """Workspace-wide switches, e.g. the `quiet` kill switch."""

    __tablename__ = "workspace_flag"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(default="", max_length=255)
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: str = Field(default="", max_length=32)
    # The process holding a lease (the sweep's, on SQLite): a holder on this host that no longer runs is
    # known dead, and its lease is taken over at once instead of when it runs out.
    holder_host: str | None = Field(default=None, max_length=255)
    holder_pid: int | None = None


class SeenOnce(SQLModel, table=True):
    """Something Slack may deliver more than once, recorded when first acted on so that every instance ignores
    a repeat: an Events API id (`kind` "event": Slack retries) or a signed request's signature ("request": a
    replay). Each kind is forgotten once a repeat can no longer come."""

    __tablename__ = "seen_once"
    __table_args__ = (Index("ix_seen_once_kind_seen_at", "kind", "seen_at"),)

    kind: str = Field(primary_key=True, max_length=16)
    key: str = Field(primary_key=True, max_length=80)
    seen_at: datetime


# ---- sign-up and matching -----------------------------------------------------------------------------


class Topic(SQLModel, table=True):
    """One entry of the program's topic list, kept by coordinators; `key` is the name folded for uniqueness."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=75)
    key: str = Field(unique=True, max_length=75)
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = Field(default="", max_length=32)


class Profile(SQLModel, table=True):
    """What someone brings to and wants from the program; `in_pool` is False once they leave it."""

    person_id: str = Field(foreign_key="person.slack_user_id", primary_key=True, max_length=32)
    role: str = Field(max_length=16)
    strengths: str = Field(default="", sa_column=Column(SAText, nullable=False, default=""))
    questions: str = Field(default="", sa_column=Column(SAText, nullable=False, default=""))
    capacity: int = 1
    in_pool: bool = True
    front_of_queue: bool = False
    joined_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ProfileTopic(SQLModel, table=True):
    """A topic someone offers (`offered`) or wants (`wanted`)."""

    __tablename__ = "profile_topic"

    person_id: str = Field(foreign_key="profile.person_id", primary_key=True, max_length=32, ondelete="CASCADE")
    topic_id: int = Field(foreign_key="topic.id", primary_key=True, ondelete="CASCADE")
    kind: str = Field(primary_key=True, max_length=8)


class ProfileBlock(SQLModel, table=True):
    """Someone a person will not be paired with: read by the matcher only, shown to nobody."""

    __tablename__ = "profile_block"

    person_id: str = Field(foreign_key="profile.person_id", primary_key=True, max_length=32, ondelete="CASCADE")
    blocked_id: str = Field(primary_key=True, max_length=32)


class ProposalStatus(StrEnum):
    PROPOSED = "proposed"  # waiting for the coordinator
    SUPERSEDED = "superseded"  # a later `match` replaced it
    WITHDRAWN = "withdrawn"  # one of the two left the pool
    SKIPPED = "skipped"
    OFFERED = "offered"  # one of a mentee's choices
    NOT_CHOSEN = "not_chosen"
    CHOSEN = "chosen"  # the mentee picked it; the mentor is asked
    DECLINED = "declined"
    EXPIRED = "expired"  # the mentor did not answer in time
    ACCEPTED = "accepted"


class MatchProposal(SQLModel, table=True):
    """A proposed mentor for a mentee, with the reason in words, and what became of it."""

    __tablename__ = "match_proposal"
    __table_args__ = (Index("ix_match_proposal_status", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    mentor_id: str = Field(max_length=32, index=True)
    mentee_id: str = Field(max_length=32, index=True)
    score: int = 0
    rank: int = 0
    reason: str = Field(default="", sa_column=Column(SAText, nullable=False, default=""))
    status: str = Field(default=ProposalStatus.PROPOSED, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = Field(default="", max_length=32)
    asked_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str | None = Field(default=None, max_length=32)
    pair_id: int | None = None


# ---- outcomes: the fit check, quality pulses and the closing survey ----------------------------------------


class OutcomeKind(StrEnum):
    """The three outcome question sets a member answers."""

    FIT = "fit"
    PULSE = "pulse"
    CLOSING = "closing"


class OutcomeResponse(SQLModel, table=True):
    """One member's answer to one outcome question set (a fit check, a pulse, the closing survey).

    `helped_most_enc` is the closing survey's free text: encrypted like a private note and read by its
    author alone; no report, export or summary selects it.
    """

    __tablename__ = "outcome_response"
    __table_args__ = (UniqueConstraint("pair_id", "author_id", "kind", "period"),
                      Index("ix_outcome_response_kind_answered", "kind", "answered_at"))

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id", index=True, ondelete="CASCADE")
    author_id: str = Field(max_length=32)
    kind: str = Field(max_length=16)
    period: str = Field(max_length=32)  # fit: "first"; pulse: "p0", "p1"…; closing: "end"
    asked_at: datetime | None = None
    answered_at: datetime | None = None
    rating: int | None = None  # fit 1–5, growth 1–5, overall value 1–5
    meeting_as_agreed: str | None = Field(default=None, max_length=16)  # a MeetingRegularity
    take_part_again: bool | None = None
    change_requested_at: datetime | None = None  # "I'd like a different match"
    helped_most_enc: str | None = Field(default=None, sa_column=Column(SAText, nullable=True))


class MeetingRegularity(StrEnum):
    """A pulse's answer to "Are you meeting as you agreed?"."""

    YES = "yes"
    SOMETIMES = "sometimes"
    NO = "no"


class GoalAttainment(SQLModel, table=True):
    """A closing survey's verdict on one goal, against its measure."""

    __tablename__ = "goal_attainment"
    __table_args__ = (UniqueConstraint("response_id", "goal_id"),)

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="outcome_response.id", index=True, ondelete="CASCADE")
    goal_id: int = Field(foreign_key="goal.id", ondelete="CASCADE")
    attainment: str = Field(max_length=16)  # an Attainment


class Attainment(StrEnum):
    """The closing survey's verdict on one goal against its measure."""

    MET = "met"
    PARTLY = "partly"
    NOT_MET = "not_met"
