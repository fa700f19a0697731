"""Mentee-choice mode: choices, requests and next offers go out as nudges (the sweep, the recipient's working hours,
once, within the caps); a silent mentor's request expires after 3 working days in their zone; every answered
message loses its buttons, and a stale press changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import time_machine
from sqlmodel import Session, select

from bot.app import Runtime, build_app
from bot.blocks.ids import CHOICE_PICK_ACTION, REQUEST_ACCEPT_ACTION, REQUEST_DECLINE_ACTION
from bot.domain.models import MatchProposal, Nudge, ProposalStatus
from scheduler.jobs import send_due_nudges
from tests.conftest import COORDINATOR, make_settings
from tests.matching_helpers import (
    MAYA,
    NOOR,
    THEO,
    UMA,
    add_people,
    add_topics,
    buttons,
    group_dm,
    join,
    last_reply,
    stored_pairs,
    stored_proposals,
)
from tests.slack_requests import SlackDriver

# A Wednesday in December: London is on UTC, Berlin an hour ahead.
WED_EARLY = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)  # before anyone's working hours
WED = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
WED_EVENING = datetime(2026, 12, 2, 17, 30, tzinfo=UTC)  # 17:30 London, 18:30 Berlin
THU = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
FRI = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
MON_EARLY = datetime(2026, 12, 7, 9, 59, tzinfo=UTC)
MON = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # three working days (Thu, Fri, Mon) after a request at WED


def _dm(user_id: str) -> str:
    return "D" + user_id.lstrip("U")


def _ledger(engine) -> list[Nudge]:
    with Session(engine) as session:
        return list(session.exec(select(Nudge).order_by(Nudge.id)))


def _text(message: dict) -> str:
    return json.dumps(message.get("blocks") or [], ensure_ascii=False)


@pytest.fixture(autouse=True)
def _wednesday_morning() -> Iterator[None]:
    """Requests arrive early on the Wednesday (the clock runs on); each sweep is given its own `now`."""
    with time_machine.travel(WED_EARLY, tick=True):
        yield


@pytest.fixture
def choice_runtime(fake_slack, database_url, engine) -> Runtime:
    return build_app(make_settings(fake_slack, database_url, matching="mentee-choice"), engine=engine,
                     process_before_response=True)


@pytest.fixture
def twin_runtime(fake_slack, database_url, engine) -> Runtime:
    """A second bot instance on the same database."""
    return build_app(make_settings(fake_slack, database_url, matching="mentee-choice"), engine=engine,
                     process_before_response=True)


@pytest.fixture
def choice_slack(choice_runtime, fake_slack) -> SlackDriver:
    return SlackDriver(choice_runtime.app, fake_slack.response_url)


@pytest.fixture
def sweep(choice_runtime):
    return lambda now: choice_runtime.services.sweep.run(now=now)


@pytest.fixture
def choice_pool(choice_slack, fake_slack):
    """Maya and Noor both offer leadership (Maya with more room); Theo (Berlin) wants leadership."""
    add_people(fake_slack)
    add_topics(choice_slack)
    join(choice_slack, fake_slack, MAYA, role="mentor", offered=("leadership",), capacity="3",
         strengths="Led three teams")
    join(choice_slack, fake_slack, NOOR, role="mentor", offered=("leadership",))
    join(choice_slack, fake_slack, THEO, role="mentee", wanted=("leadership",), questions="How do I lead peers?")
    choice_slack.command("match", user_id=COORDINATOR)
    return choice_slack


def _offers(fake_slack, user_id: str) -> list[dict]:
    """The match messages in `user_id`'s DM (choices or requests), oldest first."""
    return [m for m in fake_slack.posted(_dm(user_id)) if buttons(m, CHOICE_PICK_ACTION)
            or buttons(m, REQUEST_ACCEPT_ACTION) or "didn't answer" in m["text"] or "couldn't take" in m["text"]]


def _mentor_of(engine, button: dict) -> str:
    return next(p.mentor_id for p in stored_proposals(engine) if p.id == int(button["value"]))


def _chosen(engine) -> MatchProposal:
    return next(p for p in stored_proposals(engine) if p.status == ProposalStatus.CHOSEN)


def test_the_choices_wait_for_the_sweep_and_the_mentees_working_hours_then_go_out_once(choice_pool, fake_slack,
                                                                                       engine, sweep):
    assert "Prepared mentor choices for 1 mentee" in last_reply(fake_slack)["text"]
    assert _offers(fake_slack, THEO) == [], "nothing is sent at command time"
    sweep(WED_EARLY)
    assert _offers(fake_slack, THEO) == [], "before Theo's working hours"
    sweep(WED)
    [offer] = _offers(fake_slack, THEO)
    assert offer["metadata"]["event_payload"]["key"].startswith(f"match:{THEO}:match_offer:o")
    choices = buttons(offer, CHOICE_PICK_ACTION)
    assert [_mentor_of(engine, c) for c in choices] == [MAYA, NOOR], "best first: Maya has more room"
    sweep(WED.replace(minute=5))
    assert len(_offers(fake_slack, THEO)) == 1, "exactly once"
    [row] = _ledger(engine)
    assert (row.kind, row.recipient, row.status, row.pair_id) == ("match_offer", THEO, "sent", None)


def test_a_choice_withdrawn_before_the_choices_went_out_does_not_make_them_new(choice_pool, fake_slack, engine,
                                                                                sweep):
    sweep(WED)
    choice_pool.command("leave", user_id=MAYA)  # Theo's first choice is withdrawn
    sweep(THU)
    assert len(_offers(fake_slack, THEO)) == 1


def test_picking_replaces_the_choices_and_the_mentor_alone_is_asked_in_their_working_hours(choice_pool, fake_slack,
                                                                                          engine, sweep):
    sweep(WED)
    [offer] = _offers(fake_slack, THEO)
    choice_pool.press(offer, "Ask this mentor", user_id=THEO)  # the first: Maya
    replaced = last_reply(fake_slack)
    assert replaced["replace_original"] is True
    assert f"You chose <@{MAYA}>" in replaced["text"] and f"You chose <@{MAYA}>" in _text(replaced)
    assert buttons(replaced, CHOICE_PICK_ACTION) == [], "a second pick cannot be pressed"
    assert _offers(fake_slack, MAYA) == [], "the request waits for the sweep"
    sweep(WED_EVENING)
    assert _offers(fake_slack, MAYA) == [], "after Maya's working hours"
    sweep(THU)
    [request] = _offers(fake_slack, MAYA)
    body = json.dumps(request, ensure_ascii=False)
    assert f"<@{THEO}> would like you as their mentor" in body and "How do I lead peers?" in body
    assert NOOR not in body and "Noor" not in body, "a mentor never sees who else was offered"
    assert _offers(fake_slack, NOOR) == []
    assert sorted(p.status for p in stored_proposals(engine)) == [ProposalStatus.CHOSEN, ProposalStatus.NOT_CHOSEN]

    # The old choices message on another device: pressed again, refused in words, and nothing changes.
    choice_pool.press(offer, "Ask this mentor", user_id=THEO)
    stale = last_reply(fake_slack)
    assert "is waiting for the mentor's answer" in stale["text"] and stale["replace_original"] is False
    assert sorted(p.status for p in stored_proposals(engine)) == [ProposalStatus.CHOSEN, ProposalStatus.NOT_CHOSEN]


def test_the_mentor_accepts_in_place_and_the_pair_is_welcomed(choice_pool, fake_slack, engine, sweep):
    sweep(WED)
    choice_pool.press(_offers(fake_slack, THEO)[0], "Ask this mentor", user_id=THEO)
    sweep(THU)
    [request] = _offers(fake_slack, MAYA)
    choice_pool.press(request, "Accept", user_id=MAYA)
    replaced = last_reply(fake_slack)
    assert replaced["replace_original"] is True and f"Accepted — you're now <@{THEO}>'s mentor" in _text(replaced)
    assert [b for b in replaced["blocks"] if b["type"] == "actions"] == []
    [pair] = stored_pairs(engine)
    assert (pair.mentor_id, pair.mentee_id, pair.created_by) == (MAYA, THEO, MAYA)
    [welcome] = fake_slack.posted(group_dm(MAYA, THEO))
    assert "You chose each other" in _text(welcome) and "Led three teams" in _text(welcome)
    choice_pool.press(request, "Decline", user_id=MAYA)  # the request still open on her phone
    assert "was already accepted" in last_reply(fake_slack)["text"]
    assert last_reply(fake_slack)["replace_original"] is False and len(stored_pairs(engine)) == 1


def test_a_decline_replaces_the_request_and_the_next_offer_goes_out_by_the_sweep_once(choice_pool, fake_slack,
                                                                                     engine, sweep):
    sweep(WED)
    choice_pool.press(_offers(fake_slack, THEO)[0], "Ask this mentor", user_id=THEO)
    sweep(WED.replace(hour=11))
    [request] = _offers(fake_slack, MAYA)
    choice_pool.press(request, "Decline", user_id=MAYA)
    replaced = last_reply(fake_slack)
    assert replaced["replace_original"] is True and "Declined" in _text(replaced)
    assert buttons(replaced, REQUEST_ACCEPT_ACTION) == buttons(replaced, REQUEST_DECLINE_ACTION) == []
    assert len(_offers(fake_slack, THEO)) == 1, "nothing is sent from the mentor's press"
    sweep(WED.replace(hour=12))
    assert len(_offers(fake_slack, THEO)) == 1, "Theo already had his one scheduled message today"
    sweep(THU)
    sweep(THU.replace(minute=5))
    offers = _offers(fake_slack, THEO)
    assert len(offers) == 2, "the next offer goes out once"
    assert f"<@{MAYA}> couldn't take you on" in offers[-1]["text"]
    [again] = buttons(offers[-1], CHOICE_PICK_ACTION)
    assert _mentor_of(engine, again) == NOOR
    choice_pool.press(request, "Accept", user_id=MAYA)  # a stale press after declining
    assert "was declined" in last_reply(fake_slack)["text"] and stored_pairs(engine) == []
    choice_pool.press(offers[-1], "Ask this mentor", user_id=THEO)
    sweep(FRI)
    choice_pool.press(_offers(fake_slack, NOOR)[0], "Accept", user_id=NOOR)
    assert [(p.mentor_id, p.mentee_id) for p in stored_pairs(engine)] == [(NOOR, THEO)]


def test_silence_for_three_working_days_in_the_mentors_zone_declines_once_and_offers_the_next(
        choice_pool, fake_slack, engine, sweep, choice_runtime, twin_runtime):
    sweep(WED)
    choice_pool.press(_offers(fake_slack, THEO)[0], "Ask this mentor", user_id=THEO)
    sweep(WED.replace(hour=11))  # the request reaches Maya (London) at 11:00: the three days count from here
    [request] = _offers(fake_slack, MAYA)
    for moment in (THU, FRI, MON_EARLY.replace(hour=10, minute=59)):
        sweep(moment)
        assert _chosen(engine).mentor_id == MAYA, f"not yet at {moment}"
    assert len(_offers(fake_slack, THEO)) == 1
    expiry = MON.replace(hour=11)
    sweep(expiry)
    [expired] = [p for p in stored_proposals(engine) if p.mentor_id == MAYA and p.mentee_id == THEO]
    assert expired.status == ProposalStatus.EXPIRED
    offers = _offers(fake_slack, THEO)
    assert len(offers) == 2 and "didn't answer within 3 working days" in offers[-1]["text"]
    assert _mentor_of(engine, buttons(offers[-1], CHOICE_PICK_ACTION)[0]) == NOOR
    # The sweep again, and another instance's sweep: nothing more.
    sweep(expiry.replace(minute=5))
    twin_runtime.services.sweep.run(now=expiry.replace(minute=6))
    assert len(_offers(fake_slack, THEO)) == 2
    assert [n.key for n in _ledger(engine)].count(offers[-1]["metadata"]["event_payload"]["key"]) == 1
    # Maya's request, pressed late: refused in words, and it changes nothing.
    choice_pool.press(request, "Accept", user_id=MAYA)
    assert "expired unanswered" in last_reply(fake_slack)["text"]
    assert last_reply(fake_slack)["replace_original"] is False and stored_pairs(engine) == []


def test_two_instances_sweeping_at_once_expire_a_request_and_offer_the_next_once(choice_pool, fake_slack, engine,
                                                                                 sweep, choice_runtime,
                                                                                 twin_runtime):
    sweep(WED)
    choice_pool.press(_offers(fake_slack, THEO)[0], "Ask this mentor", user_id=THEO)
    sweep(WED.replace(hour=11))
    moment = MON.replace(hour=11)
    instances = (choice_runtime.services, twin_runtime.services)
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda services: services.sweep.run(now=moment), instances))
    # Whichever lost the sweep lease (or the proposal's compare-and-set) leaves the rest to the next sweep.
    for services in instances:
        services.sweep.run(now=moment.replace(minute=5))
    assert [p.status for p in stored_proposals(engine) if p.mentor_id == MAYA] == [ProposalStatus.EXPIRED]
    assert len([p for p in stored_proposals(engine) if p.mentor_id == NOOR and p.status == ProposalStatus.OFFERED]) == 1
    assert len(_offers(fake_slack, THEO)) == 2


def test_the_expiry_counts_working_days_in_the_mentors_zone(choice_slack, fake_slack, engine, sweep):
    fake_slack.add_user(MAYA, "Maya", tz="America/Los_Angeles")  # 8 hours behind London in December
    fake_slack.add_user(NOOR, "Noor", tz="Europe/London")
    fake_slack.add_user(THEO, "Theo", tz="America/New_York")
    add_topics(choice_slack)
    join(choice_slack, fake_slack, MAYA, role="mentor", offered=("leadership",))
    join(choice_slack, fake_slack, NOOR, role="mentor", offered=("leadership",))
    join(choice_slack, fake_slack, THEO, role="mentee", wanted=("leadership",))
    choice_slack.command("match", user_id=COORDINATOR)
    sweep(WED.replace(hour=15))  # 10:00 in New York
    maya = next(c for c in buttons(_offers(fake_slack, THEO)[0], CHOICE_PICK_ACTION) if _mentor_of(engine, c) == MAYA)
    choice_slack.block_action(user_id=THEO, action_id=CHOICE_PICK_ACTION, value=maya["value"])
    sent = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)  # Wednesday 10:00 in Los Angeles
    sweep(sent)
    assert len(_offers(fake_slack, MAYA)) == 1
    sweep(datetime(2026, 12, 7, 17, 59, tzinfo=UTC))  # Monday 09:59 in Los Angeles: still open
    assert _chosen(engine).mentor_id == MAYA
    sweep(datetime(2026, 12, 7, 18, 0, tzinfo=UTC))  # Monday 10:00 there: three working days
    assert [p.status for p in stored_proposals(engine) if p.mentor_id == MAYA] == [ProposalStatus.EXPIRED]


def test_the_scheduled_job_expires_a_silent_request_by_the_real_clock(choice_pool, fake_slack, engine, sweep,
                                                                       choice_runtime):
    sweep(WED)
    choice_pool.press(_offers(fake_slack, THEO)[0], "Ask this mentor", user_id=THEO)
    sweep(WED.replace(hour=11))
    with time_machine.travel(MON.replace(hour=11, minute=30), tick=False):
        send_due_nudges(choice_runtime.services)
    assert "didn't answer within 3 working days" in _offers(fake_slack, THEO)[-1]["text"]
    assert [p.status for p in stored_proposals(engine) if p.mentor_id == MAYA] == [ProposalStatus.EXPIRED]


def test_a_quiet_workspace_holds_the_offers(choice_pool, fake_slack, engine, sweep):
    choice_pool.command("quiet on", user_id=COORDINATOR)
    sweep(WED)
    assert _offers(fake_slack, THEO) == []
    choice_pool.command("quiet off", user_id=COORDINATOR)
    sweep(THU)
    assert len(_offers(fake_slack, THEO)) == 1


@pytest.mark.parametrize(
    ("who", "action_id", "says"),
    [
        (NOOR, CHOICE_PICK_ACTION, "isn't yours to make"),
        (THEO, REQUEST_ACCEPT_ACTION, "isn't addressed to you"),
    ],
)
def test_only_the_mentee_picks_and_only_the_asked_mentor_answers(choice_pool, fake_slack, engine, sweep, who,
                                                                  action_id, says):
    sweep(WED)
    value = buttons(_offers(fake_slack, THEO)[0], CHOICE_PICK_ACTION)[0]["value"]
    if action_id == REQUEST_ACCEPT_ACTION:
        choice_pool.block_action(user_id=THEO, action_id=CHOICE_PICK_ACTION, value=value)
    choice_pool.block_action(user_id=who, action_id=action_id, value=value)
    assert says in last_reply(fake_slack)["text"]
    assert stored_pairs(engine) == []


def test_when_the_mentor_fills_up_the_other_mentee_waiting_on_them_is_offered_the_next_best(choice_slack,
                                                                                            fake_slack, engine,
                                                                                            sweep):
    add_people(fake_slack)
    add_topics(choice_slack)
    join(choice_slack, fake_slack, MAYA, role="mentor", offered=("leadership",), capacity="1")
    join(choice_slack, fake_slack, NOOR, role="mentor", offered=("leadership",))
    join(choice_slack, fake_slack, THEO, role="mentee", wanted=("leadership",))
    join(choice_slack, fake_slack, UMA, role="mentee", wanted=("leadership",))
    choice_slack.command("match", user_id=COORDINATOR)
    sweep(WED)
    for mentee in (THEO, UMA):
        [maya] = [c for c in buttons(_offers(fake_slack, mentee)[0], CHOICE_PICK_ACTION)
                  if _mentor_of(engine, c) == MAYA]
        choice_slack.block_action(user_id=mentee, action_id=CHOICE_PICK_ACTION, value=maya["value"])
    theo_request = next(p for p in stored_proposals(engine)
                        if p.mentee_id == THEO and p.status == ProposalStatus.CHOSEN)
    choice_slack.block_action(user_id=MAYA, action_id=REQUEST_ACCEPT_ACTION, value=str(theo_request.id))
    assert [(p.mentor_id, p.mentee_id) for p in stored_pairs(engine)] == [(MAYA, THEO)]
    uma_request = next(p for p in stored_proposals(engine) if p.mentee_id == UMA and p.mentor_id == MAYA)
    assert uma_request.status == ProposalStatus.DECLINED
    sweep(THU)
    offer = _offers(fake_slack, UMA)[-1]
    assert f"<@{MAYA}> couldn't take you on" in offer["text"] and f"<@{NOOR}>" in _text(offer)


def test_when_an_asked_mentor_leaves_the_mentee_is_offered_the_next_best(choice_pool, fake_slack, engine, sweep):
    sweep(WED)
    choice_pool.press(_offers(fake_slack, THEO)[0], "Ask this mentor", user_id=THEO)
    choice_pool.command("leave", user_id=MAYA)
    sweep(WED.replace(hour=11))
    assert _offers(fake_slack, MAYA) == [], "the request to a mentor who left is never sent"
    sweep(THU)
    offer = _offers(fake_slack, THEO)[-1]
    assert f"<@{MAYA}> couldn't take you on" in offer["text"]
    [again] = buttons(offer, CHOICE_PICK_ACTION)
    assert _mentor_of(engine, again) == NOOR


def test_an_offer_slack_refuses_is_reported_to_the_coordinators_once_in_words(choice_pool, fake_slack, engine, sweep):
    fake_slack.fail("chat.postMessage", error="messages_tab_disabled", channel=THEO)
    sweep(WED)
    [row] = _ledger_of_kind(engine, "match_offer")
    assert (row.recipient, row.status, row.error) == (THEO, "undeliverable", "messages_tab_disabled")
    notices = [m for m in fake_slack.posted() if m["channel"] == "D" + COORDINATOR[1:]]
    assert len(notices) == 1
    assert f"<@{THEO}>" in notices[0]["text"] and "messages_tab_disabled" in notices[0]["text"]
    assert "mentor choices" in notices[0]["text"]
    sweep(WED.replace(minute=5))
    sweep(WED.replace(day=WED.day + 1))
    assert len([m for m in fake_slack.posted() if m["channel"] == "D" + COORDINATOR[1:]]) == 1, "told once"


def _ledger_of_kind(engine, kind: str) -> list[Nudge]:
    return [row for row in _ledger(engine) if row.kind == kind]
