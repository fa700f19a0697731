"""The check-in modal, its recap, and what prompt buttons turn into once pressed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.blocks import (
    MAX_VIEW_BLOCKS,
    Block,
    Reply,
    context,
    escape_mrkdwn,
    input_block,
    mention,
    modal,
    option,
    plain,
    section,
)
from bot.blocks.ids import (
    CHECKIN_GOAL_BLOCK_PREFIX,
    CHECKIN_GOAL_INPUT,
    CHECKIN_MET_ON_BLOCK,
    CHECKIN_MET_ON_INPUT,
    CHECKIN_NEXT_BLOCK,
    CHECKIN_NEXT_INPUT,
    CHECKIN_PRIVATE_BLOCK,
    CHECKIN_PRIVATE_INPUT,
    CHECKIN_QUESTIONS_BLOCK,
    CHECKIN_RATING_BLOCK,
    CHECKIN_RATING_INPUT,
    CHECKIN_SHARED_BLOCK,
    CHECKIN_SHARED_INPUT,
    CHECKIN_VIEW,
    INPUT_ACTION,
)
from bot.blocks.matching import MAX_PROFILE_TEXT
from bot.domain.models import Goal, NudgeKind

MAX_CHECKIN_TEXT = 2000
RATING_LABELS = {1: "1 — struggling", 2: "2 — not great", 3: "3 — okay", 4: "4 — good", 5: "5 — going great"}
PROGRESS_LABELS = {
    "not_started": "Not started",
    "some_progress": "Some progress",
    "on_track": "On track",
    "done": "Done — achieved",
}
KIND_LABELS = {
    NudgeKind.HOW_IS_IT_GOING: "“how is it going?” prompts",
    NudgeKind.MEETING_PREP: "meeting preparation reminders",
    NudgeKind.REFLECTION: "reflection prompts",
    NudgeKind.GOAL_DUE_SOON: "goal due-soon reminders",
    NudgeKind.GOAL_OVERDUE: "overdue-goal reminders",
    NudgeKind.AGREEMENT_PROMPT: "agreement reminders",
    NudgeKind.DIRECTION_PROMPT: "goal-setting reminders",
    NudgeKind.DRIFT: "“it's been a while” reminders",
    NudgeKind.WINDING_UP: "winding-up prompts",
    NudgeKind.PROMPTS_PAUSED: "“prompts paused” notices",
    NudgeKind.SNOOZE_REMINDER: "“remind me in 3 days” reminders",
}
# Room left in a modal for goal selects after the fixed fields and notes.
MAX_GOALS_IN_MODAL = MAX_VIEW_BLOCKS - 10


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.replace("_", " ") + " reminders")  # type: ignore[call-overload]




def _long_text(action_id: str, placeholder: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "action_id": action_id, "multiline": True, "max_length": MAX_CHECKIN_TEXT,
            "placeholder": plain(placeholder, 150)}


def build_checkin_modal(*, private_metadata: str, partner_id: str, partner_name: str, today: date,
                        goals: list[Goal], questions: str | None = None) -> dict[str, Any]:
    """Return the check-in modal for one pair; goal selects are keyed by goal id.

    Args:
        questions: the mentee's current questions from their profile, to update here (None: no such field).
    """
    blocks: list[Block] = [
        section(f"Log your meeting with {mention(partner_id)}. What you worked on is shared with "
                f"{escape_mrkdwn(partner_name)}; your private note is seen by you alone."),
        input_block(CHECKIN_MET_ON_BLOCK, "When did you meet?",
               {"type": "datepicker", "action_id": CHECKIN_MET_ON_INPUT, "initial_date": today.isoformat()}),
        input_block(CHECKIN_RATING_BLOCK, "How is it going?",
               {"type": "static_select", "action_id": CHECKIN_RATING_INPUT, "placeholder": plain("Pick 1–5"),
                "options": [option(str(n), label) for n, label in RATING_LABELS.items()]}),
        input_block(CHECKIN_SHARED_BLOCK, "What did you work on?",
               _long_text(CHECKIN_SHARED_INPUT, "Topics, decisions, next steps"),
               hint=f"Shared with {partner_name} in your pair's conversation."),
        input_block(CHECKIN_PRIVATE_BLOCK, "Private note", _long_text(CHECKIN_PRIVATE_INPUT, "Only you will see this"),
               optional=True, hint="Seen by you alone — not by your partner, not by coordinators."),
        input_block(CHECKIN_NEXT_BLOCK, "Next meeting", {"type": "datepicker", "action_id": CHECKIN_NEXT_INPUT},
               optional=True),
    ]
    if questions is not None:
        element = {"type": "plain_text_input", "action_id": INPUT_ACTION, "multiline": True,
                   "max_length": MAX_PROFILE_TEXT, **({"initial_value": questions} if questions else {})}
        blocks.append(input_block(CHECKIN_QUESTIONS_BLOCK, "My current questions", element, optional=True,
                             hint="Your mentor reads these before your meetings."))
    if goals:
        blocks.append(context("*Progress on your open goals*"))
    for goal in goals[:MAX_GOALS_IN_MODAL]:
        due = f" (due {goal.due_on.isoformat()})" if goal.due_on else ""
        blocks.append(input_block(
            f"{CHECKIN_GOAL_BLOCK_PREFIX}{goal.id}", f"{goal.text}{due}",
            {"type": "static_select", "action_id": CHECKIN_GOAL_INPUT, "placeholder": plain("How far along?"),
             "options": [option(value, label) for value, label in PROGRESS_LABELS.items()]},
            optional=True,
        ))
    if len(goals) > MAX_GOALS_IN_MODAL:
        blocks.append(context(f"…and {len(goals) - MAX_GOALS_IN_MODAL} more goals: "
                              "update them with `/mentoring goal done <n>`."))
    return modal("Log a check-in", blocks, callback_id=CHECKIN_VIEW, private_metadata=private_metadata)


def build_checkin_problem_view(text: str) -> dict[str, Any]:
    """Return a modal that only explains why the check-in could not be saved."""
    return modal("Log a check-in", [section(f":warning: {escape_mrkdwn(text)}")], submit=None, close="Close")


def build_checkin_recap(*, author_id: str, met_on: date, shared_text: str, next_meeting_on: date | None,
                        achieved_goals: list[str]) -> Reply:
    """Return the recap posted to the pair's conversation: shared text only, never the private note."""
    lines = [f":memo: {mention(author_id)} logged your meeting on *{met_on.isoformat()}*."]
    blocks: list[Block] = [section(lines[0])]
    if shared_text:
        blocks.append(section("*What we worked on*\n" + escape_mrkdwn(shared_text)))
    if achieved_goals:
        blocks.append(section(":tada: *Achieved:* " + "; ".join(escape_mrkdwn(g) for g in achieved_goals)))
    next_line = f"Next meeting: *{next_meeting_on.isoformat()}*" if next_meeting_on else "No next meeting set yet."
    blocks.append(context(next_line))
    return Reply(text=f"Meeting on {met_on.isoformat()} logged. {next_line.replace('*', '')}", blocks=blocks)


def build_checkin_thanks(*, met_on: date, recap_posted: bool) -> Reply:
    where = "A recap is in your pair's conversation." if recap_posted else \
        "I couldn't post the recap to your pair's conversation, but the check-in is saved."
    text = f"Thanks — your meeting on {met_on.isoformat()} is logged. {where}"
    return Reply(text=text, blocks=[section(f":white_check_mark: {text}")])


def build_prompt_done(text: str) -> Reply:
    """Return what a prompt message becomes once a button was pressed: words instead of buttons."""
    return Reply(text=text, blocks=[section(text)])


def build_checkin_logged_prompt(met_on: date) -> Reply:
    return build_prompt_done(f":white_check_mark: You logged a meeting on {met_on.isoformat()}. Thank you!")


def build_snoozed_prompt(asks_at: datetime, *, already: bool) -> Reply:
    """`asks_at`: when the snooze reminder is first due, in the presser's own zone."""
    when = f"on {asks_at:%A} ({asks_at.day} {asks_at:%B})"
    if already:
        return build_prompt_done(f":zzz: Already snoozed — I'll ask again {when}.")
    return build_prompt_done(f":zzz: Okay, not yet — I'll ask again {when}.")


def build_help_sent_prompt(*, told: int, already: bool) -> Reply:
    if already:
        return build_prompt_done(":raised_hand: You already asked for help recently; a coordinator knows. "
                                 "They will reach out to you.")
    if told == 0:
        return build_prompt_done(":raised_hand: I noted that you could use some help, but I couldn't reach a "
                                 "coordinator. Please contact your program lead directly.")
    return build_prompt_done(":raised_hand: A coordinator now knows your pair could use some help — only that, "
                             "nothing you wrote. They will reach out to you.")


def build_help_request_dm(*, mentor_id: str, mentee_id: str) -> Reply:
    """Return the coordinator's DM: which pair asked for help, and nothing else."""
    text = f"The pair {mention(mentor_id)} (mentor) and {mention(mentee_id)} (mentee) could use some help."
    return Reply(text=text, blocks=[section(f":raised_hand: {text}"),
                                    context("They pressed “I could use some help” on a check-in prompt.")])


def build_kind_stopped_prompt(kind: str) -> Reply:
    return build_prompt_done(f":no_bell: Okay, no more {kind_label(kind)} for this pair. "
                             "You can turn them back on from my Home tab.")


def build_prompts_resumed_prompt() -> Reply:
    return build_prompt_done(":bell: Prompts are back on for this pair.")


def build_answered_message(original_blocks: list[Block] | None, outcome: Reply) -> Reply:
    """Return the prompt message with its buttons swapped for what happened, so nothing can be pressed twice."""
    kept = [block for block in original_blocks or [] if block.get("type") != "actions"]
    return Reply(text=outcome.text, blocks=[*kept, *outcome.blocks])
