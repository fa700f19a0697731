"""From sign-up to a welcomed pair: coordinator mode (accept, skip, accept all), mentee-choice mode (pick, decline,
silence), rematch, and every bad press refused with nothing half-written."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlmodel import Session, select

from bot.app import build_app
from bot.blocks.ids import (
    CHOICE_PICK_ACTION,
    CLOSURE_REASON_ACTION_PREFIX,
    MATCH_ACCEPT_ACTION,
    MATCH_ACCEPT_ALL_ACTION,
    MATCH_SKIP_ACTION,
    REQUEST_ACCEPT_ACTION,
    REQUEST_DECLINE_ACTION,
)
from bot.domain.models import MatchProposal, Nudge, Pair, PairStatus, Profile, ProposalStatus
from scheduler.jobs import send_due_nudges
from tests.conftest import COORDINATOR, OTHER, make_settings
from tests.factories import make_pair
from tests.matching_helpers import MAYA, NOOR, THEO, UMA, add_people, add_topics, join, last_reply
from tests.slack_requests import SlackDriver


def _dm(user_id: str) -> str:
    return "D" + user_id.lstrip("U")


def _group(*users: str) -> str:
    return "G" + "".join(sorted(u.lstrip("UW") for u in users))


def _pairs(engine) -> list[Pair]:
    with Session(engine) as session:
        return list(session.exec(select(Pair).order_by(Pair.id)))


def _proposals(engine) -> list[MatchProposal]:
    with Session(engine) as session:
        return list(session.exec(select(MatchProposal).order_by(MatchProposal.id)))


def _buttons(message: dict, action_id: str) -> list[dict]:
    return [e for b in message.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]
            if e["action_id"] == action_id]


@pytest.fixture
def pool(slack, fake_slack):
    """Maya mentors design and speaking (room for 2), Noor leadership; Theo wants design and speaking, Uma data."""
    add_people(fake_slack)
    add_topics(slack)
    join(slack, fake_slack, MAYA, role="mentor", offered=("design reviews", "public speaking"),
         strengths="Ten years of design reviews at scale", capacity="2")
    join(slack, fake_slack, NOOR, role="mentor", offered=("leadership",))
    join(slack, fake_slack, THEO, role="mentee", wanted=("design reviews", "public speaking"),
         questions="How do I give hard feedback?")
    join(slack, fake_slack, UMA, role="mentee", wanted=("data engineering",))


# ---- coordinator mode -----------------------------------------------------------------------------


def test_match_proposes_with_reasons_and_lists_who_is_unmatched_and_why(slack, fake_slack, engine, pool):
    slack.command("match", user_id=COORDINATOR)
    reply = last_reply(fake_slack)
    assert reply["response_type"] == "ephemeral"
    text = json.dumps(reply["blocks"], ensure_ascii=False)
    assert ("Maya offers *design reviews* and *public speaking*, which Theo wants; 7 working hours overlap; "
            "Maya has room for 2 more") in text
    assert f"<@{UMA}> — no mentor offers *data engineering*" in text
    assert f"<@{NOOR}> — no waiting mentee wants *leadership*" in text
    [proposal] = _proposals(engine)
    assert (proposal.mentor_id, proposal.mentee_id, proposal.status) == (MAYA, THEO, ProposalStatus.PROPOSED)
    assert [b["value"] for b in _buttons(reply, MATCH_ACCEPT_ACTION)] == [str(proposal.id)]
    assert _pairs(engine) == []


def test_accepting_registers_the_pair_like_pair_and_the_welcome_says_what_each_brings(slack, fake_slack, engine,
                                                                                        pool):
    slack.command("match", user_id=COORDINATOR)
    [proposal] = _proposals(engine)
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ACTION, value=str(proposal.id))

    [pair] = _pairs(engine)
    assert (pair.mentor_id, pair.mentee_id, pair.created_by, pair.cadence_days) == (MAYA, THEO, COORDINATOR, 14)
    assert f"Paired <@{MAYA}> (mentor) with <@{THEO}> (mentee)" in last_reply(fake_slack)["text"]
    [welcome] = fake_slack.posted(_group(MAYA, THEO))
    blocks = json.dumps(welcome["blocks"], ensure_ascii=False)
    assert f"<@{COORDINATOR}> has paired you" in blocks
    assert "What each of you brings" in blocks
    assert "Ten years of design reviews at scale" in blocks
    assert "Topics you share: *design reviews* and *public speaking*" in blocks
    assert "How do I give hard feedback?" in blocks
    assert "For your first meeting" in blocks, "the first-meeting guide follows"
    assert _proposals(engine)[0].status == ProposalStatus.ACCEPTED
    assert _proposals(engine)[0].pair_id == pair.id

    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ACTION, value=str(proposal.id))
    assert "was already accepted" in last_reply(fake_slack)["text"]
    assert len(_pairs(engine)) == 1


def test_a_mentee_with_a_mentor_is_no_longer_waiting(slack, fake_slack, engine, pool):
    slack.command("match", user_id=COORDINATOR)
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ACTION, value=str(_proposals(engine)[0].id))
    slack.command("match", user_id=COORDINATOR)
    assert "0 proposed matches" in last_reply(fake_slack)["text"]


def test_skip_closes_a_proposal_without_telling_anyone(slack, fake_slack, engine, pool):
    slack.command("match", user_id=COORDINATOR)
    [proposal] = _proposals(engine)
    posted = len(fake_slack.posted())
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_SKIP_ACTION, value=str(proposal.id))
    assert "Skipped" in last_reply(fake_slack)["text"]
    assert _proposals(engine)[0].status == ProposalStatus.SKIPPED
    assert len(fake_slack.posted()) == posted and _pairs(engine) == []


def test_accept_all_registers_every_open_proposal_of_the_round(slack, fake_slack, engine, pool):
    join(slack, fake_slack, OTHER, role="mentee", wanted=("design reviews",))
    slack.command("match", user_id=COORDINATOR)
    reply = last_reply(fake_slack)
    [accept_all] = _buttons(reply, MATCH_ACCEPT_ALL_ACTION)
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ALL_ACTION, value=accept_all["value"])
    assert "Accepted 2 of 2 proposals" in last_reply(fake_slack)["text"]
    assert sorted(p.mentee_id for p in _pairs(engine)) == sorted([THEO, OTHER])


def test_a_new_match_replaces_the_open_proposals_of_the_last(slack, fake_slack, engine, pool):
    slack.command("match", user_id=COORDINATOR)
    first = _proposals(engine)[0]
    slack.command("match", user_id=COORDINATOR)
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ACTION, value=str(first.id))
    assert "was replaced by a newer `/mentoring match`" in last_reply(fake_slack)["text"]
    assert _pairs(engine) == []


@pytest.mark.parametrize(
    ("action_id", "value", "says"),
    [
        (MATCH_ACCEPT_ACTION, "abc", "no longer points at a proposal"),
        (MATCH_ACCEPT_ACTION, "999", "no longer exists"),
        (MATCH_SKIP_ACTION, "", "no longer points at a proposal"),
        (MATCH_ACCEPT_ALL_ACTION, "x:y", "no longer points at a round"),
        (MATCH_ACCEPT_ALL_ACTION, "500:600", "Nothing left to accept"),
    ],
)
def test_a_bad_button_value_is_refused(slack, fake_slack, engine, pool, action_id, value, says):
    slack.command("match", user_id=COORDINATOR)
    slack.block_action(user_id=COORDINATOR, action_id=action_id, value=value)
    assert says in last_reply(fake_slack)["text"]
    assert _pairs(engine) == []


def test_only_coordinators_propose_or_accept(slack, fake_slack, engine, pool):
    slack.command("match", user_id=THEO)
    assert "Only coordinators can propose matches" in last_reply(fake_slack)["text"]
    assert _proposals(engine) == []
    slack.command("match", user_id=COORDINATOR)
    slack.block_action(user_id=MAYA, action_id=MATCH_ACCEPT_ACTION, value=str(_proposals(engine)[0].id))
    assert "Only coordinators can accept proposed matches" in last_reply(fake_slack)["text"]
    assert _pairs(engine) == [] and _proposals(engine)[0].status == ProposalStatus.PROPOSED


def test_when_the_welcome_cannot_be_posted_nothing_is_kept(slack, fake_slack, engine, pool):
    slack.command("match", user_id=COORDINATOR)
    fake_slack.fail("chat.postMessage", error="channel_not_found")
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ACTION, value=str(_proposals(engine)[0].id))
    assert "Nothing was saved" in last_reply(fake_slack)["text"]
    assert _pairs(engine) == [] and _proposals(engine)[0].status == ProposalStatus.PROPOSED


def test_a_proposal_whose_mentee_left_is_refused(slack, fake_slack, engine, pool):
    slack.command("match", user_id=COORDINATOR)
    proposal = _proposals(engine)[0]
    slack.command("leave", user_id=THEO)
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ACTION, value=str(proposal.id))
    assert "was withdrawn: one of them left the pool" in last_reply(fake_slack)["text"]
    assert _pairs(engine) == []


# ---- rematch --------------------------------------------------------------------------------------


def test_a_rematched_mentee_is_back_first_in_the_queue_without_their_former_mentor(slack, fake_slack, engine,
                                                                                    pool):
    with Session(engine) as session:
        pair = make_pair(session, mentor_id=NOOR, mentee_id=UMA, status=PairStatus.ENDED)
        session.commit()
        pair_id = pair.id
    slack.block_action(user_id=COORDINATOR, action_id=CLOSURE_REASON_ACTION_PREFIX + "rematched",
                       value=f"{pair_id}:rematched")
    with Session(engine) as session:
        profile = session.get(Profile, UMA)
        assert (profile.in_pool, profile.front_of_queue) == (True, True)
    join(slack, fake_slack, OTHER, role="mentor", offered=("data engineering", "leadership"))
    slack.command("match", user_id=COORDINATOR)
    by_mentee = {p.mentee_id: p for p in _proposals(engine)}
    assert by_mentee[UMA].mentor_id == OTHER, "never the former partner"
    assert "back in the pool" in by_mentee[UMA].reason
    text = json.dumps(last_reply(fake_slack)["blocks"], ensure_ascii=False)
    assert text.index(f"<@{UMA}>") < text.index(f"<@{THEO}>"), "first in the queue"


# ---- mentee-choice mode ---------------------------------------------------------------------------


@pytest.fixture
def choice_slack(fake_slack, database_url, engine) -> SlackDriver:
    settings = make_settings(fake_slack, database_url, matching="mentee-choice")
    runtime = build_app(settings, engine=engine, process_before_response=True)
    return SlackDriver(runtime.app, fake_slack.response_url)


@pytest.fixture
def choice_pool(choice_slack, fake_slack):
    """Maya and Noor both offer leadership (Maya with more room); Theo wants leadership."""
    add_people(fake_slack)
    add_topics(choice_slack)
    join(choice_slack, fake_slack, MAYA, role="mentor", offered=("leadership",), capacity="3",
         strengths="Led three teams")
    join(choice_slack, fake_slack, NOOR, role="mentor", offered=("leadership",))
    join(choice_slack, fake_slack, THEO, role="mentee", wanted=("leadership",), questions="How do I lead peers?")
    choice_slack.command("match", user_id=COORDINATOR)
    return choice_slack


def _choices(fake_slack, user_id: str) -> list[dict]:
    return _buttons(fake_slack.posted(_dm(user_id))[-1], CHOICE_PICK_ACTION)


def _request(fake_slack, mentor_id: str) -> dict:
    return fake_slack.posted(_dm(mentor_id))[-1]


def test_each_mentee_gets_their_best_choices_and_the_picked_mentor_alone_is_asked(choice_pool, fake_slack, engine):
    assert "Sent mentor choices to 1 mentee" in last_reply(fake_slack)["text"]
    choices = _choices(fake_slack, THEO)
    assert len(choices) == 2
    text = json.dumps(fake_slack.posted(_dm(THEO))[-1]["blocks"], ensure_ascii=False)
    assert text.index(f"<@{MAYA}>") < text.index(f"<@{NOOR}>"), "best first: Maya has more room"
    choice_pool.block_action(user_id=THEO, action_id=CHOICE_PICK_ACTION, value=choices[0]["value"])
    assert f"I've asked <@{MAYA}>" in last_reply(fake_slack)["text"]
    request = _request(fake_slack, MAYA)
    body = json.dumps(request, ensure_ascii=False)
    assert f"<@{THEO}> would like you as their mentor" in body and "How do I lead peers?" in body
    assert NOOR not in body and "Noor" not in body, "a mentor never sees who else was offered"
    assert fake_slack.posted(_dm(NOOR)) == [] or "would like you" not in json.dumps(fake_slack.posted(_dm(NOOR)))
    statuses = sorted(p.status for p in _proposals(engine))
    assert statuses == [ProposalStatus.CHOSEN, ProposalStatus.NOT_CHOSEN]


def test_the_mentor_accepts_and_the_pair_is_welcomed(choice_pool, fake_slack, engine):
    choice_pool.block_action(user_id=THEO, action_id=CHOICE_PICK_ACTION, value=_choices(fake_slack, THEO)[0]["value"])
    [accept] = _buttons(_request(fake_slack, MAYA), REQUEST_ACCEPT_ACTION)
    choice_pool.block_action(user_id=MAYA, action_id=REQUEST_ACCEPT_ACTION, value=accept["value"])
    [pair] = _pairs(engine)
    assert (pair.mentor_id, pair.mentee_id, pair.created_by) == (MAYA, THEO, MAYA)
    [welcome] = fake_slack.posted(_group(MAYA, THEO))
    blocks = json.dumps(welcome["blocks"], ensure_ascii=False)
    assert "You chose each other" in blocks and "Led three teams" in blocks and "How do I lead peers?" in blocks
    assert "now" in last_reply(fake_slack)["text"] and "mentor" in last_reply(fake_slack)["text"]


def test_a_decline_offers_the_mentee_their_next_best_without_that_mentor(choice_pool, fake_slack, engine):
    choice_pool.block_action(user_id=THEO, action_id=CHOICE_PICK_ACTION, value=_choices(fake_slack, THEO)[0]["value"])
    [decline] = _buttons(_request(fake_slack, MAYA), REQUEST_DECLINE_ACTION)
    choice_pool.block_action(user_id=MAYA, action_id=REQUEST_DECLINE_ACTION, value=decline["value"])
    assert "You declined" in last_reply(fake_slack)["text"]
    offer = fake_slack.posted(_dm(THEO))[-1]
    assert f"<@{MAYA}> couldn't take you on" in offer["text"]
    [again] = _choices(fake_slack, THEO)
    assert f"<@{NOOR}>" in json.dumps(offer["blocks"]) and f"<@{MAYA}>*" not in json.dumps(offer["blocks"])
    choice_pool.block_action(user_id=THEO, action_id=CHOICE_PICK_ACTION, value=again["value"])
    [accept] = _buttons(_request(fake_slack, NOOR), REQUEST_ACCEPT_ACTION)
    choice_pool.block_action(user_id=NOOR, action_id=REQUEST_ACCEPT_ACTION, value=accept["value"])
    assert [(p.mentor_id, p.mentee_id) for p in _pairs(engine)] == [(NOOR, THEO)]


def _working_morning_after(moment: datetime, days: int, zone: str) -> datetime:
    day = (moment + timedelta(days=days)).astimezone(ZoneInfo(zone)).date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 10, tzinfo=ZoneInfo(zone))


def test_silence_for_three_working_days_declines_once_and_in_the_mentees_working_hours(choice_pool, fake_slack,
                                                                                         engine, runtime):
    choice_pool.block_action(user_id=THEO, action_id=CHOICE_PICK_ACTION, value=_choices(fake_slack, THEO)[0]["value"])
    asked_at = next(p.asked_at for p in _proposals(engine) if p.status == ProposalStatus.CHOSEN)
    matching = runtime.services.matching
    assert matching.expire_requests(now=_working_morning_after(asked_at, 1, "Europe/Berlin")) == 0
    late = _working_morning_after(asked_at, 6, "Europe/Berlin")
    night = late.replace(hour=23)
    assert matching.expire_requests(now=night) == 0, "the next offer waits for the mentee's working hours"
    offers_before = len(fake_slack.posted(_dm(THEO)))
    assert matching.expire_requests(now=late) == 1
    assert matching.expire_requests(now=late + timedelta(minutes=5)) == 0, "exactly once"
    assert len(fake_slack.posted(_dm(THEO))) == offers_before + 1
    offer = fake_slack.posted(_dm(THEO))[-1]
    assert "didn't answer within 3 working days" in offer["text"]
    assert f"<@{NOOR}>" in json.dumps(offer["blocks"])
    with Session(engine) as session:
        [ledger] = session.exec(select(Nudge)).all()
        assert (ledger.kind, ledger.recipient, ledger.status) == ("match_offer", THEO, "sent")
    [expired] = [p for p in _proposals(engine) if p.mentor_id == MAYA and p.status == ProposalStatus.EXPIRED]
    [accept] = _buttons(_request(fake_slack, MAYA), REQUEST_ACCEPT_ACTION)
    choice_pool.block_action(user_id=MAYA, action_id=REQUEST_ACCEPT_ACTION, value=accept["value"])
    assert "expired unanswered" in last_reply(fake_slack)["text"]
    assert _pairs(engine) == []
    assert expired.id == int(accept["value"])


@pytest.mark.parametrize(
    ("who", "action_id", "says"),
    [
        (NOOR, CHOICE_PICK_ACTION, "isn't yours to make"),
        (THEO, REQUEST_ACCEPT_ACTION, "isn't addressed to you"),
    ],
)
def test_only_the_mentee_picks_and_only_the_asked_mentor_answers(choice_pool, fake_slack, engine, who, action_id,
                                                                  says):
    value = _choices(fake_slack, THEO)[0]["value"]
    if action_id == REQUEST_ACCEPT_ACTION:
        choice_pool.block_action(user_id=THEO, action_id=CHOICE_PICK_ACTION, value=value)
    choice_pool.block_action(user_id=who, action_id=action_id, value=value)
    assert says in last_reply(fake_slack)["text"]
    assert _pairs(engine) == []


def test_a_mentee_cannot_pick_twice(choice_pool, fake_slack, engine):
    first, second = _choices(fake_slack, THEO)
    choice_pool.block_action(user_id=THEO, action_id=CHOICE_PICK_ACTION, value=first["value"])
    choice_pool.block_action(user_id=THEO, action_id=CHOICE_PICK_ACTION, value=second["value"])
    assert "another mentor was picked" in last_reply(fake_slack)["text"]
    assert fake_slack.posted(_dm(NOOR)) == [] or "would like you" not in json.dumps(fake_slack.posted(_dm(NOOR)))


# ---- privacy --------------------------------------------------------------------------------------


def test_the_export_carries_topics_but_never_strengths_or_questions(slack, fake_slack, engine, pool, runtime):
    slack.command("match", user_id=COORDINATOR)
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ACTION, value=str(_proposals(engine)[0].id))
    content = runtime.services.reports.export_csv(datetime.now(UTC))
    [row] = list(csv.DictReader(io.StringIO(content)))
    assert row["mentor_topics_offered"] == row["mentee_topics_wanted"] == "design reviews; public speaking"
    assert "Ten years" not in content and "hard feedback" not in content


def test_a_profile_is_seen_by_coordinators_and_the_partner_but_never_its_block_list(slack, fake_slack, engine,
                                                                                    pool):
    join(slack, fake_slack, OTHER, role="mentee", wanted=("leadership",), questions="Where do I start?",
         blocked=(MAYA,))
    slack.command(f"profile <@{OTHER}>", user_id=NOOR)
    assert "seen by coordinators and, once you are paired, by your partner" in last_reply(fake_slack)["text"]
    slack.command(f"profile <@{OTHER}>", user_id=COORDINATOR)
    card = last_reply(fake_slack)["text"]
    assert "*Wants:* *leadership*" in card and "Where do I start?" in card
    assert MAYA not in card and "Maya" not in card, "the block list is shown to nobody"
    slack.command("match", user_id=COORDINATOR)
    proposal = next(p for p in _proposals(engine) if p.mentee_id == OTHER)
    assert proposal.mentor_id == NOOR
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ACTION, value=str(proposal.id))
    slack.command(f"profile <@{OTHER}>", user_id=NOOR)
    assert "Where do I start?" in last_reply(fake_slack)["text"]
    slack.command(f"profile <@{NOOR}> <@{OTHER}>", user_id=COORDINATOR)
    assert "Name one partner at most" in last_reply(fake_slack)["text"]


def test_the_scheduled_sweep_declines_a_silent_mentor_by_the_real_clock(choice_pool, fake_slack, engine, runtime):
    choice_pool.block_action(user_id=THEO, action_id=CHOICE_PICK_ACTION, value=_choices(fake_slack, THEO)[0]["value"])
    asked_at = next(p.asked_at for p in _proposals(engine) if p.status == ProposalStatus.CHOSEN)
    with time_machine.travel(_working_morning_after(asked_at, 6, "Europe/Berlin"), tick=False):
        send_due_nudges(runtime.services)
    assert "didn't answer within 3 working days" in fake_slack.posted(_dm(THEO))[-1]["text"]
    assert [p.status for p in _proposals(engine) if p.mentor_id == MAYA] == [ProposalStatus.EXPIRED]


def test_when_the_mentor_fills_up_the_other_mentee_waiting_on_them_is_offered_the_next_best(choice_slack,
                                                                                            fake_slack, engine):
    add_people(fake_slack)
    add_topics(choice_slack)
    join(choice_slack, fake_slack, MAYA, role="mentor", offered=("leadership",), capacity="1")
    join(choice_slack, fake_slack, NOOR, role="mentor", offered=("leadership",))
    join(choice_slack, fake_slack, THEO, role="mentee", wanted=("leadership",))
    join(choice_slack, fake_slack, UMA, role="mentee", wanted=("leadership",))
    choice_slack.command("match", user_id=COORDINATOR)
    for mentee in (THEO, UMA):
        [maya] = [c for c in _choices(fake_slack, mentee)
                  if next(p for p in _proposals(engine) if p.id == int(c["value"])).mentor_id == MAYA]
        choice_slack.block_action(user_id=mentee, action_id=CHOICE_PICK_ACTION, value=maya["value"])
    theo_request = next(p for p in _proposals(engine) if p.mentee_id == THEO and p.status == ProposalStatus.CHOSEN)
    choice_slack.block_action(user_id=MAYA, action_id=REQUEST_ACCEPT_ACTION, value=str(theo_request.id))
    assert [(p.mentor_id, p.mentee_id) for p in _pairs(engine)] == [(MAYA, THEO)]
    offer = fake_slack.posted(_dm(UMA))[-1]
    assert f"<@{MAYA}> couldn't take you on" in offer["text"]
    assert f"<@{NOOR}>" in json.dumps(offer["blocks"])
    uma_request = next(p for p in _proposals(engine) if p.mentee_id == UMA and p.mentor_id == MAYA)
    assert uma_request.status == ProposalStatus.DECLINED


def test_when_an_asked_mentor_leaves_the_mentee_is_offered_the_next_best(choice_pool, fake_slack, engine):
    choice_pool.block_action(user_id=THEO, action_id=CHOICE_PICK_ACTION, value=_choices(fake_slack, THEO)[0]["value"])
    choice_pool.command("leave", user_id=MAYA)
    offer = fake_slack.posted(_dm(THEO))[-1]
    assert f"<@{MAYA}> couldn't take you on" in offer["text"]
    [again] = _choices(fake_slack, THEO)
    assert next(p for p in _proposals(engine) if p.id == int(again["value"])).mentor_id == NOOR
