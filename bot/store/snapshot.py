"""The program snapshot the nudge policy reads (a fixed number of statements) and the nudge ledger."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from sys import intern
from typing import Any

from sqlalchemy import DateTime, any_, bindparam, case, exists, func, or_, type_coerce
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from bot.db import CANDIDATE_KEYS
from bot.domain.models import (
    Agreement,
    CheckIn,
    Goal,
    GoalStatus,
    MemberState,
    Nudge,
    NudgeStatus,
    Pair,
    PairStatus,
    Person,
    WorkspaceFlag,
)
from bot.domain.policy import (
    CLOSING_SURVEY_WINDOW_DAYS,
    GOAL_OVERDUE_WINDOW,
    GOAL_SOON_DAYS,
    GROUP,
    Delivery,
    GoalFacts,
    MemberFacts,
    PairFacts,
    ProgramState,
)
from bot.domain.rows import RowsByKey
from bot.store.driver import Days, driver_rows, moment
from bot.store.flags import QUIET

_COUNTED = (NudgeStatus.CLAIMED, NudgeStatus.SENT)



@dataclass(frozen=True)
class _Statements:
    """The snapshot's statements, built once: a sweep runs every few minutes, and building is not free."""

    pairs: Any
    one_pair: Any
    coordinators: Any
    goals: Any
    members: Any
    recent: Any
    quiet: Any


@cache
def _statements() -> _Statements:
    live_ids = select(Pair.id).where(Pair.status != PairStatus.ENDED)
    since = bindparam("since")
    mentor = aliased(Person, name="mentor")
    mentee = aliased(Person, name="mentee")
    latest = aliased(CheckIn, name="latest")
    reached = type_coerce(func.coalesce(Nudge.sent_at, Nudge.claimed_at), Nudge.claimed_at.type)  # type: ignore[attr-defined]

    def member_of_pair(column: Any) -> Any:
        # A subquery, not a join: only group DMs need it, and the week's deliveries then come from the
        # ledger's covering index alone.
        return select(column).where(Pair.id == Nudge.pair_id).scalar_subquery()  # type: ignore[arg-type]
    # The pair's latest check-in (by meeting date, then id), found through ix_checkin_pair_met for each pair.
    latest_id = (
        select(CheckIn.id)
        .where(CheckIn.pair_id == Pair.id)
        .order_by(CheckIn.met_on.desc(), CheckIn.id.desc())  # type: ignore[attr-defined,union-attr]
        .limit(1)
        .correlate(Pair)
        .scalar_subquery()
    )
    # The pair's first meeting (the fit check and the pulses count from it): the first entry of the pair's
    # range in ix_checkin_pair_met.
    first_met_on = (
        select(func.min(CheckIn.met_on)).where(CheckIn.pair_id == Pair.id).correlate(Pair).scalar_subquery()
    )
    # Pairs the sweep reads: those not ended, and those ended recently enough to be owed a closing survey.
    swept = or_(Pair.status != PairStatus.ENDED, Pair.ended_at >= bindparam("ended_since"))  # type: ignore[operator]
    # One row per pair with everything the policy reads about it but goals and member states: one statement
    # and one pass, cheaper than a query per table (bench/sweep.py measures it).
    pair_rows = (
        select(
            Pair.id, Pair.mentor_id, Pair.mentee_id, Pair.phase, Pair.status, Pair.cadence_days,  # type: ignore[call-overload]
            Pair.started_on, Pair.ends_on, Pair.channel_id, Pair.paused_until,
            mentor.tz, mentee.tz, Agreement.pair_id.is_not(None),  # type: ignore[union-attr]
            latest.met_on, latest.next_meeting_on,
            exists().where(Goal.pair_id == Pair.id),  # type: ignore[arg-type]
            first_met_on, Pair.ended_at,
        )
        .join(mentor, mentor.slack_user_id == Pair.mentor_id, isouter=True)
        .join(mentee, mentee.slack_user_id == Pair.mentee_id, isouter=True)
        .join(Agreement, Agreement.pair_id == Pair.id, isouter=True)  # type: ignore[arg-type]
        .join(latest, latest.id == latest_id, isouter=True)
    )
    return _Statements(
        pairs=pair_rows.where(swept).order_by(Pair.id),
        one_pair=pair_rows.where(Pair.id == bindparam("pair_id")),
        coordinators=select(Person.slack_user_id, Person.tz).where(
            Person.slack_user_id.in_(bindparam("coordinators", expanding=True))  # type: ignore[attr-defined]
        ),
        # Only goals a reminder could be about today: open, due within reach (others are read when a
        # message lists them). Most of a program's goals are far from due, or achieved.
        # Goals and member states in pair order, read alongside the pairs' stream.
        goals=select(Goal.pair_id, Goal.id, Goal.text, Goal.due_on, Goal.status)
        .where(
            Goal.pair_id.in_(live_ids),  # type: ignore[attr-defined]
            Goal.status == GoalStatus.OPEN,
            Goal.due_on.between(bindparam("due_from"), bindparam("due_to")),  # type: ignore[union-attr]
        )
        .order_by(Goal.pair_id, Goal.id),
        members=select(
            MemberState.pair_id, MemberState.person_id, MemberState.snoozed_until, MemberState.unanswered_prompts,
            MemberState.prompts_paused_at, MemberState.stopped_kinds, MemberState.last_response_at,
        ).where(MemberState.pair_id.in_(select(Pair.id).where(swept)))  # type: ignore[attr-defined]
        .order_by(MemberState.pair_id, MemberState.id),
        # Who was reached in the past week, across every pair (ended ones too): the daily and weekly caps read
        # this. Only a delivery near enough to be on someone's local today comes with its time (a plain
        # DateTime, made aware by `moment`: the model's type converts in Python, twice a row); the rest are
        # counted, and a time each would be parsed for nothing. A group DM's members come with it alone.
        recent=select(Nudge.recipient, case((reached.between(bindparam("near_from"), bindparam("near_to")),
                                             type_coerce(reached, DateTime()))),
                      case((Nudge.recipient == GROUP, member_of_pair(Pair.mentor_id))),
                      case((Nudge.recipient == GROUP, member_of_pair(Pair.mentee_id))))
        .where(Nudge.claimed_at >= since, Nudge.status.in_(_COUNTED), reached > bindparam("week_ago")),  # type: ignore[attr-defined]
        quiet=select(WorkspaceFlag.value).where(WorkspaceFlag.name == QUIET),
    )


# A delivery further than this from now is on nobody's local today, whatever their zone (DST included).
NEAR_TODAY = timedelta(days=2)
NO_KINDS: frozenset[str] = frozenset()
# The members of the many pairs without any member state share one empty mapping (nobody changes it).
NO_MEMBERS: dict[str, MemberFacts] = {}


def read_program(
    *,
    session: Session,
    now: datetime,
    program_tz: str,
    summary_channel: str | None,
    coordinators: tuple[str, ...],
    max_dms_per_week: int,
) -> tuple[ProgramState, Iterator[PairFacts]]:
    """Return the policy's snapshot without its pairs (and without ledger keys: see `claimed_keys`), and the
    pairs as a stream to read once, in id order, while `session` is open.

    The sweep decides each pair as it streams by and keeps none: holding them all costs memory in proportion
    to the program (bench/memory.py). Each pair carries its members' zones; the snapshot's `zones` holds the
    coordinators' and fills in, as the stream passes, with those of members the daily cap needs.
    Six statements with the stream, however many pairs there are. Rows come as plain tuples fetched in
    batches: ORM objects and row-by-row fetching would cost more than the SQL itself.
    """
    q = _statements()
    connection = session.connection()
    run = connection.execute
    zones: dict[str, str | None] = dict(run(q.coordinators, {"coordinators": list(coordinators)}).all())
    today = now.date()  # a local date is within a day of it, whatever the zone
    reach = {"due_from": today - timedelta(days=GOAL_OVERDUE_WINDOW + 2),
             "due_to": today + timedelta(days=GOAL_SOON_DAYS + 2)}
    ended_since = {"ended_since": now - timedelta(days=CLOSING_SURVEY_WINDOW_DAYS + 2)}
    # Deliveries that may be on someone's local today are kept one by one (the daily cap needs each one's
    # time, against the person's zone); of the rest of the week, the weekly cap needs only a count.
    deliveries: list[Delivery] = []
    earlier: dict[str, int] = defaultdict(int)
    window = {"since": now - timedelta(days=8), "week_ago": now - timedelta(days=7),
              "near_from": now - NEAR_TODAY, "near_to": now + NEAR_TODAY}
    for recipient, near, mentor_id, mentee_id in driver_rows(connection, q.recent, window):
        people = (recipient,) if recipient != GROUP else tuple(p for p in (mentor_id, mentee_id) if p)
        if near is None:
            for person in people:
                earlier[person] += 1
        else:
            near = moment(near)
            deliveries.extend(Delivery(person, near) for person in people)
    # Of the pairs' members, only these need a zone in the snapshot: the daily cap looks at their day.
    wanted = frozenset(d.person_id for d in deliveries)
    quiet = run(q.quiet).scalar_one_or_none() == "on"
    state = ProgramState(
        pairs=(),
        zones=zones,
        deliveries=tuple(deliveries),
        earlier_this_week=dict(earlier),
        quiet=quiet,
        program_tz=program_tz,
        summary_channel=summary_channel,
        coordinators=coordinators,
        max_dms_per_week=max_dms_per_week,
    )

    def pairs() -> Iterator[PairFacts]:
        # A pair's goals and member states are taken as it passes: none is held for the whole program.
        days = Days()
        goals = RowsByKey(driver_rows(connection, q.goals, reach))
        members = RowsByKey(driver_rows(connection, q.members, ended_since))
        for row in driver_rows(connection, q.pairs, ended_since):
            pair_id = row[0]
            goal_rows = goals.take(pair_id)
            yield _pair_facts(row, [GoalFacts(goal_id, text, days[due_on], status)
                                    for goal_id, text, due_on, status in goal_rows] if goal_rows else (),
                              _members(members.take(pair_id)), days, zones, wanted)

    return state, pairs()


def _members(rows: Sequence[Any]) -> dict[str, MemberFacts]:
    """Return a pair's member states by person, from its rows of the member statement."""
    if not rows:
        return NO_MEMBERS
    return {person_id: MemberFacts(
        snoozed_until=moment(snoozed),
        unanswered_prompts=unanswered,
        prompts_paused_at=moment(paused_at),
        stopped_kinds=frozenset(k for k in stopped.split(",") if k) if stopped else NO_KINDS,
        last_response_at=moment(responded),
    ) for person_id, snoozed, unanswered, paused_at, stopped, responded in rows}


def load_program_state(**read: Any) -> ProgramState:
    """Return the whole snapshot, pairs included (the arguments of `read_program`): for readers that look
    at the pairs more than once; the sweep streams them."""
    state, pairs = read_program(**read)
    return replace(state, pairs=tuple(pairs))


def read_pair(pair_id: int, *, session: Session) -> PairFacts | None:
    """Return one pair's facts as a nudge message reads them, with all its open goals; None if it is gone.

    The sweep keeps no pair, so a nudge reads its pair again when it is sent (and says what is true then).
    Member states are left out: no message shows them.
    """
    # One row, as SQLAlchemy gives it (converted values, which `_pair_facts` reads as well as the driver's):
    # no server-side cursor for each nudge sent.
    row = session.connection().execute(_statements().one_pair, {"pair_id": pair_id}).first()
    if row is None:
        return None
    return _pair_facts(row, open_goals(pair_id, session=session), NO_MEMBERS, Days())


def _pair_facts(row: Any, goals: Any, members: dict[str, MemberFacts], days: Days,
                zones: dict[str, str | None] | None = None, wanted: frozenset[str] = frozenset()) -> PairFacts:
    """Build a pair's facts from its row of the pair statements (as `driver_rows` gives it); note in `zones` the
    zones of its members who are `wanted`."""
    (pair_id, mentor_id, mentee_id, phase, status, cadence, started_on, ends_on, channel_id, paused_until,
     mentor_tz, mentee_tz, agreed, met_on, next_on, goal_set, first_met_on, ended_at) = row
    if zones is not None:
        # These outlive the stream, and a driver returns a new string per row: the zones are shared instead.
        if mentor_id in wanted:
            zones[mentor_id] = intern(mentor_tz) if mentor_tz else None
        if mentee_id in wanted:
            zones[mentee_id] = intern(mentee_tz) if mentee_tz else None
    return PairFacts(pair_id, mentor_id, mentee_id, phase, status, cadence, days[started_on], days[ends_on],
                     channel_id, days[paused_until], bool(agreed), tuple(goals), days[met_on], days[next_on],
                     members, bool(goal_set), (mentor_tz, mentee_tz), days[first_met_on],
                     None if ended_at is None else moment(ended_at).date())


def open_goals(pair_id: int, *, session: Session) -> tuple[GoalFacts, ...]:
    """Return the pair's open goals, in the order they were set: what a meeting or closing nudge lists."""
    rows = session.connection().execute(
        select(Goal.id, Goal.text, Goal.due_on, Goal.status)
        .where(Goal.pair_id == pair_id, Goal.status == GoalStatus.OPEN)
        .order_by(Goal.id)  # type: ignore[arg-type]
    )
    return tuple(GoalFacts(*row) for row in rows)


KEYS_PER_INSERT = 500  # keys a row of the SQLite lookup's insert carries: a step per key would cost twice


def _rows_of(keys: Iterable[str], width: int) -> list[tuple[str, ...]]:
    """Return `keys` as rows of `width`, the last padded with its own last key (a repeat changes no answer)."""
    rows: list[tuple[str, ...]] = []
    row: list[str] = []
    for key in keys:
        row.append(key)
        if len(row) == width:
            rows.append(tuple(row))
            row.clear()
    if row:
        rows.append(tuple(row + [row[-1]] * (width - len(row))))
    return rows


def claimed_keys(keys: Iterable[str], *, session: Session) -> frozenset[str]:
    """Return which of `keys` the ledger already holds, in a fixed number of statements however many keys.

    PostgreSQL takes them as one text that the server splits into an array (keys hold no newline); an array
    parameter would be adapted key by key, in Python objects. SQLite has no array: the keys go into a
    temporary table, KEYS_PER_INSERT at a time by one prepared insert run as often as needed (executemany:
    one statement), then one join probes each in the ledger's unique index. An IN list would hit either
    database's parameter limit on a big program, and compiling a placeholder per key costs more than the
    lookup; one JSON parameter read by `json_each` makes SQLite hold several copies of the text at once,
    outside Python's accounting, the sweep's highest memory on a big program (bench/README.md). The keys are
    probed in the order given: in pair order (a sweep's candidates) the ledger's key index is walked a page
    after another.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        text = "\n".join(keys)
        if not text:
            return frozenset()
        statement = select(Nudge.key).where(Nudge.key == any_(func.string_to_array(bindparam("keys"), "\n")))
        return frozenset(connection.execute(statement, {"keys": text}).scalars())
    rows = _rows_of(keys, KEYS_PER_INSERT)
    if not rows:
        return frozenset()
    run = connection.exec_driver_sql
    # The connection's own table (bot/db.py), emptied after each use; CROSS JOIN keeps the keys the outer loop.
    try:
        run(f"INSERT INTO temp.{CANDIDATE_KEYS} (key) VALUES {', '.join(['(?)'] * KEYS_PER_INSERT)}", rows)
        return frozenset(run(f"SELECT nudge.key FROM temp.{CANDIDATE_KEYS} AS given CROSS JOIN nudge "
                             "ON nudge.key = given.key").scalars())
    finally:
        run(f"DELETE FROM temp.{CANDIDATE_KEYS}")
