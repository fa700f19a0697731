"""The Home view builder alone: Slack's limits, escaping, and what each part shows."""

from __future__ import annotations

import json
from datetime import date, timedelta

from bot.blocks import MAX_BUTTON_TEXT, MAX_HEADER_TEXT, MAX_SECTION_TEXT, MAX_VIEW_BLOCKS
from bot.blocks.home import HomeCheckin, HomeData, HomePair, build_home_view
from bot.blocks.ids import CHECKIN_OPEN_ACTION, RESUME_KIND_ACTION_PREFIX
from bot.domain.figures import AtRiskPair, ProgramFigures
from bot.domain.models import NudgeKind, Pair, Phase

TODAY = date(2026, 11, 23)


def a_pair(pair_id: int, **overrides) -> HomePair:
    values = dict(
        pair_id=pair_id, partner_id=f"UP{pair_id:05d}", role="mentor", phase=Phase.PROGRESSION, status="active",
        last_met_on=TODAY - timedelta(days=5), next_meeting_on=TODAY + timedelta(days=9),
        open_goals=[(f"Goal {n} " + "g" * 480, TODAY + timedelta(days=n)) for n in range(12)],
        stopped_kinds=[NudgeKind.MEETING_PREP, NudgeKind.REFLECTION],
        recent=[HomeCheckin(met_on=TODAY, rating=4, shared_text="s" * 2000, private_note="p" * 2000)] * 3,
    )
    values.update(overrides)
    return HomePair(**values)


def overview(at_risk: int) -> ProgramFigures:
    pairs = [Pair(id=n, mentor_id=f"UM{n:05d}", mentee_id=f"UE{n:05d}", started_on=TODAY, ends_on=TODAY,
                  created_by="UC") for n in range(at_risk)]
    return ProgramFigures(
        today=TODAY, active=at_risk, paused=0, ended=0, by_phase={p.value: at_risk // 4 for p in list(Phase)[:4]},
        checkins_this_week=0, checkins_last_week=0, checkins_in_window=0, average_rating=None,
        goals_achieved=0, goals_achieved_this_week=0,
        at_risk=tuple(AtRiskPair(p, 40 + n, False, False) for n, p in enumerate(pairs)), at_risk_count=at_risk,
        endings=(), endings_count=0,
    )


def assert_within_slack_limits(view: dict) -> None:
    blocks = view["blocks"]
    assert len(blocks) <= MAX_VIEW_BLOCKS
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= MAX_HEADER_TEXT
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25
            assert all(len(e["text"]["text"]) <= MAX_BUTTON_TEXT for e in block["elements"])


def test_a_huge_program_and_many_full_pairs_stay_within_slacks_limits():
    data = HomeData(user_id="UCOORD1", today=TODAY, pairs=[a_pair(n) for n in range(60)], overview=overview(500),
                    quiet=True)
    view = build_home_view(data)
    assert_within_slack_limits(view)
    text = json.dumps(view, ensure_ascii=False)
    assert "At risk (500)" in text and "…and 470 more" in text
    assert "more pairs — see `/mentoring pairs`" in text
    assert view["blocks"][-1]["type"] == "context"  # the privacy footer survives the cut


def test_a_pair_card_shows_resume_buttons_for_each_stopped_kind():
    view = build_home_view(HomeData(user_id="UM", today=TODAY, pairs=[a_pair(7)]))
    values = [e.get("value") for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
              if e["action_id"].startswith(RESUME_KIND_ACTION_PREFIX)]
    assert values == ["7:meeting_prep", "7:reflection"]


def test_an_ended_pair_offers_no_checkin_button():
    view = build_home_view(HomeData(user_id="UM", today=TODAY, pairs=[a_pair(3, status="ended", phase=Phase.ENDED,
                                                                              stopped_kinds=[])]))
    assert CHECKIN_OPEN_ACTION not in json.dumps(view)


def test_user_text_is_escaped_and_an_empty_note_shows_no_lock_line():
    pair = a_pair(1, open_goals=[("<!channel> *win*", None)],
                  recent=[HomeCheckin(met_on=TODAY, rating=5, shared_text="<@U999> & co")])
    text = json.dumps(build_home_view(HomeData(user_id="UM", today=TODAY, pairs=[pair])), ensure_ascii=False)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "&lt;@U999&gt; &amp; co" in text
    assert "Your private note:" not in text


def test_without_goals_a_new_pair_is_shown_how_to_add_one():
    pair = a_pair(1, phase=Phase.DIRECTION, open_goals=[], recent=[], last_met_on=None, next_meeting_on=None)
    text = json.dumps(build_home_view(HomeData(user_id="UM", today=TODAY, pairs=[pair])), ensure_ascii=False)
    assert "/mentoring goal add" in text
    assert "*Last meeting:* not yet" in text
