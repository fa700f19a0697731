"""Submitted views -> typed forms, and the pure checks that answer with field errors by block id.

The blocks layer owns the ids, so it alone reads a view's `state.values`; services take these forms and
never see Slack's payload. Checks that need the database (does this goal still belong to the pair?) stay in
the service, which names the field with `goal_block_id`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.blocks import ids
from bot.blocks.agreement import FIELD_OF_BLOCK, LABEL_OF_BLOCK, MAX_LENGTH_OF_BLOCK, AgreementFields
from bot.blocks.checkins import MAX_CHECKIN_TEXT, PROGRESS_LABELS
from bot.blocks.lifecycle import MAX_REFLECTION_TEXT
from bot.blocks.matching import MAX_PROFILE_TEXT
from bot.domain.commands import UsageError, cadence_label, parse_cadence

Values = dict[str, Any]  # a submitted view's state.values: block id -> action id -> element state
FieldErrors = dict[str, str]  # block id -> the sentence shown under that field


def _element(values: Values, block_id: str, action_id: str) -> dict[str, Any]:
    found = (values.get(block_id) or {}).get(action_id)
    return found if isinstance(found, dict) else {}


def _text(values: Values, block_id: str, action_id: str) -> str:
    return str(_element(values, block_id, action_id).get("value") or "").strip()


def _selected(values: Values, block_id: str, action_id: str) -> str | None:
    option = _element(values, block_id, action_id).get("selected_option")
    return str(option.get("value")) if isinstance(option, dict) and option.get("value") is not None else None


@dataclass(frozen=True)
class PickedDate:
    """A datepicker's answer: the date, or why there is none (left empty, or not a date at all)."""

    value: date | None = None
    readable: bool = True


def _date(values: Values, block_id: str, action_id: str) -> PickedDate:
    raw = _element(values, block_id, action_id).get("selected_date")
    if not raw:
        return PickedDate()
    try:
        return PickedDate(date.fromisoformat(str(raw)))
    except ValueError:
        return PickedDate(readable=False)


# ---- the check-in -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckinForm:
    met_on: PickedDate
    rating: int  # 0 when none was picked
    shared_text: str
    private_note: str
    next_meeting_on: PickedDate
    progress: dict[str, str] = field(default_factory=dict)  # goal id as sent -> the progress step picked
    questions: str | None = None  # the mentee's current questions, when the modal asked for them


def goal_block_id(goal_id: str) -> str:
    return f"{ids.CHECKIN_GOAL_BLOCK_PREFIX}{goal_id}"


def read_checkin_form(values: Values) -> CheckinForm:
    rating = _selected(values, ids.CHECKIN_RATING_BLOCK, ids.CHECKIN_RATING_INPUT)
    progress = {}
    for block_id in values:
        if block_id.startswith(ids.CHECKIN_GOAL_BLOCK_PREFIX):
            choice = _selected(values, block_id, ids.CHECKIN_GOAL_INPUT)
            if choice is not None:
                progress[block_id.removeprefix(ids.CHECKIN_GOAL_BLOCK_PREFIX)] = choice
    return CheckinForm(
        met_on=_date(values, ids.CHECKIN_MET_ON_BLOCK, ids.CHECKIN_MET_ON_INPUT),
        rating=int(rating) if rating and rating.isascii() and rating.isdigit() else 0,
        shared_text=_text(values, ids.CHECKIN_SHARED_BLOCK, ids.CHECKIN_SHARED_INPUT),
        private_note=_text(values, ids.CHECKIN_PRIVATE_BLOCK, ids.CHECKIN_PRIVATE_INPUT),
        next_meeting_on=_date(values, ids.CHECKIN_NEXT_BLOCK, ids.CHECKIN_NEXT_INPUT),
        progress=progress,
        questions=_text(values, ids.CHECKIN_QUESTIONS_BLOCK, ids.INPUT_ACTION)
        if ids.CHECKIN_QUESTIONS_BLOCK in values else None,
    )


def checkin_errors(form: CheckinForm, *, today: date, started_on: date) -> FieldErrors:
    """Return what is wrong with a check-in of a pair that began on `started_on`, by block id."""
    errors: FieldErrors = {}
    met_on = form.met_on.value
    if met_on is None:
        errors[ids.CHECKIN_MET_ON_BLOCK] = "Pick the date you met." if form.met_on.readable else \
            "Pick a date from the calendar."
    elif met_on > today:
        errors[ids.CHECKIN_MET_ON_BLOCK] = "The meeting date can't be in the future."
    elif met_on < started_on:
        errors[ids.CHECKIN_MET_ON_BLOCK] = f"Your pair began on {started_on.isoformat()}; pick a date from then on."
    if not 1 <= form.rating <= 5:
        errors[ids.CHECKIN_RATING_BLOCK] = "Pick how it's going, from 1 to 5."
    shared, private = form.shared_text, form.private_note
    if not shared:
        errors[ids.CHECKIN_SHARED_BLOCK] = "Write a line about what you worked on — your partner will see it."
    elif len(shared) > MAX_CHECKIN_TEXT:
        errors[ids.CHECKIN_SHARED_BLOCK] = f"Keep it to {MAX_CHECKIN_TEXT} characters (this is {len(shared)})."
    if len(private) > MAX_CHECKIN_TEXT:
        errors[ids.CHECKIN_PRIVATE_BLOCK] = f"Keep it to {MAX_CHECKIN_TEXT} characters (this is {len(private)})."
    next_on = form.next_meeting_on
    if not next_on.readable:
        errors[ids.CHECKIN_NEXT_BLOCK] = "Pick a date from the calendar, or leave it empty."
    elif next_on.value is not None and met_on is not None and next_on.value <= met_on:
        errors[ids.CHECKIN_NEXT_BLOCK] = "The next meeting must be after the meeting date."
    if form.questions is not None and len(form.questions) > MAX_PROFILE_TEXT:
        errors[ids.CHECKIN_QUESTIONS_BLOCK] = f"Keep it to {MAX_PROFILE_TEXT} characters ({len(form.questions)} now)."
    for goal_id, choice in form.progress.items():
        if choice not in PROGRESS_LABELS:
            errors[goal_block_id(goal_id)] = "Pick one of the listed progress steps."
    return errors


# ---- the agreement --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgreementForm:
    texts: dict[str, str]  # AgreementFields name -> what was typed (stripped)
    ends_on: PickedDate
    complete: bool = True  # Slack sends every input's state, empty or not; a form without them is not ours


def read_agreement_form(values: Values) -> AgreementForm:
    return AgreementForm(
        texts={name: _text(values, block_id, ids.INPUT_ACTION) for block_id, name in FIELD_OF_BLOCK.items()},
        ends_on=_date(values, ids.AGREEMENT_ENDS_ON_BLOCK, ids.INPUT_ACTION),
        complete=all(block_id in values for block_id in FIELD_OF_BLOCK),
    )


def agreement_errors(form: AgreementForm) -> tuple[FieldErrors, int | None]:
    """Return what is wrong with the agreement's texts by block id, and the cadence in days it names (if any).

    The end date is checked by the service, against the pair's own.
    """
    if not form.complete:
        # Saving it would blank the agreement.
        return {ids.AGREEMENT_CADENCE_BLOCK: "This form came back incomplete, so I saved nothing. Close it and "
                                             "open the agreement again."}, None
    errors: FieldErrors = {}
    for block_id, name in FIELD_OF_BLOCK.items():
        if len(form.texts[name]) > MAX_LENGTH_OF_BLOCK[block_id]:
            errors[block_id] = f"{LABEL_OF_BLOCK[block_id]} can be at most {MAX_LENGTH_OF_BLOCK[block_id]} " \
                               "characters."
    if not form.ends_on.readable:
        errors[ids.AGREEMENT_ENDS_ON_BLOCK] = "Pick a date from the calendar."
    cadence = form.texts["cadence"]
    if not cadence or ids.AGREEMENT_CADENCE_BLOCK in errors:
        return errors, None
    try:
        return errors, parse_cadence(cadence)
    except UsageError as problem:
        errors[ids.AGREEMENT_CADENCE_BLOCK] = problem.message
        return errors, None


def agreement_fields(form: AgreementForm, cadence_days: int | None) -> AgreementFields:
    """Return the agreement as it is stored and recapped: the cadence in the bot's own words."""
    texts = {name: text for name, text in form.texts.items() if name != "cadence"}
    return AgreementFields(cadence=cadence_label(cadence_days) if cadence_days else "", **texts)


# ---- the closing reflection ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReflectionForm:
    text: str


def read_reflection_form(values: Values) -> ReflectionForm:
    return ReflectionForm(text=_text(values, ids.REFLECTION_TEXT_BLOCK, ids.INPUT_ACTION))


def reflection_errors(form: ReflectionForm) -> FieldErrors:
    if not form.text:
        return {ids.REFLECTION_TEXT_BLOCK: "Write a few words, or press Cancel."}
    if len(form.text) > MAX_REFLECTION_TEXT:
        return {ids.REFLECTION_TEXT_BLOCK: f"Keep it to {MAX_REFLECTION_TEXT} characters."}
    return {}
