"""Outcomes through Slack: the fit check, a pulse and the closing survey, sent by the sweep and answered with
button presses and a modal against the fake Slack; "what helped most" reaches nobody but its author."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.blocks.ids import (
    CLOSING_AGAIN_BLOCK,
    CLOSING_GOAL_BLOCK_PREFIX,
    CLOSING_HELPED_BLOCK,
    CLOSING_SURVEY_ACTION,
    CLOSING_SURVEY_VIEW,
    CLOSING_VALUE_BLOCK,
    FIT_CHANGE_ACTION,
    INPUT_ACTION,
)
from bot.domain.models import (
    GoalAttainment,
    NudgeKind,
    OutcomeKind,
    OutcomeResponse,
    Pair,
    PairStatus,
    Phase,
)
from bot.domain.policy import PULSE_EVERY_DAYS, PULSE_FIRST_DAYS
from tests.conftest import COORDINATOR, MENTEE, MENTOR
from tests.factories import make_agreement, make_checkin, make_goal, make_pair, make_person

MONDAY = date(2026, 3, 2)
CANARY = "CANARY-helped-most-7f3e"


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def people(engine, fake_slack):
    with Session(engine) as session:
        for person in (MENTOR, MENTEE, COORDINATOR):
            fake_slack.add_user(person, tz="UTC")
            make_person(session, person, tz="UTC", info_fetched_at=at(MONDAY))
        session.commit()


def make_program(engine, cipher, *, first_met: date, status: str = PairStatus.ACTIVE, ended_at: datetime | None = None,
                 goals: int = 0) -> Pair:
    with Session(engine, expire_on_commit=False) as session:
        pair = make_pair(session, started_on=first_met - timedelta(days=5), ends_on=first_met + timedelta(days=150),
                         status=status, phase=Phase.ENDED if status == PairStatus.ENDED else Phase.PROGRESSION,
                         ended_at=ended_at)
        make_agreement(session, pair)
        for n in range(goals):
            make_goal(session, pair, text=f"Goal {n + 1}", measure=f"Measure {n + 1}",
                      due_on=first_met + timedelta(days=400))
        make_checkin(session, pair, cipher, met_on=first_met, created_at=at(first_met, 16))
        session.commit()
        return pair


def met(engine, cipher, pair: Pair, day: date) -> None:
    """Log a meeting, so nothing about silence outranks the question under test."""
    with Session(engine) as session:
        make_checkin(session, pair, cipher, met_on=day, created_at=at(day, 16))
        session.commit()


def dms_of(fake_slack, person: str, kind: str) -> list[dict]:
    return [m for m in fake_slack.posted("D" + person.lstrip("U"))
            if f":{kind}:" in m["metadata"]["event_payload"]["key"]]


def buttons(message: dict) -> dict[str, dict]:
    return {e["action_id"]: e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]}


def press(slack, message: dict, action_id: str, user: str):
    element = buttons(message)[action_id]
    return slack.block_action(user_id=user, action_id=action_id, value=element.get("value", ""),
                              channel_id=message["channel"], message_ts=message["ts"])


def responses(engine, kind: str) -> list[OutcomeResponse]:
    with Session(engine) as session:
        return list(session.exec(select(OutcomeResponse).where(OutcomeResponse.kind == kind)
                                 .order_by(OutcomeResponse.author_id)))


def test_the_fit_check_comes_the_working_day_after_the_first_meeting_and_a_low_fit_marks_the_pair_at_risk(
        runtime, slack, fake_slack, engine, people):
    friday = MONDAY + timedelta(days=4)
    pair = make_program(engine, runtime.services.ctx.cipher, first_met=friday)
    runtime.services.sweep.run(now=at(friday + timedelta(days=1)))  # Saturday: nobody works
    assert not dms_of(fake_slack, MENTOR, NudgeKind.FIT_CHECK)
    next_monday = friday + timedelta(days=3)
    runtime.services.sweep.run(now=at(next_monday))
    [mentor_dm] = dms_of(fake_slack, MENTOR, NudgeKind.FIT_CHECK)
    assert "How well does this pairing fit? (1–5)" in json.dumps(mentor_dm["blocks"], ensure_ascii=False)
    # The fit check outranks the mentee's reflection, which waits a day: one scheduled DM a day.
    assert dms_of(fake_slack, MENTEE, NudgeKind.FIT_CHECK) and not dms_of(fake_slack, MENTEE, NudgeKind.REFLECTION)
    runtime.services.sweep.run(now=at(next_monday + timedelta(days=1)))
    assert dms_of(fake_slack, MENTEE, NudgeKind.REFLECTION)
    runtime.services.sweep.run(now=at(next_monday + timedelta(days=2)))
    assert len(dms_of(fake_slack, MENTOR, NudgeKind.FIT_CHECK)) == 1  # exactly once

    press(slack, mentor_dm, "outcome_fit_2", MENTOR)
    [answer] = responses(engine, OutcomeKind.FIT)
    assert (answer.author_id, answer.rating, answer.period) == (MENTOR, 2, "first")
    assert answer.asked_at is not None and answer.answered_at is not None
    replaced = fake_slack.responses[-1].params
    assert replaced["replace_original"] is True and "You said *2/5*" in json.dumps(replaced["blocks"])
    assert "outcome_fit_1" not in json.dumps(replaced["blocks"])

    slack.command("pairs", user_id=COORDINATOR)
    assert "at risk" in fake_slack.responses[-1].params["text"] + json.dumps(fake_slack.responses[-1].params)
    summary = runtime.services.reports.summary_reply(at(next_monday + timedelta(days=7)))
    assert "fit rated low" in json.dumps(summary.blocks)
    assert pair.id is not None


def test_asking_for_a_different_match_tells_coordinators_once_and_never_who_or_the_partner(
        runtime, slack, fake_slack, engine, people):
    make_program(engine, runtime.services.ctx.cipher, first_met=MONDAY)
    runtime.services.sweep.run(now=at(MONDAY + timedelta(days=1)))
    [mentor_dm] = dms_of(fake_slack, MENTOR, NudgeKind.FIT_CHECK)
    fake_slack.reset_calls()

    press(slack, mentor_dm, FIT_CHANGE_ACTION, MENTOR)
    press(slack, mentor_dm, FIT_CHANGE_ACTION, MENTOR)  # a second press tells nobody again

    to_coordinator = [c.params for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == COORDINATOR]
    assert len(to_coordinator) == 1
    assert "One member of the pair" in to_coordinator[0]["text"]
    assert "rat" not in to_coordinator[0]["text"]  # no rating, and no word of who asked
    assert not [c for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] in (MENTEE, "DMENTEE1")]
    assert not [r for r in fake_slack.responses if MENTEE in json.dumps(r.params) and "different" in json.dumps(
        r.params) and r.params.get("response_type") != "ephemeral" and not r.params.get("replace_original")]
    [answer] = responses(engine, OutcomeKind.FIT)
    assert answer.author_id == MENTOR and answer.change_requested_at is not None and answer.rating is None


def test_a_rating_button_from_someone_outside_the_pair_changes_nothing(runtime, slack, fake_slack, engine, people):
    make_program(engine, runtime.services.ctx.cipher, first_met=MONDAY)
    runtime.services.sweep.run(now=at(MONDAY + timedelta(days=1)))
    [mentor_dm] = dms_of(fake_slack, MENTOR, NudgeKind.FIT_CHECK)
    press(slack, mentor_dm, "outcome_fit_5", "UOTHER1")
    assert responses(engine, OutcomeKind.FIT) == []
    assert "not one of your pairs" in fake_slack.responses[-1].params["text"]


def test_the_quality_pulse_comes_thirty_days_after_the_first_meeting_then_every_sixty(
        runtime, slack, fake_slack, engine, people):
    pair = make_program(engine, runtime.services.ctx.cipher, first_met=MONDAY)
    due = MONDAY + timedelta(days=PULSE_FIRST_DAYS)  # a Wednesday
    met(engine, runtime.services.ctx.cipher, pair, due - timedelta(days=9))
    runtime.services.sweep.run(now=at(due - timedelta(days=1)))
    assert not dms_of(fake_slack, MENTOR, NudgeKind.QUALITY_PULSE)
    runtime.services.sweep.run(now=at(due))
    [pulse] = dms_of(fake_slack, MENTOR, NudgeKind.QUALITY_PULSE)
    assert pulse["metadata"]["event_payload"]["key"].endswith(":p0")
    text = json.dumps(pulse["blocks"], ensure_ascii=False)
    assert "Is this relationship helping you grow? (1–5)" in text and "Are you meeting as you agreed?" in text

    press(slack, pulse, "outcome_growth_4", MENTOR)
    after_one = fake_slack.responses[-1].params["blocks"]
    assert "outcome_meeting_sometimes" in json.dumps(after_one)  # the other question is still open
    press(slack, pulse, "outcome_meeting_sometimes", MENTOR)
    [answer] = responses(engine, OutcomeKind.PULSE)
    assert (answer.rating, answer.meeting_as_agreed, answer.period) == (4, "sometimes", "p0")

    second = due + timedelta(days=PULSE_EVERY_DAYS + 1)  # due on a Sunday: it waits for Monday
    met(engine, runtime.services.ctx.cipher, pair, second - timedelta(days=9))
    runtime.services.sweep.run(now=at(second))
    keys = [m["metadata"]["event_payload"]["key"] for m in dms_of(fake_slack, MENTOR, NudgeKind.QUALITY_PULSE)]
    assert [k.rsplit(":", 1)[1] for k in keys] == ["p0", "p1"]


def test_a_stopped_pulse_is_not_sent(runtime, slack, fake_slack, engine, people):
    pair = make_program(engine, runtime.services.ctx.cipher, first_met=MONDAY)
    due = MONDAY + timedelta(days=PULSE_FIRST_DAYS)
    met(engine, runtime.services.ctx.cipher, pair, due - timedelta(days=9))
    runtime.services.sweep.run(now=at(due))
    [pulse] = dms_of(fake_slack, MENTOR, NudgeKind.QUALITY_PULSE)
    press(slack, pulse, "prompt_stop_kind", MENTOR)
    second = due + timedelta(days=PULSE_EVERY_DAYS + 1)
    met(engine, runtime.services.ctx.cipher, pair, second - timedelta(days=9))
    runtime.services.sweep.run(now=at(second))
    assert len(dms_of(fake_slack, MENTOR, NudgeKind.QUALITY_PULSE)) == 1
    assert len(dms_of(fake_slack, MENTEE, NudgeKind.QUALITY_PULSE)) == 2
    assert pair.id


def survey_values(goal_ids: list[int], *, value: str | None = "4", again: str | None = "yes",
                  helped: str = "") -> dict:
    def radio(choice: str | None) -> dict:
        return {INPUT_ACTION: {"type": "radio_buttons", "selected_option": {"value": choice} if choice else None}}

    values = {f"{CLOSING_GOAL_BLOCK_PREFIX}{g}": radio("met" if n == 0 else "partly") for n, g in enumerate(goal_ids)}
    values[CLOSING_VALUE_BLOCK] = radio(value)
    values[CLOSING_AGAIN_BLOCK] = radio(again)
    values[CLOSING_HELPED_BLOCK] = {INPUT_ACTION: {"type": "plain_text_input", "value": helped}}
    return values


def ended_pair_with_survey(runtime, fake_slack, engine) -> tuple[Pair, dict, list[int]]:
    ended_on = MONDAY + timedelta(days=150)
    pair = make_program(engine, runtime.services.ctx.cipher, first_met=MONDAY, status=PairStatus.ENDED,
                        ended_at=at(ended_on, 8), goals=2)
    runtime.services.sweep.run(now=at(ended_on + timedelta(days=1)))
    [invite] = dms_of(fake_slack, MENTEE, NudgeKind.CLOSING_SURVEY)
    with Session(engine) as session:
        from bot.domain.models import Goal
        goal_ids = list(session.exec(select(Goal.id).where(Goal.pair_id == pair.id).order_by(Goal.id)))
    return pair, invite, goal_ids


def test_the_closing_survey_opens_a_modal_with_each_goal_and_saves_the_answers(
        runtime, slack, fake_slack, engine, people):
    pair, invite, goal_ids = ended_pair_with_survey(runtime, fake_slack, engine)
    assert dms_of(fake_slack, MENTOR, NudgeKind.CLOSING_SURVEY)
    press(slack, invite, CLOSING_SURVEY_ACTION, MENTEE)
    [opened] = fake_slack.calls_to("views.open")
    view = opened.params["view"]
    labels = json.dumps(view["blocks"])
    assert "Goal: Goal 1" in labels and "Measure: Measure 2" in labels and "What helped most?" in labels

    result = slack.view_submission(user_id=MENTEE, callback_id=CLOSING_SURVEY_VIEW, values=survey_values(
        goal_ids, helped="Weekly demos"), private_metadata=view["private_metadata"])
    assert result.status == 200 and not result.body
    [answer] = responses(engine, OutcomeKind.CLOSING)
    assert (answer.rating, answer.take_part_again, answer.author_id) == (4, True, MENTEE)
    assert answer.helped_most_enc and "Weekly demos" not in answer.helped_most_enc
    with Session(engine) as session:
        verdicts = {g.goal_id: g.attainment for g in session.exec(select(GoalAttainment))}
    assert verdicts == {goal_ids[0]: "met", goal_ids[1]: "partly"}
    updated = fake_slack.calls_to("chat.update")[-1].params
    assert updated["ts"] == invite["ts"] and "survey is saved" in json.dumps(updated["blocks"])


@pytest.mark.parametrize(("change", "block"), [
    ({"value": None}, CLOSING_VALUE_BLOCK),
    ({"again": None}, CLOSING_AGAIN_BLOCK),
    ({"helped": "x" * 2001}, CLOSING_HELPED_BLOCK),
])
def test_an_incomplete_closing_survey_is_answered_with_errors_and_nothing_saved(
        runtime, slack, fake_slack, engine, people, change, block):
    pair, invite, goal_ids = ended_pair_with_survey(runtime, fake_slack, engine)
    result = slack.view_submission(user_id=MENTEE, callback_id=CLOSING_SURVEY_VIEW,
                                   values=survey_values(goal_ids, **change), private_metadata=f"{pair.id}::")
    body = json.loads(result.body)
    assert body["response_action"] == "errors" and block in body["errors"]
    assert responses(engine, OutcomeKind.CLOSING) == []


def test_a_survey_for_someone_elses_pair_is_refused(runtime, slack, fake_slack, engine, people):
    pair, invite, goal_ids = ended_pair_with_survey(runtime, fake_slack, engine)
    result = slack.view_submission(user_id="UOTHER1", callback_id=CLOSING_SURVEY_VIEW,
                                   values=survey_values(goal_ids), private_metadata=f"{pair.id}::")
    assert json.loads(result.body)["response_action"] == "errors"
    assert responses(engine, OutcomeKind.CLOSING) == []


def test_what_helped_most_reaches_nobody_but_its_author(runtime, slack, fake_slack, engine, people, caplog):
    caplog.set_level(logging.DEBUG)
    pair, invite, goal_ids = ended_pair_with_survey(runtime, fake_slack, engine)
    press(slack, invite, CLOSING_SURVEY_ACTION, MENTEE)
    view = fake_slack.calls_to("views.open")[-1].params["view"]
    slack.view_submission(user_id=MENTEE, callback_id=CLOSING_SURVEY_VIEW,
                          values=survey_values(goal_ids, helped=CANARY), private_metadata=view["private_metadata"])
    assert responses(engine, OutcomeKind.CLOSING)[0].helped_most_enc

    # Everyone else looks everywhere they can: the partner's own survey, the coordinator's report and
    # summary, the weekly summary, the export, the Home tabs.
    [partner_invite] = dms_of(fake_slack, MENTOR, NudgeKind.CLOSING_SURVEY)
    press(slack, partner_invite, CLOSING_SURVEY_ACTION, MENTOR)
    slack.command("report", user_id=COORDINATOR)
    slack.command("summary", user_id=COORDINATOR)
    for person in (MENTOR, COORDINATOR):
        slack.event({"type": "app_home_opened", "user": person, "tab": "home"})
    export = runtime.services.reports.export_csv(datetime.now(UTC))
    assert CANARY not in export
    assert CANARY not in fake_slack.all_text()
    assert CANARY not in caplog.text
    with Session(engine) as session:
        assert CANARY not in json.dumps([r.model_dump(mode="json") for r in session.exec(select(OutcomeResponse))])

    # Its author alone reads it again, in their own survey form.
    fake_slack.reset_calls()
    press(slack, invite, CLOSING_SURVEY_ACTION, MENTEE)
    assert CANARY in json.dumps(fake_slack.calls_to("views.open")[-1].params["view"])
