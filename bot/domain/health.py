"""How a pair is doing, from dates alone: the signals coordinators may see (never note text)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from bot.domain.models import PairStatus

DRIFT_FACTOR = 2
AT_RISK_FACTOR = 3
# Fewer pairs than this in a group and an average would point at one person's rating.
MIN_GROUP_FOR_AVERAGE = 3


class Health(StrEnum):
    ON_TRACK = "on_track"
    DRIFTING = "drifting"
    AT_RISK = "at_risk"
    PAUSED = "paused"
    ENDED = "ended"


HEALTH_LABELS = {
    Health.ON_TRACK: ":large_green_circle: on track",
    Health.DRIFTING: ":large_yellow_circle: drifting",
    Health.AT_RISK: ":red_circle: at risk",
    Health.PAUSED: ":double_vertical_bar: paused",
    Health.ENDED: ":checkered_flag: ended",
}


class PairTiming(Protocol):
    """What health reads of a pair: a stored Pair, a sweep's PairFacts or a pairs-list row (attributes, which
    those all have and may change)."""

    status: str
    started_on: date
    cadence_days: int


@dataclass(frozen=True)
class PairSignals:
    """What health is judged on: the last meeting, and whether anyone raised a hand."""

    last_met_on: date | None
    help_requested: bool = False
    prompts_paused: bool = False
    poor_fit: bool = False  # a member rated the pairing's fit 1–2


def days_silent(pair: PairTiming, last_met_on: date | None, today: date) -> int:
    """Return days since the last logged meeting, or since the pair began if none."""
    return max(0, (today - (last_met_on or pair.started_on)).days)


def health_of(pair: PairTiming, signals: PairSignals, today: date) -> Health:
    if pair.status == PairStatus.ENDED:
        return Health.ENDED
    if pair.status == PairStatus.PAUSED:
        return Health.PAUSED
    silent = days_silent(pair, signals.last_met_on, today)
    if (signals.help_requested or signals.prompts_paused or signals.poor_fit
            or silent >= AT_RISK_FACTOR * pair.cadence_days):
        return Health.AT_RISK
    if silent >= DRIFT_FACTOR * pair.cadence_days:
        return Health.DRIFTING
    return Health.ON_TRACK


def average_or_none(values: list[int] | list[float], *, group_size: int) -> float | None:
    """Return the mean of `values`, or None when `group_size` pairs are too few to hide who rated."""
    if group_size < MIN_GROUP_FOR_AVERAGE or not values:
        return None
    return sum(values) / len(values)


def format_average(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"
