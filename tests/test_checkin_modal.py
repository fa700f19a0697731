"""The check-in modal: opened from a prompt, the Home or the command; validated; stored encrypted; recapped."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlmodel import Session, select

from bot.blocks.ids import (
    CHECKIN_GOAL_BLOCK_PREFIX,
    CHECKIN_GOAL_INPUT,
    CHECKIN_MET_ON_BLOCK,
    CHECKIN_MET_ON_INPUT,
    CHECKIN_NEXT_BLOCK,
    CHECKIN_NEXT_INPUT,
    CHECKIN_OPEN_ACTION,
    CHECKIN_PRIVATE_BLOCK,
    CHECKIN_PRIVATE_INPUT,
    CHECKIN_RATING_BLOCK,
    CHECKIN_RATING_INPUT,
    CHECKIN_SHARED_BLOCK,
    CHECKIN_SHARED_INPUT,
    CHECKIN_VIEW,
)
from bot.domain.models import (
    CheckIn,
    Goal,
    GoalProgress,
    GoalStatus,
    MemberState,
    Nudge,
    NudgeKind,
    Pair,
    PairStatus,
    Phase,
    PrivateNote,
)
from tests.conftest import MENTEE, MENTOR, OTHER, SECOND_MENTEE
from tests.factories import make_goal, make_pair

PAIR_CHANNEL = "GPAIR0001"


def days_ago(n: int) -> date:
    return datetime.now(UTC).date() - timedelta(days=n)


def checkin_values(*, met_on: str | None = None, rating: str | None = "4", shared: str | None = "We planned the demo.",
                   private: str | None = None, next_on: str | None = None,
                   goals: dict[int, str] | None = None) -> dict[str, dict[str, Any]]:
    """Return a view's state values as Slack sends them for the check-in modal."""
    values: dict[str, dict[str, Any]] = {
        CHECKIN_MET_ON_BLOCK: {CHECKIN_MET_ON_INPUT: {"type": "datepicker",
                                                      "selected_date": met_on or days_ago(2).isoformat()}},
        CHECKIN_RATING_BLOCK: {CHECKIN_RATING_INPUT: {
            "type": "static_select",
            "selected_option": {"value": rating, "text": {"type": "plain_text", "text": str(rating)}}
            if rating is not None else None}},
        CHECKIN_SHARED_BLOCK: {CHECKIN_SHARED_INPUT: {"type": "plain_text_input", "value": shared}},
        CHECKIN_PRIVATE_BLOCK: {CHECKIN_PRIVATE_INPUT: {"type": "plain_text_input", "value": private}},
        CHECKIN_NEXT_BLOCK: {CHECKIN_NEXT_INPUT: {"type": "datepicker", "selected_date": next_on}},
    }
    for goal_id, progress in (goals or {}).items():
        values[f"{CHECKIN_GOAL_BLOCK_PREFIX}{goal_id}"] = {CHECKIN_GOAL_INPUT: {
            "type": "static_select", "selected_option": {"value": progress, "text": {"type": "plain_text",
                                                                                      "text": progress}}}}
    return values


def submit_checkin(slack, *, user_id: str, pair_id: int | str, **fields: Any):
    return slack.view_submission(user_id=user_id, callback_id=CHECKIN_VIEW, values=checkin_values(**fields),
                                 private_metadata=str(pair_id))


def body_of(response) -> dict[str, Any]:
    return json.loads(response.body) if response.body else {}


@pytest.fixture
def pair(engine) -> Pair:
    with Session(engine, expire_on_commit=False) as session:
        made = make_pair(session, phase=Phase.DIRECTION)
        session.commit()
        return made


@pytest.fixture
def goals(engine, pair) -> list[Goal]:
    with Session(engine, expire_on_commit=False) as session:
        made = [
            make_goal(session, pair, text="Give a conference talk", due_on=date(2027, 3, 1)),
            make_goal(session, pair, text="Lead a design review", due_on=None),
            make_goal(session, pair, text="Old goal", status=GoalStatus.ACHIEVED, achieved_on=date(2026, 2, 1)),
        ]
        session.commit()
        return made


def rows(engine, model):
    with Session(engine, expire_on_commit=False) as session:
        return list(session.exec(select(model)))


def test_we_met_button_opens_the_modal_for_that_pair_with_its_open_goals(slack, fake_slack, pair, goals):
    slack.block_action(user_id=MENTEE, action_id=CHECKIN_OPEN_ACTION, value=str(pair.id), channel_id="DMENTEE",
                       message_ts="1700000001.000100")

    [call] = fake_slack.calls_to("views.open")
    view = call.params["view"]
    assert view["callback_id"] == CHECKIN_VIEW
    assert view["private_metadata"] == str(pair.id)  # no prompt of theirs at that message: nothing to mark done
    block_ids = [b.get("block_id") for b in view["blocks"]]
    assert f"{CHECKIN_GOAL_BLOCK_PREFIX}{goals[0].id}" in block_ids
    assert f"{CHECKIN_GOAL_BLOCK_PREFIX}{goals[1].id}" in block_ids
    assert f"{CHECKIN_GOAL_BLOCK_PREFIX}{goals[2].id}" not in block_ids  # achieved goals are not asked about
    assert "Give a conference talk (due 2027-03-01)" in json.dumps(view)
    assert fake_slack.responses == []  # the prompt keeps its buttons until the check-in is saved


def test_modal_date_defaults_to_today_in_the_authors_own_zone(slack, fake_slack, pair):
    # 20:00 UTC on 22 Nov is already 23 Nov in Tokyo (the mentee) and still 22 Nov in Los Angeles (the mentor).
    with time_machine.travel(datetime(2026, 11, 22, 20, 0, tzinfo=UTC), tick=True):
        slack.block_action(user_id=MENTEE, action_id=CHECKIN_OPEN_ACTION, value=str(pair.id))
        slack.block_action(user_id=MENTOR, action_id=CHECKIN_OPEN_ACTION, value=str(pair.id))
    mentee_view, mentor_view = (c.params["view"] for c in fake_slack.calls_to("views.open"))

    def initial(view):
        return next(b for b in view["blocks"] if b.get("block_id") == CHECKIN_MET_ON_BLOCK)["element"]["initial_date"]

    assert initial(mentee_view) == "2026-11-23"
    assert initial(mentor_view) == "2026-11-22"


def test_saving_a_checkin_stores_it_encrypted_updates_goals_and_recaps_to_the_pair(
        slack, fake_slack, engine, runtime, pair, goals):
    with Session(engine, expire_on_commit=False) as session:
        session.add(MemberState(pair_id=pair.id, person_id=MENTEE, unanswered_prompts=2))
        session.commit()
    next_on = days_ago(-12).isoformat()

    response = submit_checkin(slack, user_id=MENTEE, pair_id=pair.id, rating="5",
                              shared="We rehearsed the talk outline.", private="I feel nervous about it.",
                              next_on=next_on, goals={goals[0].id: "done", goals[1].id: "some_progress"})

    assert response.status == 200 and body_of(response) == {}
    [checkin] = rows(engine, CheckIn)
    cipher = runtime.services.ctx.cipher
    assert checkin.rating == 5 and checkin.met_on == days_ago(2) and checkin.author_id == MENTEE
    assert "rehearsed" not in checkin.shared_text_enc
    assert cipher.decrypt(checkin.shared_text_enc) == "We rehearsed the talk outline."
    [note] = rows(engine, PrivateNote)
    assert note.author_id == MENTEE and "nervous" not in note.text_enc
    assert cipher.decrypt(note.text_enc) == "I feel nervous about it."
    progress = {p.goal_id: p.progress for p in rows(engine, GoalProgress)}
    assert progress == {goals[0].id: "done", goals[1].id: "some_progress"}
    stored_goals = {g.id: g for g in rows(engine, Goal)}
    assert stored_goals[goals[0].id].status == GoalStatus.ACHIEVED
    assert stored_goals[goals[0].id].achieved_on == days_ago(2)
    assert stored_goals[goals[1].id].status == GoalStatus.OPEN
    [stored_pair] = rows(engine, Pair)
    assert stored_pair.phase == Phase.PROGRESSION
    [state] = rows(engine, MemberState)
    assert state.unanswered_prompts == 0 and state.last_response_at is not None

    [recap] = fake_slack.posted(PAIR_CHANNEL)
    recap_text = json.dumps(recap)
    assert days_ago(2).isoformat() in recap_text and next_on in recap_text
    assert "We rehearsed the talk outline." in recap_text
    assert "Give a conference talk" in recap_text  # achieved goals are celebrated
    # The author's own Home is the only place the private note may appear.
    carriers = [c for c in fake_slack.calls + fake_slack.responses if "nervous" in json.dumps(c.params)]
    assert [(c.method, c.params.get("user_id")) for c in carriers] == [("views.publish", MENTEE)]
    [thanks] = fake_slack.posted("DMENTEE1")
    assert "logged" in thanks["text"]
    assert [c.params["user_id"] for c in fake_slack.calls_to("views.publish")] == [MENTEE]


def test_a_checkin_without_next_meeting_or_note_is_fine_and_a_rapport_pair_keeps_its_phase(slack, fake_slack,
                                                                                          engine):
    with Session(engine, expire_on_commit=False) as session:
        rapport = make_pair(session, phase=Phase.RAPPORT)
        session.commit()
    submit_checkin(slack, user_id=MENTOR, pair_id=rapport.id)
    assert len(rows(engine, CheckIn)) == 1
    assert rows(engine, PrivateNote) == []
    assert rows(engine, Pair)[0].phase == Phase.RAPPORT
    assert "No next meeting set yet." in json.dumps(fake_slack.posted(PAIR_CHANNEL))


def test_a_direction_pair_without_goals_stays_in_direction(slack, engine, pair):
    submit_checkin(slack, user_id=MENTOR, pair_id=pair.id)
    assert rows(engine, Pair)[0].phase == Phase.DIRECTION


@pytest.mark.parametrize(
    ("fields", "block_id"),
    [
        ({"met_on": days_ago(-3).isoformat()}, CHECKIN_MET_ON_BLOCK),
        ({"met_on": "2025-12-31"}, CHECKIN_MET_ON_BLOCK),  # the pair began on 2026-01-05
        ({"met_on": "not-a-date"}, CHECKIN_MET_ON_BLOCK),
        ({"rating": None}, CHECKIN_RATING_BLOCK),
        ({"rating": "9"}, CHECKIN_RATING_BLOCK),
        ({"shared": "   "}, CHECKIN_SHARED_BLOCK),
        ({"shared": "x" * 2001}, CHECKIN_SHARED_BLOCK),
        ({"private": "y" * 2001}, CHECKIN_PRIVATE_BLOCK),
        ({"next_on": days_ago(2).isoformat()}, CHECKIN_NEXT_BLOCK),
        ({"next_on": days_ago(5).isoformat()}, CHECKIN_NEXT_BLOCK),
        ({"next_on": "31/12/2026"}, CHECKIN_NEXT_BLOCK),
    ],
)
def test_invalid_fields_are_answered_on_their_block_and_nothing_is_stored(slack, fake_slack, engine, pair, goals,
                                                                          fields, block_id):
    response = submit_checkin(slack, user_id=MENTEE, pair_id=pair.id,
                              **{"private": "secret words", "goals": {goals[0].id: "done"}, **fields})

    body = body_of(response)
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == [block_id]
    assert body["errors"][block_id]
    assert rows(engine, CheckIn) == [] and rows(engine, PrivateNote) == [] and rows(engine, GoalProgress) == []
    assert {g.status for g in rows(engine, Goal) if g.id == goals[0].id} == {GoalStatus.OPEN}
    assert fake_slack.posted() == []


def test_every_invalid_field_is_reported_at_once(slack, engine, pair):
    response = submit_checkin(slack, user_id=MENTEE, pair_id=pair.id, met_on=days_ago(-3).isoformat(), rating=None,
                              shared="")
    assert set(body_of(response)["errors"]) == {CHECKIN_MET_ON_BLOCK, CHECKIN_RATING_BLOCK, CHECKIN_SHARED_BLOCK}
    assert rows(engine, CheckIn) == []


def test_a_goal_of_another_pair_or_a_removed_goal_is_refused(slack, engine, pair):
    with Session(engine, expire_on_commit=False) as session:
        other = make_pair(session, mentor_id=MENTOR, mentee_id=SECOND_MENTEE, channel_id="GPAIR0002")
        foreign = make_goal(session, other, text="Not yours")
        session.commit()
    response = submit_checkin(slack, user_id=MENTEE, pair_id=pair.id, goals={foreign.id: "done", 99999: "on_track"})
    body = body_of(response)
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {f"{CHECKIN_GOAL_BLOCK_PREFIX}{foreign.id}", f"{CHECKIN_GOAL_BLOCK_PREFIX}99999"}
    assert rows(engine, CheckIn) == []
    assert {g.status for g in rows(engine, Goal)} == {GoalStatus.OPEN}


@pytest.mark.parametrize("metadata", ["999", "", "not json", '{"pair": "x"}'])
def test_submission_for_a_missing_pair_or_with_a_broken_form_is_answered_in_the_modal(slack, engine, pair, metadata):
    response = slack.view_submission(user_id=MENTEE, callback_id=CHECKIN_VIEW, values=checkin_values(),
                                     private_metadata=metadata)
    body = body_of(response)
    assert body["response_action"] == "update"
    assert ":warning:" in json.dumps(body["view"])
    assert rows(engine, CheckIn) == []


def test_submission_by_someone_outside_the_pair_stores_nothing(slack, fake_slack, engine, pair):
    response = submit_checkin(slack, user_id=OTHER, pair_id=pair.id)
    assert "not one of your pairs" in json.dumps(body_of(response)["view"])
    assert rows(engine, CheckIn) == []
    assert fake_slack.posted() == []


@pytest.mark.parametrize(("value", "user", "expected"), [
    ("abc", MENTEE, "doesn't point at a pair"),
    ("", MENTEE, "doesn't point at a pair"),
    ("424242", MENTEE, "no longer exists"),
    ("PAIR", OTHER, "not one of your pairs"),
])
def test_we_met_button_with_a_bad_value_gets_an_ephemeral_answer(slack, fake_slack, pair, value, user, expected):
    slack.block_action(user_id=user, action_id=CHECKIN_OPEN_ACTION, value=value.replace("PAIR", str(pair.id)),
                       channel_id="DX", message_ts="1.0")
    assert fake_slack.calls_to("views.open") == []
    [reply] = fake_slack.responses
    assert reply.params["response_type"] == "ephemeral" and reply.params["replace_original"] is False
    assert expected in reply.params["text"]


def test_an_ended_pair_cannot_log_a_checkin(slack, fake_slack, engine):
    with Session(engine, expire_on_commit=False) as session:
        ended = make_pair(session, status=PairStatus.ENDED, phase=Phase.ENDED)
        session.commit()
    slack.block_action(user_id=MENTEE, action_id=CHECKIN_OPEN_ACTION, value=str(ended.id), channel_id="DX")
    assert fake_slack.calls_to("views.open") == []
    assert "has ended" in fake_slack.responses[-1].params["text"]
    response = submit_checkin(slack, user_id=MENTEE, pair_id=ended.id)
    assert body_of(response)["response_action"] == "update"
    assert rows(engine, CheckIn) == []


def test_saving_from_a_prompt_replaces_that_prompts_buttons_and_marks_the_nudge_answered(slack, fake_slack, engine,
                                                                                        pair):
    with Session(engine, expire_on_commit=False) as session:
        session.add(Nudge(key="k1", pair_id=pair.id, recipient=MENTEE, kind=NudgeKind.HOW_IS_IT_GOING, period="p",
                          status="sent", channel="DMENTEE1", ts="1700000009.000100"))
        session.commit()
    slack.block_action(user_id=MENTEE, action_id=CHECKIN_OPEN_ACTION, value=str(pair.id), channel_id="DMENTEE1",
                       message_ts="1700000009.000100")
    metadata = fake_slack.calls_to("views.open")[0].params["view"]["private_metadata"]

    slack.view_submission(user_id=MENTEE, callback_id=CHECKIN_VIEW, values=checkin_values(), private_metadata=metadata)

    [update] = fake_slack.calls_to("chat.update")
    assert update.params["channel"] == "DMENTEE1" and update.params["ts"] == "1700000009.000100"
    assert "actions" not in json.dumps(update.params["blocks"])
    assert rows(engine, Nudge)[0].answered_at is not None


def test_a_checkin_opened_naming_another_members_prompt_leaves_that_prompt_alone(slack, fake_slack, engine, pair):
    with Session(engine, expire_on_commit=False) as session:
        session.add(Nudge(key="k1", pair_id=pair.id, recipient=MENTOR, kind=NudgeKind.HOW_IS_IT_GOING, period="p",
                          status="sent", channel="DMENTOR1", ts="1700000009.000100"))
        session.commit()
    slack.block_action(user_id=MENTEE, action_id=CHECKIN_OPEN_ACTION, value=str(pair.id), channel_id="DMENTOR1",
                       message_ts="1700000009.000100")
    metadata = fake_slack.calls_to("views.open")[0].params["view"]["private_metadata"]
    assert metadata == str(pair.id)

    slack.view_submission(user_id=MENTEE, callback_id=CHECKIN_VIEW, values=checkin_values(), private_metadata=metadata)

    assert len(rows(engine, CheckIn)) == 1
    assert fake_slack.calls_to("chat.update") == []
    assert rows(engine, Nudge)[0].answered_at is None


def test_a_failed_recap_still_saves_and_tells_the_author(slack, fake_slack, engine, pair):
    fake_slack.fail("chat.postMessage", error="channel_not_found")
    submit_checkin(slack, user_id=MENTEE, pair_id=pair.id)
    assert len(rows(engine, CheckIn)) == 1
    [thanks] = fake_slack.posted("DMENTEE1")
    assert "couldn't post the recap" in thanks["text"]


def test_the_checkin_command_opens_the_same_modal(slack, fake_slack, pair):
    slack.command("checkin", user_id=MENTOR, trigger_id="trigger.cmd")
    [call] = fake_slack.calls_to("views.open")
    assert call.params["trigger_id"] == "trigger.cmd"
    assert call.params["view"]["callback_id"] == CHECKIN_VIEW
    assert call.params["view"]["private_metadata"] == str(pair.id)


def test_the_home_tabs_log_button_opens_the_modal_without_a_prompt_to_update(slack, fake_slack, engine, pair):
    slack.block_action(user_id=MENTEE, action_id=CHECKIN_OPEN_ACTION, value=str(pair.id),
                       view={"id": "VHOME", "type": "home"})
    [call] = fake_slack.calls_to("views.open")
    assert call.params["view"]["private_metadata"] == str(pair.id)
    slack.view_submission(user_id=MENTEE, callback_id=CHECKIN_VIEW, values=checkin_values(),
                          private_metadata=call.params["view"]["private_metadata"])
    assert len(rows(engine, CheckIn)) == 1
    assert fake_slack.calls_to("chat.update") == []


def test_a_pair_with_very_many_goals_still_gets_a_modal_within_slacks_limit(slack, fake_slack, engine, pair):
    with Session(engine) as session:
        for n in range(150):
            make_goal(session, pair, text=f"Goal number {n}")
        session.commit()
    slack.block_action(user_id=MENTEE, action_id=CHECKIN_OPEN_ACTION, value=str(pair.id))
    view = fake_slack.calls_to("views.open")[0].params["view"]
    assert len(view["blocks"]) <= 100
    block_ids = [b["block_id"] for b in view["blocks"] if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))
    assert "more goals" in json.dumps(view)
