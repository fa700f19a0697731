"""The program snapshot the nudge policy reads (a fixed number of statements) and the nudge ledger."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from sys import intern
from typing import Any

from sqlalchemy import DateTime, String, any_, bindparam, case, delete, exists, func, or_, type_coerce, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from bot.domain.export import ExportInputs
from bot.domain.models import (
    Agreement,
    CheckIn,
    Goal,
    GoalStatus,
    HandledEvent,
    HelpRequest,
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
from bot.domain.summary import RATING_WINDOW_DAYS, RatedCheckin, SummaryInputs
from bot.store.flags import QUIET
from bot.store.outcomes import poor_fit_pairs
from bot.store.profiles import profile_topics

_COUNTED = (NudgeStatus.CLAIMED, NudgeStatus.SENT)



def _latest_checkins_query(pair_ids_query):  # type: ignore[no-untyped-def]
    """Return a query for each pair's latest check-in id (by meeting date, then id)."""
    ranked = (
        select(
            CheckIn.id.label("checkin_id"),  # type: ignore[union-attr]
            func.row_number()
            .over(partition_by=CheckIn.pair_id, order_by=(CheckIn.met_on.desc(), CheckIn.id.desc()))  # type: ignore[union-attr]
            .label("rank"),
        )
        .where(CheckIn.pair_id.in_(pair_ids_query))  # type: ignore[attr-defined]
        .subquery()
    )
    return select(ranked.c.checkin_id).where(ranked.c.rank == 1)


def latest_checkins(pair_ids_query, *, session: Session) -> dict[int, CheckIn]:  # type: ignore[no-untyped-def]
    """Return each pair's latest check-in (by meeting date, then id) in one statement."""
    rows = session.exec(select(CheckIn).where(CheckIn.id.in_(_latest_checkins_query(pair_ids_query))))  # type: ignore[union-attr]
    return {row.pair_id: row for row in rows}


@dataclass(frozen=True)
class _Statements:
    """The snapshot's statements, built once: a sweep runs every few minutes, and building is not free."""

    pairs: Any
    one_pair: Any
    coordinators: Any
    goals: Any
    members: Any
    keys: Any
    recent: Any
    quiet: Any
    stale: Any


@cache
def _statements() -> _Statements:
    live_ids = select(Pair.id).where(Pair.status != PairStatus.ENDED)
    since = bindparam("since")
    given_keys = func.json_each(bindparam("keys")).table_valued("value")
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
    # and one pass, where a query per table cost several times as much at 100,000 pairs.
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
    never_or_before = or_(Person.info_fetched_at.is_(None), Person.info_fetched_at < bindparam("before"))  # type: ignore[operator,union-attr]
    live_member = or_(
        exists().where(Pair.mentor_id == Person.slack_user_id, Pair.status != PairStatus.ENDED),
        exists().where(Pair.mentee_id == Person.slack_user_id, Pair.status != PairStatus.ENDED),
    )
    return _Statements(
        pairs=pair_rows.where(swept).order_by(Pair.id),
        one_pair=pair_rows.where(Pair.id == bindparam("pair_id")),
        coordinators=select(Person.slack_user_id, Person.tz).where(
            Person.slack_user_id.in_(bindparam("coordinators", expanding=True))  # type: ignore[attr-defined]
        ),
        # Only goals a reminder could be about today: open, due within reach (others are read when a
        # message lists them). Most of a program's goals are far from due, or achieved.
        goals=select(Goal.id, Goal.pair_id, Goal.text, Goal.due_on, Goal.status)
        .where(
            Goal.pair_id.in_(live_ids),  # type: ignore[attr-defined]
            Goal.status == GoalStatus.OPEN,
            Goal.due_on.between(bindparam("due_from"), bindparam("due_to")),  # type: ignore[union-attr]
        )
        .order_by(Goal.id),
        members=select(
            MemberState.pair_id, MemberState.person_id, MemberState.snoozed_until, MemberState.unanswered_prompts,
            MemberState.prompts_paused_at, MemberState.stopped_kinds, MemberState.last_response_at,
        ).where(MemberState.pair_id.in_(select(Pair.id).where(swept))),  # type: ignore[attr-defined]
        # SQLite's form of the ledger lookup (PostgreSQL takes an array): the keys as one JSON parameter, each
        # probed in the key's unique index.
        keys=select(Nudge.key).select_from(given_keys).join(Nudge, Nudge.key == given_keys.c.value),  # type: ignore[arg-type]
        # Who was reached in the past week, across every pair (ended ones too): the daily and weekly caps read
        # this. Only a delivery near enough to be on someone's local today comes with its time (a plain
        # DateTime, made aware by `_aware`: the model's type converts in Python, twice a row); the rest are
        # counted, and a time each would be parsed for nothing. A group DM's members come with it alone.
        recent=select(Nudge.recipient, case((reached.between(bindparam("near_from"), bindparam("near_to")),
                                             type_coerce(reached, DateTime()))),
                      case((Nudge.recipient == GROUP, member_of_pair(Pair.mentor_id))),
                      case((Nudge.recipient == GROUP, member_of_pair(Pair.mentee_id))))
        .where(Nudge.claimed_at >= since, Nudge.status.in_(_COUNTED), reached > bindparam("week_ago")),  # type: ignore[attr-defined]
        quiet=select(WorkspaceFlag.value).where(WorkspaceFlag.name == QUIET),
        # People whose Slack profile is due for a refresh: members of live pairs, and the coordinators.
        stale=select(Person.slack_user_id).where(
            never_or_before,
            or_(live_member, Person.slack_user_id.in_(bindparam("coordinators", expanding=True))),  # type: ignore[attr-defined]
        ).order_by(Person.slack_user_id),
    )


BATCH = 2_000
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

    The sweep decides each pair as it streams by and keeps none: at 100,000 pairs holding them all cost
    about 100 MB. Each pair carries its members' zones; the snapshot's `zones` holds the coordinators' and
    fills in, as the stream passes, with those of members the daily cap needs.
    Seven statements with the stream, however many pairs there are. Rows come as plain tuples fetched in
    batches: ORM objects and row-by-row fetching cost several times the SQL itself.
    """
    q = _statements()
    run = session.connection().execute
    zones: dict[str, str | None] = dict(run(q.coordinators, {"coordinators": list(coordinators)}).all())
    goals: dict[int, list[GoalFacts]] = defaultdict(list)
    today = now.date()  # a local date is within a day of it, whatever the zone
    reach = {"due_from": today - timedelta(days=GOAL_OVERDUE_WINDOW + 2),
             "due_to": today + timedelta(days=GOAL_SOON_DAYS + 2)}
    for goal_id, pair_id, text, due_on, status in _stream(run, q.goals, reach):
        goals[pair_id].append(GoalFacts(goal_id, text, due_on, status))
    members: dict[int, dict[str, MemberFacts]] = defaultdict(dict)
    ended_since = {"ended_since": now - timedelta(days=CLOSING_SURVEY_WINDOW_DAYS + 2)}
    for pair_id, person_id, snoozed, unanswered, paused_at, stopped, responded in run(q.members, ended_since).all():
        members[pair_id][person_id] = MemberFacts(
            snoozed_until=_aware(snoozed),
            unanswered_prompts=unanswered,
            prompts_paused_at=_aware(paused_at),
            stopped_kinds=frozenset(k for k in stopped.split(",") if k) if stopped else NO_KINDS,
            last_response_at=_aware(responded),
        )
    # Deliveries that may be on someone's local today are kept one by one (the daily cap needs each one's
    # time, against the person's zone); of the rest of the week, the weekly cap needs only a count.
    deliveries: list[Delivery] = []
    earlier: dict[str, int] = defaultdict(int)
    window = {"since": now - timedelta(days=8), "week_ago": now - timedelta(days=7),
              "near_from": now - NEAR_TODAY, "near_to": now + NEAR_TODAY}
    for recipient, near, mentor_id, mentee_id in _stream(run, q.recent, window):
        people = (recipient,) if recipient != GROUP else tuple(p for p in (mentor_id, mentee_id) if p)
        if near is None:
            for person in people:
                earlier[person] += 1
        else:
            near = _aware(near)
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
        for row in _stream(run, q.pairs, ended_since):
            yield _pair_facts(row, goals.get(row[0], ()), members.get(row[0], NO_MEMBERS), zones, wanted)

    return state, pairs()


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
    run = session.connection().execute
    row = run(_statements().one_pair, {"pair_id": pair_id}).first()
    if row is None:
        return None
    return _pair_facts(row, open_goals(pair_id, session=session), NO_MEMBERS)


def _stream(run: Any, statement: Any, parameters: dict[str, Any] | None = None) -> Iterator[Any]:
    # Fetched in batches: the whole result of a big query held at once, as rows, costs more memory than
    # everything built from it; and taken a batch at a time, as iterating row by row costs a call per row.
    for batch in run(statement.execution_options(yield_per=BATCH), parameters or {}).partitions():
        yield from batch


def _pair_facts(row: Any, goals: Any, members: dict[str, MemberFacts], zones: dict[str, str | None] | None = None,
                wanted: frozenset[str] = frozenset()) -> PairFacts:
    """Build a pair's facts from its row of the pair statements; note in `zones` the zones of its members
    who are `wanted`."""
    (pair_id, mentor_id, mentee_id, phase, status, cadence, started_on, ends_on, channel_id, paused_until,
     mentor_tz, mentee_tz, agreed, met_on, next_on, goal_set, first_met_on, ended_at) = row
    if zones is not None:
        # These outlive the stream, and a driver returns a new string per row: the zones are shared instead.
        if mentor_id in wanted:
            zones[mentor_id] = intern(mentor_tz) if mentor_tz else None
        if mentee_id in wanted:
            zones[mentee_id] = intern(mentee_tz) if mentee_tz else None
    return PairFacts(pair_id, mentor_id, mentee_id, phase, status, cadence, started_on, ends_on, channel_id,
                     paused_until, bool(agreed), tuple(goals), met_on, next_on, members, bool(goal_set),
                     (mentor_tz, mentee_tz), first_met_on, _aware(ended_at).date() if ended_at is not None else None)


def stale_people(*, session: Session, before: datetime, coordinators: tuple[str, ...]) -> list[str]:
    """Return who the sweep should ask Slack about again: members of live pairs and coordinators whose
    profile was fetched before `before` (or never), and coordinators we have never met."""
    run = session.connection().execute
    stale = list(run(_statements().stale, {"before": before, "coordinators": list(coordinators)}).scalars())
    known = set(run(_statements().coordinators, {"coordinators": list(coordinators)}).scalars())
    return stale + [c for c in coordinators if c not in known]


def open_goals(pair_id: int, *, session: Session) -> tuple[GoalFacts, ...]:
    """Return the pair's open goals, in the order they were set: what a meeting or closing nudge lists."""
    rows = session.connection().execute(
        select(Goal.id, Goal.text, Goal.due_on, Goal.status)
        .where(Goal.pair_id == pair_id, Goal.status == GoalStatus.OPEN)
        .order_by(Goal.id)  # type: ignore[arg-type]
    )
    return tuple(GoalFacts(*row) for row in rows)


def claimed_keys(keys: Sequence[str], *, session: Session) -> frozenset[str]:
    """Return which of `keys` the ledger already holds, in one statement whatever their number.

    The keys go as one parameter: an array on PostgreSQL, a JSON array read by `json_each` on SQLite. An IN
    list would hit PostgreSQL's 65,535-parameter limit at about 40,000 pairs (SQLite's is 32,766), and
    compiling 100,000 placeholders costs more than the lookup. SQLite probes them in the order given: in
    pair order (a sweep's candidates) it walks the key index a page after another, three times faster
    than in a set's order at 100,000 pairs.
    """
    if not keys:
        return frozenset()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        statement = select(Nudge.key).where(Nudge.key == any_(bindparam("keys", type_=ARRAY(String))))
        return frozenset(connection.execute(statement, {"keys": list(keys)}).scalars().all())
    return frozenset(connection.execute(_statements().keys, {"keys": json.dumps(list(keys))}).scalars().all())


def _aware(value: datetime | None) -> datetime | None:
    """Return `value` as aware UTC: column-only selects skip the model's conversion on SQLite."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


# ---- the ledger --------------------------------------------------------------------------------------------


def claim_nudge(
    *, session: Session, key: str, pair_id: int | None, recipient: str, kind: str, period: str,
    now: datetime, claimed_by: str,
) -> bool:
    """Insert the ledger row for `key`; return False when another sweep already holds it.

    Runs in its own transaction (flush + the caller's commit); on a duplicate the session is rolled back.
    """
    session.add(Nudge(key=key, pair_id=pair_id, recipient=recipient, kind=kind, period=period,
                      status=NudgeStatus.CLAIMED, claimed_at=now, claimed_by=claimed_by, attempts=1))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return False
    return True


def mark_sent(*, session: Session, key: str, now: datetime, channel: str, ts: str) -> None:
    session.execute(
        update(Nudge).where(Nudge.key == key).values(status=NudgeStatus.SENT, sent_at=now, channel=channel, ts=ts)
    )


def mark_undeliverable(*, session: Session, key: str, reason: str) -> None:
    session.execute(
        update(Nudge).where(Nudge.key == key).values(status=NudgeStatus.UNDELIVERABLE, error=reason[:255])
    )


def release_claim(*, session: Session, key: str) -> None:
    """Forget a claim whose send failed for a passing reason, so a later sweep retries it."""
    session.execute(delete(Nudge).where(Nudge.key == key, Nudge.status == NudgeStatus.CLAIMED))


def stale_claims(*, session: Session, before: datetime, limit: int = 500) -> list[Nudge]:
    """Return claims still open since before `before`: their process died between claiming and recording."""
    query = select(Nudge).where(Nudge.status == NudgeStatus.CLAIMED, Nudge.claimed_at < before)
    return list(session.exec(query.order_by(Nudge.id).limit(limit)))  # type: ignore[arg-type]


def mark_recovered(*, session: Session, claim: Nudge, now: datetime, channel: str, ts: str) -> bool:
    """Record a dead process's claim as sent (Slack has it); False when another sweep got there first."""
    result = session.execute(
        update(Nudge)
        .where(Nudge.key == claim.key, Nudge.status == NudgeStatus.CLAIMED, Nudge.claimed_by == claim.claimed_by,
               Nudge.claimed_at == claim.claimed_at)
        .values(status=NudgeStatus.SENT, sent_at=now, channel=channel, ts=ts)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def drop_stale_claim(*, session: Session, claim: Nudge) -> bool:
    """Forget a dead process's claim Slack never saw, so the policy may send it again.

    Compare-and-set on (claimed_by, claimed_at): of two sweeps recovering the same claim, one wins.
    """
    result = session.execute(
        delete(Nudge).where(Nudge.key == claim.key, Nudge.status == NudgeStatus.CLAIMED,
                            Nudge.claimed_by == claim.claimed_by, Nudge.claimed_at == claim.claimed_at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def prune_handled_events(*, session: Session, before: datetime) -> None:
    """Forget Events API ids older than Slack's redelivery horizon (one statement)."""
    session.execute(delete(HandledEvent).where(HandledEvent.handled_at < before))


def pause_pairs_of(*, session: Session, person_id: str) -> list[int]:
    """Pause every active pair `person_id` belongs to (they left the workspace); return the pair ids."""
    ids = list(session.exec(select(Pair.id).where(  # type: ignore[call-overload]
        Pair.status == PairStatus.ACTIVE, or_(Pair.mentor_id == person_id, Pair.mentee_id == person_id))))
    if ids:
        session.execute(update(Pair).where(Pair.id.in_(ids)).values(  # type: ignore[union-attr]
            status=PairStatus.PAUSED, paused_until=None))
    return ids


def list_undeliverable(*, session: Session, limit: int = 200) -> list[Nudge]:
    query = select(Nudge).where(Nudge.status == NudgeStatus.UNDELIVERABLE)
    return list(session.exec(query.order_by(Nudge.claimed_at.desc()).limit(limit)))  # type: ignore[attr-defined]


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


def apply_state_change(
    *, session: Session, pair_id: int, status: str, phase: str | None, now: datetime, closure_reason: str | None
) -> None:
    """Move a pair to `status` (and `phase`), only if it still needs the move."""
    values: dict[str, object] = {"status": status}
    if phase is not None:
        values.update(phase=phase, phase_changed_at=now)
    if status == PairStatus.ENDED:
        # A reason chosen when the pair moved to winding up (e.g. ended early) stands.
        values.update(ended_at=now, closure_reason=func.coalesce(Pair.closure_reason, closure_reason))
    if status == PairStatus.ACTIVE:
        values.update(paused_until=None)
    session.execute(update(Pair).where(Pair.id == pair_id, Pair.status != status).values(**values))


# ---- the summary and the export ---------------------------------------------------------------------------


def load_summary_inputs(*, session: Session, today: date) -> SummaryInputs:
    """Return the summary's rows (every pair, dates, ratings — no text) in a fixed number of statements."""
    pairs = tuple(session.exec(select(Pair).order_by(Pair.id)))
    every = select(Pair.id)
    last = latest_checkins(every, session=session)
    since = today - timedelta(days=RATING_WINDOW_DAYS + 14)
    recent = tuple(
        RatedCheckin(pair_id, met_on, rating)
        for pair_id, met_on, rating in session.exec(
            select(CheckIn.pair_id, CheckIn.met_on, CheckIn.rating).where(CheckIn.met_on >= since)
        ).all()
    )
    achieved = tuple(
        d or today
        for d in session.exec(select(Goal.achieved_on).where(Goal.status == GoalStatus.ACHIEVED)).all()
    )
    helped = dict(session.exec(select(HelpRequest.pair_id, func.max(HelpRequest.created_at))
                               .group_by(HelpRequest.pair_id)).all())
    help_pairs = frozenset(
        pair_id for pair_id, at in helped.items() if pair_id not in last or at > last[pair_id].created_at
    )
    paused = frozenset(session.exec(
        select(MemberState.pair_id).where(MemberState.prompts_paused_at.is_not(None))  # type: ignore[union-attr]
    ).all())
    return SummaryInputs(
        pairs=pairs,
        last_met={pair_id: c.met_on for pair_id, c in last.items()},
        recent_checkins=recent,
        goals_achieved_on=achieved,
        help_pairs=help_pairs,
        prompts_paused_pairs=paused,
        poor_fit_pairs=poor_fit_pairs(session=session),
    )


def load_export_inputs(*, session: Session) -> ExportInputs:
    """Return the export's rows (people, pairs, counts, ratings — no text) in a fixed number of statements."""
    pairs = tuple(session.exec(select(Pair).order_by(Pair.id)))
    names = dict(session.exec(select(Person.slack_user_id, Person.display_name)).all())
    checkins = tuple(
        RatedCheckin(pair_id, met_on, rating)
        for pair_id, met_on, rating in session.exec(select(CheckIn.pair_id, CheckIn.met_on, CheckIn.rating)).all()
    )
    goals = tuple(session.exec(select(Goal.pair_id, Goal.status)).all())
    helps = tuple(session.exec(select(HelpRequest.pair_id)).all())
    return ExportInputs(pairs=pairs, names=names, checkins=checkins, goals=goals, help_pair_ids=helps,
                        topics=profile_topics(session=session))
