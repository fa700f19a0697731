"""Slack redelivers events it thinks timed out: each `event_id` is handled once."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.domain.models import SeenOnce
from tests.conftest import MENTEE


def home_opened(user_id: str = MENTEE) -> dict:
    return {"type": "app_home_opened", "user": user_id, "channel": "D0HOME", "tab": "home"}


def test_the_same_event_delivered_twice_publishes_the_home_once(slack, fake_slack, engine):
    first = slack.event(home_opened(), event_id="Ev0DUPLICATE1")
    again = slack.event(home_opened(), event_id="Ev0DUPLICATE1", retry_num=1)

    assert first.status == 200 and again.status == 200
    assert len(fake_slack.calls_to("views.publish")) == 1
    with Session(engine) as session:
        assert [e.key for e in session.exec(select(SeenOnce).where(SeenOnce.kind == "event"))] == ["Ev0DUPLICATE1"]


def test_distinct_events_are_each_handled(slack, fake_slack, engine):
    slack.event(home_opened(), event_id="Ev0FIRST00001")
    slack.event(home_opened(), event_id="Ev0SECOND0001")
    assert len(fake_slack.calls_to("views.publish")) == 2
    with Session(engine) as session:
        assert len(session.exec(select(SeenOnce).where(SeenOnce.kind == "event")).all()) == 2


def test_interactions_and_commands_are_not_recorded_as_events(slack, engine):
    slack.command("help", user_id=MENTEE)
    with Session(engine) as session:
        assert session.exec(select(SeenOnce).where(SeenOnce.kind == "event")).all() == []
