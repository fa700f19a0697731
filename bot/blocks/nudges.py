"""The words of every scheduled nudge, with the buttons that let people answer or opt out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bot.blocks import Block, Reply, actions, button, context, escape_mrkdwn, mention, section, truncate
from bot.blocks.ids import (
    CHECKIN_OPEN_ACTION,
    HELP_ACTION,
    RESUME_PROMPTS_ACTION,
    SNOOZE_ACTION,
    STOP_KIND_ACTION,
)
from bot.domain.models import NudgeKind, Pair
from bot.domain.policy import DueNudge, GoalFacts

NUDGE_ACTIONS_BLOCK = "nudge_actions"
NUDGE_EVENT_TYPE = "mentorbot_nudge"


@dataclass(frozen=True)
class NudgeFacts:
    """What the words may mention: dates, the partner, the mentee's own goals — never note text."""

    pair: Pair
    goal: GoalFacts | None = None
    open_goals: tuple[GoalFacts, ...] = ()
    last_met_on: date | None = None
    next_meeting_on: date | None = None
    days_silent: int = 0
    mentee_questions: str = ""  # the mentee's current questions from their profile, for the mentor's preparation


def nudge_metadata(key: str) -> dict[str, object]:
    """Return the Slack message metadata that ties a message to its ledger row."""
    return {"event_type": NUDGE_EVENT_TYPE, "event_payload": {"key": key}}


def _goal_lines(goals: tuple[GoalFacts, ...]) -> str:
    lines = []
    for goal in goals[:10]:
        due = f" (by {goal.due_on:%b %-d})" if goal.due_on else ""
        lines.append(f"• {escape_mrkdwn(goal.text)}{due}")
    return "\n".join(lines)


def _member_buttons(pair_id: int, kind: str) -> Block:
    return actions(
        NUDGE_ACTIONS_BLOCK,
        button("We met — log it", CHECKIN_OPEN_ACTION, str(pair_id), style="primary"),
        button("Not yet — remind me in 3 days", SNOOZE_ACTION, str(pair_id)),
        button("I could use some help", HELP_ACTION, str(pair_id)),
        button("Stop reminding me about this", STOP_KIND_ACTION, f"{pair_id}:{kind}"),
    )


def _stop_only(pair_id: int, kind: str) -> Block:
    return actions(NUDGE_ACTIONS_BLOCK, button("Stop reminding me about this", STOP_KIND_ACTION, f"{pair_id}:{kind}"))


# The messages that list the pair's open goals (`NudgeFacts.open_goals`); others leave it empty.
GOAL_LISTING_KINDS = frozenset({NudgeKind.MEETING_PREP, NudgeKind.WINDING_UP})


# Messages that say the same whatever the pair's dates: {partner} is the other member, {both} the two.
_MEMBER_TEXTS = {
    NudgeKind.SNOOZE_REMINDER: ":wave: You asked me to check back in three days — how is it going with {partner}? "
    "If you met, log it; if not, now is a good moment to suggest a date.",
    NudgeKind.REFLECTION: ":thought_balloon: You met {partner} yesterday. Take five minutes to reflect: what did "
    "you learn, and what are your next steps before you meet again?",
    NudgeKind.PROMPTS_PAUSED: ":zipper_mouth_face: I've asked three times how it's going with {partner} and heard "
    "nothing, so I've paused these prompts. Press *Resume* when you'd like them back. "
    "Your coordinator can see that this pair may need a hand.",
}
_GROUP_TEXTS = {
    NudgeKind.AGREEMENT_PROMPT: ":handshake: {both}, it's been a week and you haven't set your agreement yet: how "
    "often you meet, who sets meetings up, confidentiality, off-limits topics, how you'll measure success and "
    "the way out. `/mentoring agreement` opens it.",
    NudgeKind.DIRECTION_PROMPT: ":compass: {both}, three weeks in — time to set direction. Agree two or three "
    "goals, each with a success measure and a date: `/mentoring goal add <text> by YYYY-MM-DD measure <text>`.",
}


def _member_text(nudge: DueNudge, facts: NudgeFacts) -> str:
    pair = facts.pair
    partner = pair.mentee_id if nudge.recipient == pair.mentor_id else pair.mentor_id
    kind = nudge.kind
    if kind in _MEMBER_TEXTS:
        return _MEMBER_TEXTS[kind].format(partner=mention(partner))
    if kind == NudgeKind.HOW_IS_IT_GOING:
        since = f"since {facts.last_met_on:%b %-d}" if facts.last_met_on else "yet"
        return (f":wave: How is it going with {mention(partner)}? I haven't seen a check-in {since}. "
                "If you met, log it; if not, a short message to your partner goes a long way.")
    if kind == NudgeKind.MEETING_PREP:
        when = f"{facts.next_meeting_on:%A, %b %-d}" if facts.next_meeting_on else "soon"
        if nudge.role == "mentor":
            questions = (f"\nTheir current questions: {escape_mrkdwn(truncate(facts.mentee_questions, 1000))}"
                         if facts.mentee_questions else "")
            return (f":spiral_note_pad: You meet {mention(partner)} on {when}. A few minutes to prepare: "
                    "what are the facts of where they stand, and what do you want from this conversation?"
                    + questions)
        goals = _goal_lines(facts.open_goals)
        return (f":spiral_note_pad: You meet {mention(partner)} on {when}. Before you go: what progress "
                "have you made on the items from last time?" + (f"\nYour open goals:\n{goals}" if goals else ""))
    if kind in (NudgeKind.GOAL_DUE_SOON, NudgeKind.GOAL_OVERDUE) and facts.goal is not None:
        goal = facts.goal
        text = escape_mrkdwn(goal.text)
        if kind == NudgeKind.GOAL_DUE_SOON:
            return (f":dart: Your goal “{text}” is due on {goal.due_on:%A, %b %-d}. How close are you? "
                    "Bring your progress to your next meeting.")
        return (f":hourglass: Your goal “{text}” was due on {goal.due_on:%b %-d} and is still open. Done? "
                "Mark it with `/mentoring goal done`. Not yet? Agree a new date with your mentor.")
    return f"A reminder about your mentoring with {mention(partner)}."


def _group_text(nudge: DueNudge, facts: NudgeFacts) -> str:
    pair = facts.pair
    both = f"{mention(pair.mentor_id)} and {mention(pair.mentee_id)}"
    kind = nudge.kind
    if kind in _GROUP_TEXTS:
        return _GROUP_TEXTS[kind].format(both=both)
    if kind == NudgeKind.DRIFT:
        return (f":hourglass_flowing_sand: {both}, it's been {facts.days_silent} days since your last check-in. "
                "Pick a date now — even 20 minutes keeps the thread alive.")
    if kind == NudgeKind.WINDING_UP:
        goals = _goal_lines(facts.open_goals)
        return (f":checkered_flag: {both}, your mentoring ends on {pair.ends_on:%A, %b %-d}. Plan a closing "
                "meeting: compare your goals with what you achieved, celebrate what went well, and decide what "
                "comes next for your relationship." + (f"\nStill open:\n{goals}" if goals else ""))
    return f"{both}, a reminder about your mentoring."


def build_nudge_message(nudge: DueNudge, facts: NudgeFacts) -> Reply:
    """Return the message for one due nudge to a member, a pair's group DM or a coordinator."""
    pair_id = facts.pair.id or 0
    if nudge.role == "coordinator":
        text = (f":rotating_light: {mention(facts.pair.mentor_id)} and {mention(facts.pair.mentee_id)} haven't "
                f"logged a check-in for {facts.days_silent} days (cadence: every {facts.pair.cadence_days} days). "
                "They may need a word from you.")
        return Reply(text=text, blocks=[section(text)])
    if nudge.is_group:
        text = _group_text(nudge, facts)
        blocks = [section(text), _stop_only(pair_id, nudge.kind)]
        return Reply(text=text, blocks=blocks)
    text = _member_text(nudge, facts)
    if nudge.kind == NudgeKind.PROMPTS_PAUSED:
        buttons = actions(
            NUDGE_ACTIONS_BLOCK,
            button("Resume", RESUME_PROMPTS_ACTION, str(pair_id), style="primary"),
            button("We met — log it", CHECKIN_OPEN_ACTION, str(pair_id)),
            button("Stop reminding me about this", STOP_KIND_ACTION, f"{pair_id}:{nudge.kind}"),
        )
    else:
        buttons = _member_buttons(pair_id, nudge.kind)
    return Reply(text=text, blocks=[section(text), buttons, context("You get at most one reminder a day, "
                                                                     "in working hours.")])


def build_offer_undeliverable_notice(recipient: str, reason: str) -> Reply:
    """Tell a coordinator, in words, that a match offer (mentee-choice mode) could not be delivered."""
    code = re.sub(r"[^A-Za-z0-9_]", "", reason)
    text = (f":warning: I couldn't send {mention(recipient)} their mentor choices or a mentee's request: Slack said "
            f"`{code}`. I won't tell you again about them; please check that they can still receive messages from "
            "the bot, or pair them yourself with `/mentoring pair`.")
    return Reply(text=text, blocks=[section(text)])


def build_undeliverable_notice(facts: NudgeFacts, recipient: str, reason: str, *, paused: bool = False) -> Reply:
    """Tell a coordinator, in words, that a nudge for a pair could not be delivered."""
    pair = facts.pair
    who = "the pair's group conversation" if recipient == "group" else mention(recipient)
    code = re.sub(r"[^A-Za-z0-9_]", "", reason)
    if paused:
        text = (f":warning: {who} seems to have left the workspace (Slack said `{code}`), so I've paused the pair "
                f"{mention(pair.mentor_id)} & {mention(pair.mentee_id)} and its reminders. You may want to end it "
                "or rematch the other member; `/mentoring resume` restarts it.")
    else:
        text = (f":warning: I couldn't deliver a reminder to {who} for the pair {mention(pair.mentor_id)} & "
                f"{mention(pair.mentee_id)}: Slack said `{code}`. I'll keep trying other "
                "reminders but won't tell you again about this one; please check that they can still receive "
                "messages from the bot.")
    return Reply(text=text, blocks=[section(text)])
