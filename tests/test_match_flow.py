"""From sign-up to a welcomed pair in coordinator mode (accept, skip, accept all, each shown in place of its
buttons), rematch, privacy, and every bad or stale press refused with nothing half-written. Mentee-choice mode:
tests/test_match_offers.py."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from bot.blocks.ids import (
    CLOSURE_REASON_ACTION_PREFIX,
    MATCH_ACCEPT_ACTION,
    MATCH_ACCEPT_ALL_ACTION,
    MATCH_SKIP_ACTION,
)
from bot.domain.models import PairStatus, Profile, ProposalStatus
from tests.conftest import COORDINATOR, OTHER
from tests.factories import make_pair
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
    [proposal] = stored_proposals(engine)
    assert (proposal.mentor_id, proposal.mentee_id, proposal.status) == (MAYA, THEO, ProposalStatus.PROPOSED)
    assert [b["value"] for b in buttons(reply, MATCH_ACCEPT_ACTION)] == [str(proposal.id)]
    assert stored_pairs(engine) == []


def test_accepting_registers_the_pair_like_pair_and_the_welcome_says_what_each_brings(slack, fake_slack, engine,
                                                                                        pool):
    slack.command("match", user_id=COORDINATOR)
    [proposal] = stored_proposals(engine)
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ACTION, value=str(proposal.id))

    [pair] = stored_pairs(engine)
    assert (pair.mentor_id, pair.mentee_id, pair.created_by, pair.cadence_days) == (MAYA, THEO, COORDINATOR, 14)
    replaced = last_reply(fake_slack)
    assert replaced["replace_original"] is True, "the proposals message itself says what happened"
    assert f"Paired <@{MAYA}> (mentor) with <@{THEO}> (mentee)" in replaced["text"]
    assert f"Accepted — <@{MAYA}> and <@{THEO}> are now paired" in json.dumps(replaced["blocks"], ensure_ascii=False)
    assert buttons(replaced, MATCH_ACCEPT_ACTION) == buttons(replaced, MATCH_SKIP_ACTION) == []
    [welcome] = fake_slack.posted(group_dm(MAYA, THEO))
    blocks = json.dumps(welcome["blocks"], ensure_ascii=False)
    assert f"<@{COORDINATOR}> has paired you" in blocks
    assert "What each of you brings" in blocks
    assert "Ten years of design reviews at scale" in blocks
    assert "Topics you share: *design reviews* and *public speaking*" in blocks
    assert "How do I give hard feedback?" in blocks
    assert "For your first meeting" in blocks, "the first-meeting guide follows"
    assert stored_proposals(engine)[0].status == ProposalStatus.ACCEPTED
    assert stored_proposals(engine)[0].pair_id == pair.id

    # A stale press (the old message on another device): an ephemeral word, nothing replaced, nothing done.
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ACTION, value=str(proposal.id))
    stale = last_reply(fake_slack)
    assert "was already accepted" in stale["text"]
    assert stale["response_type"] == "ephemeral" and stale["replace_original"] is False
    assert len(stored_pairs(engine)) == 1 and len(fake_slack.posted(group_dm(MAYA, THEO))) == 1


def test_a_mentee_with_a_mentor_is_no_longer_waiting(slack, fake_slack, engine, pool):
    slack.command("match", user_id=COORDINATOR)
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ACTION, value=str(stored_proposals(engine)[0].id))
    slack.command("match", user_id=COORDINATOR)
    assert "0 proposed matches" in last_reply(fake_slack)["text"]


def test_skip_closes_a_proposal_without_telling_anyone(slack, fake_slack, engine, pool):
    slack.command("match", user_id=COORDINATOR)
    [proposal] = stored_proposals(engine)
    posted = len(fake_slack.posted())
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_SKIP_ACTION, value=str(proposal.id))
    replaced = last_reply(fake_slack)
    assert replaced["replace_original"] is True and "Skipped" in replaced["text"]
    assert "Skipped — nobody was told" in json.dumps(replaced["blocks"], ensure_ascii=False)
    assert buttons(replaced, MATCH_ACCEPT_ACTION) == []
    assert stored_proposals(engine)[0].status == ProposalStatus.SKIPPED
    assert len(fake_slack.posted()) == posted and stored_pairs(engine) == []
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ACTION, value=str(proposal.id))
    assert "was skipped" in last_reply(fake_slack)["text"] and last_reply(fake_slack)["replace_original"] is False
    assert stored_pairs(engine) == [] and stored_proposals(engine)[0].status == ProposalStatus.SKIPPED


def test_accept_all_registers_every_open_proposal_of_the_round(slack, fake_slack, engine, pool):
    join(slack, fake_slack, OTHER, role="mentee", wanted=("design reviews",))
    slack.command("match", user_id=COORDINATOR)
    reply = last_reply(fake_slack)
    [accept_all] = buttons(reply, MATCH_ACCEPT_ALL_ACTION)
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ALL_ACTION, value=accept_all["value"])
    replaced = last_reply(fake_slack)
    assert replaced["replace_original"] is True and "Accepted 2 of 2 proposals" in replaced["text"]
    blocks = json.dumps(replaced["blocks"], ensure_ascii=False)
    assert blocks.count("are now paired") == 2
    assert [b for b in replaced["blocks"] if b["type"] == "actions"] == [], "no button is left to press"
    assert sorted(p.mentee_id for p in stored_pairs(engine)) == sorted([THEO, OTHER])
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ALL_ACTION, value=accept_all["value"])
    assert "Nothing left to accept" in last_reply(fake_slack)["text"]
    assert last_reply(fake_slack)["replace_original"] is False and len(stored_pairs(engine)) == 2


def test_accepting_one_of_a_round_keeps_the_others_open_with_their_buttons(slack, fake_slack, engine, pool):
    join(slack, fake_slack, OTHER, role="mentee", wanted=("design reviews",))
    slack.command("match", user_id=COORDINATOR)
    first, second = stored_proposals(engine)
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ACTION, value=str(first.id))
    replaced = last_reply(fake_slack)
    assert [b["value"] for b in buttons(replaced, MATCH_ACCEPT_ACTION)] == [str(second.id)]
    assert buttons(replaced, MATCH_ACCEPT_ALL_ACTION) == [], "one open proposal left: no accept all"


def test_a_new_match_replaces_the_open_proposals_of_the_last(slack, fake_slack, engine, pool):
    slack.command("match", user_id=COORDINATOR)
    first = stored_proposals(engine)[0]
    slack.command("match", user_id=COORDINATOR)
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ACTION, value=str(first.id))
    assert "was replaced by a newer `/mentoring match`" in last_reply(fake_slack)["text"]
    assert stored_pairs(engine) == []


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
    assert stored_pairs(engine) == []


def test_only_coordinators_propose_or_accept(slack, fake_slack, engine, pool):
    slack.command("match", user_id=THEO)
    assert "Only coordinators can propose matches" in last_reply(fake_slack)["text"]
    assert stored_proposals(engine) == []
    slack.command("match", user_id=COORDINATOR)
    slack.block_action(user_id=MAYA, action_id=MATCH_ACCEPT_ACTION, value=str(stored_proposals(engine)[0].id))
    assert "Only coordinators can accept proposed matches" in last_reply(fake_slack)["text"]
    assert stored_pairs(engine) == [] and stored_proposals(engine)[0].status == ProposalStatus.PROPOSED


def test_when_the_welcome_cannot_be_posted_nothing_is_kept(slack, fake_slack, engine, pool):
    slack.command("match", user_id=COORDINATOR)
    fake_slack.fail("chat.postMessage", error="channel_not_found")
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ACTION, value=str(stored_proposals(engine)[0].id))
    assert "Nothing was saved" in last_reply(fake_slack)["text"]
    assert stored_pairs(engine) == [] and stored_proposals(engine)[0].status == ProposalStatus.PROPOSED


def test_a_proposal_whose_mentee_left_is_refused(slack, fake_slack, engine, pool):
    slack.command("match", user_id=COORDINATOR)
    proposal = stored_proposals(engine)[0]
    slack.command("leave", user_id=THEO)
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ACTION, value=str(proposal.id))
    assert "was withdrawn: one of them left the pool" in last_reply(fake_slack)["text"]
    assert stored_pairs(engine) == []


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
    by_mentee = {p.mentee_id: p for p in stored_proposals(engine)}
    assert by_mentee[UMA].mentor_id == OTHER, "never the former partner"
    assert "back in the pool" in by_mentee[UMA].reason
    text = json.dumps(last_reply(fake_slack)["blocks"], ensure_ascii=False)
    assert text.index(f"<@{UMA}>") < text.index(f"<@{THEO}>"), "first in the queue"


# ---- privacy --------------------------------------------------------------------------------------


def test_the_export_carries_topics_but_never_strengths_or_questions(slack, fake_slack, engine, pool, runtime):
    slack.command("match", user_id=COORDINATOR)
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ACTION, value=str(stored_proposals(engine)[0].id))
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
    proposal = next(p for p in stored_proposals(engine) if p.mentee_id == OTHER)
    assert proposal.mentor_id == NOOR
    slack.block_action(user_id=COORDINATOR, action_id=MATCH_ACCEPT_ACTION, value=str(proposal.id))
    slack.command(f"profile <@{OTHER}>", user_id=NOOR)
    assert "Where do I start?" in last_reply(fake_slack)["text"]
    slack.command(f"profile <@{NOOR}> <@{OTHER}>", user_id=COORDINATOR)
    assert "Name one partner at most" in last_reply(fake_slack)["text"]
