"""Sign-up: the topic list, joining from a command or the Home tab, editing and leaving — and every bad input."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from bot.blocks.ids import (
    HOME_JOIN_BLOCK,
    PROFILE_BLOCKED_BLOCK,
    PROFILE_CAPACITY_BLOCK,
    PROFILE_JOIN_ACTION,
    PROFILE_OFFERED_BLOCK,
    PROFILE_QUESTIONS_BLOCK,
    PROFILE_ROLE_BLOCK,
    PROFILE_VIEW,
    PROFILE_WANTED_BLOCK,
)
from bot.domain.models import MatchProposal, Profile, ProfileBlock, ProfileTopic, ProposalStatus, Topic
from tests.conftest import COORDINATOR, OTHER
from tests.matching_helpers import (
    MAYA,
    THEO,
    add_people,
    add_topics,
    body_of,
    element,
    join,
    last_reply,
    opened_view,
    profile_values,
    topic_ids,
)


@pytest.fixture(autouse=True)
def _people(fake_slack):
    add_people(fake_slack)


def _profiles(engine) -> list[Profile]:
    with Session(engine) as session:
        return list(session.exec(select(Profile).order_by(Profile.person_id)))


def _topics(engine) -> list[str]:
    with Session(engine) as session:
        return [t.name for t in session.exec(select(Topic).order_by(Topic.key))]


# ---- the topic list -----------------------------------------------------------------------------------


def test_a_coordinator_adds_lists_and_removes_topics(slack, fake_slack, engine):
    add_topics(slack)
    assert _topics(engine) == ["data engineering", "design reviews", "leadership", "public speaking"]
    slack.command("topics remove Leadership", user_id=COORDINATOR)
    assert "Removed “leadership”" in last_reply(fake_slack)["text"]
    slack.command("topics", user_id=OTHER)
    assert "data engineering, design reviews, public speaking" in last_reply(fake_slack)["text"]


@pytest.mark.parametrize(
    ("text", "user", "says"),
    [
        ("topics add design", OTHER, "Only coordinators can change the topic list"),
        ("topics add", COORDINATOR, "Name the topic to add"),
        ("topics rename x", COORDINATOR, "“topics add <name>”"),
        ("topics add " + "x" * 76, COORDINATOR, "keep it to 75"),
        ("topics add *bold*", COORDINATOR, "plain words"),
        (f"topics add <@{MAYA}>", COORDINATOR, "not a person"),
        ("topics add Design  Reviews", COORDINATOR, "already on the topic list"),
        ("topics remove cooking", COORDINATOR, "not on the topic list"),
    ],
)
def test_a_bad_topic_command_is_refused_and_nothing_changes(slack, fake_slack, engine, text, user, says):
    slack.command("topics add design reviews", user_id=COORDINATOR)
    slack.command(text, user_id=user)
    reply = last_reply(fake_slack)
    assert reply["response_type"] == "ephemeral"
    assert says in reply["text"]
    assert _topics(engine) == ["design reviews"]


def test_the_topic_list_stops_at_what_a_menu_can_show(slack, fake_slack, engine):
    with Session(engine) as session:
        session.add_all(Topic(name=f"topic {i}", key=f"topic {i}") for i in range(100))
        session.commit()
    slack.command("topics add one more", user_id=COORDINATOR)
    assert "The topic list is full (100 topics" in last_reply(fake_slack)["text"]
    assert len(_topics(engine)) == 100


# ---- joining --------------------------------------------------------------------------------------


def test_join_opens_the_profile_form_with_the_topic_list(slack, fake_slack):
    add_topics(slack)
    slack.command("join", user_id=MAYA)
    view = opened_view(fake_slack)
    assert view["callback_id"] == PROFILE_VIEW
    assert view["submit"]["text"] == "Join"
    assert set(topic_ids(view)) == {"design reviews", "public speaking", "data engineering", "leadership"}
    assert [o["value"] for o in element(view, PROFILE_ROLE_BLOCK)["options"]] == ["mentor", "mentee", "either"]
    assert element(view, PROFILE_CAPACITY_BLOCK)["initial_option"]["value"] == "1"
    assert element(view, PROFILE_BLOCKED_BLOCK)["type"] == "multi_users_select"
    assert "shown to nobody" in json.dumps(view) or "Nobody sees this list" in json.dumps(view)


def test_joining_saves_the_profile_with_the_zone_from_slack_and_confirms_in_a_dm(slack, fake_slack, engine):
    add_topics(slack)
    response = join(slack, fake_slack, MAYA, role="mentor", offered=("design reviews", "public speaking"),
                    strengths="Ten years of design reviews", capacity="2", blocked=(THEO,))
    assert body_of(response) == {}
    [profile] = _profiles(engine)
    assert (profile.person_id, profile.role, profile.capacity, profile.in_pool) == (MAYA, "mentor", 2, True)
    assert profile.strengths == "Ten years of design reviews"
    with Session(engine) as session:
        assert len(session.exec(select(ProfileTopic)).all()) == 2
        assert [b.blocked_id for b in session.exec(select(ProfileBlock))] == [THEO]
        from bot.domain.models import Person
        assert session.get(Person, MAYA).tz == "Europe/London"
    [dm] = fake_slack.posted("D" + MAYA.lstrip("U"))
    assert "You're in the mentoring program's pool as mentor" in dm["text"]
    assert "Nobody" not in dm["text"] and THEO not in json.dumps(dm)


def test_the_home_tab_offers_joining_to_people_not_in_the_pool_only(slack, fake_slack):
    add_topics(slack)
    slack.event({"type": "app_home_opened", "user": MAYA, "tab": "home"})
    home = fake_slack.calls_to("views.publish")[-1].params["view"]
    [join_block] = [b for b in home["blocks"] if b.get("block_id") == HOME_JOIN_BLOCK]
    assert join_block["elements"][0]["action_id"] == PROFILE_JOIN_ACTION
    assert join_block["elements"][0]["text"]["text"] == "Join the mentoring program"

    slack.block_action(user_id=MAYA, action_id=PROFILE_JOIN_ACTION, value="join")
    assert opened_view(fake_slack)["callback_id"] == PROFILE_VIEW
    slack.view_submission(user_id=MAYA, callback_id=PROFILE_VIEW,
                          values=profile_values(topic_ids(opened_view(fake_slack)), role="mentor",
                                                offered=("leadership",)))
    home = fake_slack.calls_to("views.publish")[-1].params["view"]
    assert not [b for b in home["blocks"] if b.get("block_id") == HOME_JOIN_BLOCK]


def test_profile_reopens_the_form_pre_filled_and_saves_the_edit(slack, fake_slack, engine):
    add_topics(slack)
    join(slack, fake_slack, THEO, role="mentee", wanted=("design reviews",), questions="How do I run a review?",
         blocked=(MAYA,))
    slack.command("profile", user_id=THEO)
    view = opened_view(fake_slack)
    assert view["submit"]["text"] == "Save"
    assert element(view, PROFILE_ROLE_BLOCK)["initial_option"]["value"] == "mentee"
    assert [o["text"]["text"] for o in element(view, PROFILE_WANTED_BLOCK)["initial_options"]] == ["design reviews"]
    assert element(view, PROFILE_QUESTIONS_BLOCK)["initial_value"] == "How do I run a review?"
    assert element(view, PROFILE_BLOCKED_BLOCK)["initial_users"] == [MAYA]

    slack.view_submission(user_id=THEO, callback_id=PROFILE_VIEW, values=profile_values(
        topic_ids(view), role="either", offered=("leadership",), wanted=("public speaking",),
        questions="How do I speak up?"))
    [profile] = _profiles(engine)
    assert (profile.role, profile.questions) == ("either", "How do I speak up?")
    with Session(engine) as session:
        assert session.exec(select(ProfileBlock)).all() == []
        assert sorted(t.kind for t in session.exec(select(ProfileTopic))) == ["offered", "wanted"]


@pytest.mark.parametrize(
    ("fields", "block_id", "says"),
    [
        ({"role": ""}, PROFILE_ROLE_BLOCK, "Pick mentor, mentee or either"),
        ({"role": "boss"}, PROFILE_ROLE_BLOCK, "Pick mentor, mentee or either"),
        ({"role": "mentor"}, PROFILE_OFFERED_BLOCK, "at least one topic you can help with"),
        ({"role": "mentee"}, PROFILE_WANTED_BLOCK, "at least one topic you want help with"),
        ({"role": "mentor", "raw_offered": ["999"]}, PROFILE_OFFERED_BLOCK, "no longer on the list"),
        ({"role": "mentor", "raw_offered": ["x1"]}, PROFILE_OFFERED_BLOCK, "no longer on the list"),
        ({"role": "mentee", "wanted": ("leadership",), "questions": "q" * 1001}, PROFILE_QUESTIONS_BLOCK,
         "1000 characters"),
        ({"role": "mentor", "offered": ("leadership",), "strengths": "s" * 1001}, "profile_strengths",
         "1000 characters"),
        ({"role": "mentor", "offered": ("leadership",), "capacity": "6"}, PROFILE_CAPACITY_BLOCK, "from 1 to 5"),
        ({"role": "mentor", "offered": ("leadership",), "capacity": "0"}, PROFILE_CAPACITY_BLOCK, "from 1 to 5"),
        ({"role": "mentor", "offered": ("leadership",), "capacity": "two"}, PROFILE_CAPACITY_BLOCK, "from 1 to 5"),
        ({"role": "mentee", "wanted": ("leadership",), "blocked": (MAYA,)}, PROFILE_BLOCKED_BLOCK, "yourself"),
        ({"role": "mentee", "wanted": ("leadership",), "blocked": tuple(f"U{i:05d}" for i in range(21))},
         PROFILE_BLOCKED_BLOCK, "at most 20"),
    ],
)
def test_a_bad_profile_is_answered_in_the_modal_and_nothing_is_saved(slack, fake_slack, engine, fields, block_id,
                                                                       says):
    add_topics(slack)
    response = join(slack, fake_slack, MAYA, **fields)
    body = body_of(response)
    assert body["response_action"] == "errors"
    assert says in body["errors"][block_id]
    assert _profiles(engine) == []
    assert fake_slack.posted("D" + MAYA.lstrip("U")) == []


def test_join_before_any_topic_exists_says_to_ask_a_coordinator(slack, fake_slack):
    slack.command("join", user_id=MAYA)
    assert "no topics yet" in last_reply(fake_slack)["text"]
    assert fake_slack.calls_to("views.open") == []


@pytest.mark.parametrize(("text", "says"), [("profile", "haven't joined"), ("leave", "not in the mentoring program"),
                                            ("join now", "takes nothing after it")])
def test_profile_and_leave_before_joining_are_refused(slack, fake_slack, text, says):
    add_topics(slack)
    slack.command(text, user_id=MAYA)
    assert says in last_reply(fake_slack)["text"]
    assert fake_slack.calls_to("views.open") == []


def test_when_slack_cannot_open_the_form_the_person_is_told(slack, fake_slack, engine):
    add_topics(slack)
    fake_slack.fail("views.open", error="expired_trigger_id")
    slack.command("join", user_id=MAYA)
    assert "couldn't open the profile form (Slack said expired_trigger_id)" in last_reply(fake_slack)["text"]
    assert _profiles(engine) == []


def test_leave_takes_someone_out_of_the_pool_and_withdraws_their_proposals(slack, fake_slack, engine):
    add_topics(slack)
    join(slack, fake_slack, MAYA, role="mentor", offered=("leadership",))
    join(slack, fake_slack, THEO, role="mentee", wanted=("leadership",))
    slack.command("match", user_id=COORDINATOR)
    slack.command("leave", user_id=THEO)
    assert "You've left the mentoring program's pool" in last_reply(fake_slack)["text"]
    assert [p.in_pool for p in _profiles(engine)] == [True, False]
    with Session(engine) as session:
        assert [p.status for p in session.exec(select(MatchProposal))] == [ProposalStatus.WITHDRAWN]
    slack.command("join", user_id=THEO)
    assert opened_view(fake_slack)["submit"]["text"] == "Join"
