"""Submitted views read into typed forms, and the pure checks that answer with field errors by block id."""

from __future__ import annotations

from datetime import date

import pytest

from bot.blocks.agreement import FIELD_OF_BLOCK
from bot.blocks.forms import (
    agreement_errors,
    checkin_errors,
    read_agreement_form,
    read_checkin_form,
    read_reflection_form,
    reflection_errors,
)
from bot.blocks.ids import (
    AGREEMENT_CADENCE_BLOCK,
    AGREEMENT_ENDS_ON_BLOCK,
    AGREEMENT_WAY_OUT_BLOCK,
    CHECKIN_GOAL_BLOCK_PREFIX,
    CHECKIN_GOAL_INPUT,
    CHECKIN_MET_ON_BLOCK,
    CHECKIN_MET_ON_INPUT,
    CHECKIN_NEXT_BLOCK,
    CHECKIN_NEXT_INPUT,
    CHECKIN_RATING_BLOCK,
    CHECKIN_RATING_INPUT,
    CHECKIN_SHARED_BLOCK,
    CHECKIN_SHARED_INPUT,
    INPUT_ACTION,
    REFLECTION_TEXT_BLOCK,
)

TODAY = date(2026, 3, 16)
STARTED_ON = date(2026, 1, 5)


def checkin_values(*, met_on: str | None = "2026-03-12", rating: str | None = "4", shared: str = "Demo plan",
                   next_on: str | None = None, goals: dict[str, str] | None = None) -> dict:
    values: dict = {
        CHECKIN_MET_ON_BLOCK: {CHECKIN_MET_ON_INPUT: {"type": "datepicker", "selected_date": met_on}},
        CHECKIN_RATING_BLOCK: {CHECKIN_RATING_INPUT: {"type": "static_select", "selected_option":
                                                      {"value": rating} if rating else None}},
        CHECKIN_SHARED_BLOCK: {CHECKIN_SHARED_INPUT: {"type": "plain_text_input", "value": f"  {shared}  "}},
        CHECKIN_NEXT_BLOCK: {CHECKIN_NEXT_INPUT: {"type": "datepicker", "selected_date": next_on}},
    }
    for goal_id, choice in (goals or {}).items():
        values[f"{CHECKIN_GOAL_BLOCK_PREFIX}{goal_id}"] = {CHECKIN_GOAL_INPUT: {"selected_option": {"value": choice}}}
    return values


def test_a_complete_check_in_reads_into_a_typed_form_with_no_errors():
    form = read_checkin_form(checkin_values(next_on="2026-03-26", goals={"7": "done"}))
    assert (form.met_on.value, form.rating, form.shared_text, form.next_meeting_on.value, form.progress) == (
        date(2026, 3, 12), 4, "Demo plan", date(2026, 3, 26), {"7": "done"})
    assert checkin_errors(form, today=TODAY, started_on=STARTED_ON) == {}


@pytest.mark.parametrize(("values", "block", "says"), [
    (checkin_values(met_on=None), CHECKIN_MET_ON_BLOCK, "Pick the date you met."),
    (checkin_values(met_on="not-a-date"), CHECKIN_MET_ON_BLOCK, "Pick a date from the calendar."),
    (checkin_values(met_on="2026-03-17"), CHECKIN_MET_ON_BLOCK, "can't be in the future"),
    (checkin_values(met_on="2026-01-04"), CHECKIN_MET_ON_BLOCK, "began on 2026-01-05"),
    (checkin_values(rating=None), CHECKIN_RATING_BLOCK, "from 1 to 5"),
    (checkin_values(rating="9"), CHECKIN_RATING_BLOCK, "from 1 to 5"),
    (checkin_values(shared=""), CHECKIN_SHARED_BLOCK, "Write a line"),
    (checkin_values(next_on="2026-03-12"), CHECKIN_NEXT_BLOCK, "after the meeting date"),
    (checkin_values(next_on="soon"), CHECKIN_NEXT_BLOCK, "or leave it empty"),
    (checkin_values(goals={"7": "finished?"}), f"{CHECKIN_GOAL_BLOCK_PREFIX}7", "listed progress steps"),
])
def test_each_bad_check_in_field_gets_its_own_error(values, block, says):
    errors = checkin_errors(read_checkin_form(values), today=TODAY, started_on=STARTED_ON)
    assert list(errors) == [block] and says in errors[block]


def agreement_values(**texts: str) -> dict:
    """Return an agreement modal's values as Slack sends them: every input, empty or not."""
    values = {block: {INPUT_ACTION: {"type": "plain_text_input", "value": None}} for block in FIELD_OF_BLOCK}
    values.update({block: {INPUT_ACTION: {"value": text}} for block, text in texts.items()})
    return values


def test_the_agreement_names_its_cadence_in_days_and_refuses_what_it_cannot_read():
    errors, days = agreement_errors(read_agreement_form(agreement_values(**{AGREEMENT_CADENCE_BLOCK: "every 2 weeks"})))
    assert (errors, days) == ({}, 14)
    values = agreement_values(**{AGREEMENT_CADENCE_BLOCK: "whenever", AGREEMENT_WAY_OUT_BLOCK: "x" * 1001})
    values[AGREEMENT_ENDS_ON_BLOCK] = {INPUT_ACTION: {"selected_date": "someday"}}
    errors, days = agreement_errors(read_agreement_form(values))
    assert days is None and set(errors) == {AGREEMENT_CADENCE_BLOCK, AGREEMENT_WAY_OUT_BLOCK, AGREEMENT_ENDS_ON_BLOCK}


def test_an_agreement_form_missing_its_inputs_saves_nothing():
    errors, days = agreement_errors(read_agreement_form({AGREEMENT_CADENCE_BLOCK: {INPUT_ACTION: {"value": "weekly"}}}))
    assert days is None and "incomplete" in errors[AGREEMENT_CADENCE_BLOCK]


@pytest.mark.parametrize(("text", "says"), [("   ", "Write a few words"), ("x" * 3001, "Keep it to")])
def test_an_empty_or_overlong_reflection_is_refused(text, says):
    errors = reflection_errors(read_reflection_form({REFLECTION_TEXT_BLOCK: {INPUT_ACTION: {"value": text}}}))
    assert says in errors[REFLECTION_TEXT_BLOCK]
