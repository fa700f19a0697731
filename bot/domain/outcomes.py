"""The outcome report: is the program working? Pure aggregation over plain rows, no text of any answer.

Aggregates only: a figure drawn from fewer than MIN_PAIRS pairs is None (shown as "—"), so no figure can
point at one person's answer.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import median

from bot.domain.chart import CHART_WEEKS, ChartData
from bot.domain.models import Attainment, ClosureReason, MeetingRegularity, OutcomeKind, PairStatus

MIN_PAIRS = 3
TREND_WINDOW_DAYS = 90  # pulse and fit averages: the last 90 days against the 90 before
ON_CADENCE_SLACK = 1.25  # a pair whose median gap is within a quarter over its cadence meets as agreed
LOW_FIT = 2


@dataclass(frozen=True, slots=True)
class PairRow:
    pair_id: int
    status: str
    cadence_days: int
    ends_on: date
    registered_on: date
    ended_on: date | None = None
    closure_reason: str | None = None


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """One member's answer to a fit check, pulse or closing survey (ratings only, never the free text)."""

    pair_id: int
    kind: str
    answered_on: date
    rating: int | None = None
    meeting_as_agreed: str | None = None
    take_part_again: bool | None = None


@dataclass(frozen=True, slots=True)
class AttainmentRow:
    pair_id: int
    attainment: str


@dataclass(frozen=True)
class OutcomeInputs:
    pairs: Sequence[PairRow]
    # (pair id, meeting date) of every check-in, ordered by pair, then date.
    meetings: Iterable[tuple[int, date]] = ()
    answers: Iterable[AnswerRow] = ()  # read once by the report: may be a stream
    attainments: Sequence[AttainmentRow] = ()
    topics: Mapping[int, str] | None = None  # pair id → its topic, when the program has topics


@dataclass(frozen=True)
class Share:
    """Counts of answers in categories, over `pairs` pairs; hidden (None) when too few pairs."""

    counts: dict[str, int] | None
    pairs: int

    def percent(self, category: str) -> int | None:
        if not self.counts:
            return None
        total = sum(self.counts.values())
        return round(100 * self.counts.get(category, 0) / total) if total else None


@dataclass(frozen=True)
class Trend:
    current: float | None
    previous: float | None
    pairs: int

    @property
    def direction(self) -> str | None:
        if self.current is None or self.previous is None:
            return None
        delta = self.current - self.previous
        return "up" if delta >= 0.1 else "down" if delta <= -0.1 else "steady"


@dataclass(frozen=True)
class OutcomeReport:
    today: date
    pairs: int
    attainment: Share
    median_gap_days: float | None
    median_cadence_days: float | None
    on_cadence_percent: int | None
    regular_pairs: int
    fit: Trend
    low_fit_pairs: int | None
    growth: Trend
    meeting_as_agreed: Share
    closing_value: float | None
    take_part_again_percent: int | None
    closings: int
    endings: Share  # reached the end date vs ended early (and why)
    days_to_first_meeting: float | None
    first_meetings: int
    by_topic: dict[str, Share] = field(default_factory=dict)


class _Ratings:
    """Running sums of one kind's ratings in the last TREND_WINDOW_DAYS (0) and the window before (1): the
    answers stream by once and none is kept."""

    def __init__(self) -> None:
        self.sums = [0, 0]
        self.counts = [0, 0]
        self.pairs: tuple[set[int], set[int]] = (set(), set())

    def add(self, window: int, pair_id: int, rating: int) -> None:
        self.sums[window] += rating
        self.counts[window] += 1
        self.pairs[window].add(pair_id)

    def mean(self, window: int) -> float | None:
        enough = self.counts[window] and len(self.pairs[window]) >= MIN_PAIRS
        return self.sums[window] / self.counts[window] if enough else None

    def trend(self) -> Trend:
        return Trend(self.mean(0), self.mean(1), len(self.pairs[0]))


def _share(counts: Counter[str], pairs: set[int]) -> Share:
    return Share(dict(counts) if len(pairs) >= MIN_PAIRS else None, len(pairs))


def _regularity(meetings: Iterable[tuple[int, date]], cadence: Mapping[int, int]
                ) -> tuple[dict[int, float], dict[int, date]]:
    """Return each pair's median days between check-ins (pairs with two or more) and its first meeting."""
    gaps: dict[int, float] = {}
    first: dict[int, date] = {}
    current = -1
    days: list[int] = []
    previous: date | None = None

    def close() -> None:
        if days and current in cadence:
            gaps[current] = median(days)

    for pair_id, met_on in meetings:
        if pair_id != current:
            close()
            current, days, previous = pair_id, [], None
            first[pair_id] = met_on
        if previous is not None:
            days.append((met_on - previous).days)
        previous = met_on
    close()
    return gaps, first


def outcome_report(inputs: OutcomeInputs, today: date) -> OutcomeReport:
    """Return the program's outcome figures as of `today`."""
    cadence = {p.pair_id: p.cadence_days for p in inputs.pairs}
    gaps, first_met = _regularity(inputs.meetings, cadence)
    regular = [pid for pid in gaps if pid in cadence]
    on_cadence = sum(1 for pid in regular if gaps[pid] <= cadence[pid] * ON_CADENCE_SLACK)
    enough = len(regular) >= MIN_PAIRS

    attainment = Counter(a.attainment for a in inputs.attainments)
    start = today - timedelta(days=TREND_WINDOW_DAYS)
    before = start - timedelta(days=TREND_WINDOW_DAYS)
    fit, growth = _Ratings(), _Ratings()
    fit_pairs: set[int] = set()
    low_fit: set[int] = set()
    meeting: Counter[str] = Counter()
    meeting_pairs: set[int] = set()
    closing_pairs: set[int] = set()
    closing_value = [0, 0]  # sum, count
    again = [0, 0]  # yes, answered
    for answer in inputs.answers:  # a stream: read once
        kind, pair_id, rating = answer.kind, answer.pair_id, answer.rating
        if kind == OutcomeKind.CLOSING:
            closing_pairs.add(pair_id)
            if rating:
                closing_value[0] += rating
                closing_value[1] += 1
            if answer.take_part_again is not None:
                again[0] += answer.take_part_again
                again[1] += 1
            continue
        if kind == OutcomeKind.PULSE and answer.meeting_as_agreed:
            meeting[answer.meeting_as_agreed] += 1
            meeting_pairs.add(pair_id)
        if rating is None:
            continue
        if kind == OutcomeKind.FIT:
            fit_pairs.add(pair_id)
            if rating <= LOW_FIT:
                low_fit.add(pair_id)
        day = answer.answered_on
        window = 0 if start < day <= today else 1 if before < day <= start else -1
        if window >= 0:
            (fit if kind == OutcomeKind.FIT else growth).add(window, pair_id, rating)
    enough_closings = len(closing_pairs) >= MIN_PAIRS

    ended = [p for p in inputs.pairs if p.status == PairStatus.ENDED]
    endings: Counter[str] = Counter()
    for pair in ended:
        reached = pair.closure_reason in (None, ClosureReason.COMPLETED) and (
            pair.ended_on is None or pair.ended_on >= pair.ends_on)
        endings["reached_end_date" if reached else pair.closure_reason or ClosureReason.ENDED_EARLY] += 1
    registered = {p.pair_id: p.registered_on for p in inputs.pairs}
    waits = [max(0, (met - registered[pid]).days) for pid, met in first_met.items() if pid in registered]

    by_topic: dict[str, Share] = {}
    if inputs.topics:
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        pairs_of: dict[str, set[int]] = defaultdict(set)
        for row in inputs.attainments:
            topic = inputs.topics.get(row.pair_id)
            if topic:
                counts[topic][row.attainment] += 1
                pairs_of[topic].add(row.pair_id)
        by_topic = {topic: _share(counts[topic], pairs_of[topic]) for topic in sorted(counts)}

    return OutcomeReport(
        today=today,
        pairs=len(inputs.pairs),
        attainment=_share(attainment, {a.pair_id for a in inputs.attainments}),
        median_gap_days=median(gaps[p] for p in regular) if enough else None,
        median_cadence_days=median(cadence[p] for p in regular) if enough else None,
        on_cadence_percent=round(100 * on_cadence / len(regular)) if enough else None,
        regular_pairs=len(regular),
        fit=fit.trend(),
        low_fit_pairs=len(low_fit) if len(fit_pairs) >= MIN_PAIRS else None,
        growth=growth.trend(),
        meeting_as_agreed=_share(meeting, meeting_pairs),
        closing_value=closing_value[0] / closing_value[1] if closing_value[1] and enough_closings else None,
        take_part_again_percent=round(100 * again[0] / again[1]) if again[1] and enough_closings else None,
        closings=len(closing_pairs),
        endings=_share(endings, {p.pair_id for p in ended}),
        days_to_first_meeting=median(waits) if len(waits) >= MIN_PAIRS else None,
        first_meetings=len(waits),
        by_topic=by_topic,
    )


ATTAINMENT_ORDER = (Attainment.MET, Attainment.PARTLY, Attainment.NOT_MET)
MEETING_ORDER = (MeetingRegularity.YES, MeetingRegularity.SOMETIMES, MeetingRegularity.NO)
ENDING_ORDER = ("reached_end_date", ClosureReason.ENDED_EARLY, ClosureReason.REMATCHED)


# ---- the export's outcome columns ----------------------------------------------------------------------

OUTCOME_EXPORT_COLUMNS = (
    "fit_rating", "pulse_growth", "pulses_meeting_as_agreed", "closing_value", "take_part_again",
    "goals_met", "goals_partly", "goals_not_met",
)


def _average(values: list[int]) -> str:
    return f"{sum(values) / len(values):.1f}" if values else ""


def export_outcome_columns(answers: Sequence[AnswerRow], attainments: Sequence[AttainmentRow]
                           ) -> dict[int, dict[str, str]]:
    """Return each pair's outcome columns: ratings averaged over both members, so that no column says which
    member answered what; never free text."""
    ratings: dict[tuple[int, str], list[int]] = defaultdict(list)
    meeting: dict[int, Counter[str]] = defaultdict(Counter)
    again: dict[int, list[bool]] = defaultdict(list)
    verdicts: dict[int, Counter[str]] = defaultdict(Counter)
    for answer in answers:
        if answer.rating is not None:
            ratings[(answer.pair_id, answer.kind)].append(answer.rating)
        if answer.meeting_as_agreed:
            meeting[answer.pair_id][answer.meeting_as_agreed] += 1
        if answer.take_part_again is not None:
            again[answer.pair_id].append(answer.take_part_again)
    for row in attainments:
        verdicts[row.pair_id][row.attainment] += 1
    columns: dict[int, dict[str, str]] = {}
    for pair_id in {a.pair_id for a in answers} | set(verdicts):
        said = meeting.get(pair_id, Counter())
        yes = again.get(pair_id, [])
        counted = verdicts.get(pair_id, Counter())
        columns[pair_id] = {
            "fit_rating": _average(ratings.get((pair_id, OutcomeKind.FIT), [])),
            "pulse_growth": _average(ratings.get((pair_id, OutcomeKind.PULSE), [])),
            "pulses_meeting_as_agreed": " ".join(f"{c}:{said[c]}" for c in MEETING_ORDER if said.get(c)),
            "closing_value": _average(ratings.get((pair_id, OutcomeKind.CLOSING), [])),
            "take_part_again": f"{sum(yes)}/{len(yes)}" if yes else "",
            "goals_met": str(counted[Attainment.MET]) if counted else "",
            "goals_partly": str(counted[Attainment.PARTLY]) if counted else "",
            "goals_not_met": str(counted[Attainment.NOT_MET]) if counted else "",
        }
    return columns


# ---- the weekly summary's chart ------------------------------------------------------------------------

def chart_data(checkins_by_day: Iterable[tuple[date, int]], pulses: Iterable[tuple[int, date, int]],
               by_phase: dict[str, int], today: date) -> ChartData:
    """Return the chart's series: weeks are the 7 days ending on `today` and the 11 before.

    Args:
        checkins_by_day: (meeting date, number of check-ins) for days of the last 12 weeks.
        pulses: (pair id, answered on, growth rating) of pulse answers of the last 12 weeks.
    """
    first = today - timedelta(days=7 * CHART_WEEKS - 1)
    starts = [first + timedelta(days=7 * w) for w in range(CHART_WEEKS)]
    counts = [0] * CHART_WEEKS
    for day, count in checkins_by_day:
        if first <= day <= today:
            counts[(day - first).days // 7] += count
    ratings: list[list[int]] = [[] for _ in range(CHART_WEEKS)]
    pairs: list[set[int]] = [set() for _ in range(CHART_WEEKS)]
    for pair_id, day, rating in pulses:
        if first <= day <= today:
            week = (day - first).days // 7
            ratings[week].append(rating)
            pairs[week].add(pair_id)
    averages = [round(sum(r) / len(r), 2) if len(p) >= MIN_PAIRS else None for r, p in zip(ratings, pairs,
                                                                                            strict=True)]
    return ChartData(starts, counts, averages, dict(by_phase))
