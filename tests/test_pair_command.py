"""`/mentoring pair`: a coordinator registers a pair; every bad input is refused with nothing written."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from bot.blocks.ids import SET_AGREEMENT_ACTION
from bot.domain.commands import default_end_date
from bot.domain.models import Pair, PairStatus, Phase
from tests.conftest import ADMIN, BOT_USER, COORDINATOR, GONE_USER, MENTEE, MENTOR, OTHER, SECOND_MENTEE
from tests.factories import make_pair

M = f"<@{MENTOR}|maya>"
T = f"<@{MENTEE}|theo>"
GROUP_DM = "G" + "".join(sorted(u.lstrip("UW") for u in (MENTOR, MENTEE)))


def _today():
    return datetime.now(UTC).date()


def _pairs(engine) -> list[Pair]:
    with Session(engine) as session:
        return list(session.exec(select(Pair).order_by(Pair.id)))


def _pair_count(engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Pair)).one()


def _reply(fake_slack) -> dict:
    reply = fake_slack.responses[-1].params
    assert reply["response_type"] == "ephemeral"
    return reply


def test_a_coordinator_registers_a_pair_with_the_defaults(slack, fake_slack, engine):
    slack.command(f"pair {M} {T}", user_id=COORDINATOR)

    [pair] = _pairs(engine)
    assert (pair.mentor_id, pair.mentee_id, pair.created_by) == (MENTOR, MENTEE, COORDINATOR)
    assert (pair.phase, pair.status, pair.cadence_days) == (Phase.RAPPORT, PairStatus.ACTIVE, 14)
    assert pair.started_on == _today()
    assert pair.ends_on == default_end_date(_today())
    assert pair.channel_id == GROUP_DM
    assert fake_slack.calls_to("conversations.open")[-1].params["users"] == f"{MENTOR},{MENTEE}"
    reply = _reply(fake_slack)
    assert f"<@{MENTOR}>" in reply["text"] and f"<@{MENTEE}>" in reply["text"]
    assert "every 2 weeks" in reply["text"]


def test_the_welcome_explains_why_and_carries_the_first_meeting_guide(slack, fake_slack, engine):
    slack.command(f"pair {M} {T}", user_id=COORDINATOR)

    [pair] = _pairs(engine)
    [welcome] = fake_slack.posted(GROUP_DM)
    blocks = json.dumps(welcome["blocks"])
    assert f"<@{COORDINATOR}> has paired you" in blocks
    for topic in ("What each of you wants", "what each of you brings", "Confidentiality", "off limits",
                  "How to contact", "How often you meet", "who sets up", "When it ends", "How you will judge success",
                  "The way out"):
        assert topic in blocks
    [button] = [e for b in welcome["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert (button["action_id"], button["value"]) == (SET_AGREEMENT_ACTION, str(pair.id))


def test_cadence_and_end_date_are_taken_from_the_command(slack, fake_slack, engine):
    ends = _today() + timedelta(days=90)
    slack.command(f"PAIR {M} {T} Every 3 Weeks UNTIL {ends.isoformat()}", user_id=COORDINATOR)

    [pair] = _pairs(engine)
    assert (pair.cadence_days, pair.ends_on) == (21, ends)
    assert ends.isoformat() in json.dumps(fake_slack.posted(GROUP_DM)[0]["blocks"])


def test_a_workspace_admin_may_register_pairs(slack, fake_slack, engine):
    slack.command(f"pair {M} <@{SECOND_MENTEE}>", user_id=ADMIN)
    assert [p.mentee_id for p in _pairs(engine)] == [SECOND_MENTEE]


def test_a_non_coordinator_is_refused_and_told_who_may(slack, fake_slack, engine):
    slack.command(f"pair {M} {T}", user_id=OTHER)

    reply = _reply(fake_slack)
    assert "Only coordinators can register pairs" in reply["text"]
    assert f"<@{COORDINATOR}>" in reply["text"]
    assert _pair_count(engine) == 0
    assert fake_slack.calls_to("conversations.open") == []


def _past() -> str:
    return (_today() - timedelta(days=1)).isoformat()


def _too_far() -> str:
    return (_today() + timedelta(days=800)).isoformat()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("pair", "exactly two"),
        (f"pair {M}", "exactly two"),
        (f"pair {M} {T} <@{OTHER}>", "exactly two"),
        (f"pair {M} {M}", "two different people"),
        (f"pair @maya {T}", "not a Slack mention"),
        (f"pair maya {T}", "don't understand"),
        (f"pair {M} <@{BOT_USER}>", "is a bot"),
        (f"pair <@{GONE_USER}> {T}", "deactivated"),
        (f"pair {M} <@UNOBODY9>", "can't find"),
        (f"pair {M} {T} every 0 days", "at least 1 day"),
        (f"pair {M} {T} every 400 weeks", "at most 26 weeks"),
        (f"pair {M} {T} until 2027-02-30", "not a real calendar date"),
        (f"pair {M} {T} until next-year", "not a date"),
        (f"pair {M} {T} until {{past}}", "not in the future"),
        (f"pair {M} {T} until {{far}}", "more than 2 years"),
        (f"pair {M} {T} '); DROP TABLE pair;--", "don't understand"),
    ],
)
def test_bad_pair_input_is_refused_with_usage_and_nothing_written(slack, fake_slack, engine, text, says):
    slack.command(text.format(past=_past(), far=_too_far()), user_id=COORDINATOR)

    reply = _reply(fake_slack)
    assert says in reply["text"]
    assert "Usage: /mentoring pair @mentor @mentee [every N days|weeks] [until YYYY-MM-DD]" in reply["text"]
    assert _pair_count(engine) == 0
    assert fake_slack.calls_to("conversations.open") == []


@pytest.mark.parametrize("text", [f"pair {M} {T}", f"pair {T} {M}"])
def test_a_duplicate_pair_is_refused_in_either_order(slack, fake_slack, engine, text):
    with Session(engine) as session:
        make_pair(session)
        session.commit()

    slack.command(text, user_id=COORDINATOR)

    assert "already an active pair" in _reply(fake_slack)["text"]
    assert _pair_count(engine) == 1


def test_an_ended_pair_may_be_paired_again(slack, fake_slack, engine):
    with Session(engine) as session:
        make_pair(session, status=PairStatus.ENDED, phase=Phase.ENDED)
        session.commit()

    slack.command(f"pair {M} {T}", user_id=COORDINATOR)

    assert [p.status for p in _pairs(engine)] == [PairStatus.ENDED, PairStatus.ACTIVE]


def test_when_slack_cannot_open_the_group_dm_nothing_is_saved(slack, fake_slack, engine):
    fake_slack.fail("conversations.open", error="cant_invite")

    slack.command(f"pair {M} {T}", user_id=COORDINATOR)

    reply = _reply(fake_slack)
    assert "couldn't open a group DM" in reply["text"] and "cant_invite" in reply["text"]
    assert "Nothing was saved" in reply["text"]
    assert _pair_count(engine) == 0
    assert fake_slack.posted() == []


def test_when_the_welcome_cannot_be_posted_the_pair_is_taken_back(slack, fake_slack, engine):
    fake_slack.fail("chat.postMessage", error="channel_not_found")

    slack.command(f"pair {M} {T}", user_id=COORDINATOR)

    reply = _reply(fake_slack)
    assert "couldn't post the welcome" in reply["text"] and "Nothing was saved" in reply["text"]
    assert _pair_count(engine) == 0

    slack.command(f"pair {M} {T}", user_id=COORDINATOR)
    assert len(_pairs(engine)) == 1
