"""Program figures, one definition each — read by the weekly summary, the coordinators' Home and the export.

The rating window, "at risk", "asked for help" and the program's today live here and nowhere else: the
summary, the Home and the CSV read one `ProgramInputs` (one store query, `bot.store.reports`) through these
functions, so they cannot disagree. Figures only: no text of any check-in, note or goal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo

from bot.domain.health import Health, PairSignals, PairTiming, average_or_none, days_silent, health_of
from bot.domain.models import GoalStatus, PairStatus, Phase
from bot.domain.rows import RowsByKey

# Ratings and check-ins are counted over the last four weeks, today included.
RATING_WINDOW_DAYS = 28
ENDINGS_WINDOW_DAYS = 30
# The most pairs the figures name in a list (at risk, ending soon): the summary and the Home list no more, and
# a program's pairs at risk may be most of its pairs.
NAMED_AT_MOST = 30

EXPORT_COLUMNS = (
    "pair_id", "mentor_id", "mentor_name", "mentee_id", "mentee_name", "phase", "status", "started_on",
    "ends_on", "cadence_days", "checkins", "last_checkin_on", "average_rating", "goals_set", "goals_achieved",
    "help_requests", "closure_reason", "health", "mentor_topics_offered", "mentee_topics_wanted",
)


T = TypeVar("T")


class _HasId(Protocol):
    @property
    def id(self) -> int | None: ...


P = TypeVar("P", bound=_HasId)


class ProgramPair(PairTiming, Protocol):
    """What program figures read of a pair: a stored Pair, or the store's `PairRecord`."""

    id: int | None
    mentor_id: str
    mentee_id: str
    phase: str
    ends_on: date
    closure_reason: str | None


@dataclass(slots=True)
class PairRecord:
    """A pair's columns that program figures read, and no more: a program holds one per pair while its figures
    are worked out (an ORM object costs many times as much)."""

    id: int
    mentor_id: str
    mentee_id: str
    phase: str
    status: str
    started_on: date
    ends_on: date
    cadence_days: int
    closure_reason: str | None


# Slotted: a program holds one tally per pair and one of these per recent check-in.
@dataclass(frozen=True, slots=True)
class RatedCheckin:
    pair_id: int
    met_on: date
    rating: int


@dataclass(frozen=True, slots=True)
class PairTally:
    """One pair's counts over its whole life, and the dates its health is judged on."""

    checkins: int = 0
    rating_sum: int = 0
    last_met_on: date | None = None  # the newest check-in by meeting date
    help_requests: int = 0
    last_help_at: datetime | None = None
    goals_set: int = 0
    goals_achieved: int = 0
    prompts_paused: bool = False
    poor_fit: bool = False  # a member rated the pairing's fit 1–2


NO_TALLY = PairTally()


@dataclass(frozen=True)
class ProgramInputs:
    """What every program figure is computed from (loaded by `bot.store.reports.load_program_inputs`)."""

    pairs: Iterable[ProgramPair] = ()
    tallies: dict[int, PairTally] = field(default_factory=dict)  # by pair id, for `pairs`
    # Or each pair with its tally, as the store streams them (read once, in id order): a program's figures
    # need not hold its pairs nor their tallies.
    tallied: Iterable[tuple[ProgramPair, PairTally]] | None = None
    recent_checkins: tuple[RatedCheckin, ...] = ()  # at least those met in the last RATING_WINDOW_DAYS
    goals_achieved_on: tuple[date, ...] = ()
    names: dict[str, str] = field(default_factory=dict)  # display names, for the export
    # (person, "offered" | "wanted") -> topic names, for the export: a profile's topics, never its strengths or
    # questions
    topics: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)

    def each_pair(self) -> Iterable[tuple[ProgramPair, PairTally]]:
        """Each pair with its tally, read once."""
        if self.tallied is not None:
            return self.tallied
        return ((pair, self.tallies.get(pair.id or 0, NO_TALLY)) for pair in self.pairs)


@dataclass(frozen=True, slots=True)
class AtRiskPair:
    pair: ProgramPair
    days_silent: int
    help_requested: bool
    prompts_paused: bool
    poor_fit: bool = False


@dataclass(frozen=True)
class ProgramFigures:
    today: date
    active: int
    paused: int
    ended: int
    by_phase: dict[str, int]
    checkins_this_week: int
    checkins_last_week: int
    checkins_in_window: int  # met in the last RATING_WINDOW_DAYS
    average_rating: float | None  # over the same window; None for too few pairs
    goals_achieved: int
    goals_achieved_this_week: int
    at_risk: tuple[AtRiskPair, ...]  # the first NAMED_AT_MOST, most silent first
    at_risk_count: int
    endings: tuple[ProgramPair, ...]  # the first NAMED_AT_MOST, soonest first
    endings_count: int


def program_today(now: datetime, zone: ZoneInfo) -> date:
    """Return the program's calendar date at `now` (`zone` is MENTORBOT_TIMEZONE's)."""
    return now.astimezone(zone).date()


def is_help_raised(last_help_at: datetime | None, last_met_on: date | None, zone: ZoneInfo) -> bool:
    """Return True while the pair's last raised hand is unanswered.

    A hand counts until the pair's newest meeting (by meeting date, not by when it was logged) falls on a
    later day than the hand went up, in the program's zone. A back-dated check-in of an earlier meeting does
    not answer it; nor does a meeting the same day, which may be what made someone ask.
    """
    if last_help_at is None:
        return False
    at = last_help_at if last_help_at.tzinfo is not None else last_help_at.replace(tzinfo=UTC)
    return last_met_on is None or last_met_on <= at.astimezone(zone).date()


def signals_of(tally: PairTally, zone: ZoneInfo) -> PairSignals:
    return PairSignals(last_met_on=tally.last_met_on,
                       help_requested=is_help_raised(tally.last_help_at, tally.last_met_on, zone),
                       prompts_paused=tally.prompts_paused, poor_fit=tally.poor_fit)


def program_figures(inputs: ProgramInputs, today: date, zone: ZoneInfo) -> ProgramFigures:
    """Return the program figures as of `today`; "this week" is the 7 days up to and including today.

    One pass over the pairs, which may be a stream read once: what it keeps of the pairs is their counts
    and the ones it names (`NAMED_AT_MOST` of those at risk and of those ending soon), since at risk may be
    most of a program.
    """
    week_start = today - timedelta(days=6)
    last_week_start = week_start - timedelta(days=7)
    horizon = today + timedelta(days=ENDINGS_WINDOW_DAYS)
    by_status: Counter[str] = Counter()
    by_phase = {phase.value: 0 for phase in Phase if phase != Phase.ENDED}
    at_risk = _Named[AtRiskPair](lambda a: (-a.days_silent, a.pair.id or 0))
    endings = _Named[ProgramPair](lambda p: (p.ends_on, p.id or 0))
    for pair, tally in inputs.each_pair():
        by_status[pair.status] += 1
        if pair.status == PairStatus.ENDED:
            continue
        by_phase[pair.phase] = by_phase.get(pair.phase, 0) + 1
        signals = signals_of(tally, zone)
        if health_of(pair, signals, today) == Health.AT_RISK:
            at_risk.add(AtRiskPair(pair, days_silent(pair, signals.last_met_on, today), signals.help_requested,
                                   signals.prompts_paused, signals.poor_fit))
        if today <= pair.ends_on <= horizon:
            endings.add(pair)
    this_week = sum(1 for c in inputs.recent_checkins if week_start <= c.met_on <= today)
    last_week = sum(1 for c in inputs.recent_checkins if last_week_start <= c.met_on < week_start)
    rating_since = today - timedelta(days=RATING_WINDOW_DAYS - 1)
    rated = [c for c in inputs.recent_checkins if rating_since <= c.met_on <= today]
    average = average_or_none([c.rating for c in rated], group_size=len({c.pair_id for c in rated}))
    return ProgramFigures(
        today=today,
        active=by_status[PairStatus.ACTIVE],
        paused=by_status[PairStatus.PAUSED],
        ended=by_status[PairStatus.ENDED],
        by_phase=by_phase,
        checkins_this_week=this_week,
        checkins_last_week=last_week,
        checkins_in_window=len(rated),
        average_rating=average,
        goals_achieved=len(inputs.goals_achieved_on),
        goals_achieved_this_week=sum(1 for d in inputs.goals_achieved_on if week_start <= d <= today),
        at_risk=tuple(at_risk.first()),
        at_risk_count=at_risk.count,
        endings=tuple(endings.first()),
        endings_count=endings.count,
    )


class _Named(Generic[T]):
    """Counts what it is given and keeps the first `NAMED_AT_MOST` of it in `key` order (keys are unique)."""

    def __init__(self, key: Callable[[T], tuple[Any, int]]) -> None:
        self.key = key
        self.count = 0
        self._kept: list[T] = []

    def add(self, item: T) -> None:
        self.count += 1
        self._kept.append(item)
        if len(self._kept) == 4 * NAMED_AT_MOST:
            self._kept = self.first()

    def first(self) -> list[T]:
        return sorted(self._kept, key=self.key)[:NAMED_AT_MOST]


def _safe_cell(value: str) -> str:
    """Keep a spreadsheet from running a display name as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export_rows(inputs: ProgramInputs, today: date, zone: ZoneInfo) -> list[dict[str, str]]:
    """Return one row per pair, oldest first, in EXPORT_COLUMNS order."""
    rows = []
    for pair, tally in sorted(inputs.each_pair(), key=lambda item: item[0].id or 0):
        pair_id = pair.id or 0
        average = f"{tally.rating_sum / tally.checkins:.1f}" if tally.checkins else ""
        rows.append({
            "pair_id": str(pair_id),
            "mentor_id": pair.mentor_id,
            "mentor_name": _safe_cell(inputs.names.get(pair.mentor_id, "")),
            "mentee_id": pair.mentee_id,
            "mentee_name": _safe_cell(inputs.names.get(pair.mentee_id, "")),
            "phase": pair.phase,
            "status": pair.status,
            "started_on": pair.started_on.isoformat(),
            "ends_on": pair.ends_on.isoformat(),
            "cadence_days": str(pair.cadence_days),
            "checkins": str(tally.checkins),
            "last_checkin_on": tally.last_met_on.isoformat() if tally.last_met_on else "",
            "average_rating": average,
            "goals_set": str(tally.goals_set),
            "goals_achieved": str(tally.goals_achieved),
            "help_requests": str(tally.help_requests),
            "closure_reason": pair.closure_reason or "",
            "health": health_of(pair, signals_of(tally, zone), today).value,
            "mentor_topics_offered": "; ".join(inputs.topics.get((pair.mentor_id, "offered"), ())),
            "mentee_topics_wanted": "; ".join(inputs.topics.get((pair.mentee_id, "wanted"), ())),
        })
    return rows


def tallied_pairs(
    pairs: Iterable[P],
    checkins: Iterable[tuple[int, int, int | None, date]],
    helps: Iterable[tuple[int, int, datetime]],
    goals: Iterable[tuple[int, str]],
    paused: frozenset[int],
    poor_fit: frozenset[int] = frozenset(),
) -> Iterator[tuple[P, PairTally]]:
    """Yield each of `pairs` with its tally, from grouped rows: (pair, count, rating sum, last met), (pair,
    count, last asked), (pair, goal status) per goal; the pairs whose prompts are paused and those whose fit
    was rated low.

    `pairs` and the rows come in ascending pair id, and are read once, side by side: nothing is kept of a
    pair once the next one is reached."""
    met, asked, goal_rows = RowsByKey(checkins), RowsByKey(helps), RowsByKey(goals)
    for pair in pairs:
        pair_id = pair.id or 0
        checkins_, rating_sum, last_met_on = (met.take(pair_id) or [(0, 0, None)])[0]
        help_requests, last_help_at = (asked.take(pair_id) or [(0, None)])[0]
        statuses = [status for (status,) in goal_rows.take(pair_id)]
        yield pair, PairTally(checkins_, int(rating_sum or 0), last_met_on, help_requests, last_help_at,
                              len(statuses), statuses.count(GoalStatus.ACHIEVED), pair_id in paused,
                              pair_id in poor_fit)


@dataclass(frozen=True, slots=True)
class _Id:
    id: int


def tally_pairs(
    checkins: Iterable[tuple[int, int, int | None, date]],
    helps: Iterable[tuple[int, int, datetime]],
    goals: Iterable[tuple[int, str]],
    paused: frozenset[int],
    poor_fit: frozenset[int] = frozenset(),
) -> dict[int, PairTally]:
    """Return the tally of each pair that the rows (in any order; see `tallied_pairs`) name."""
    met, asked, goal_rows = (sorted(rows, key=lambda row: row[0]) for rows in (checkins, helps, goals))
    ids = sorted({row[0] for rows in (met, asked, goal_rows) for row in rows} | paused | poor_fit)
    return {pair.id: tally for pair, tally in tallied_pairs(
        (_Id(pair_id) for pair_id in ids), met, asked, goal_rows, paused, poor_fit)}
