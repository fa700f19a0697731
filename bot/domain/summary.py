"""The weekly program figures: counts, phases, check-ins, ratings, goals, pairs at risk, endings — pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.domain.health import Health, PairSignals, average_or_none, days_silent, health_of
from bot.domain.models import Pair, PairStatus, Phase

RATING_WINDOW_DAYS = 28
ENDINGS_WINDOW_DAYS = 30


@dataclass(frozen=True)
class RatedCheckin:
    pair_id: int
    met_on: date
    rating: int


@dataclass(frozen=True)
class SummaryInputs:
    """Rows loaded for the summary; no text of any check-in, note or goal."""

    pairs: tuple[Pair, ...]
    last_met: dict[int, date] = field(default_factory=dict)
    recent_checkins: tuple[RatedCheckin, ...] = ()  # at least the last RATING_WINDOW_DAYS
    goals_achieved_on: tuple[date, ...] = ()
    help_pairs: frozenset[int] = frozenset()
    prompts_paused_pairs: frozenset[int] = frozenset()
    poor_fit_pairs: frozenset[int] = frozenset()


@dataclass(frozen=True)
class AtRiskPair:
    pair: Pair
    days_silent: int
    help_requested: bool
    prompts_paused: bool
    poor_fit: bool = False


@dataclass(frozen=True)
class SummaryFigures:
    today: date
    active: int
    paused: int
    ended: int
    by_phase: dict[str, int]
    checkins_this_week: int
    checkins_last_week: int
    average_rating: float | None
    goals_achieved: int
    goals_achieved_this_week: int
    at_risk: tuple[AtRiskPair, ...]
    endings: tuple[Pair, ...]


def summary_figures(inputs: SummaryInputs, today: date) -> SummaryFigures:
    """Return the program figures as of `today`; "this week" is the 7 days up to and including today."""
    week_start = today - timedelta(days=6)
    last_week_start = week_start - timedelta(days=7)
    live = [p for p in inputs.pairs if p.status != PairStatus.ENDED]
    by_phase = {phase.value: 0 for phase in Phase if phase != Phase.ENDED}
    for pair in live:
        by_phase[pair.phase] = by_phase.get(pair.phase, 0) + 1
    this_week = sum(1 for c in inputs.recent_checkins if week_start <= c.met_on <= today)
    last_week = sum(1 for c in inputs.recent_checkins if last_week_start <= c.met_on < week_start)
    rating_since = today - timedelta(days=RATING_WINDOW_DAYS - 1)
    rated = [c for c in inputs.recent_checkins if rating_since <= c.met_on <= today]
    average = average_or_none([c.rating for c in rated], group_size=len({c.pair_id for c in rated}))
    at_risk = []
    for pair in live:
        pair_id = pair.id or 0
        signals = PairSignals(
            last_met_on=inputs.last_met.get(pair_id),
            help_requested=pair_id in inputs.help_pairs,
            prompts_paused=pair_id in inputs.prompts_paused_pairs,
            poor_fit=pair_id in inputs.poor_fit_pairs,
        )
        if health_of(pair, signals, today) == Health.AT_RISK:
            at_risk.append(AtRiskPair(pair, days_silent(pair, signals.last_met_on, today), signals.help_requested,
                                      signals.prompts_paused, signals.poor_fit))
    at_risk.sort(key=lambda a: (-a.days_silent, a.pair.id or 0))
    horizon = today + timedelta(days=ENDINGS_WINDOW_DAYS)
    endings = sorted((p for p in live if today <= p.ends_on <= horizon), key=lambda p: (p.ends_on, p.id or 0))
    return SummaryFigures(
        today=today,
        active=sum(1 for p in inputs.pairs if p.status == PairStatus.ACTIVE),
        paused=sum(1 for p in inputs.pairs if p.status == PairStatus.PAUSED),
        ended=sum(1 for p in inputs.pairs if p.status == PairStatus.ENDED),
        by_phase=by_phase,
        checkins_this_week=this_week,
        checkins_last_week=last_week,
        average_rating=average,
        goals_achieved=len(inputs.goals_achieved_on),
        goals_achieved_this_week=sum(1 for d in inputs.goals_achieved_on if week_start <= d <= today),
        at_risk=tuple(at_risk),
        endings=tuple(endings),
    )
