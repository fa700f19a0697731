"""The outcome report: is the program working? Pure figures from the database's totals, no text of any answer.

Aggregates only: a figure drawn from fewer than MIN_PAIRS pairs is None (shown as "—"), so no figure can
point at one person's answer.

One module on purpose: what each outcome figure means (its window, threshold, median and what "—" hides) is
read together by the report, the summary's outcome section, the export's columns and the chart's data.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.domain.chart import CHART_WEEKS, ChartData
from bot.domain.models import Attainment, ClosureReason, MeetingRegularity, OutcomeKind

MIN_PAIRS = 3
TREND_WINDOW_DAYS = 90  # pulse and fit averages: the last 90 days against the 90 before
ON_CADENCE_SLACK = 1.25  # a pair whose median gap is within a quarter over its cadence meets as agreed
LOW_FIT = 2


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """One member's answered fit check, pulse or closing survey, as the export reads it (ratings only, never
    the free text)."""

    pair_id: int
    kind: str
    rating: int | None = None
    meeting_as_agreed: str | None = None
    take_part_again: bool | None = None


@dataclass(frozen=True, slots=True)
class RatingTotals:
    """One kind's ratings (fit or pulse) answered in one trend window: their sum, number and pairs."""

    kind: str
    window: int  # 0: the last TREND_WINDOW_DAYS up to today; 1: the TREND_WINDOW_DAYS before
    total: int
    count: int
    pairs: int


@dataclass(frozen=True)
class OutcomeTotals:
    """What the report is made of, summed, counted and grouped: a few thousand values whatever the program's size.

    The store works these out in SQL (`bot.store.outcomes.load_outcome_totals`); every threshold, median and
    share is applied afterwards, by `report_of`.
    """

    pairs: int
    attainments: Sequence[tuple[int, str, int]] = ()  # (pair id, verdict, goals judged so)
    # A pair's median days between check-ins, as (the middle gap, or the sum of the two middle gaps; how many of
    # them, 1 or 2), its cadence, and the number of pairs with that median and cadence. Pairs with 2+ check-ins.
    regularity: Sequence[tuple[int, int, int, int]] = ()
    waits: Sequence[tuple[int, int]] = ()  # (days from registration to first meeting, pairs)
    ratings: Sequence[RatingTotals] = ()
    fit_pairs: int = 0  # pairs with a fit rating, any day
    low_fit_pairs: int = 0  # of those, pairs with a fit rating at or below LOW_FIT
    meeting: Mapping[str, int] = field(default_factory=dict)  # pulse answers by "meeting as agreed"
    meeting_pairs: int = 0
    closings: int = 0  # pairs with a closing survey
    closing_value_total: int = 0
    closing_values: int = 0
    again_yes: int = 0
    again_answered: int = 0
    endings: Sequence[tuple[str | None, bool, int]] = ()  # ended pairs: (reason, ended on/after end date, pairs)
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


def _share(counts: Mapping[str, int], pairs: int) -> Share:
    return Share(dict(counts) if pairs >= MIN_PAIRS else None, pairs)


def trend_windows(today: date) -> tuple[date, date]:
    """Return (start, before): window 0 is start < day <= today, window 1 is before < day <= start."""
    start = today - timedelta(days=TREND_WINDOW_DAYS)
    return start, start - timedelta(days=TREND_WINDOW_DAYS)


def _median_of(counted: Iterable[tuple[float, int]]) -> float:
    """Return the median of values given with how often each occurs (as `statistics.median` of them all)."""
    values = sorted((value, count) for value, count in counted if count)
    total = sum(count for _, count in values)
    wanted = {total // 2} if total % 2 else {total // 2 - 1, total // 2}
    found: list[float] = []
    seen = 0
    for value, count in values:
        found.extend(value for index in wanted if seen <= index < seen + count)
        seen += count
    return found[0] if len(found) == 1 else (found[0] + found[1]) / 2


def pair_topic(mentor_offers: Sequence[str], mentee_wants: Sequence[str]) -> str | None:
    """Return the topic a pair's goal attainment counts under, from its members' profiles (topics in the topic
    list's order): the first the mentee wants that the mentor offers, which is what matching paired them on;
    else the mentee's first wanted; else the mentor's first offered; None without either."""
    offered = set(mentor_offers)
    shared = [topic for topic in mentee_wants if topic in offered]
    return next(iter(shared or mentee_wants or mentor_offers), None)


def _trend(totals: OutcomeTotals, kind: str) -> Trend:
    found = {r.window: r for r in totals.ratings if r.kind == kind}

    def mean(window: int) -> float | None:
        row = found.get(window)
        return row.total / row.count if row and row.count and row.pairs >= MIN_PAIRS else None

    return Trend(mean(0), mean(1), found[0].pairs if 0 in found else 0)


def report_of(totals: OutcomeTotals, today: date) -> OutcomeReport:
    """Return the program's outcome figures as of `today`, from their totals."""
    # A pair's median gap: its middle gap, or the mean of its two middle gaps (as statistics.median).
    regular = [(total if taken == 1 else total / 2, cadence, count) for total, taken, cadence, count in
               totals.regularity]
    regular_pairs = sum(count for *_, count in regular)
    on_cadence = sum(count for gap, cadence, count in regular if gap <= cadence * ON_CADENCE_SLACK)
    enough = regular_pairs >= MIN_PAIRS

    attainment: Counter[str] = Counter()
    attained_pairs: set[int] = set()
    for pair_id, verdict, count in totals.attainments:
        attainment[verdict] += count
        attained_pairs.add(pair_id)

    endings: Counter[str] = Counter()
    for reason, on_time, count in totals.endings:
        reached = reason in (None, ClosureReason.COMPLETED) and on_time
        endings["reached_end_date" if reached else reason or ClosureReason.ENDED_EARLY] += count
    ended = sum(count for *_, count in totals.endings)
    waits: Counter[int] = Counter()
    for days, count in totals.waits:
        waits[max(0, days)] += count
    first_meetings = sum(waits.values())
    enough_closings = totals.closings >= MIN_PAIRS

    by_topic: dict[str, Share] = {}
    if totals.topics:
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        pairs_of: dict[str, set[int]] = defaultdict(set)
        for pair_id, verdict, count in totals.attainments:
            topic = totals.topics.get(pair_id)
            if topic:
                counts[topic][verdict] += count
                pairs_of[topic].add(pair_id)
        by_topic = {topic: _share(counts[topic], len(pairs_of[topic])) for topic in sorted(counts)}

    return OutcomeReport(
        today=today,
        pairs=totals.pairs,
        attainment=_share(attainment, len(attained_pairs)),
        median_gap_days=_median_of((gap, count) for gap, _, count in regular) if enough else None,
        median_cadence_days=_median_of((cadence, count) for _, cadence, count in regular) if enough else None,
        on_cadence_percent=round(100 * on_cadence / regular_pairs) if enough else None,
        regular_pairs=regular_pairs,
        fit=_trend(totals, OutcomeKind.FIT),
        low_fit_pairs=totals.low_fit_pairs if totals.fit_pairs >= MIN_PAIRS else None,
        growth=_trend(totals, OutcomeKind.PULSE),
        meeting_as_agreed=_share(totals.meeting, totals.meeting_pairs),
        closing_value=(totals.closing_value_total / totals.closing_values
                       if totals.closing_values and enough_closings else None),
        take_part_again_percent=(round(100 * totals.again_yes / totals.again_answered)
                                 if totals.again_answered and enough_closings else None),
        closings=totals.closings,
        endings=_share(endings, ended),
        days_to_first_meeting=_median_of(waits.items()) if first_meetings >= MIN_PAIRS else None,
        first_meetings=first_meetings,
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


def export_outcome_columns(answers: Iterable[AnswerRow], attainments: Iterable[tuple[int, str]]
                           ) -> dict[int, dict[str, str]]:
    """Return each pair's outcome columns: ratings averaged over both members, so that no column says which
    member answered what; never free text. Each argument is read once, so either may be a stream."""
    ratings: dict[tuple[int, str], list[int]] = defaultdict(list)
    meeting: dict[int, Counter[str]] = defaultdict(Counter)
    again: dict[int, list[bool]] = defaultdict(list)
    verdicts: dict[int, Counter[str]] = defaultdict(Counter)
    answered: set[int] = set()
    for answer in answers:
        answered.add(answer.pair_id)
        if answer.rating is not None:
            ratings[(answer.pair_id, answer.kind)].append(answer.rating)
        if answer.meeting_as_agreed:
            meeting[answer.pair_id][answer.meeting_as_agreed] += 1
        if answer.take_part_again is not None:
            again[answer.pair_id].append(answer.take_part_again)
    for pair_id, verdict in attainments:
        verdicts[pair_id][verdict] += 1
    columns: dict[int, dict[str, str]] = {}
    for pair_id in answered | set(verdicts):
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
