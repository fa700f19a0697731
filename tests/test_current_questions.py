"""A mentee's current questions: in the mentor's meeting preparation, and updated from the check-in modal."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from bot.blocks.ids import CHECKIN_QUESTIONS_BLOCK, CHECKIN_VIEW, INPUT_ACTION
from bot.domain.models import CheckIn, Profile
from tests.conftest import MENTEE, MENTOR
from tests.factories import make_agreement, make_checkin, make_goal, make_pair, make_person
from tests.matching_helpers import body_of
from tests.test_checkin_modal import checkin_values
from tests.test_delivery import NOW, dms


def _profile(session: Session, person_id: str, questions: str) -> None:
    session.add(Profile(person_id=person_id, role="mentee", questions=questions))


def _pair_with_profile(engine, questions: str = "How do I say no to my manager?") -> int:
    with Session(engine) as session:
        make_person(session, MENTOR, tz="UTC", info_fetched_at=NOW)
        make_person(session, MENTEE, tz="UTC", info_fetched_at=NOW)
        pair = make_pair(session, phase="progression", channel_id="GMEET1")
        _profile(session, MENTEE, questions)
        session.commit()
        return pair.id


def test_the_mentors_meeting_preparation_carries_the_mentees_current_questions(runtime, fake_slack, engine):
    with Session(engine) as session:
        for user in (MENTOR, MENTEE):
            make_person(session, user, tz="UTC", info_fetched_at=NOW)
        pair = make_pair(session, phase="progression", channel_id="GMEET1")
        make_agreement(session, pair)
        make_goal(session, pair, text="Give the conference talk", due_on=date(2026, 12, 1))
        # A first meeting weeks ago: its fit check is long past and does not take the day's one DM.
        make_checkin(session, pair, runtime.services.ctx.cipher, met_on=date(2026, 1, 6))
        make_checkin(session, pair, runtime.services.ctx.cipher, met_on=date(2026, 1, 20),
                     next_meeting_on=date(2026, 1, 28))
        _profile(session, MENTEE, "How do I *say no* to my manager?")
        session.commit()
    runtime.services.sweep.run(now=NOW)
    [to_mentor] = dms(fake_slack, MENTOR)
    [to_mentee] = dms(fake_slack, MENTEE)
    assert "Their current questions: How do I *\u200bsay no*\u200b to my manager?" in to_mentor["text"]
    assert "current questions" not in to_mentee["text"]


def test_the_mentee_updates_their_questions_when_logging_a_check_in(slack, fake_slack, engine):
    pair_id = _pair_with_profile(engine)
    slack.command("checkin", user_id=MENTEE)
    view = fake_slack.calls_to("views.open")[-1].params["view"]
    [field] = [b for b in view["blocks"] if b.get("block_id") == CHECKIN_QUESTIONS_BLOCK]
    assert field["element"]["initial_value"] == "How do I say no to my manager?"

    values = checkin_values()
    values[CHECKIN_QUESTIONS_BLOCK] = {INPUT_ACTION: {"type": "plain_text_input", "value": "How do I delegate?"}}
    slack.view_submission(user_id=MENTEE, callback_id=CHECKIN_VIEW, values=values, private_metadata=str(pair_id))
    with Session(engine) as session:
        assert session.get(Profile, MENTEE).questions == "How do I delegate?"


def test_the_mentor_and_a_mentee_without_a_profile_get_no_questions_field(slack, fake_slack, engine):
    _pair_with_profile(engine)
    slack.command("checkin", user_id=MENTOR)
    view = fake_slack.calls_to("views.open")[-1].params["view"]
    assert CHECKIN_QUESTIONS_BLOCK not in [b.get("block_id") for b in view["blocks"]]


def test_questions_too_long_are_refused_in_the_modal_and_nothing_is_saved(slack, fake_slack, engine):
    pair_id = _pair_with_profile(engine)
    values = checkin_values()
    values[CHECKIN_QUESTIONS_BLOCK] = {INPUT_ACTION: {"type": "plain_text_input", "value": "q" * 1001}}
    response = slack.view_submission(user_id=MENTEE, callback_id=CHECKIN_VIEW, values=values,
                                     private_metadata=str(pair_id))
    assert "1000 characters" in body_of(response)["errors"][CHECKIN_QUESTIONS_BLOCK]
    with Session(engine) as session:
        assert session.get(Profile, MENTEE).questions == "How do I say no to my manager?"
        assert session.exec(select(CheckIn)).all() == []
