"""The App Home: a member's pairs, and for coordinators the program overview — within 100 blocks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.blocks import (
    MAX_VIEW_BLOCKS,
    Block,
    actions,
    button,
    context,
    divider,
    escape_mrkdwn,
    header,
    mention,
    section,
    truncate,
)
from bot.blocks.checkins import RATING_LABELS, kind_label
from bot.blocks.ids import (
    CHECKIN_OPEN_ACTION,
    HOME_PAIR_ACTIONS_BLOCK_PREFIX,
    HOME_RESUME_KINDS_BLOCK_PREFIX,
    RESUME_KIND_ACTION_PREFIX,
    RESUME_PROMPTS_ACTION,
)
from bot.blocks.matching import build_join_home_blocks
from bot.domain.figures import NAMED_AT_MOST, RATING_WINDOW_DAYS, ProgramFigures
from bot.domain.health import format_average
from bot.domain.models import Phase
from bot.domain.phases import phase_guidance, phase_label

MAX_GOAL_LINES = 8
MAX_AT_RISK_LINES = NAMED_AT_MOST
MAX_HOME_TEXT = 400  # of each shared text / note, so three check-ins fit one section


@dataclass(frozen=True)
class HomeCheckin:
    """One of the viewer's own check-ins; `private_note` is the viewer's own note."""

    met_on: date
    rating: int
    shared_text: str
    private_note: str = ""


@dataclass(frozen=True)
class HomePair:
    pair_id: int
    partner_id: str
    role: str  # the viewer's role: "mentor" or "mentee"
    phase: str
    status: str
    last_met_on: date | None
    next_meeting_on: date | None
    open_goals: list[tuple[str, date | None]] = field(default_factory=list)
    stopped_kinds: list[str] = field(default_factory=list)
    prompts_paused: bool = False
    recent: list[HomeCheckin] = field(default_factory=list)


@dataclass(frozen=True)
class HomeData:
    user_id: str
    today: date
    pairs: list[HomePair]
    overview: ProgramFigures | None = None  # the program's, for coordinators
    quiet: bool = False
    in_pool: bool = True  # False: the Home offers "Join the mentoring program"


def _when(day: date | None, today: date) -> str:
    if day is None:
        return "not yet"
    delta = (day - today).days
    if delta == 0:
        return f"{day.isoformat()} (today)"
    return f"{day.isoformat()} ({abs(delta)} days {'ago' if delta < 0 else 'from now'})"


def _pair_blocks(pair: HomePair, today: date) -> list[Block]:
    status = "" if pair.status == "active" else f" · _{pair.status}_"
    lines = [
        f"*With {mention(pair.partner_id)}* — you are the {pair.role}{status}",
        f"*Phase:* {phase_label(pair.phase)} — {phase_guidance(pair.phase)}",
        f"*Last meeting:* {_when(pair.last_met_on, today)}   *Next meeting:* {_when(pair.next_meeting_on, today)}",
    ]
    blocks: list[Block] = [section("\n".join(lines))]
    if pair.open_goals:
        goal_lines = [
            f"• {escape_mrkdwn(text)}" + (f" — due {due.isoformat()}" if due else "")
            for text, due in pair.open_goals[:MAX_GOAL_LINES]
        ]
        if len(pair.open_goals) > MAX_GOAL_LINES:
            goal_lines.append(f"…and {len(pair.open_goals) - MAX_GOAL_LINES} more (`/mentoring goals`)")
        blocks.append(section("*Open goals*\n" + "\n".join(goal_lines)))
    elif pair.phase in (Phase.RAPPORT, Phase.DIRECTION):
        blocks.append(context("No goals yet — add one with `/mentoring goal add <text> by YYYY-MM-DD`."))
    buttons = []
    if pair.status != "ended":
        buttons.append(button("Log a check-in", CHECKIN_OPEN_ACTION, str(pair.pair_id), style="primary"))
    if pair.prompts_paused:
        buttons.append(button("Resume prompts", RESUME_PROMPTS_ACTION, str(pair.pair_id)))
    if buttons:
        blocks.append(actions(f"{HOME_PAIR_ACTIONS_BLOCK_PREFIX}{pair.pair_id}", *buttons))
    if pair.stopped_kinds:
        blocks.append(context("You stopped: " + ", ".join(kind_label(k) for k in pair.stopped_kinds)))
        blocks.append(actions(
            f"{HOME_RESUME_KINDS_BLOCK_PREFIX}{pair.pair_id}",
            *[button(f"Resume {kind_label(k)}", RESUME_KIND_ACTION_PREFIX + k, f"{pair.pair_id}:{k}")
              for k in dict.fromkeys(pair.stopped_kinds[:25])],
        ))
    if pair.recent:
        entries = []
        for item in pair.recent:
            entry = (f"*{item.met_on.isoformat()}* · {RATING_LABELS.get(item.rating, str(item.rating))}\n"
                     f"{escape_mrkdwn(truncate(item.shared_text, MAX_HOME_TEXT))}")
            if item.private_note:
                entry += f"\n:lock: _Your private note:_ {escape_mrkdwn(truncate(item.private_note, MAX_HOME_TEXT))}"
            entries.append(entry)
        blocks.append(section("*Your recent check-ins*\n" + "\n\n".join(entries)))
    blocks.append(divider())
    return blocks


def _overview_blocks(overview: ProgramFigures) -> list[Block]:
    phases = " · ".join(f"{phase_label(phase)} {count}" for phase, count in overview.by_phase.items() if count)
    phases = phases or "none"
    blocks: list[Block] = [
        header("Program overview"),
        section(f"*Active pairs:* {overview.active}   *Paused:* {overview.paused}\n*By phase:* {phases}"),
        context(f"Check-ins in the last {RATING_WINDOW_DAYS // 7} weeks: {overview.checkins_in_window} · "
                f"average rating: {format_average(overview.average_rating)}"),
    ]
    if overview.at_risk:
        shown = overview.at_risk[:MAX_AT_RISK_LINES]
        lines = [f"• {mention(p.pair.mentor_id)} & {mention(p.pair.mentee_id)} — {p.days_silent} days since the "
                 "last check-in" for p in shown]
        if overview.at_risk_count > len(shown):
            lines.append(f"…and {overview.at_risk_count - len(shown)} more (`/mentoring pairs`)")
        blocks.append(section(f":red_circle: *At risk ({overview.at_risk_count})*\n" + "\n".join(lines)))
    else:
        blocks.append(section(":large_green_circle: No pair is at risk."))
    blocks.append(divider())
    return blocks


def build_home_view(data: HomeData) -> dict[str, Any]:
    """Return the Home view for `data.user_id`, never more than Slack's 100 blocks."""
    blocks: list[Block] = [header("mentorbot")]
    if data.quiet:
        blocks.append(section(":mute: *Quiet mode is on* — no scheduled reminders or summaries are sent until a "
                              "coordinator runs `/mentoring quiet off`."))
    if not data.in_pool:
        blocks.extend(build_join_home_blocks())
    if data.overview is not None:
        blocks.extend(_overview_blocks(data.overview))
    if data.pairs:
        blocks.append(header("Your mentoring pairs"))
    elif data.overview is None:
        blocks.append(section("You are not in a mentoring pair yet. A coordinator registers pairs with "
                              "`/mentoring pair`; type `/mentoring help` to see what I can do."))
    footer = context(":lock: Your private notes are shown here to you alone. Coordinators see dates, counts and "
                     "ratings — never your words.")
    budget = MAX_VIEW_BLOCKS - len(blocks) - 2  # keep room for "…and more" and the footer
    shown = 0
    for pair in data.pairs:
        pair_blocks = _pair_blocks(pair, data.today)
        if len(pair_blocks) > budget:
            break
        blocks.extend(pair_blocks)
        budget -= len(pair_blocks)
        shown += 1
    if shown < len(data.pairs):
        blocks.append(context(f"…and {len(data.pairs) - shown} more pairs — see `/mentoring pairs`."))
    blocks.append(footer)
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}
