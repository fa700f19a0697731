"""The App Home, published on `app_home_opened`: a member's pairs; a coordinator's program overview."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from bot.blocks import MAX_VIEW_BLOCKS
from bot.blocks.ids import CHECKIN_OPEN_ACTION, RESUME_KIND_ACTION_PREFIX, RESUME_PROMPTS_ACTION
from bot.domain.models import GoalStatus, MemberState, NudgeKind, PairStatus, Phase, WorkspaceFlag
from bot.domain.phases import phase_guidance
from tests.conftest import COORDINATOR, MENTEE, MENTOR, OTHER, SECOND_MENTEE
from tests.factories import make_checkin, make_goal, make_pair, make_person


def today():
    return datetime.now(UTC).date()


def open_home(slack, fake_slack, user_id: str) -> dict:
    fake_slack.reset_calls()
    slack.event({"type": "app_home_opened", "user": user_id, "channel": "D0HOME", "tab": "home"})
    [call] = fake_slack.calls_to("views.publish")
    assert call.params["user_id"] == user_id
    view = call.params["view"]
    assert view["type"] == "home" and len(view["blocks"]) <= MAX_VIEW_BLOCKS
    return view


def buttons(view: dict) -> list[tuple[str, str]]:
    return [(e["action_id"], e.get("value", "")) for b in view["blocks"] if b["type"] == "actions"
            for e in b["elements"]]


@pytest.fixture
def program(engine, runtime):
    """One progressing pair with goals and check-ins by both members, plus a silent pair."""
    cipher = runtime.services.ctx.cipher
    with Session(engine, expire_on_commit=False) as session:
        pair = make_pair(session, phase=Phase.PROGRESSION, started_on=today() - timedelta(days=60))
        make_goal(session, pair, text="Give a *conference* talk", due_on=today() + timedelta(days=40))
        make_goal(session, pair, text="Finished goal", status=GoalStatus.ACHIEVED, achieved_on=today())
        make_checkin(session, pair, cipher, author_id=MENTEE, met_on=today() - timedelta(days=3), rating=4,
                     shared_text="Mentee shared words", private_note="mentee-only thoughts",
                     next_meeting_on=today() + timedelta(days=11))
        make_checkin(session, pair, cipher, author_id=MENTOR, met_on=today() - timedelta(days=10), rating=3,
                     shared_text="Mentor shared words", private_note="mentor-only thoughts")
        silent = make_pair(session, mentee_id=SECOND_MENTEE, channel_id="GPAIR0002", phase=Phase.RAPPORT,
                           started_on=today() - timedelta(days=90))
        session.commit()
        return pair, silent


def test_a_members_home_shows_each_pair_with_phase_meetings_goals_and_a_checkin_button(slack, fake_slack, program):
    pair, _ = program
    view = open_home(slack, fake_slack, MENTEE)
    text = json.dumps(view, ensure_ascii=False)

    assert f"<@{MENTOR}>" in text and "you are the mentee" in text
    assert "Progression" in text and phase_guidance(Phase.PROGRESSION) in text
    # Relative days count from today in the viewer's own zone (the mentee is in Tokyo).
    local = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    met, upcoming = today() - timedelta(days=3), today() + timedelta(days=11)
    assert f"*Last meeting:* {met.isoformat()} ({(local - met).days} days ago)" in text
    assert f"*Next meeting:* {upcoming.isoformat()} ({(upcoming - local).days} days from now)" in text
    assert f"due {(today() + timedelta(days=40)).isoformat()}" in text
    assert "Give a *\u200bconference*\u200b talk" in text  # user text is escaped
    assert "Finished goal" not in text
    assert (CHECKIN_OPEN_ACTION, str(pair.id)) in buttons(view)
    assert "Program overview" not in text


def test_a_member_sees_their_own_private_notes_and_never_their_partners(slack, fake_slack, program):
    mentee_home = json.dumps(open_home(slack, fake_slack, MENTEE))
    assert "mentee-only thoughts" in mentee_home and "Mentee shared words" in mentee_home
    assert "mentor-only thoughts" not in mentee_home

    mentor_home = json.dumps(open_home(slack, fake_slack, MENTOR))
    assert "mentor-only thoughts" in mentor_home
    assert "mentee-only thoughts" not in mentor_home


def test_stopped_reminder_kinds_are_listed_with_a_resume_button_each(slack, fake_slack, engine, program):
    pair, _ = program
    with Session(engine) as session:
        session.add(MemberState(pair_id=pair.id, person_id=MENTEE, prompts_paused_at=datetime.now(UTC),
                                stopped_kinds=f"{NudgeKind.MEETING_PREP},{NudgeKind.REFLECTION}"))
        session.commit()
    view = open_home(slack, fake_slack, MENTEE)
    assert (RESUME_KIND_ACTION_PREFIX + "meeting_prep", f"{pair.id}:meeting_prep") in buttons(view)
    assert (RESUME_KIND_ACTION_PREFIX + "reflection", f"{pair.id}:reflection") in buttons(view)
    assert (RESUME_PROMPTS_ACTION, str(pair.id)) in buttons(view)
    # The partner's settings are theirs alone.
    assert not [b for b in buttons(open_home(slack, fake_slack, MENTOR)) if b[0].startswith(RESUME_KIND_ACTION_PREFIX)]


def test_a_coordinator_sees_phases_and_pairs_at_risk_but_no_words(slack, fake_slack, program):
    view = open_home(slack, fake_slack, COORDINATOR)
    text = json.dumps(view, ensure_ascii=False)
    assert "Program overview" in text
    assert "*Active pairs:* 2" in text and "Rapport 1" in text and "Progression 1" in text
    assert f"<@{MENTOR}> & <@{SECOND_MENTEE}> — 90 days since the last check-in" in text
    assert f"<@{MENTEE}> — " not in text  # the healthy pair is not listed at risk
    assert "average rating: —" in text  # two pairs are too few to show an average
    for words in ("shared words", "only thoughts", "conference"):
        assert words not in text


def test_the_average_rating_shows_once_three_pairs_have_rated(slack, fake_slack, engine, runtime):
    cipher = runtime.services.ctx.cipher
    with Session(engine) as session:
        for n, rating in enumerate((2, 4, 5)):
            mentee = f"UMENTEEX{n}"
            make_person(session, mentee)
            pair = make_pair(session, mentee_id=mentee, channel_id=f"GX{n}")
            make_checkin(session, pair, cipher, author_id=mentee, met_on=today() - timedelta(days=2), rating=rating)
        session.commit()
    assert "average rating: 3.7" in json.dumps(open_home(slack, fake_slack, COORDINATOR))


def test_the_quiet_switch_is_visible_on_the_home(slack, fake_slack, engine, program):
    with Session(engine) as session:
        session.add(WorkspaceFlag(name="quiet", value="on", updated_by=COORDINATOR))
        session.commit()
    assert "Quiet mode is on" in json.dumps(open_home(slack, fake_slack, COORDINATOR))
    assert "Quiet mode is on" in json.dumps(open_home(slack, fake_slack, MENTEE))


def test_the_quiet_notice_is_absent_when_the_switch_is_off(slack, fake_slack, engine, program):
    with Session(engine) as session:
        session.add(WorkspaceFlag(name="quiet", value="off", updated_by=COORDINATOR))
        session.commit()
    assert "Quiet mode is on" not in json.dumps(open_home(slack, fake_slack, COORDINATOR))


def test_someone_in_no_pair_is_told_how_pairs_begin(slack, fake_slack, program):
    assert "not in a mentoring pair yet" in json.dumps(open_home(slack, fake_slack, OTHER))


def test_ended_pairs_are_not_shown(slack, fake_slack, engine):
    with Session(engine) as session:
        make_pair(session, status=PairStatus.ENDED, phase=Phase.ENDED)
        session.commit()
    assert "not in a mentoring pair yet" in json.dumps(open_home(slack, fake_slack, MENTEE))


def test_opening_the_messages_tab_publishes_nothing(slack, fake_slack, program):
    slack.event({"type": "app_home_opened", "user": MENTEE, "channel": "D0HOME", "tab": "messages"})
    assert fake_slack.calls_to("views.publish") == []


def test_a_program_of_500_pairs_fits_the_coordinators_home(slack, fake_slack, engine):
    with Session(engine) as session:
        for n in range(500):
            mentor, mentee = f"UBIGM{n:04d}", f"UBIGE{n:04d}"
            make_person(session, mentor)
            make_person(session, mentee)
            make_pair(session, mentor_id=mentor, mentee_id=mentee, channel_id=f"GBIG{n:04d}",
                      phase=list(Phase)[n % 4])
        session.commit()
    view = open_home(slack, fake_slack, COORDINATOR)
    text = json.dumps(view, ensure_ascii=False)
    assert "*Active pairs:* 500" in text
    assert "At risk (500)" in text and "…and 470 more" in text


def test_a_mentor_of_many_pairs_gets_a_home_within_slacks_limit(slack, fake_slack, engine, runtime):
    cipher = runtime.services.ctx.cipher
    with Session(engine) as session:
        for n in range(40):
            mentee = f"UMANY{n:04d}"
            make_person(session, mentee)
            pair = make_pair(session, mentee_id=mentee, channel_id=f"GMANY{n:04d}")
            make_goal(session, pair)
            make_checkin(session, pair, cipher, author_id=MENTOR, met_on=today() - timedelta(days=1),
                         private_note="n" * 2000, shared_text="s" * 2000)
        session.commit()
    view = open_home(slack, fake_slack, MENTOR)
    assert "more pairs" in json.dumps(view)
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in view["blocks"])
