"""The program snapshot the nudge policy reads (a fixed number of statements) and the nudge ledger."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import String, any_, bindparam, delete, func, or_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
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
from bot.domain.policy import GROUP, Delivery, GoalFacts, LastCheckin, MemberFacts, PairFacts, ProgramState
from bot.domain.summary import RATING_WINDOW_DAYS, RatedCheckin, SummaryInputs
from bot.store.flags import QUIET

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
    people: Any
    agreements: Any
    goals: Any
    checkins: Any
    members: Any
    help: Any
    keys: Any
    recent: Any
    quiet: Any


@cache
def _statements() -> _Statements:
    live_ids = select(Pair.id).where(Pair.status != PairStatus.ENDED)
    since = bindparam("since")
    return _Statements(
        pairs=select(Pair).where(Pair.status != PairStatus.ENDED).order_by(Pair.id),
        people=select(Person.slack_user_id, Person.tz, Person.info_fetched_at).where(
            or_(
                Person.slack_user_id.in_(select(Pair.mentor_id).where(Pair.status != PairStatus.ENDED)),  # type: ignore[attr-defined]
                Person.slack_user_id.in_(select(Pair.mentee_id).where(Pair.status != PairStatus.ENDED)),  # type: ignore[attr-defined]
                Person.slack_user_id.in_(bindparam("coordinators", expanding=True)),  # type: ignore[attr-defined]
            )
        ),
        agreements=select(Agreement.pair_id).where(Agreement.pair_id.in_(live_ids)),  # type: ignore[attr-defined]
        goals=select(Goal.id, Goal.pair_id, Goal.text, Goal.due_on, Goal.status)
        .where(Goal.pair_id.in_(live_ids))  # type: ignore[attr-defined]
        .order_by(Goal.id),
        checkins=select(CheckIn.pair_id, CheckIn.met_on, CheckIn.next_meeting_on, CheckIn.created_at).where(
            CheckIn.id.in_(_latest_checkins_query(live_ids))  # type: ignore[union-attr]
        ),
        members=select(
            MemberState.pair_id, MemberState.person_id, MemberState.snoozed_until, MemberState.unanswered_prompts,
            MemberState.prompts_paused_at, MemberState.stopped_kinds, MemberState.last_response_at,
        ).where(MemberState.pair_id.in_(live_ids)),  # type: ignore[attr-defined]
        help=select(HelpRequest.pair_id, func.max(HelpRequest.created_at))
        .where(HelpRequest.pair_id.in_(live_ids))  # type: ignore[attr-defined]
        .group_by(HelpRequest.pair_id),
        keys=select(Nudge.key).where(Nudge.key.in_(bindparam("keys", expanding=True))),  # type: ignore[attr-defined]
        # Who was reached lately, across every pair (ended ones too): the daily and weekly caps read this.
        recent=select(Nudge.recipient, Nudge.claimed_at, Nudge.sent_at, Pair.mentor_id, Pair.mentee_id)
        .join(Pair, Pair.id == Nudge.pair_id, isouter=True)  # type: ignore[arg-type]
        .where(Nudge.claimed_at >= since, Nudge.status.in_(_COUNTED)),  # type: ignore[attr-defined]
        quiet=select(WorkspaceFlag.value).where(WorkspaceFlag.name == QUIET),
    )


@dataclass(frozen=True)
class PersonZone:
    slack_user_id: str
    tz: str | None
    info_fetched_at: datetime | None


def load_program_state(
    *,
    session: Session,
    now: datetime,
    program_tz: str,
    summary_channel: str | None,
    coordinators: tuple[str, ...],
    max_dms_per_week: int,
) -> tuple[ProgramState, list[PersonZone]]:
    """Return the policy's snapshot (without ledger keys: see `claimed_keys`) and the people it names.

    Nine statements, however many pairs there are.
    """
    q = _statements()
    # Column queries go straight to the connection: same transaction, none of the ORM's per-row cost.
    run = session.connection().execute
    pairs = list(session.exec(q.pairs))
    people = [PersonZone(uid, tz, _aware(fetched))
              for uid, tz, fetched in run(q.people, {"coordinators": list(coordinators)})]
    agreed = set(run(q.agreements).scalars())
    goals: dict[int, list[GoalFacts]] = defaultdict(list)
    for goal_id, pair_id, text, due_on, status in run(q.goals):
        goals[pair_id].append(GoalFacts(goal_id, text, due_on, status))
    last = {pair_id: (met_on, next_on, created_at) for pair_id, met_on, next_on, created_at in run(q.checkins)}
    members: dict[int, dict[str, MemberFacts]] = defaultdict(dict)
    for pair_id, person_id, snoozed, unanswered, paused_at, stopped, responded in run(q.members):
        members[pair_id][person_id] = MemberFacts(
            snoozed_until=_aware(snoozed),
            unanswered_prompts=unanswered,
            prompts_paused_at=_aware(paused_at),
            stopped_kinds=frozenset(k for k in stopped.split(",") if k),
            last_response_at=_aware(responded),
        )
    helped = dict(run(q.help).all())
    since = now - timedelta(days=8)
    deliveries: list[Delivery] = []
    for recipient, claimed_at, sent_at, mentor_id, mentee_id in run(q.recent, {"since": since}):
        at = _aware(sent_at or claimed_at)
        reached = (mentor_id, mentee_id) if recipient == GROUP else (recipient,)
        deliveries.extend(Delivery(person, at) for person in reached if person)
    quiet = run(q.quiet).scalar_one_or_none() == "on"

    facts = []
    for pair in pairs:
        pair_id = pair.id or 0
        checkin = last.get(pair_id)
        help_at = _aware(helped.get(pair_id))
        open_help = help_at is not None and (checkin is None or help_at > _aware(checkin[2]))
        facts.append(
            PairFacts(
                pair=pair,
                has_agreement=pair_id in agreed,
                goals=tuple(goals.get(pair_id, [])),
                last_checkin=LastCheckin(checkin[0], checkin[1]) if checkin else None,
                members=members.get(pair_id, {}),
                help_requested=open_help,
            )
        )
    state = ProgramState(
        pairs=tuple(facts),
        zones={p.slack_user_id: p.tz for p in people},
        deliveries=tuple(deliveries),
        quiet=quiet,
        program_tz=program_tz,
        summary_channel=summary_channel,
        coordinators=coordinators,
        max_dms_per_week=max_dms_per_week,
    )
    return state, people


# SQLite allows 32,766 bound values in one statement; beyond that the lookup goes in slices.
SQLITE_MAX_KEYS = 30_000


def claimed_keys(keys: frozenset[str], *, session: Session) -> frozenset[str]:
    """Return which of `keys` the ledger already holds.

    PostgreSQL gets the keys as one array parameter (an IN list would hit its 65,535-parameter limit
    at about 40,000 pairs): one statement whatever the size. SQLite takes them in slices.
    """
    if not keys:
        return frozenset()
    connection = session.connection()
    ordered = sorted(keys)
    if connection.dialect.name == "postgresql":
        statement = select(Nudge.key).where(Nudge.key == any_(bindparam("keys", type_=ARRAY(String))))
        return frozenset(connection.execute(statement, {"keys": ordered}).scalars())
    found: set[str] = set()
    for start in range(0, len(ordered), SQLITE_MAX_KEYS):
        found.update(connection.execute(_statements().keys, {"keys": ordered[start:start + SQLITE_MAX_KEYS]}).scalars())
    return frozenset(found)


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
    return ExportInputs(pairs=pairs, names=names, checkins=checkins, goals=goals, help_pair_ids=helps)
