"""The weekly summary's chart, drawn headless with matplotlib (Agg).

Run as `python -m bot.chart`: reads the chart's data as JSON on standard input and writes PNG bytes to
standard output. The bot draws in such a short-lived child: importing matplotlib and drawing costs the
process that does it tens of MB, which the bot's own memory cannot spare (see bench/README.md).
"""

from __future__ import annotations

import io
import json
import sys

from bot.domain.chart import ChartData

PHASE_LABELS = {"rapport": "Rapport", "direction": "Direction", "progression": "Progression",
                "winding_up": "Winding up"}


def draw_chart(data: ChartData) -> bytes:
    """Return the chart as PNG bytes: check-ins per week with the pulse average, and pairs by phase."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    # Fixed margins rather than a layout engine, which lays the figure out by drawing it twice.
    figure = Figure(figsize=(10, 4), dpi=100)
    figure.subplots_adjust(left=0.08, right=0.98, bottom=0.2, top=0.91, wspace=0.42)
    weekly, phases = figure.subplots(1, 2, width_ratios=(2, 1))
    labels = [f"{d:%b %-d}" for d in data.week_starts]
    positions = list(range(len(labels)))
    weekly.bar(positions, data.checkins, color="#4a90d9", label="check-ins")
    weekly.set_xticks(positions, labels, rotation=45, ha="right", fontsize=8)
    weekly.set_ylabel("check-ins per week")
    weekly.set_title("Last 12 weeks")
    pulse = weekly.twinx()
    points = [(x, y) for x, y in zip(positions, data.pulse_average, strict=True) if y is not None]
    if points:
        pulse.plot([x for x, _ in points], [y for _, y in points], color="#e07b39", marker="o",
                   label="pulse: helping you grow (1–5)")
    pulse.set_ylim(1, 5)
    pulse.set_ylabel("pulse average (1–5)")
    handles = weekly.get_legend_handles_labels()[0] + pulse.get_legend_handles_labels()[0]
    weekly.legend(handles=handles, loc="upper left", fontsize=8)
    names = [PHASE_LABELS.get(p, p) for p in data.by_phase]
    phases.barh(names, list(data.by_phase.values()), color="#6bbf59")
    phases.invert_yaxis()
    phases.set_title("Pairs by phase")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def main() -> int:
    data = ChartData.from_json(json.load(sys.stdin))
    sys.stdout.buffer.write(draw_chart(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
