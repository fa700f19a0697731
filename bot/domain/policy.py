"""Who hears what, and when: a pure function of a program snapshot and the current time.

Decisions, in one place:
- Working hours: Monday–Friday, 09:00 ≤ t < 17:00 in the recipient's own zone (program zone when unknown).
- Group-DM nudges (agreement, direction, drift, winding up) follow the MENTEE's zone: the mentee owns the
  relationship, and "both members in working hours" can have no overlap at all (Los Angeles and Tokyo in
  summer), which would silence a pair forever.
- A group-DM nudge reaches both members, so it counts towards both members' daily and weekly limits.
- One scheduled nudge per person per LOCAL day; the most important wins (see PRIORITY), the rest wait.
- The weekly cap is a ROLLING 7 days (now − 7 days, now], the same for every zone and free of week-edge bursts.
- Coordinators' at-risk alerts are exempt from the two caps (coordinators asked to hear about every pair at
  risk; the caps protect mentors and mentees), but keep working hours and the quiet switch.
- After 3 unanswered "how is it going?" prompts the 4th is replaced by ONE "prompts paused" DM; while paused,
  that person gets no personal DMs for that pair (group messages continue) and the pair counts as at risk.
- Snoozed members get nothing for that pair, and the pair's group DM waits too; a kind a member stopped is
  not sent to them (nor to their pair's group DM).
- Every nudge has a window of local dates; a nudge that could not go out in its window (weekend, caps) lapses.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.health import AT_RISK_FACTOR, DRIFT_FACTOR, days_silent
from bot.domain.models import GoalStatus, NudgeKind, Pair, PairStatus, Phase

WORK_START = time(9, 0)
WORK_END = time(17, 0)
SUMMARY_TIME = time(9, 0)
GROUP = "group"  # the recipient of a nudge to the pair's group DM
PROGRAM = "program"  # the "pair" of a program-wide nudge (the weekly summary)
GRACE_DAYS = 2  # how long a dated nudge may wait for a free day before it lapses
GOAL_SOON_DAYS = 7
GOAL_OVERDUE_WINDOW = 14
AGREEMENT_AFTER_DAYS = 7
DIRECTION_AFTER_DAYS = 21
WINDING_UP_BEFORE_DAYS = 14

# Most important first: what keeps a pair from failing beats what merely helps it along.
PRIORITY: tuple[NudgeKind, ...] = (
    NudgeKind.WEEKLY_SUMMARY,
    NudgeKind.AT_RISK,
    NudgeKind.PROMPTS_PAUSED,
    NudgeKind.DRIFT,
    NudgeKind.WINDING_UP,
    NudgeKind.MEETING_PREP,
    NudgeKind.HOW_IS_IT_GOING,
    NudgeKind.REFLECTION,
    NudgeKind.GOAL_OVERDUE,
    NudgeKind.GOAL_DUE_SOON,
    NudgeKind.AGREEMENT_PROMPT,
    NudgeKind.DIRECTION_PROMPT,
)
_RANK = {kind: rank for rank, kind in enumerate(PRIORITY)}


@dataclass(frozen=True)
class MemberFacts:
    """One member's attention state for one pair (MemberState, or the defaults when none exists)."""

    snoozed_until: datetime | None = None
    unanswered_prompts: int = 0
    prompts_paused_at: datetime | None = None
    stopped_kinds: frozenset[str] = frozenset()
    last_response_at: datetime | None = None


@dataclass(frozen=True)
class GoalFacts:
    id: int
    text: str
    due_on: date | None = None
    status: str = GoalStatus.OPEN


@dataclass(frozen=True)
class LastCheckin:
    met_on: date
    next_meeting_on: date | None = None


@dataclass(frozen=True)
class PairFacts:
    """Everything the policy needs about one pair that is not ended."""

    pair: Pair
    has_agreement: bool = False
    goals: tuple[GoalFacts, ...] = ()
    last_checkin: LastCheckin | None = None
    members: dict[str, MemberFacts] = field(default_factory=dict)
    help_requested: bool = False

    def member(self, person_id: str) -> MemberFacts:
        return self.members.get(person_id, MemberFacts())


@dataclass(frozen=True)
class Delivery:
    """One scheduled message that reached `person_id` at `at` (from the ledger; group DMs reach both)."""

    person_id: str
    at: datetime


@dataclass(frozen=True)
class ProgramState:
    pairs: tuple[PairFacts, ...]
    zones: dict[str, str | None] = field(default_factory=dict)
    ledger_keys: frozenset[str] = frozenset()  # keys already claimed (at least those of candidate_keys)
    deliveries: tuple[Delivery, ...] = ()
    quiet: bool = False
    program_tz: str = "UTC"
    summary_channel: str | None = None
    coordinators: tuple[str, ...] = ()
    max_dms_per_week: int = 3


@dataclass(frozen=True)
class DueNudge:
    key: str
    pair_id: int | None
    recipient: str  # a user id, GROUP, or the summary channel id
    kind: NudgeKind
    period: str
    role: str  # mentor | mentee | pair | coordinator | channel
    local_at: datetime  # now, in the zone whose working hours allowed it
    goal_id: int | None = None  # the goal a goal reminder is about

    @property
    def is_group(self) -> bool:
        return self.recipient == GROUP


@dataclass(frozen=True)
class StateChange:
    pair_id: int
    status: PairStatus
    phase: Phase | None = None


@dataclass(frozen=True)
class Plan:
    nudges: list[DueNudge]
    changes: list[StateChange]


def nudge_key(pair_id: int | str, recipient: str, kind: str, period: str) -> str:
    return f"{pair_id}:{recipient}:{kind}:{period}"


@lru_cache(maxsize=1024)
def zone_of(tz: str | None, default: str) -> ZoneInfo:
    """Return the zone for an IANA name, falling back to `default` when unknown or invalid."""
    try:
        return ZoneInfo(tz) if tz else ZoneInfo(default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5


def is_within_working_hours(local_dt: datetime) -> bool:
    """Return True on Monday–Friday from 09:00 up to (not including) 17:00 in `local_dt`'s own zone."""
    return is_working_day(local_dt.date()) and WORK_START <= local_dt.time() < WORK_END


def next_working_day(day: date) -> date:
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def previous_working_day(day: date) -> date:
    day -= timedelta(days=1)
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def state_changes(state: ProgramState, now: datetime) -> list[StateChange]:
    """Return the status moves the clock makes: ended at the end date, resumed when a pause runs out."""
    today = now.astimezone(ZoneInfo(state.program_tz)).date()
    changes = []
    for facts in state.pairs:
        pair = facts.pair
        if pair.phase == Phase.WINDING_UP and pair.status != PairStatus.ENDED and today > pair.ends_on:
            changes.append(StateChange(pair.id or 0, PairStatus.ENDED, Phase.ENDED))
        elif pair.status == PairStatus.PAUSED and pair.paused_until is not None and today >= pair.paused_until:
            changes.append(StateChange(pair.id or 0, PairStatus.ACTIVE))
    return changes


def _candidates(state: ProgramState, now: datetime, changes: list[StateChange]) -> list[Candidate]:
    moved = {change.pair_id: change.status for change in changes}
    candidates: list[Candidate] = []
    for facts in state.pairs:
        status = moved.get(facts.pair.id or 0, PairStatus(facts.pair.status))
        if status != PairStatus.ACTIVE or facts.pair.phase == Phase.ENDED:
            continue
        candidates.extend(_pair_candidates(facts, state, now))
    candidates.extend(_summary_candidates(state, now))
    return candidates


def candidate_nudges(state: ProgramState, now: datetime) -> list[Candidate]:
    """Return every nudge that could go out now, before the ledger and the caps are consulted.

    They do not depend on `ledger_keys`: the service looks their keys up in the ledger, then hands them
    back to `plan` so a sweep builds them once.
    """
    if state.quiet:
        return []
    return _candidates(state, now, state_changes(state, now))


def candidate_keys(state: ProgramState, now: datetime) -> frozenset[str]:
    """Return the keys of `candidate_nudges`."""
    return frozenset(c.nudge.key for c in candidate_nudges(state, now))


def plan(state: ProgramState, now: datetime, candidates: list[Candidate] | None = None) -> Plan:
    """Return the state changes due now and the nudges to send now, after every rule and limit.

    Args:
        candidates: `candidate_nudges(state, now)` when the caller already has them.
    """
    changes = state_changes(state, now)
    if state.quiet:
        return Plan([], changes)
    return Plan(_choose(candidates if candidates is not None else _candidates(state, now, changes), state, now),
                changes)


def due_nudges(state: ProgramState, now: datetime) -> list[DueNudge]:
    """Return the nudges to send now, most important first."""
    return plan(state, now).nudges


# ---- candidates ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    nudge: DueNudge
    audience: tuple[str, ...]  # the pair members it reaches (for the caps); empty for coordinators and channels
    first_day: date  # window of local dates in which it may go out
    last_day: date


def _pair_candidates(facts: PairFacts, state: ProgramState, now: datetime) -> list[Candidate]:
    pair = facts.pair
    pair_id = pair.id or 0
    mentor, mentee = pair.mentor_id, pair.mentee_id
    local = {p: now.astimezone(zone_of(state.zones.get(p), state.program_tz)) for p in (mentor, mentee)}
    # Out of working hours nothing can go out, so nothing is built (sweeps run often; this keeps them cheap).
    working = {p: is_within_working_hours(at) for p, at in local.items()}
    mentee_local = local[mentee]
    out: list[Candidate] = []

    def personal(
        person: str, role: str, kind: NudgeKind, period: str, first: date, last: date, goal_id: int | None = None
    ) -> None:
        if not working[person] or not first <= local[person].date() <= last:
            return
        member = facts.member(person)
        if kind != NudgeKind.PROMPTS_PAUSED and member.prompts_paused_at is not None:
            return
        if _is_snoozed(member, now) or kind in member.stopped_kinds:
            return
        due = DueNudge(nudge_key(pair_id, person, kind, period), pair_id, person, kind, period, role, local[person],
                       goal_id)
        out.append(Candidate(due, (person,), first, last))

    def group(kind: NudgeKind, period: str, first: date, last: date) -> None:
        if not working[mentee] or not first <= mentee_local.date() <= last:
            return
        for person in (mentor, mentee):
            member = facts.member(person)
            if _is_snoozed(member, now) or kind in member.stopped_kinds:
                return
        due = DueNudge(nudge_key(pair_id, GROUP, kind, period), pair_id, GROUP, kind, period, "pair", mentee_local)
        out.append(Candidate(due, (mentor, mentee), first, last))

    for person, role in ((mentor, "mentor"), (mentee, "mentee")):
        if not working[person]:
            continue
        today = local[person].date()
        last_met = facts.last_checkin.met_on if facts.last_checkin else None
        silent = days_silent(pair, last_met, today)
        if silent >= pair.cadence_days:
            member = facts.member(person)
            if member.unanswered_prompts >= 3:
                if member.prompts_paused_at is None:
                    stamp = int(member.last_response_at.timestamp()) if member.last_response_at else 0
                    personal(person, role, NudgeKind.PROMPTS_PAUSED, f"r{stamp}", today, today)
            else:
                # Once per cadence period of silence: counted from the last meeting (or the start).
                anchor_day = (last_met or pair.started_on).isoformat()
                period = f"since{anchor_day}-{silent // pair.cadence_days}"
                personal(person, role, NudgeKind.HOW_IS_IT_GOING, period, today, today)
        checkin = facts.last_checkin
        if checkin and checkin.next_meeting_on and checkin.next_meeting_on > checkin.met_on:
            meeting = checkin.next_meeting_on
            personal(person, role, NudgeKind.MEETING_PREP, f"meet{meeting.isoformat()}",
                     previous_working_day(meeting), meeting - timedelta(days=1))

    mentee_today = mentee_local.date()
    if facts.last_checkin:
        first = next_working_day(facts.last_checkin.met_on)
        personal(mentee, "mentee", NudgeKind.REFLECTION, f"met{facts.last_checkin.met_on.isoformat()}",
                 first, first + timedelta(days=GRACE_DAYS))
    for goal in facts.goals:
        if goal.status != GoalStatus.OPEN or goal.due_on is None:
            continue
        personal(mentee, "mentee", NudgeKind.GOAL_DUE_SOON, f"g{goal.id}-{goal.due_on.isoformat()}",
                 goal.due_on - timedelta(days=GOAL_SOON_DAYS), goal.due_on - timedelta(days=1), goal.id)
        personal(mentee, "mentee", NudgeKind.GOAL_OVERDUE, f"g{goal.id}-{goal.due_on.isoformat()}",
                 goal.due_on + timedelta(days=1), goal.due_on + timedelta(days=GOAL_OVERDUE_WINDOW), goal.id)

    age = (mentee_today - pair.started_on).days
    early = pair.phase in (Phase.RAPPORT, Phase.DIRECTION, Phase.PROGRESSION)
    if early and not facts.has_agreement and age >= AGREEMENT_AFTER_DAYS:
        group(NudgeKind.AGREEMENT_PROMPT, "once", mentee_today, mentee_today)
    if early and age >= DIRECTION_AFTER_DAYS and (pair.phase == Phase.RAPPORT or not facts.goals):
        group(NudgeKind.DIRECTION_PROMPT, "once", mentee_today, mentee_today)
    last_met = facts.last_checkin.met_on if facts.last_checkin else None
    anchor = (last_met or pair.started_on).isoformat()
    silent = days_silent(pair, last_met, mentee_today)
    if silent >= DRIFT_FACTOR * pair.cadence_days:
        group(NudgeKind.DRIFT, f"since{anchor}", mentee_today, mentee_today)
    if pair.phase != Phase.ENDED:
        start = pair.ends_on - timedelta(days=WINDING_UP_BEFORE_DAYS)
        group(NudgeKind.WINDING_UP, f"end{pair.ends_on.isoformat()}", start, pair.ends_on)

    for coordinator in state.coordinators:
        local_c = now.astimezone(zone_of(state.zones.get(coordinator), state.program_tz))
        if not is_within_working_hours(local_c):
            continue
        if days_silent(pair, last_met, local_c.date()) >= AT_RISK_FACTOR * pair.cadence_days:
            period = f"since{anchor}"
            due = DueNudge(nudge_key(pair_id, coordinator, NudgeKind.AT_RISK, period), pair_id, coordinator,
                           NudgeKind.AT_RISK, period, "coordinator", local_c)
            out.append(Candidate(due, (), local_c.date(), local_c.date()))
    return out


def _summary_candidates(state: ProgramState, now: datetime) -> list[Candidate]:
    """The weekly summary: Monday from 09:00 (program zone), caught up during that working day."""
    if not state.summary_channel:
        return []
    local = now.astimezone(ZoneInfo(state.program_tz))
    if local.weekday() != 0 or local.time() < SUMMARY_TIME:
        return []
    period = iso_week(local.date())
    due = DueNudge(nudge_key(PROGRAM, state.summary_channel, NudgeKind.WEEKLY_SUMMARY, period), None,
                   state.summary_channel, NudgeKind.WEEKLY_SUMMARY, period, "channel", local)
    return [Candidate(due, (), local.date(), local.date())]


def _is_snoozed(member: MemberFacts, now: datetime) -> bool:
    return member.snoozed_until is not None and member.snoozed_until > now


# ---- choosing ------------------------------------------------------------------------------------------


def _choose(candidates: list[Candidate], state: ProgramState, now: datetime) -> list[DueNudge]:
    """Keep what is in its window and working hours, not yet in the ledger, within the caps; best first."""
    week_ago = now - timedelta(days=7)
    day_counts: dict[str, int] = defaultdict(int)
    week_counts: dict[str, int] = defaultdict(int)
    for delivery in state.deliveries:
        if delivery.at > week_ago:
            week_counts[delivery.person_id] += 1
        zone = zone_of(state.zones.get(delivery.person_id), state.program_tz)
        if delivery.at.astimezone(zone).date() == now.astimezone(zone).date():
            day_counts[delivery.person_id] += 1

    chosen: list[DueNudge] = []
    ordered = sorted(candidates, key=lambda c: (_RANK[c.nudge.kind], c.nudge.pair_id or 0, c.nudge.key))
    for candidate in ordered:
        nudge = candidate.nudge
        if nudge.key in state.ledger_keys:
            continue
        if not candidate.first_day <= nudge.local_at.date() <= candidate.last_day:
            continue
        if nudge.kind != NudgeKind.WEEKLY_SUMMARY and not is_within_working_hours(nudge.local_at):
            continue
        if any(day_counts[p] >= 1 or week_counts[p] >= state.max_dms_per_week for p in candidate.audience):
            continue
        for person in candidate.audience:
            day_counts[person] += 1
            week_counts[person] += 1
        chosen.append(nudge)
    return chosen
