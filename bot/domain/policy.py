"""Who hears what, and when: a pure function of a program snapshot and the current time.

One module, longer than most, on purpose: the rules below decide together (a nudge's priority, window and
caps meet in one choice), and the sweep runs them for every pair, so they stay side by side and tuned.

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
- "Remind me in 3 days" is kept: once the snooze runs out, at the first working hour in the presser's zone
  three days on, the presser gets the "how is it going?" prompt again (a snooze reminder), once per press, and
  not if the pair logged a meeting on or after the day of the press, a new cadence period began meanwhile (its
  own prompt asks), the pair is paused or ended, or the presser stopped either kind. It obeys the caps like any
  nudge and lapses GRACE_DAYS after its first day.
- Every nudge has a window of local dates; a nudge that could not go out in its window (weekend, caps) lapses.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from operator import attrgetter
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.domain.health import AT_RISK_FACTOR, DRIFT_FACTOR, PairTiming
from bot.domain.models import GoalStatus, NudgeKind, PairStatus, Phase
from bot.domain.pairs import zone_of

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
SNOOZE_DAYS = 3  # "Not yet — remind me in 3 days"
SNOOZE_FOR = timedelta(days=SNOOZE_DAYS)
# Outcomes: the fit check waits up to a week for a free day, a pulse two, the closing survey two after the end.
FIT_CHECK_WINDOW_DAYS = 7
PULSE_FIRST_DAYS = 30
PULSE_EVERY_DAYS = 60
PULSE_WINDOW_DAYS = 14
CLOSING_SURVEY_WINDOW_DAYS = 14

# Most important first: what keeps a pair from failing beats what merely helps it along.
PRIORITY: tuple[NudgeKind, ...] = (
    NudgeKind.WEEKLY_SUMMARY,
    NudgeKind.AT_RISK,
    NudgeKind.PROMPTS_PAUSED,
    # A match offer starts a relationship and waits on nobody else's clock but its reader's: it goes first
    # among what members hear (a mentor's 3 working days count from its delivery, so a wait costs nobody).
    NudgeKind.MATCH_OFFER,
    NudgeKind.DRIFT,
    NudgeKind.WINDING_UP,
    # The outcome questions come once (or once in 60 days) and lapse when missed; behind the weekly
    # reminders a weekly pair's members, whose cap those reminders fill, would never hear them.
    NudgeKind.CLOSING_SURVEY,
    NudgeKind.FIT_CHECK,
    NudgeKind.QUALITY_PULSE,
    NudgeKind.MEETING_PREP,
    NudgeKind.HOW_IS_IT_GOING,
    NudgeKind.SNOOZE_REMINDER,
    NudgeKind.REFLECTION,
    NudgeKind.GOAL_OVERDUE,
    NudgeKind.GOAL_DUE_SOON,
    NudgeKind.AGREEMENT_PROMPT,
    NudgeKind.DIRECTION_PROMPT,
)
_RANK = {kind: rank for rank, kind in enumerate(PRIORITY)}
_RANK_AT_RISK, _RANK_PROMPTS_PAUSED, _RANK_MEETING_PREP, _RANK_HOW_IS_IT_GOING, _RANK_REFLECTION = (
    _RANK[kind] for kind in (NudgeKind.AT_RISK, NudgeKind.PROMPTS_PAUSED, NudgeKind.MEETING_PREP,
                             NudgeKind.HOW_IS_IT_GOING, NudgeKind.REFLECTION))
_RANK_SNOOZE_REMINDER = _RANK[NudgeKind.SNOOZE_REMINDER]


def rank_of(kind: NudgeKind) -> int:
    """Return the kind's place in PRIORITY (0 first), for candidates decided outside this module."""
    return _RANK[kind]


# The snapshot's many small records (PairSnapshot … DueNudge) are slotted and not frozen: a sweep builds hundreds
# of thousands of them, a frozen dataclass costs several times as much to build, and nothing changes them.


class PairView(PairTiming, Protocol):
    """What the policy and the nudge messages read of a pair: a stored `Pair` or a snapshot's `PairSnapshot`."""

    id: int | None
    mentor_id: str
    mentee_id: str
    phase: str
    ends_on: date
    channel_id: str | None
    paused_until: date | None


@dataclass(slots=True)
class PairSnapshot:
    """A pair as plain values, for readers that only read it (the sweep's snapshot, the pairs list): a fraction
    of an ORM object's cost. Fields in the order the stores select them."""

    id: int | None
    mentor_id: str
    mentee_id: str
    phase: str
    status: str
    cadence_days: int
    started_on: date
    ends_on: date
    channel_id: str | None
    paused_until: date | None


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """One member's attention state for one pair (MemberState, or the defaults when none exists)."""

    snoozed_until: datetime | None = None
    unanswered_prompts: int = 0
    prompts_paused_at: datetime | None = None
    stopped_kinds: frozenset[str] = frozenset()
    last_response_at: datetime | None = None


NO_MEMBER_STATE = MemberFacts()


@dataclass(slots=True)
class GoalFacts:
    id: int
    text: str
    due_on: date | None = None
    status: str = GoalStatus.OPEN


@dataclass(slots=True)
class PairFacts(PairSnapshot):
    """Everything the policy needs about one pair that is not ended: the pair's own fields, and beside them
    what it reads of other tables. One object per pair, not three: a sweep builds one per pair."""

    has_agreement: bool = False
    # The goals a reminder could be about. The sweep's snapshot holds only the open ones due within a
    # reminder's reach of today; `has_goals` says whether the pair set any goal at all (or `goals` does).
    goals: tuple[GoalFacts, ...] = ()
    last_met_on: date | None = None  # the latest check-in's meeting (by meeting date, then id), if any
    next_meeting_on: date | None = None  # the next meeting that check-in named, if any
    members: dict[str, MemberFacts] = field(default_factory=dict)
    has_goals: bool = False
    # (mentor's, mentee's) IANA zones when the reader has them at hand (the sweep's stream), so the program's
    # zones need not hold every member; otherwise `ProgramState.zones` has them.
    member_zones: tuple[str | None, str | None] | None = None
    first_met_on: date | None = None  # the earliest check-in's meeting: the fit check and pulses count from it
    ended_on: date | None = None  # the day an ended pair ended (UTC): its closing survey counts from it

    @property
    def pair(self) -> PairView:
        return self


@dataclass(slots=True)
class Delivery:
    """One scheduled message that reached `person_id` at `at` (from the ledger; group DMs reach both)."""

    person_id: str
    at: datetime


@dataclass(frozen=True)
class ProgramState:
    pairs: tuple[PairFacts, ...]
    # IANA zone (None: unknown) of the coordinators and of whoever the caps need a local day for; a pair's
    # members' zones may come with the pair instead (PairFacts.member_zones).
    zones: dict[str, str | None] = field(default_factory=dict)
    ledger_keys: frozenset[str] = frozenset()  # keys already claimed (at least those of candidate_keys)
    deliveries: tuple[Delivery, ...] = ()
    # Per person, deliveries of the past 7 days that cannot be on anyone's local today (two days or more
    # away): all the weekly cap needs of them, where a Delivery each would cost more.
    earlier_this_week: dict[str, int] = field(default_factory=dict)
    quiet: bool = False
    program_tz: str = "UTC"
    summary_channel: str | None = None
    coordinators: tuple[str, ...] = ()
    max_dms_per_week: int = 3


@dataclass(slots=True)
class DueNudge:
    """A nudge that could go out now (a candidate), or will (chosen). A sweep builds one per candidate, more
    than one per pair, so it holds nothing it can derive: the period is the key's last part."""

    key: str  # pair:recipient:kind:period (see `nudge_key`)
    pair_id: int | None
    recipient: str  # a user id, GROUP, or the summary channel id
    kind: NudgeKind
    role: str  # mentor | mentee | pair | coordinator | channel
    local_at: datetime  # now, in the zone whose working hours allowed it
    goal_id: int | None = None  # the goal a goal reminder is about
    channel: str | None = None  # a group nudge's conversation, when the pair has one yet (for pacing)
    audience: tuple[str, ...] = ()  # the pair members it reaches (for the caps); none for coordinators, channels
    rank: int = 0  # its kind's place in PRIORITY

    @property
    def period(self) -> str:
        return self.key.rpartition(":")[2]

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


# A StrEnum formats through Python-level Enum.__format__, and `.value` is a Python-level property; a plain
# dictionary lookup is much cheaper, and a sweep builds a key per candidate.
_KIND_VALUES: dict[str, str] = {kind: kind.value for kind in NudgeKind}


def nudge_key(pair_id: int | str, recipient: str, kind: str, period: str) -> str:
    return f"{pair_id}:{recipient}:{_KIND_VALUES.get(kind, kind)}:{period}"


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


def first_working_moment(at: datetime, zone: tzinfo) -> datetime:
    """Return `at` in `zone` if it is within working hours there, else the start of the next working hours."""
    local = at.astimezone(zone)
    if is_within_working_hours(local):
        return local
    day = local.date()
    if not (is_working_day(day) and local.time() < WORK_START):
        day = next_working_day(day)
    return datetime.combine(day, WORK_START, tzinfo=zone)


def snooze_reminder_at(snoozed_until: datetime, zone: tzinfo) -> datetime:
    """Return when the reminder of a snooze that runs until `snoozed_until` is first due, in the presser's zone."""
    return first_working_moment(snoozed_until, zone)


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def state_changes(state: ProgramState, now: datetime) -> list[StateChange]:
    """Return the status moves the clock makes: ended at the end date, resumed when a pause runs out."""
    return decide(state, state.pairs, now).changes


def _state_change(pair: PairView, today: date) -> StateChange | None:
    if pair.phase == Phase.WINDING_UP and pair.status != PairStatus.ENDED and today > pair.ends_on:
        return StateChange(pair.id or 0, PairStatus.ENDED, Phase.ENDED)
    if pair.status == PairStatus.PAUSED and pair.paused_until is not None and today >= pair.paused_until:
        return StateChange(pair.id or 0, PairStatus.ACTIVE)
    return None


@dataclass
class Decision:
    """What one pass over the pairs found: the status moves due, and every nudge that could go out now."""

    changes: list[StateChange]
    candidates: list[DueNudge]


def decide(state: ProgramState, pairs: Iterable[PairFacts], now: datetime) -> Decision:
    """Decide each of `pairs` in turn, in one pass: they may be a stream that is read once and kept nowhere.

    `state.pairs` is not read (pass it as `pairs` for a whole snapshot). A pair's members' zones come with
    it or are in `state.zones`. No candidates when the workspace is quiet.
    """
    today = now.astimezone(ZoneInfo(state.program_tz)).date()
    clock = _LocalClock(state, now)
    changes: list[StateChange] = []
    candidates: list[DueNudge] = []
    for facts in pairs:
        pair = facts
        status = pair.status
        if status == PairStatus.PAUSED or pair.phase == Phase.WINDING_UP:  # only these can move
            change = _state_change(pair, today)
            if change is not None:
                changes.append(change)
                status = change.status
        if status == PairStatus.ACTIVE and pair.phase != Phase.ENDED and not state.quiet:
            _pair_candidates(facts, now, clock, candidates)
        elif status == PairStatus.ENDED and facts.ended_on is not None and not state.quiet:
            _closing_candidates(facts, now, clock, candidates)
    if not state.quiet:
        candidates.extend(_summary_candidates(state, now))
    return Decision(changes, candidates)


class _LocalClock(dict[str | None, tuple[datetime, bool, date]]):
    """`now` in each zone, worked out once per zone rather than once per person and pair: `clock[tz]` is the
    local time in `tz` (None or unknown: the program's zone), whether it is within working hours, and the
    local date. The same objects for everyone in a zone: candidates hold them by the hundred thousand. A
    dictionary, so that a sweep's 200,000 lookups are plain subscripts."""

    def __init__(self, state: ProgramState, now: datetime) -> None:
        super().__init__()
        self._now = now
        self._zones = state.zones
        self._default = state.program_tz
        # (coordinator, local time, local date) for the coordinators in working hours now.
        self.coordinators = [(c, at, day) for c, (at, working, day) in ((c, self.of(c)) for c in state.coordinators)
                             if working]

    def of(self, person: str) -> tuple[datetime, bool, date]:
        """Return `person`'s local time, whether it is within their working hours, and their local date."""
        return self[self._zones.get(person)]

    def __missing__(self, tz: str | None) -> tuple[datetime, bool, date]:
        local = self._now.astimezone(zone_of(tz, self._default))
        known = self[tz] = (local, is_within_working_hours(local), local.date())
        return known


def candidate_nudges(state: ProgramState, now: datetime) -> list[DueNudge]:
    """Return every nudge that could go out now, before the ledger and the caps are consulted."""
    return decide(state, state.pairs, now).candidates


def candidate_keys(state: ProgramState, now: datetime) -> frozenset[str]:
    """Return the keys of `candidate_nudges`."""
    return frozenset(c.key for c in candidate_nudges(state, now))


def plan(state: ProgramState, now: datetime, decision: Decision | None = None) -> Plan:
    """Return the state changes due now and the nudges to send now, after every rule and limit.

    Args:
        decision: `decide(state, pairs, now)` when the caller already made it (the ledger keys of its
            candidates in `state.ledger_keys`); by default, it is made from `state.pairs`.
    """
    decision = decision if decision is not None else decide(state, state.pairs, now)
    if state.quiet:
        return Plan([], decision.changes)
    return Plan(_choose(decision.candidates, state, now), decision.changes)


def due_nudges(state: ProgramState, now: datetime) -> list[DueNudge]:
    """Return the nudges to send now, most important first."""
    return plan(state, now).nudges


# ---- candidates ----------------------------------------------------------------------------------------


_ONE_DAY = timedelta(days=1)
_GRACE = timedelta(days=GRACE_DAYS)
_GOAL_SOON = timedelta(days=GOAL_SOON_DAYS)
_GOAL_OVERDUE = timedelta(days=GOAL_OVERDUE_WINDOW)
_WINDING_UP = timedelta(days=WINDING_UP_BEFORE_DAYS)
_EARLY_PHASES = frozenset({Phase.RAPPORT, Phase.DIRECTION, Phase.PROGRESSION})


def _pair_candidates(facts: PairFacts, now: datetime, clock: _LocalClock, out: list[DueNudge]) -> None:
    """Add the pair's candidate nudges to `out`. Windows are checked before keys are formatted: a sweep calls
    this for every pair, and most windows are closed."""
    pair = facts
    mentor, mentee = pair.mentor_id, pair.mentee_id
    zones = facts.member_zones
    if zones is not None:
        mentor_local, mentor_working, mentor_today = clock[zones[0]]
        mentee_local, mentee_working, mentee_today = clock[zones[1]]
    else:
        mentor_local, mentor_working, mentor_today = clock.of(mentor)
        mentee_local, mentee_working, mentee_today = clock.of(mentee)
    coordinators = clock.coordinators
    # Out of working hours nothing can go out, so nothing is built (sweeps run often; this keeps them cheap).
    if not (mentor_working or mentee_working or coordinators):
        return
    pair_id = pair.id or 0
    cadence = pair.cadence_days  # at least 1, so "silent for a cadence" implies a positive silence
    last_met = facts.last_met_on
    anchor_day = last_met or pair.started_on  # silence counts from the last meeting, or the start
    since = _since(anchor_day)
    members = facts.members
    mentor_state = members.get(mentor, NO_MEMBER_STATE) if members else NO_MEMBER_STATE
    mentee_state = members.get(mentee, NO_MEMBER_STATE) if members else NO_MEMBER_STATE
    # Most members have no state at all: nothing is held back, and no call is made to find that out.
    mentor_held, mentor_group_held = _NOTHING_HELD if mentor_state is NO_MEMBER_STATE else _held_back(mentor_state, now)
    mentee_held, mentee_group_held = _NOTHING_HELD if mentee_state is NO_MEMBER_STATE else _held_back(mentee_state, now)
    append = out.append

    for person, role, local, working, today, member, held in (
            (mentor, "mentor", mentor_local, mentor_working, mentor_today, mentor_state, mentor_held),
            (mentee, "mentee", mentee_local, mentee_working, mentee_today, mentee_state, mentee_held)):
        if not working:
            continue
        silent = (today - anchor_day).days
        if silent >= cadence:
            if member.unanswered_prompts >= 3:
                if member.prompts_paused_at is None and NudgeKind.PROMPTS_PAUSED not in held:
                    stamp = int(member.last_response_at.timestamp()) if member.last_response_at else 0
                    append(DueNudge(nudge_key(pair_id, person, NudgeKind.PROMPTS_PAUSED, f"r{stamp}"), pair_id,
                                    person, NudgeKind.PROMPTS_PAUSED, role, local, None, None, (person,),
                                    _RANK_PROMPTS_PAUSED))
            elif NudgeKind.HOW_IS_IT_GOING not in held:
                # Once per cadence period of silence: counted from the last meeting (or the start).
                append(DueNudge(nudge_key(pair_id, person, NudgeKind.HOW_IS_IT_GOING, f"{since}-{silent // cadence}"),
                                pair_id, person, NudgeKind.HOW_IS_IT_GOING, role, local, None, None, (person,),
                                _RANK_HOW_IS_IT_GOING))
        snoozed_until = member.snoozed_until
        if snoozed_until is not None and snoozed_until <= now:
            reminder = _snooze_reminder(pair_id, person, role, local, today, snoozed_until, anchor_day, cadence,
                                        held)
            if reminder is not None:
                append(reminder)
        if last_met is not None:
            meeting = facts.next_meeting_on
            # From the working day before the meeting up to the day before it.
            if (meeting is not None and meeting > last_met and today < meeting
                    and _previous_working_day(meeting) <= today and NudgeKind.MEETING_PREP not in held):
                append(DueNudge(nudge_key(pair_id, person, NudgeKind.MEETING_PREP, f"meet{meeting.isoformat()}"),
                                pair_id, person, NudgeKind.MEETING_PREP, role, local, None, None, (person,),
                                _RANK_MEETING_PREP))

    first_met = facts.first_met_on
    if first_met is not None and ((mentor_working and _outcome_due(first_met, mentor_today))
                                  or (mentee_working and _outcome_due(first_met, mentee_today))):
        _outcome_candidates(facts, first_met, now, clock, out)

    if mentee_working:
        today = mentee_today
        if last_met is not None:
            first = _next_working_day(last_met)
            if first <= today <= first + _GRACE and NudgeKind.REFLECTION not in mentee_held:
                append(DueNudge(nudge_key(pair_id, mentee, NudgeKind.REFLECTION, f"met{last_met.isoformat()}"),
                                pair_id, mentee, NudgeKind.REFLECTION, "mentee", mentee_local, None, None, (mentee,),
                                _RANK_REFLECTION))
        for goal in facts.goals:
            due_on = goal.due_on
            if goal.status != GoalStatus.OPEN or due_on is None:
                continue
            if due_on - _GOAL_SOON <= today <= due_on - _ONE_DAY:
                kind = NudgeKind.GOAL_DUE_SOON
            elif due_on + _ONE_DAY <= today <= due_on + _GOAL_OVERDUE:
                kind = NudgeKind.GOAL_OVERDUE
            else:
                continue
            if kind not in mentee_held:
                append(DueNudge(nudge_key(pair_id, mentee, kind, f"g{goal.id}-{due_on.isoformat()}"), pair_id,
                                mentee, kind, "mentee", mentee_local, goal.id, None, (mentee,), _RANK[kind]))

        # Group DMs follow the mentee's clock; a kind either member holds back waits.
        groups: list[tuple[NudgeKind, str]] = []
        age = (today - pair.started_on).days
        phase = pair.phase
        if phase in _EARLY_PHASES:
            if age >= AGREEMENT_AFTER_DAYS and not facts.has_agreement:
                groups.append((NudgeKind.AGREEMENT_PROMPT, "once"))
            if age >= DIRECTION_AFTER_DAYS and (phase == Phase.RAPPORT or not (facts.has_goals or facts.goals)):
                groups.append((NudgeKind.DIRECTION_PROMPT, "once"))
        if (today - anchor_day).days >= DRIFT_FACTOR * cadence:
            groups.append((NudgeKind.DRIFT, since))
        ends_on = pair.ends_on
        if phase != Phase.ENDED and ends_on - _WINDING_UP <= today <= ends_on:
            groups.append((NudgeKind.WINDING_UP, f"end{ends_on.isoformat()}"))
        for kind, period in groups:
            if kind not in mentor_group_held and kind not in mentee_group_held:
                append(DueNudge(nudge_key(pair_id, GROUP, kind, period), pair_id, GROUP, kind, "pair", mentee_local,
                                None, pair.channel_id, (mentor, mentee), _RANK[kind]))

    for coordinator, local_c, today_c in coordinators:
        if (today_c - anchor_day).days >= AT_RISK_FACTOR * cadence:
            append(DueNudge(nudge_key(pair_id, coordinator, NudgeKind.AT_RISK, since), pair_id, coordinator,
                            NudgeKind.AT_RISK, "coordinator", local_c, rank=_RANK_AT_RISK))


def _snooze_reminder(pair_id: int, person: str, role: str, local: datetime, today: date, snoozed_until: datetime,
                     anchor_day: date, cadence: int, held: frozenset[str]) -> DueNudge | None:
    """The reminder a snooze promised, if it is due now (`local`: the presser's time, within working hours).

    Not when the pair met on or after the day of the press (the silence's anchor moved), nor once a new cadence
    period began since the press: that period's own "how is it going?" asks instead, and asking twice is spam.
    """
    if NudgeKind.SNOOZE_REMINDER in held or NudgeKind.HOW_IS_IT_GOING in held:
        return None
    zone = local.tzinfo or UTC
    pressed_on = (snoozed_until - SNOOZE_FOR).astimezone(zone).date()
    if anchor_day >= pressed_on or (today - anchor_day).days // cadence != (pressed_on - anchor_day).days // cadence:
        return None
    first_day = snooze_reminder_at(snoozed_until, zone).date()
    if not first_day <= today <= first_day + _GRACE:
        return None
    # The snooze's end identifies the press: a later press is a new period, a second sweep the same one.
    return DueNudge(nudge_key(pair_id, person, NudgeKind.SNOOZE_REMINDER, f"until{int(snoozed_until.timestamp())}"),
                    pair_id, person, NudgeKind.SNOOZE_REMINDER, role, local, None, None, (person,),
                    _RANK_SNOOZE_REMINDER)
_FIT_WINDOW = timedelta(days=FIT_CHECK_WINDOW_DAYS)
_PULSE_WINDOW = timedelta(days=PULSE_WINDOW_DAYS)
_CLOSING_WINDOW = timedelta(days=CLOSING_SURVEY_WINDOW_DAYS)
_RANK_FIT_CHECK, _RANK_QUALITY_PULSE, _RANK_CLOSING_SURVEY = (
    _RANK[kind] for kind in (NudgeKind.FIT_CHECK, NudgeKind.QUALITY_PULSE, NudgeKind.CLOSING_SURVEY))


def _members(facts: PairFacts, clock: _LocalClock) -> tuple[tuple[str, str, tuple[datetime, bool, date]], ...]:
    """Return each member with their role and `clock` entry (local time, working now, local date)."""
    zones = facts.member_zones
    mentor_clock = clock[zones[0]] if zones is not None else clock.of(facts.mentor_id)
    mentee_clock = clock[zones[1]] if zones is not None else clock.of(facts.mentee_id)
    return (facts.mentor_id, "mentor", mentor_clock), (facts.mentee_id, "mentee", mentee_clock)


def _held(facts: PairFacts, person: str, now: datetime) -> frozenset[str]:
    member = facts.members.get(person, NO_MEMBER_STATE) if facts.members else NO_MEMBER_STATE
    return _NOTHING_HELD[0] if member is NO_MEMBER_STATE else _held_back(member, now)[0]


def _outcome_candidates(facts: PairFacts, first_met: date, now: datetime, clock: _LocalClock,
                        out: list[DueNudge]) -> None:
    """The fit check and the quality pulses due on each member's own day (`_outcome_due`), one DM to each
    member in their own working hours."""
    pair_id = facts.id or 0
    for person, role, (local, working, today) in _members(facts, clock):
        due = _outcome_due(first_met, today) if working else None
        if due is None:
            continue
        fit, pulse = due
        if fit and NudgeKind.FIT_CHECK not in _held(facts, person, now):
            out.append(DueNudge(nudge_key(pair_id, person, NudgeKind.FIT_CHECK, "first"), pair_id, person,
                                NudgeKind.FIT_CHECK, role, local, None, None, (person,), _RANK_FIT_CHECK))
        if pulse is not None and NudgeKind.QUALITY_PULSE not in _held(facts, person, now):
            out.append(DueNudge(nudge_key(pair_id, person, NudgeKind.QUALITY_PULSE, f"p{pulse}"), pair_id, person,
                                NudgeKind.QUALITY_PULSE, role, local, None, None, (person,), _RANK_QUALITY_PULSE))


@lru_cache(maxsize=4096)
def _outcome_due(first_met: date, today: date) -> tuple[bool, int | None] | None:
    """Return whether the fit check's window is open on `today` (from the working day after the first meeting)
    and the number of the quality pulse whose window is open (30 days after it, then every 60), or None when
    neither is. Asked for every pair that met, of a few hundred distinct dates: worked out once each."""
    fit_day = _next_working_day(first_met)
    fit = fit_day <= today <= fit_day + _FIT_WINDOW
    age = (today - first_met).days
    pulse = None
    if age >= PULSE_FIRST_DAYS:
        number = (age - PULSE_FIRST_DAYS) // PULSE_EVERY_DAYS
        if today - (first_met + timedelta(days=PULSE_FIRST_DAYS + number * PULSE_EVERY_DAYS)) <= _PULSE_WINDOW:
            pulse = number
    return (fit, pulse) if fit or pulse is not None else None


def _closing_candidates(facts: PairFacts, now: datetime, clock: _LocalClock, out: list[DueNudge]) -> None:
    """The closing survey: to each member of a pair that ended, within two weeks of the end."""
    ended = facts.ended_on
    assert ended is not None
    pair_id = facts.id or 0
    for person, role, (local, working, today) in _members(facts, clock):
        if working and ended <= today <= ended + _CLOSING_WINDOW and (
                NudgeKind.CLOSING_SURVEY not in _held(facts, person, now)):
            out.append(DueNudge(nudge_key(pair_id, person, NudgeKind.CLOSING_SURVEY, "end"), pair_id, person,
                                NudgeKind.CLOSING_SURVEY, role, local, None, None, (person,), _RANK_CLOSING_SURVEY))


def _summary_candidates(state: ProgramState, now: datetime) -> list[DueNudge]:
    """The weekly summary: Monday from 09:00 (program zone), caught up during that working day."""
    if not state.summary_channel:
        return []
    local = now.astimezone(ZoneInfo(state.program_tz))
    if local.weekday() != 0 or local.time() < SUMMARY_TIME:
        return []
    period = iso_week(local.date())
    return [DueNudge(nudge_key(PROGRAM, state.summary_channel, NudgeKind.WEEKLY_SUMMARY, period), None,
                     state.summary_channel, NudgeKind.WEEKLY_SUMMARY, "channel", local,
                     rank=_RANK[NudgeKind.WEEKLY_SUMMARY])]


# A snoozed member's pair hears nothing; while a member's prompts are paused, only the pause notice reaches
# them personally.
_EVERY_KIND: frozenset[str] = frozenset(NudgeKind)
_PAUSE_HOLDS: frozenset[str] = _EVERY_KIND - {NudgeKind.PROMPTS_PAUSED}
_NOTHING_HELD = (frozenset[str](), frozenset[str]())


def _held_back(member: MemberFacts, now: datetime) -> tuple[frozenset[str], frozenset[str]]:
    """Return the kinds not to send to `member` personally, and those their pair's group DM must not carry."""
    if member.snoozed_until is not None and member.snoozed_until > now:
        return _EVERY_KIND, _EVERY_KIND
    stopped = member.stopped_kinds
    return (stopped | _PAUSE_HOLDS if member.prompts_paused_at is not None else stopped), stopped


# The working-day arithmetic of a few hundred distinct dates, asked for by every pair with a meeting.
_next_working_day = lru_cache(maxsize=4096)(next_working_day)
_previous_working_day = lru_cache(maxsize=4096)(previous_working_day)


@lru_cache(maxsize=4096)
def _since(anchor_day: date) -> str:
    """The period of a nudge about a silence counted from `anchor_day` (shared by the pairs of that day)."""
    return f"since{anchor_day.isoformat()}"


# ---- choosing ------------------------------------------------------------------------------------------


def _local_day_bounds(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Return the first instant of `now`'s local day in `zone` and of the next one.

    `at` is on that local day exactly when start <= at < end, also on DST days: a midnight that does not
    exist (fold 0) falls on the transition, and a repeated one is taken at its first occurrence. Comparing
    against these bounds spares one zone conversion per ledger row.
    """
    today = now.astimezone(zone).date()
    start = datetime.combine(today, time.min, tzinfo=zone)
    end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(now.tzinfo), end.astimezone(now.tzinfo)


def _choose(candidates: list[DueNudge], state: ProgramState, now: datetime) -> list[DueNudge]:
    """Keep what is not yet in the ledger and within the caps; best first.

    Candidates are built only inside their window and the recipient's working hours (see `_pair_candidates`),
    so neither is checked again here: at 150,000 candidates that would cost a tenth of the sweep.
    """
    week_ago = now - timedelta(days=7)
    reached_today: set[str] = set()
    week_counts: dict[str, int] = defaultdict(int)  # on top of state.earlier_this_week
    earlier = state.earlier_this_week
    today_by_zone: dict[str | None, tuple[datetime, datetime]] = {}
    for delivery in state.deliveries:
        person, at = delivery.person_id, delivery.at
        if at > week_ago:
            week_counts[person] += 1
        tz = state.zones.get(person)
        today = today_by_zone.get(tz)
        if today is None:
            today = today_by_zone[tz] = _local_day_bounds(now, zone_of(tz, state.program_tz))
        if today[0] <= at < today[1]:
            reached_today.add(person)

    # Whoever was reached today or has had the week's share hears nothing more now; whoever is chosen for
    # now joins them (one scheduled message per person per sweep, as per local day).
    weekly = state.max_dms_per_week
    taken = reached_today | {p for p, n in earlier.items() if n + week_counts.get(p, 0) >= weekly}
    taken.update(p for p, n in week_counts.items() if n + earlier.get(p, 0) >= weekly)
    chosen: list[DueNudge] = []
    claimed = state.ledger_keys
    # Most important kind first, then by pair. Sorting is stable, so candidates of one kind and pair keep the
    # order they were built in (mentor first, goals by id): the same snapshot always gives the same choice.
    # Two sorts on plain keys cost less than one on a tuple per candidate; the first finds a stream's
    # candidates already in pair order.
    ordered = [c for c in candidates if c.key not in claimed]
    ordered.sort(key=_pair_order)
    ordered.sort(key=attrgetter("rank"))
    for candidate in ordered:
        audience = candidate.audience
        if audience:
            if weekly < 1 or not taken.isdisjoint(audience):
                continue
            taken.update(audience)
        chosen.append(candidate)
    return chosen


def _pair_order(nudge: DueNudge) -> int:
    return nudge.pair_id or 0
