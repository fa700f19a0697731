"""The weekly program summary for the coordinators' channel: figures only, never note text."""

from __future__ import annotations

from bot.blocks import Block, Reply, context, divider, fit_blocks, header, mention, section
from bot.domain.figures import ProgramFigures
from bot.domain.health import format_average

PHASE_LABELS = {"rapport": "Rapport", "direction": "Direction", "progression": "Progression",
                "winding_up": "Winding up"}
MAX_LISTED = 15


def _trend(this_week: int, last_week: int) -> str:
    if this_week > last_week:
        return ":arrow_up:"
    if this_week < last_week:
        return ":arrow_down:"
    return ":left_right_arrow:"


def build_summary_message(figures: ProgramFigures) -> Reply:
    """Return the summary message: counts, phases, check-ins, rating, goals, pairs at risk, endings."""
    blocks: list[Block] = [
        header(f"Mentoring program — week of {figures.today:%b %-d, %Y}"),
        section(f"*{figures.active}* active · *{figures.paused}* paused · *{figures.ended}* ended"),
        section("*Pairs by phase*\n" + " · ".join(
            f"{PHASE_LABELS.get(phase, phase)}: {count}" for phase, count in figures.by_phase.items())),
        section(
            f"*Check-ins* this week: *{figures.checkins_this_week}* "
            f"{_trend(figures.checkins_this_week, figures.checkins_last_week)} last week: "
            f"{figures.checkins_last_week}\n"
            f"*Average rating* (last 4 weeks): {format_average(figures.average_rating)}\n"
            f"*Goals achieved*: {figures.goals_achieved} ({figures.goals_achieved_this_week} this week)"
        ),
        divider(),
    ]
    if figures.at_risk:
        lines = []
        for item in figures.at_risk[:MAX_LISTED]:
            notes = []
            if item.help_requested:
                notes.append("asked for help")
            if item.prompts_paused:
                notes.append("prompts paused")
            if item.poor_fit:
                notes.append("fit rated low")
            extra = f" — {', '.join(notes)}" if notes else ""
            lines.append(f"• {mention(item.pair.mentor_id)} & {mention(item.pair.mentee_id)}: "
                         f"{item.days_silent} days since the last check-in{extra}")
        more = figures.at_risk_count - MAX_LISTED
        if more > 0:
            lines.append(f"…and {more} more (see `/mentoring pairs`)")
        blocks.append(section(f"*:red_circle: At risk ({figures.at_risk_count})*\n" + "\n".join(lines)))
    else:
        blocks.append(section("*:large_green_circle: No pairs at risk.*"))
    if figures.endings:
        lines = [f"• {mention(p.mentor_id)} & {mention(p.mentee_id)}: {p.ends_on:%b %-d}"
                 for p in figures.endings[:MAX_LISTED]]
        more = figures.endings_count - MAX_LISTED
        if more > 0:
            lines.append(f"…and {more} more")
        blocks.append(section("*:checkered_flag: Ending in the next 30 days*\n" + "\n".join(lines)))
    blocks.append(context("Figures only — what pairs say stays in the pair. Averages need 3 or more pairs."))
    text = (f"Mentoring program: {figures.active} active, {figures.paused} paused, {figures.ended} ended; "
            f"{figures.checkins_this_week} check-ins this week; {figures.at_risk_count} at risk.")
    return Reply(text=text, blocks=fit_blocks(blocks))
