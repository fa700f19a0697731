"""The outcome report in words: `/mentoring report` and its section of the weekly summary."""

from __future__ import annotations

from bot.blocks import Block, Reply, context, fit_blocks, header, section
from bot.domain.outcomes import ATTAINMENT_ORDER, ENDING_ORDER, MEETING_ORDER, OutcomeReport, Share, Trend

DASH = "—"
_LABELS = {"met": "met", "partly": "partly", "not_met": "not met", "yes": "yes", "sometimes": "sometimes",
           "no": "no", "reached_end_date": "reached their end date", "ended_early": "ended early",
           "rematched": "rematched"}
_ARROWS = {"up": "↑", "down": "↓", "steady": "→"}


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return DASH
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text}{unit}"


def _share(share: Share, order: tuple[str, ...]) -> str:
    if share.counts is None:
        return DASH
    parts = [f"{_LABELS.get(c, c)} {share.percent(c)}%" for c in order if share.counts.get(c)]
    return " · ".join(parts) or DASH


def _trend(trend: Trend) -> str:
    if trend.current is None:
        return DASH
    if trend.direction is None:
        return _number(trend.current)
    return f"{_number(trend.current)} {_ARROWS[trend.direction]} (previous 90 days: {_number(trend.previous)})"


def outcome_lines(report: OutcomeReport) -> list[str]:
    """Return the report's figures, one line each ("—" where fewer than 3 pairs stand behind a figure)."""
    regular = DASH
    if report.median_gap_days is not None:
        regular = (f"median {_number(report.median_gap_days)} days between check-ins against an agreed "
                   f"{_number(report.median_cadence_days)}; {report.on_cadence_percent}% of pairs meet as agreed")
    low = DASH if report.low_fit_pairs is None else str(report.low_fit_pairs)
    closing = DASH
    if report.closing_value is not None:
        again = DASH if report.take_part_again_percent is None else f"{report.take_part_again_percent}%"
        closing = f"value {_number(report.closing_value)} of 5; would take part again {again}"
    lines = [
        f"*Goal attainment* (closing surveys): {_share(report.attainment, ATTAINMENT_ORDER)}",
        f"*Meeting regularity* ({report.regular_pairs} pairs with two or more check-ins): {regular}",
        f"*Fit* (1–5, last 90 days): {_trend(report.fit)}; pairs with a fit of 1–2: {low}",
        f"*Helping them grow* (pulse, 1–5, last 90 days): {_trend(report.growth)}",
        f"*Meeting as agreed* (pulse): {_share(report.meeting_as_agreed, MEETING_ORDER)}",
        f"*Closing survey* ({report.closings} pairs): {closing}",
        f"*Endings* ({report.endings.pairs} pairs ended): {_share(report.endings, ENDING_ORDER)}",
        f"*Time to first meeting*: median {_number(report.days_to_first_meeting, ' days')} from registration",
    ]
    if report.by_topic:
        topics = "; ".join(f"{topic}: {_share(share, ATTAINMENT_ORDER)}" for topic, share in report.by_topic.items())
        lines.append(f"*Attainment by topic*: {topics}")
    return lines


def build_outcome_report(report: OutcomeReport) -> Reply:
    """Return `/mentoring report`: the program's outcome figures, aggregates only."""
    blocks: list[Block] = [header(f"Outcome report — {report.today:%b %-d, %Y}")]
    blocks.extend(section(line) for line in outcome_lines(report))
    blocks.append(context(f"{report.pairs} pairs in the program. Figures only: no answer is shown as anyone's, "
                          "and a figure drawn from fewer than 3 pairs shows “—”."))
    return Reply(text=f"Outcome report: {report.pairs} pairs", blocks=fit_blocks(blocks))


def outcome_summary_blocks(report: OutcomeReport) -> list[Block]:
    """Return the outcome section of the weekly summary."""
    return [section("*Outcomes*\n" + "\n".join(f"• {line}" for line in outcome_lines(report)))]
