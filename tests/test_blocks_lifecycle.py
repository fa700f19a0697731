"""The lifecycle's Block Kit stays inside Slack's limits, whatever the data."""

from __future__ import annotations

from datetime import date

import pytest

from bot.blocks import MAX_BUTTON_TEXT, MAX_HEADER_TEXT, MAX_MESSAGE_BLOCKS, MAX_SECTION_TEXT, MAX_VIEW_BLOCKS
from bot.blocks.agreement import AgreementFields, build_agreement_modal, build_agreement_recap
from bot.blocks.lifecycle import (
    PAIRS_PER_PAGE,
    GoalRow,
    PairRow,
    build_closing_prompt,
    build_closing_reflection_modal,
    build_closure_reason_request,
    build_goals_reply,
    build_pair_choice_text,
    build_pairs_reply,
    build_phase_reply,
    build_welcome_message,
)
from bot.domain.health import Health
from bot.domain.models import GoalStatus, Phase

TODAY = date(2026, 11, 22)
LONG = "🎉*_`<&>" * 60  # 480 characters of everything that needs escaping


def _check(blocks: list[dict], limit: int) -> None:
    assert 0 < len(blocks) <= limit
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= MAX_HEADER_TEXT
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= MAX_BUTTON_TEXT
                assert len(element.get("value", "")) <= 2000
        if block["type"] == "input":
            assert len(block["label"]["text"]) <= 2000


def _rows(count: int) -> list[PairRow]:
    return [PairRow(pair_id=i, mentor_id=f"UMENTOR{i:05d}", mentee_id=f"UMENTEE{i:05d}", phase=Phase.PROGRESSION,
                    health=Health.DRIFTING, last_met_on=date(2026, 10, 1), ends_on=date(2027, 5, 1), cadence_days=14)
            for i in range(count)]


def _goals(count: int) -> list[GoalRow]:
    return [GoalRow(number=i + 1, text=LONG, measure=LONG, due_on=date(2027, 1, 1), status=GoalStatus.OPEN,
                    achieved_on=None) for i in range(count)]


@pytest.mark.parametrize("page", [1, 2, 13])
def test_a_page_of_500_pairs_stays_within_one_message(page):
    rows = _rows(500)[(page - 1) * PAIRS_PER_PAGE: page * PAIRS_PER_PAGE]
    reply = build_pairs_reply(rows=rows, page=page, total=500, coordinator=True, today=TODAY)
    _check(reply.blocks, MAX_MESSAGE_BLOCKS)
    has_more = any(b["type"] == "actions" for b in reply.blocks)
    assert has_more == (page < 13)


def test_the_pairs_list_never_exceeds_the_limit_even_if_handed_too_many_rows():
    reply = build_pairs_reply(rows=_rows(500), page=1, total=500, coordinator=True, today=TODAY)
    _check(reply.blocks, MAX_MESSAGE_BLOCKS)


def test_fifty_long_goals_fit_one_message_and_are_escaped():
    reply = build_goals_reply(goals=_goals(50), partner_id="UTHEO", today=TODAY)
    _check(reply.blocks, MAX_MESSAGE_BLOCKS)
    assert "<&>" not in str(reply.blocks)
    assert "goal done" in reply.blocks[-1]["elements"][0]["text"]


def test_the_closing_prompt_with_many_goals_fits():
    reply = build_closing_prompt(pair_id=7, partner_id="UTHEO", goals=_goals(50), ends_on=TODAY)
    _check(reply.blocks, MAX_MESSAGE_BLOCKS)
    assert any(b["type"] == "actions" for b in reply.blocks)


def test_the_welcome_fits_and_carries_the_agreement_button():
    reply = build_welcome_message(pair_id=12345, mentor_id="UMAYA", mentee_id="UTHEO", coordinator_id="UCORA",
                                  cadence_days=182, ends_on=date(2028, 11, 22))
    _check(reply.blocks, MAX_MESSAGE_BLOCKS)
    assert reply.text


def test_the_agreement_modal_fits_a_view_even_when_full():
    full = AgreementFields(cadence="every 26 weeks", who_sets_up="w" * 600, contact=LONG, confidentiality="c" * 1200,
                           off_limits=LONG, success_measure=LONG, way_out=LONG)
    view = build_agreement_modal(pair_id=1, partner_id="UTHEO", fields=full, ends_on=date(2027, 1, 1))
    _check(view["blocks"], MAX_VIEW_BLOCKS)
    assert len(view["title"]["text"]) <= 24
    for block in view["blocks"]:
        element = block.get("element", {})
        if "initial_value" in element:
            assert len(element["initial_value"]) <= element["max_length"]


def test_the_agreement_recap_escapes_what_people_wrote():
    fields = AgreementFields(cadence="every 2 weeks", contact="<!channel> *now*", way_out=LONG)
    reply = build_agreement_recap(actor="UTHEO", fields=fields, ends_on=date(2027, 1, 1))
    _check(reply.blocks, MAX_MESSAGE_BLOCKS)
    assert "<!channel>" not in str(reply.blocks)


def test_the_other_lifecycle_messages_fit():
    _check(build_closure_reason_request(pair_id=1, mentor_id="UA", mentee_id="UB").blocks, MAX_MESSAGE_BLOCKS)
    _check(build_phase_reply(phase=Phase.WINDING_UP, partner_id="UB", advanced_from=Phase.PROGRESSION).blocks,
           MAX_MESSAGE_BLOCKS)
    view = build_closing_reflection_modal(pair_id=1, partner_id="UB", text="x" * 5000)
    _check(view["blocks"], MAX_VIEW_BLOCKS)
    assert len(build_pair_choice_text(actor="UA", pairs=[("UA", f"U{i}") for i in range(100)],
                                      command="/mentoring goals")) <= MAX_SECTION_TEXT
