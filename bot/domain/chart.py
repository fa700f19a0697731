"""The weekly summary chart's data: plain values, importable without the rest of the bot (the chart is drawn in
a short-lived child process that should start fast)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

CHART_WEEKS = 12


@dataclass(frozen=True)
class ChartData:
    """What the summary's chart shows: check-ins and the pulse average for each of the last 12 weeks (oldest
    first; a week's average is None when fewer than 3 pairs answered), and the pairs by phase."""

    week_starts: list[date]
    checkins: list[int]
    pulse_average: list[float | None]
    by_phase: dict[str, int]

    def to_json(self) -> dict[str, object]:
        return {"week_starts": [d.isoformat() for d in self.week_starts], "checkins": self.checkins,
                "pulse_average": self.pulse_average, "by_phase": self.by_phase}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ChartData:
        return cls([date.fromisoformat(str(d)) for d in data["week_starts"]],  # type: ignore[attr-defined]
                   [int(n) for n in data["checkins"]],  # type: ignore[attr-defined]
                   [None if v is None else float(v) for v in data["pulse_average"]],  # type: ignore[attr-defined]
                   {str(k): int(v) for k, v in data["by_phase"].items()})  # type: ignore[attr-defined]
