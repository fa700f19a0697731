"""Block Kit of the pair lifecycle: welcome, pairs list, goals, phase, pause/end, closing. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from bot import blocks as kit
from bot.blocks.ids import (
    CLOSING_REFLECTION_ACTION,
    CLOSING_REFLECTION_VIEW,
    CLOSURE_REASON_ACTION_PREFIX,
    INPUT_ACTION,
    PAIRS_PAGE_ACTION,
    REFLECTION_TEXT_BLOCK,
    SET_AGREEMENT_ACTION,
)
from bot.domain.commands import cadence_label
from bot.domain.health import HEALTH_LABELS, Health
from bot.domain.models import ClosureReason, Goal, GoalStatus
from bot.domain.phases import phase_guidance, phase_label

# One section per pair plus a header, a context line, the page line and the "Show more" button.
PAIRS_PER_PAGE = 40
MAX_REFLECTION_TEXT = 3000

CLOSURE_LABELS = {
    ClosureReason.COMPLETED: "Completed",
    ClosureReason.ENDED_EARLY: "Ended early",
    ClosureReason.REMATCHED: "Rematched",
}


def _reply(text: str, *extra: kit.Block) -> kit.Reply:
    return kit.Reply(text=text, blocks=[kit.section(text), *extra])


def notice(text: str) -> kit.Reply:
    """Return a one-paragraph reply whose text is already safe mrkdwn."""
    return _reply(text)


def _pack(lines: list[str], limit: int = kit.MAX_SECTION_TEXT) -> list[kit.Block]:
    """Pack lines into as few sections as fit Slack's section limit."""
    blocks: list[kit.Block] = []
    current = ""
    for line in lines:
        line = kit.truncate(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            blocks.append(kit.section(current))
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        blocks.append(kit.section(current))
    return blocks


def _goal_sections(goals: list[GoalRow], today: date, room: int) -> list[kit.Block]:
    """Return the goal lines packed into at most `room` blocks, noting any left out."""
    blocks = _pack([_goal_line(g, today) for g in goals])
    if len(blocks) <= room:
        return blocks
    return blocks[: room - 1] + [kit.context("…and more: see `/mentoring goals` for the full list.")]


# ---- registering a pair ----------------------------------------------------------------------


def build_welcome_message(
    *, pair_id: int, mentor_id: str, mentee_id: str, coordinator_id: str, cadence_days: int, ends_on: date,
    introduction: list[kit.Block] | None = None,
) -> kit.Reply:
    """Return the welcome for a new pair's group DM, with the first-meeting guide (after `introduction`)."""
    by = ("You chose each other through the mentoring program" if coordinator_id in (mentor_id, mentee_id)
          else f"{kit.mention(coordinator_id)} has paired you for a mentoring relationship")
    who = (f"{kit.mention(mentor_id)} (mentor), meet {kit.mention(mentee_id)} (mentee). {by} — that is why you are "
           "hearing from me.")
    guide = "\n".join([
        "*For your first meeting, talk about:*",
        "• *What each of you wants* from this relationship, and *what each of you brings* to it.",
        f"• *How often you meet* (I suggest {cadence_label(cadence_days)}) and *who sets up* the meetings.",
        "• *How to contact* each other between meetings.",
        "• *Confidentiality*: what is said between you stays between you.",
        "• *Topics that are off limits*.",
        f"• *When it ends*: planned for {ends_on.isoformat()}.",
        "• *How you will judge success*.",
        "• *The way out* if it isn't working — either of you can say so, no hard feelings.",
    ])
    after = ("Then press *Set our agreement* to write it down. After that, add goals with "
             "`/mentoring goal add`, and log meetings with `/mentoring checkin`.")
    blocks = [
        kit.header("Welcome to your mentoring pair"),
        kit.section(who),
        *(introduction or []),
        kit.section(guide),
        kit.section(after),
        kit.actions(f"welcome_{pair_id}",
                    kit.button("Set our agreement", SET_AGREEMENT_ACTION, str(pair_id), style="primary")),
        kit.context("I'll check in now and then. What you write in private notes is seen by its author alone."),
    ]
    text = f"Welcome! You are now a mentoring pair: {kit.mention(mentor_id)} mentors {kit.mention(mentee_id)}."
    return kit.Reply(text=text, blocks=blocks)


def build_pair_registered_reply(*, mentor_id: str, mentee_id: str, cadence_days: int, ends_on: date) -> kit.Reply:
    return _reply(
        f":white_check_mark: Paired {kit.mention(mentor_id)} (mentor) with {kit.mention(mentee_id)} (mentee), meeting "
        f"{cadence_label(cadence_days)} until {ends_on.isoformat()}. I've welcomed them in a group DM with the "
        "first-meeting guide."
    )


def describe_pair(mentor_id: str, mentee_id: str) -> str:
    return f"{kit.mention(mentor_id)} → {kit.mention(mentee_id)}"


def build_pair_choice_text(*, actor: str, pairs: list[tuple[str, str]], command: str) -> str:
    """Return the question “which pair?” with the exact command for each (pairs = (mentor, mentee))."""
    lines = [f"You are in {len(pairs)} pairs — add your partner to say which one:"]
    for mentor_id, mentee_id in pairs[:20]:
        partner = mentee_id if actor == mentor_id else mentor_id
        lines.append(f"• `{command}` {kit.mention(partner)}")
    return "\n".join(lines)


# ---- the pairs list ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PairRow:
    """What a pairs list shows of one pair: dates, phase and health — never any text they wrote."""

    pair_id: int
    mentor_id: str
    mentee_id: str
    phase: str
    health: Health
    last_met_on: date | None
    ends_on: date
    cadence_days: int
    paused_until: date | None = None


def _pair_line(row: PairRow, today: date) -> str:
    if row.last_met_on is None:
        met = "no check-in yet"
    else:
        days = (today - row.last_met_on).days
        met = f"last check-in {row.last_met_on.isoformat()} ({days} day{'s' if days != 1 else ''} ago)"
    paused = f" until {row.paused_until.isoformat()}" if row.health == Health.PAUSED and row.paused_until else ""
    return (f"*{describe_pair(row.mentor_id, row.mentee_id)}* · {phase_label(row.phase)} · {met} · "
            f"{HEALTH_LABELS[row.health]}{paused} · {cadence_label(row.cadence_days)}, ends {row.ends_on.isoformat()}")


def page_count(total: int) -> int:
    return max(1, -(-total // PAIRS_PER_PAGE))


def build_pairs_reply(*, rows: list[PairRow], page: int, total: int, coordinator: bool, today: date) -> kit.Reply:
    """Return one page of the pairs list (`rows` is that page already)."""
    pages = page_count(total)
    if total == 0:
        text = ("There are no active pairs yet. Register one with `/mentoring pair @mentor @mentee`."
                if coordinator else
                "You are not in a mentoring pair yet. A coordinator can pair you with someone.")
        return _reply(text)
    title = "Active mentoring pairs" if coordinator else "Your mentoring pairs"
    blocks: list[kit.Block] = [kit.header(title)]
    blocks.append(kit.context(f"{total} pair{'s' if total != 1 else ''} · page {page} of {pages} · "
                          "health comes from check-in dates only"))
    blocks.extend(kit.section(_pair_line(row, today)) for row in rows[:PAIRS_PER_PAGE])
    if page < pages:
        blocks.append(kit.context(f"Showing {len(rows)} of {total}. Next: `/mentoring pairs {page + 1}`"))
        blocks.append(kit.actions("pairs_more", kit.button("Show more", PAIRS_PAGE_ACTION, str(page + 1))))
    text = f"{title}: {total} (page {page} of {pages})"
    return kit.Reply(text=text, blocks=kit.fit_blocks(blocks, kit.MAX_MESSAGE_BLOCKS))


# ---- goals ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoalRow:
    number: int
    text: str
    measure: str
    due_on: date | None
    status: str
    achieved_on: date | None


def goal_rows(goals: list[Goal]) -> list[GoalRow]:
    """Return the pair's goals as rows, numbered in the order they were set (their number in commands)."""
    return [GoalRow(number=i, text=g.text, measure=g.measure, due_on=g.due_on, status=g.status,
                    achieved_on=g.achieved_on) for i, g in enumerate(goals, start=1)]


def _goal_line(goal: GoalRow, today: date) -> str:
    if goal.status == GoalStatus.ACHIEVED:
        mark = ":white_check_mark:"
        when = f"achieved {goal.achieved_on.isoformat()}" if goal.achieved_on else "achieved"
    elif goal.due_on is not None and goal.due_on < today:
        mark, when = ":hourglass:", f"was due {goal.due_on.isoformat()}"
    else:
        mark = ":dart:"
        when = f"due {goal.due_on.isoformat()}" if goal.due_on else "no date yet"
    measure = f"\n      _measure:_ {kit.escape_mrkdwn(goal.measure)}" if goal.measure else ""
    return f"{mark} *{goal.number}.* {kit.escape_mrkdwn(goal.text)} — {when}{measure}"


def build_goals_reply(*, goals: list[GoalRow], partner_id: str, today: date) -> kit.Reply:
    if not goals:
        return _reply(f"You and {kit.mention(partner_id)} have no goals yet. Add one with "
                      "`/mentoring goal add <text> by YYYY-MM-DD measure <how you'll know>`.")
    achieved = sum(1 for g in goals if g.status == GoalStatus.ACHIEVED)
    blocks: list[kit.Block] = [
        kit.section(f"*Goals with {kit.mention(partner_id)}* — {achieved} of {len(goals)} achieved"),
        *_goal_sections(goals, today, kit.MAX_MESSAGE_BLOCKS - 2),
        kit.context("Mark one achieved with `/mentoring goal done <n>`."),
    ]
    return kit.Reply(text=f"Goals: {achieved} of {len(goals)} achieved", blocks=kit.fit_blocks(blocks))


def build_goal_added_reply(*, goal: GoalRow, moved_to_direction: bool, today: date) -> kit.Reply:
    lines = [f"Added goal {_goal_line(goal, today)}"]
    if not goal.measure:
        lines.append("Tip: a success measure tells you when it's done — e.g. `measure \"3 demos given\"`.")
    if moved_to_direction:
        lines.append("Your pair has moved on to *Direction*: " + phase_guidance("direction"))
    return kit.Reply(text=f"Added goal {goal.number}.", blocks=[kit.section("\n".join(lines))])


def build_goal_done_reply(*, goal: GoalRow, already: bool) -> kit.Reply:
    if already:
        return notice(f"Goal {goal.number} was already achieved on "
                      f"{goal.achieved_on.isoformat() if goal.achieved_on else 'an earlier day'}.")
    return notice(f":tada: Goal {goal.number} achieved: {kit.escape_mrkdwn(goal.text)}")


# ---- phase, pause, end, quiet ---------------------------------------------------------------


def build_phase_reply(*, phase: str, partner_id: str, advanced_from: str | None = None) -> kit.Reply:
    moved = f"Moved from {phase_label(advanced_from)} to " if advanced_from else "Your pair is in "
    text = f"{moved}*{phase_label(phase)}* (with {kit.mention(partner_id)}).\n{phase_guidance(phase)}"
    return kit.Reply(text=f"Phase: {phase_label(phase)}", blocks=[
        kit.section(text),
        kit.context("Phases: Rapport → Direction → Progression → Winding up → Ended. "
                "`/mentoring phase next` moves on."),
    ])


def build_quiet_reply(*, on: bool) -> kit.Reply:
    if on:
        return notice(":mute: Quiet is *on*: no scheduled DM, reminder or summary goes out for the whole "
                      "workspace until a coordinator runs `/mentoring quiet off`. Commands still work.")
    return notice(":loud_sound: Quiet is *off*: scheduled DMs and the weekly summary go out again.")


# ---- closing well -----------------------------------------------------------------------------


def build_closing_prompt(*, pair_id: int, partner_id: str, goals: list[GoalRow], ends_on: date) -> kit.Reply:
    """Return the DM that starts winding up: goals against their measures, and what comes next."""
    blocks: list[kit.Block] = [
        kit.header("Time to wind up well"),
        kit.section(f"Your mentoring relationship with {kit.mention(partner_id)} is winding up (it ends on "
                f"{ends_on.isoformat()}, or sooner if one of you runs `/mentoring end` again). A good ending "
                "is remembered well: look back together, celebrate, and agree what comes next."),
    ]
    if goals:
        blocks.append(kit.section("*Your goals against their success measures:*"))
        blocks.extend(_goal_sections(goals, ends_on, kit.MAX_MESSAGE_BLOCKS - 7))
    else:
        blocks.append(kit.section("You set no goals — talk about what you each got from the relationship."))
    blocks.append(kit.section("*Questions for your last meeting:* Which goals did you meet, by their measure? "
                          "What surprised you? What comes next — for the work, and for the two of you?"))
    blocks.append(kit.actions(f"closing_{pair_id}",
                          kit.button("Write my closing reflection", CLOSING_REFLECTION_ACTION, str(pair_id))))
    blocks.append(kit.context("Your reflection is private: only you can read it."))
    return kit.Reply(text=f"Your mentoring relationship with {kit.mention(partner_id)} is winding up.",
                 blocks=kit.fit_blocks(blocks))


def build_closure_reason_request(*, pair_id: int, mentor_id: str, mentee_id: str) -> kit.Reply:
    blocks = [
        kit.section(f"The pair {describe_pair(mentor_id, mentee_id)} is winding up. How did it close?"),
        kit.actions(f"closure_{pair_id}", *[
            kit.button(label, CLOSURE_REASON_ACTION_PREFIX + reason.value, f"{pair_id}:{reason.value}")
            for reason, label in CLOSURE_LABELS.items()
        ]),
    ]
    return kit.Reply(text=f"The pair {describe_pair(mentor_id, mentee_id)} is winding up. How did it close?",
                 blocks=blocks)


def build_closure_recorded(*, mentor_id: str, mentee_id: str, reason: str) -> kit.Reply:
    label = CLOSURE_LABELS[ClosureReason(reason)]
    return notice(f"Recorded: the pair {describe_pair(mentor_id, mentee_id)} closed — *{label}*. Thank you.")


def build_closing_reflection_modal(*, pair_id: int, partner_id: str, text: str) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": INPUT_ACTION, "multiline": True,
                               "max_length": MAX_REFLECTION_TEXT}
    if text:
        element["initial_value"] = text[:MAX_REFLECTION_TEXT]
    return kit.modal("Closing reflection", [
            kit.section(f"Looking back on your relationship with {kit.mention(partner_id)}: which goals did you meet, "
                    "what did you learn, and what comes next?"),
            {"type": "input", "block_id": REFLECTION_TEXT_BLOCK, "element": element,
             "label": {"type": "plain_text", "text": "My reflection"}},
            kit.context("Only you can read this — not your partner, not a coordinator."),
        ], callback_id=CLOSING_REFLECTION_VIEW, private_metadata=str(pair_id))
