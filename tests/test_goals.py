"""Goals: `goal add`, `goals`, `goal done n` — numbered in creation order, refused cleanly when wrong."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.blocks import escape_mrkdwn
from bot.domain.models import Goal, GoalStatus, Pair, Phase
from tests.conftest import MENTEE, MENTOR, OTHER, SECOND_MENTEE
from tests.factories import make_goal, make_pair


def _today() -> date:
    return datetime.now(UTC).date()


def _pair(engine, **kwargs) -> int:
    with Session(engine) as session:
        pair = make_pair(session, **kwargs)
        session.commit()
        return pair.id


def _goals(engine) -> list[Goal]:
    with Session(engine) as session:
        return list(session.exec(select(Goal).order_by(Goal.id)))


def _phase(engine, pair_id: int) -> str:
    with Session(engine) as session:
        return session.get(Pair, pair_id).phase


def _reply(fake_slack) -> dict:
    reply = fake_slack.responses[-1].params
    assert reply["response_type"] == "ephemeral"
    return reply


def test_adding_the_first_goal_stores_it_and_moves_rapport_to_direction(slack, fake_slack, engine):
    pair_id = _pair(engine)
    due = _today() + timedelta(days=60)

    slack.command(f'goal add "Ship the thing" by {due.isoformat()} measure "3 demos"', user_id=MENTEE)

    [goal] = _goals(engine)
    assert (goal.pair_id, goal.text, goal.measure, goal.due_on, goal.status, goal.created_by) == (
        pair_id, "Ship the thing", "3 demos", due, GoalStatus.OPEN, MENTEE)
    assert _phase(engine, pair_id) == Phase.DIRECTION
    reply = _reply(fake_slack)
    assert "Added goal 1" in reply["text"]
    assert "Direction" in json.dumps(reply["blocks"])


def test_unquoted_goal_text_works_too_and_a_later_goal_keeps_the_phase(slack, fake_slack, engine):
    pair_id = _pair(engine, phase=Phase.PROGRESSION)
    due = _today() + timedelta(days=30)

    slack.command(f"goal add Ship the thing by {due.isoformat()} measure 3 demos", user_id=MENTOR)

    [goal] = _goals(engine)
    assert (goal.text, goal.measure, goal.due_on, goal.created_by) == ("Ship the thing", "3 demos", due, MENTOR)
    assert _phase(engine, pair_id) == Phase.PROGRESSION


def test_goals_lists_them_numbered_in_creation_order_with_status_and_dates(slack, fake_slack, engine):
    pair_id = _pair(engine, phase=Phase.DIRECTION)
    with Session(engine) as session:
        pair = session.get(Pair, pair_id)
        make_goal(session, pair, text="First goal", due_on=date(2030, 1, 1))
        make_goal(session, pair, text="Second goal", measure="", due_on=None, status=GoalStatus.ACHIEVED,
                  achieved_on=date(2026, 2, 1))
        session.commit()

    slack.command("goals", user_id=MENTEE)

    blocks = json.dumps(_reply(fake_slack)["blocks"], ensure_ascii=False)
    assert "*1.* First goal — due 2030-01-01" in blocks
    assert "*2.* Second goal — achieved 2026-02-01" in blocks
    assert "1 of 2 achieved" in blocks


def test_goal_done_marks_the_numbered_goal_achieved_today(slack, fake_slack, engine):
    pair_id = _pair(engine, phase=Phase.DIRECTION)
    with Session(engine) as session:
        pair = session.get(Pair, pair_id)
        make_goal(session, pair, text="First goal")
        make_goal(session, pair, text="Second goal")
        session.commit()

    slack.command("goal done 2", user_id=MENTEE)

    first, second = _goals(engine)
    assert (first.status, second.status, second.achieved_on) == (GoalStatus.OPEN, GoalStatus.ACHIEVED, _today())
    assert "Goal 2 achieved" in _reply(fake_slack)["text"]

    slack.command("goal done 2", user_id=MENTOR)
    assert "already achieved" in _reply(fake_slack)["text"]


@pytest.mark.parametrize(
    ("text", "says", "usage"),
    [
        ("goal done 0", "not a goal number", "/mentoring goal done <n> [@partner]"),
        ("goal done -1", "not a goal number", "/mentoring goal done <n> [@partner]"),
        ("goal done x", "not a goal number", "/mentoring goal done <n> [@partner]"),
        ("goal done 99", "There is no goal 99: your pair has 1 goal (1–1)", "/mentoring goal done <n> [@partner]"),
        ("goal done 2", "There is no goal 2", "/mentoring goal done <n> [@partner]"),
        ("goal add", "what the goal is", "/mentoring goal add <text>"),
        ("goal add " + "x" * 4000, "4000 characters long; keep it to 500", "/mentoring goal add <text>"),
        ("goal add Ship it by 2020-01-01", "in the past", "/mentoring goal add <text>"),
        ("goal add Ship it by 2027-02-30", "not a real calendar date", "/mentoring goal add <text>"),
        ("goal frobnicate", "goal add", "/mentoring goal add <text>"),
        ("goals @theo", "not a Slack mention", "/mentoring goals [@partner]"),
        (f"goals <@{MENTEE}>", "That's you", "/mentoring goals [@partner]"),
        (f"goals <@{OTHER}>", "not in an active pair with", "/mentoring goals [@partner]"),
        (f"goals <@{MENTOR}> <@{OTHER}>", "one partner at most", "/mentoring goals [@partner]"),
    ],
)
def test_bad_goal_input_is_refused_and_nothing_changes(slack, fake_slack, engine, text, says, usage):
    pair_id = _pair(engine, phase=Phase.DIRECTION)
    with Session(engine) as session:
        make_goal(session, session.get(Pair, pair_id), text="Only goal")
        session.commit()

    slack.command(text, user_id=MENTEE)

    reply = _reply(fake_slack)
    assert says in reply["text"]
    assert "Usage: " + usage in reply["text"]
    assert [(g.text, g.status) for g in _goals(engine)] == [("Only goal", GoalStatus.OPEN)]


def test_someone_outside_any_pair_cannot_add_goals(slack, fake_slack, engine):
    _pair(engine)
    slack.command("goal add Take over the world", user_id=OTHER)
    assert "not in an active mentoring pair" in _reply(fake_slack)["text"]
    assert _goals(engine) == []


def test_with_two_pairs_a_goal_needs_the_partner(slack, fake_slack, engine):
    _pair(engine)
    second = _pair(engine, mentee_id=SECOND_MENTEE)

    slack.command("goal add Ship it", user_id=MENTOR)
    assert "You are in 2 pairs" in _reply(fake_slack)["text"]
    assert _goals(engine) == []

    slack.command(f"goal add Ship it <@{SECOND_MENTEE}|sam>", user_id=MENTOR)
    assert [(g.pair_id, g.text) for g in _goals(engine)] == [(second, "Ship it")]


def test_sql_markdown_and_emoji_are_stored_exactly_and_shown_escaped(slack, fake_slack, engine):
    _pair(engine)
    typed = "'); DROP TABLE pair;-- *bold* _it_ `code` &lt;!here&gt; 🎉 :tada:"
    stored = "'); DROP TABLE pair;-- *bold* _it_ `code` <!here> 🎉 :tada:"

    slack.command(f"goal add {typed}", user_id=MENTEE)
    assert [g.text for g in _goals(engine)] == [stored]

    slack.command("goals", user_id=MENTEE)
    blocks = json.dumps(_reply(fake_slack)["blocks"], ensure_ascii=False)
    assert json.dumps(escape_mrkdwn(stored), ensure_ascii=False)[1:-1] in blocks
    assert "<!here>" not in blocks


def test_no_goals_yet_says_how_to_add_one(slack, fake_slack, engine):
    _pair(engine)
    slack.command("goals", user_id=MENTOR)
    assert "no goals yet" in _reply(fake_slack)["text"]
    slack.command("goal done 1", user_id=MENTOR)
    assert "no goals yet" in _reply(fake_slack)["text"]
