"""The outcome questions: the fit check, the quality pulse, the closing survey's message and modal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.blocks import Block, Reply, actions, button, context, mention, section, truncate
from bot.blocks.ids import (
    CLOSING_AGAIN_BLOCK,
    CLOSING_GOAL_BLOCK_PREFIX,
    CLOSING_HELPED_BLOCK,
    CLOSING_OPEN_BLOCK,
    CLOSING_SURVEY_ACTION,
    CLOSING_SURVEY_VIEW,
    CLOSING_VALUE_BLOCK,
    FIT_CHANGE_ACTION,
    FIT_MORE_BLOCK,
    FIT_RATING_ACTION_PREFIX,
    FIT_RATING_BLOCK,
    INPUT_ACTION,
    OUTCOME_STOP_BLOCK,
    PULSE_GROWTH_ACTION_PREFIX,
    PULSE_GROWTH_BLOCK,
    PULSE_MEETING_ACTION_PREFIX,
    PULSE_MEETING_BLOCK,
    STOP_KIND_ACTION,
)
from bot.domain.models import Attainment, MeetingRegularity, NudgeKind
from bot.domain.policy import DueNudge, PairView

MAX_HELPED_TEXT = 2000
# A modal holds 100 blocks; the survey's own questions take five.
MAX_SURVEY_GOALS = 40
FIT_QUESTION = "How well does this pairing fit? (1–5)"
GROWTH_QUESTION = "Is this relationship helping you grow? (1–5)"
MEETING_QUESTION = "Are you meeting as you agreed?"
MEETING_LABELS = {MeetingRegularity.YES: "Yes", MeetingRegularity.SOMETIMES: "Sometimes", MeetingRegularity.NO: "No"}
ATTAINMENT_LABELS = {Attainment.MET: "Met", Attainment.PARTLY: "Partly", Attainment.NOT_MET: "Not met"}
PRIVATE_ANSWER = ("Your answers reach coordinators only as program figures, never as yours; your partner never "
                  "sees them.")


@dataclass(frozen=True)
class SurveyGoal:
    """A goal as the closing survey asks about it: its words and the measure it is judged against."""

    id: int
    text: str
    measure: str


@dataclass(frozen=True)
class ClosingAnswers:
    """What a member submitted in the closing survey; `verdicts` maps a goal id to an Attainment."""

    value: int | None = None
    again: bool | None = None
    helped_most: str = ""
    verdicts: dict[int, str] = field(default_factory=dict)


def _stop(pair_id: int, kind: str) -> Block:
    return actions(OUTCOME_STOP_BLOCK, button("Stop reminding me about this", STOP_KIND_ACTION, f"{pair_id}:{kind}"))


def _scale(block_id: str, prefix: str, value: str) -> Block:
    return actions(block_id, *(button(str(n), f"{prefix}{n}", value) for n in range(1, 6)))


def build_fit_check_message(*, pair_id: int, partner_id: str, rating: int | None = None,
                            change_requested: bool = False) -> Reply:
    """Ask how well the pairing fits, with "I'd like a different match"; answered parts show the answer."""
    intro = (f":jigsaw: You've had your first meeting with {mention(partner_id)}. *{FIT_QUESTION}*\n"
             "1 = not at all, 5 = a great fit.")
    blocks: list[Block] = [section(intro)]
    if rating is None:
        blocks.append(_scale(FIT_RATING_BLOCK, FIT_RATING_ACTION_PREFIX, str(pair_id)))
    else:
        blocks.append(context(f":white_check_mark: You said *{rating}/5*. Thank you."))
    if change_requested:
        blocks.append(context(":white_check_mark: A coordinator knows that someone in this pair would like a "
                              "different match. They'll be in touch with you; your partner is not told."))
    else:
        blocks.append(actions(FIT_MORE_BLOCK, button("I'd like a different match", FIT_CHANGE_ACTION, str(pair_id))))
    if rating is None or not change_requested:
        blocks.append(_stop(pair_id, NudgeKind.FIT_CHECK))
    blocks.append(context(PRIVATE_ANSWER))
    return Reply(text=f"How well does your pairing with {mention(partner_id)} fit? (1–5)", blocks=blocks)


def build_pulse_message(*, pair_id: int, period: str, partner_id: str, growth: int | None = None,
                        meeting: str | None = None) -> Reply:
    """Ask the two pulse questions; each answered one shows its answer in place of its buttons."""
    value = f"{pair_id}:{period}"
    blocks: list[Block] = [section(f":seedling: A quick pulse on your mentoring with {mention(partner_id)}.\n"
                                   f"*{GROWTH_QUESTION}*")]
    if growth is None:
        blocks.append(_scale(PULSE_GROWTH_BLOCK, PULSE_GROWTH_ACTION_PREFIX, value))
    else:
        blocks.append(context(f":white_check_mark: You said *{growth}/5*."))
    blocks.append(section(f"*{MEETING_QUESTION}*"))
    if meeting is None:
        blocks.append(actions(PULSE_MEETING_BLOCK, *(
            button(label, f"{PULSE_MEETING_ACTION_PREFIX}{answer.value}", value)
            for answer, label in MEETING_LABELS.items())))
    else:
        blocks.append(context(f":white_check_mark: You said *{MEETING_LABELS[MeetingRegularity(meeting)].lower()}*."))
    if growth is None or meeting is None:
        blocks.append(_stop(pair_id, NudgeKind.QUALITY_PULSE))
    else:
        blocks.append(context("Thank you — that's all."))
    blocks.append(context(PRIVATE_ANSWER))
    return Reply(text=f"A quick pulse on your mentoring with {mention(partner_id)}", blocks=blocks)


def build_closing_survey_message(*, pair_id: int, partner_id: str, answered: bool = False) -> Reply:
    """Invite a member of an ended pair to the closing survey (a modal)."""
    text = (f":checkered_flag: Your mentoring with {mention(partner_id)} has ended. Two minutes to look back: "
            "which goals did you meet against their measures, what was it worth, and what helped most?")
    blocks: list[Block] = [section(text)]
    if answered:
        blocks.append(context(":white_check_mark: Thank you — your closing survey is saved."))
    else:
        blocks.append(actions(CLOSING_OPEN_BLOCK, button("Answer the closing survey", CLOSING_SURVEY_ACTION,
                                                         str(pair_id), style="primary")))
        blocks.append(_stop(pair_id, NudgeKind.CLOSING_SURVEY))
    blocks.append(context("What you write about what helped most is seen by you alone."))
    return Reply(text=f"Your mentoring with {mention(partner_id)} has ended: a closing survey", blocks=blocks)


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label}, "value": value}


def _radio(block_id: str, label: str, options: list[dict[str, Any]], hint: str = "",
           initial: str | None = None) -> Block:
    element: dict[str, Any] = {"type": "radio_buttons", "action_id": INPUT_ACTION, "options": options}
    chosen = [o for o in options if o["value"] == initial]
    if chosen:
        element["initial_option"] = chosen[0]
    block: Block = {"type": "input", "block_id": block_id, "element": element,
                    "label": {"type": "plain_text", "text": truncate(label, 2000)}}
    if hint:
        block["hint"] = {"type": "plain_text", "text": truncate(hint, 2000)}
    return block


def build_closing_survey_modal(*, pair_id: int, partner_id: str, goals: list[SurveyGoal],
                               answered: ClosingAnswers | None = None) -> dict[str, Any]:
    """The closing survey: each goal against its measure, overall value, would you again, what helped most.

    `answered` pre-fills the author's own earlier answers (only ever shown to that author).
    """
    answered = answered or ClosingAnswers()
    blocks: list[Block] = [section(f"Looking back on your mentoring with {mention(partner_id)}.")]
    for goal in goals[:MAX_SURVEY_GOALS]:
        measure = f"Measure: {goal.measure}" if goal.measure else "No measure was set: judge it as you see it."
        blocks.append(_radio(f"{CLOSING_GOAL_BLOCK_PREFIX}{goal.id}", f"Goal: {goal.text}",
                             [_option(label, a.value) for a, label in ATTAINMENT_LABELS.items()], measure,
                             answered.verdicts.get(goal.id)))
    blocks.append(_radio(CLOSING_VALUE_BLOCK, "Overall, how valuable was this relationship to you? (1–5)",
                         [_option(str(n), str(n)) for n in range(1, 6)],
                         initial=str(answered.value) if answered.value else None))
    blocks.append(_radio(CLOSING_AGAIN_BLOCK, "Would you take part again?",
                         [_option("Yes", "yes"), _option("No", "no")],
                         initial=None if answered.again is None else ("yes" if answered.again else "no")))
    helped: dict[str, Any] = {"type": "plain_text_input", "action_id": INPUT_ACTION, "multiline": True,
                              "max_length": MAX_HELPED_TEXT}
    if answered.helped_most:
        helped["initial_value"] = answered.helped_most[:MAX_HELPED_TEXT]
    blocks.append({"type": "input", "block_id": CLOSING_HELPED_BLOCK, "optional": True, "element": helped,
                   "label": {"type": "plain_text", "text": "What helped most?"},
                   "hint": {"type": "plain_text", "text": "Only you can read this — not your partner, not a "
                                                          "coordinator."}})
    blocks.append(context("Your ratings count in the program's figures, never as yours."))
    return {
        "type": "modal",
        "callback_id": CLOSING_SURVEY_VIEW,
        "private_metadata": str(pair_id),
        "title": {"type": "plain_text", "text": "Closing survey"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def build_change_request_notice(*, mentor_id: str, mentee_id: str) -> Reply:
    """Tell a coordinator that one member of a pair would like a different match (never which one)."""
    text = (f":twisted_rightwards_arrows: One member of the pair {mention(mentor_id)} & {mention(mentee_id)} would "
            "like a different match. They didn't say which of them it is, and their partner has not been told: "
            "a private word with each of them is the way to find out more.")
    return Reply(text=text, blocks=[section(text)])


OUTCOME_KINDS = frozenset({NudgeKind.FIT_CHECK, NudgeKind.QUALITY_PULSE, NudgeKind.CLOSING_SURVEY})


def build_outcome_question(nudge: DueNudge, pair: PairView) -> Reply:
    """Return the scheduled outcome question for one member (see OUTCOME_KINDS)."""
    pair_id = pair.id or 0
    partner = pair.mentee_id if nudge.recipient == pair.mentor_id else pair.mentor_id
    if nudge.kind == NudgeKind.FIT_CHECK:
        return build_fit_check_message(pair_id=pair_id, partner_id=partner)
    if nudge.kind == NudgeKind.QUALITY_PULSE:
        return build_pulse_message(pair_id=pair_id, period=nudge.period, partner_id=partner)
    return build_closing_survey_message(pair_id=pair_id, partner_id=partner)
