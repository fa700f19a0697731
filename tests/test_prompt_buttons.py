"""The prompt DM buttons: snooze, ask for help, stop or resume reminders — once, and only for your own pair."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlmodel import Session, select

from bot.blocks.ids import (
    HELP_ACTION,
    RESUME_KIND_ACTION_PREFIX,
    RESUME_PROMPTS_ACTION,
    SNOOZE_ACTION,
    STOP_KIND_ACTION,
)
from bot.domain.models import HelpRequest, MemberState, Nudge, NudgeKind, Pair, PairStatus
from bot.store.checkins import as_utc
from tests.conftest import COORDINATOR, MENTEE, MENTOR, OTHER
from tests.factories import make_pair

PROMPT_CHANNEL = "DMENTEE1"
PROMPT_TS = "1700000050.000100"


@pytest.fixture
def pair(engine) -> Pair:
    with Session(engine, expire_on_commit=False) as session:
        made = make_pair(session)
        session.add(MemberState(pair_id=made.id, person_id=MENTEE, unanswered_prompts=2))
        session.commit()
        return made


def state_of(engine, pair_id: int, person: str = MENTEE) -> MemberState | None:
    with Session(engine) as session:
        return session.exec(select(MemberState).where(MemberState.pair_id == pair_id,
                                                      MemberState.person_id == person)).first()


def press(slack, action_id: str, value: str, user: str = MENTEE):
    return slack.block_action(user_id=user, action_id=action_id, value=value, channel_id=PROMPT_CHANNEL,
                              message_ts=PROMPT_TS)


def last_reply(fake_slack) -> dict:
    return fake_slack.responses[-1].params


def test_snooze_holds_prompts_for_three_days_and_replaces_the_buttons(slack, fake_slack, engine, pair):
    before = datetime.now(UTC)
    press(slack, SNOOZE_ACTION, str(pair.id))

    state = state_of(engine, pair.id)
    assert before + timedelta(days=3) <= as_utc(state.snoozed_until) <= datetime.now(UTC) + timedelta(days=3)
    assert state.unanswered_prompts == 0 and state.last_response_at is not None
    reply = last_reply(fake_slack)
    assert reply["replace_original"] is True
    assert "I'll ask again on" in reply["text"]
    assert "actions" not in json.dumps(reply["blocks"])


def test_a_second_snooze_press_does_not_extend_the_snooze(slack, fake_slack, engine, pair):
    with time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=UTC), tick=False):
        press(slack, SNOOZE_ACTION, str(pair.id))
    with time_machine.travel(datetime(2026, 11, 24, 10, 0, tzinfo=UTC), tick=False):
        press(slack, SNOOZE_ACTION, str(pair.id))
    assert as_utc(state_of(engine, pair.id).snoozed_until) == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert "Already snoozed" in last_reply(fake_slack)["text"]


def test_the_pressed_prompt_keeps_its_words_and_loses_its_buttons(slack, fake_slack, pair):
    question = {"type": "section", "text": {"type": "mrkdwn", "text": "How is it going with Maya?"}}
    buttons = {"type": "actions", "elements": [{"type": "button", "action_id": SNOOZE_ACTION, "value": str(pair.id)}]}
    slack.interaction({
        "type": "block_actions", "user": {"id": MENTEE}, "response_url": f"{slack.response_url}77",
        "actions": [{"type": "button", "action_id": SNOOZE_ACTION, "block_id": "b", "value": str(pair.id)}],
        "channel": {"id": PROMPT_CHANNEL},
        "container": {"type": "message", "channel_id": PROMPT_CHANNEL, "message_ts": PROMPT_TS},
        "message": {"ts": PROMPT_TS, "text": "How is it going?", "blocks": [question, buttons]},
    })
    reply = last_reply(fake_slack)
    assert reply["blocks"][0] == question
    assert all(block["type"] != "actions" for block in reply["blocks"])


def test_any_press_marks_the_nudge_it_answers(slack, engine, pair):
    with Session(engine) as session:
        session.add(Nudge(key="how:1", pair_id=pair.id, recipient=MENTEE, kind=NudgeKind.HOW_IS_IT_GOING,
                          period="2026-W47", status="sent", channel=PROMPT_CHANNEL, ts=PROMPT_TS))
        session.commit()
    press(slack, SNOOZE_ACTION, str(pair.id))
    with Session(engine) as session:
        assert session.exec(select(Nudge)).one().answered_at is not None


def test_help_tells_each_coordinator_which_pair_asked_and_nothing_else(slack, fake_slack, engine, pair):
    press(slack, HELP_ACTION, str(pair.id))

    with Session(engine) as session:
        [request] = session.exec(select(HelpRequest)).all()
    assert request.pair_id == pair.id and request.person_id == MENTEE
    [dm] = fake_slack.posted()
    assert dm["channel"] == "D" + COORDINATOR.lstrip("U")
    assert f"<@{MENTOR}>" in dm["text"] and f"<@{MENTEE}>" in dm["text"]
    assert state_of(engine, pair.id).unanswered_prompts == 0
    reply = last_reply(fake_slack)
    assert reply["replace_original"] is True and "A coordinator now knows" in reply["text"]


def test_a_second_help_press_within_a_day_asks_nobody_again(slack, fake_slack, engine, pair):
    with time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=UTC), tick=False):
        press(slack, HELP_ACTION, str(pair.id))
        press(slack, HELP_ACTION, str(pair.id), user=MENTOR)
    assert "already asked" in last_reply(fake_slack)["text"]
    with Session(engine) as session:
        assert len(session.exec(select(HelpRequest)).all()) == 1
    assert len(fake_slack.posted()) == 1
    with time_machine.travel(datetime(2026, 11, 24, 11, 0, tzinfo=UTC), tick=False):
        press(slack, HELP_ACTION, str(pair.id))
    with Session(engine) as session:
        assert len(session.exec(select(HelpRequest)).all()) == 2
    assert len(fake_slack.posted()) == 2


def test_help_that_reaches_no_coordinator_says_so(slack, fake_slack, engine, pair):
    fake_slack.fail("chat.postMessage", error="user_not_found")
    press(slack, HELP_ACTION, str(pair.id))
    assert "couldn't reach a coordinator" in last_reply(fake_slack)["text"]


def test_stop_kind_adds_that_kind_once_and_republishes_the_home(slack, fake_slack, engine, pair):
    press(slack, STOP_KIND_ACTION, f"{pair.id}:{NudgeKind.MEETING_PREP}")
    press(slack, STOP_KIND_ACTION, f"{pair.id}:{NudgeKind.MEETING_PREP}")
    press(slack, STOP_KIND_ACTION, f"{pair.id}:{NudgeKind.REFLECTION}")

    state = state_of(engine, pair.id)
    assert state.stopped_kinds == "meeting_prep,reflection"
    assert state.unanswered_prompts == 0
    assert "no more reflection prompts" in last_reply(fake_slack)["text"]
    assert {c.params["user_id"] for c in fake_slack.calls_to("views.publish")} == {MENTEE}


def test_resume_kind_from_the_home_tab_turns_it_back_on(slack, fake_slack, engine, pair):
    press(slack, STOP_KIND_ACTION, f"{pair.id}:{NudgeKind.MEETING_PREP}")
    fake_slack.reset_calls()
    slack.block_action(user_id=MENTEE, action_id=RESUME_KIND_ACTION_PREFIX + NudgeKind.MEETING_PREP,
                       value=f"{pair.id}:{NudgeKind.MEETING_PREP}",
                       view={"id": "VHOME", "type": "home"})
    assert state_of(engine, pair.id).stopped_kinds == ""
    [publish] = fake_slack.calls_to("views.publish")
    assert publish.params["user_id"] == MENTEE
    assert RESUME_KIND_ACTION_PREFIX not in json.dumps(publish.params["view"])


def test_resume_prompts_lifts_the_pause(slack, fake_slack, engine, pair):
    with Session(engine) as session:
        state = session.exec(select(MemberState)).one()
        state.unanswered_prompts = 3
        state.prompts_paused_at = datetime(2026, 11, 1, tzinfo=UTC)
        session.add(state)
        session.commit()
    press(slack, RESUME_PROMPTS_ACTION, str(pair.id))
    state = state_of(engine, pair.id)
    assert state.prompts_paused_at is None and state.unanswered_prompts == 0
    assert "back on" in last_reply(fake_slack)["text"]


@pytest.mark.parametrize(("action_id", "value", "user", "expected"), [
    (SNOOZE_ACTION, "abc", MENTEE, "doesn't point at a pair"),
    (SNOOZE_ACTION, "999", MENTEE, "no longer exists"),
    (SNOOZE_ACTION, "PAIR", OTHER, "not one of your pairs"),
    (HELP_ACTION, "", MENTEE, "doesn't point at a pair"),
    (HELP_ACTION, "PAIR", OTHER, "not one of your pairs"),
    (HELP_ACTION, "999", MENTEE, "no longer exists"),
    (STOP_KIND_ACTION, "PAIR", MENTEE, "kind of reminder I don't know"),
    (STOP_KIND_ACTION, "PAIR:bogus", MENTEE, "kind of reminder I don't know"),
    (STOP_KIND_ACTION, "x:meeting_prep", MENTEE, "doesn't point at a pair"),
    (STOP_KIND_ACTION, "PAIR:meeting_prep", OTHER, "not one of your pairs"),
    (RESUME_PROMPTS_ACTION, "1.5", MENTEE, "doesn't point at a pair"),
    (RESUME_PROMPTS_ACTION, "PAIR", OTHER, "not one of your pairs"),
    (RESUME_KIND_ACTION_PREFIX + "weekly_summary", "PAIR:weekly_summary", MENTEE, "kind of reminder I don't know"),
    (RESUME_KIND_ACTION_PREFIX + "meeting_prep", "999:meeting_prep", MENTEE, "no longer exists"),
])
def test_bad_button_values_get_an_ephemeral_answer_and_change_nothing(slack, fake_slack, engine, pair, action_id,
                                                                      value, user, expected):
    response = press(slack, action_id, value.replace("PAIR", str(pair.id)), user=user)
    assert response.status == 200
    reply = last_reply(fake_slack)
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    assert expected in reply["text"]
    state = state_of(engine, pair.id)
    assert (state.unanswered_prompts, state.snoozed_until, state.stopped_kinds) == (2, None, "")
    assert state_of(engine, pair.id, OTHER) is None
    with Session(engine) as session:
        assert session.exec(select(HelpRequest)).all() == []
    assert fake_slack.posted() == []


def test_a_home_tab_press_that_fails_is_answered_in_the_bots_dm(slack, fake_slack, pair):
    slack.interaction({
        "type": "block_actions", "user": {"id": OTHER},
        "actions": [{"type": "button", "action_id": RESUME_KIND_ACTION_PREFIX + "meeting_prep", "block_id": "b",
                     "value": f"{pair.id}:meeting_prep"}],
        "container": {"type": "view", "view_id": "VHOME"}, "view": {"id": "VHOME", "type": "home"},
    })
    [dm] = fake_slack.posted()
    assert dm["channel"] == "D" + OTHER.lstrip("U")
    assert "not one of your pairs" in dm["text"]


def test_an_ended_pair_cannot_be_snoozed(slack, fake_slack, engine):
    with Session(engine, expire_on_commit=False) as session:
        ended = make_pair(session, status=PairStatus.ENDED)
        session.commit()
    press(slack, SNOOZE_ACTION, str(ended.id))
    assert "has ended" in last_reply(fake_slack)["text"]
    assert state_of(engine, ended.id) is None


def _press_without_response_url(slack, pair: Pair, user: str, channel: str, ts: str) -> None:
    slack.interaction({
        "type": "block_actions", "user": {"id": user},
        "actions": [{"type": "button", "action_id": SNOOZE_ACTION, "block_id": "b", "value": str(pair.id)}],
        "channel": {"id": channel},
        "container": {"type": "message", "channel_id": channel, "message_ts": ts},
        "message": {"ts": ts, "text": "How is it going?", "blocks": []},
    })


def _record_prompt(engine, pair: Pair, recipient: str, channel: str, ts: str) -> None:
    with Session(engine) as session:
        session.add(Nudge(key=f"how:{recipient}", pair_id=pair.id, recipient=recipient,
                          kind=NudgeKind.HOW_IS_IT_GOING, period="2026-W47", status="sent", channel=channel, ts=ts))
        session.commit()


def test_without_a_response_url_the_prompt_is_updated_through_the_web_api(slack, fake_slack, engine, pair):
    _record_prompt(engine, pair, MENTEE, PROMPT_CHANNEL, PROMPT_TS)
    _press_without_response_url(slack, pair, MENTEE, PROMPT_CHANNEL, PROMPT_TS)
    [update] = fake_slack.calls_to("chat.update")
    assert (update.params["channel"], update.params["ts"]) == (PROMPT_CHANNEL, PROMPT_TS)
    assert "I'll ask again on" in update.params["text"]


def test_a_press_naming_another_members_prompt_does_not_update_it(slack, fake_slack, engine, pair):
    _record_prompt(engine, pair, MENTOR, "DMENTOR1", PROMPT_TS)
    _press_without_response_url(slack, pair, MENTEE, "DMENTOR1", PROMPT_TS)
    assert fake_slack.calls_to("chat.update") == []
    with Session(engine) as session:
        assert session.exec(select(Nudge)).one().answered_at is None
    [told] = [c for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == MENTEE]
    assert "I'll ask again on" in told.params["text"]
