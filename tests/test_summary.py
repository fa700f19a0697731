"""The weekly summary: pure figures, the message, posting on demand and on Monday morning."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from bot.blocks import MAX_MESSAGE_BLOCKS
from bot.blocks.summary import build_summary_message
from bot.domain.figures import PairTally, ProgramInputs, RatedCheckin, program_figures
from bot.domain.models import GoalStatus, HelpRequest, MemberState, Pair, PairStatus, Phase
from bot.services.errors import UserError
from tests.conftest import COORDINATOR, MENTEE, MENTOR, OTHER, make_settings
from tests.factories import make_checkin, make_goal, make_pair

TODAY = date(2026, 3, 16)  # a Monday
UTC_ZONE = ZoneInfo("UTC")


def summary_figures(inputs: ProgramInputs, today: date):  # type: ignore[no-untyped-def]
    return program_figures(inputs, today, UTC_ZONE)


def pair(pair_id: int, **fields: object) -> Pair:
    values: dict[str, object] = dict(id=pair_id, mentor_id=f"UMR{pair_id}", mentee_id=f"UME{pair_id}",
                                     phase=Phase.PROGRESSION, status=PairStatus.ACTIVE, cadence_days=14,
                                     started_on=date(2026, 1, 5), ends_on=date(2026, 12, 31), created_by=COORDINATOR)
    values.update(fields)
    return Pair(**values)


def test_counts_phases_and_weeks():
    pairs = (pair(1), pair(2, phase=Phase.RAPPORT), pair(3, status=PairStatus.PAUSED),
             pair(4, status=PairStatus.ENDED, phase=Phase.ENDED))
    checkins = (RatedCheckin(1, date(2026, 3, 14), 5), RatedCheckin(2, date(2026, 3, 10), 3),
                RatedCheckin(1, date(2026, 3, 9), 4), RatedCheckin(2, date(2026, 3, 3), 4))
    figures = summary_figures(ProgramInputs(pairs=pairs, recent_checkins=checkins,
                                            tallies={1: PairTally(last_met_on=date(2026, 3, 14)),
                                                     2: PairTally(last_met_on=date(2026, 3, 10))},
                                            goals_achieved_on=(date(2026, 3, 12), date(2026, 2, 1))), TODAY)
    assert (figures.active, figures.paused, figures.ended) == (2, 1, 1)
    assert figures.by_phase == {"rapport": 1, "direction": 0, "progression": 2, "winding_up": 0}
    assert (figures.checkins_this_week, figures.checkins_last_week) == (2, 2)
    assert figures.average_rating is None  # only two pairs rated: an average would point at people
    assert (figures.goals_achieved, figures.goals_achieved_this_week) == (2, 1)


def test_the_average_rating_needs_three_rated_pairs():
    checkins = tuple(RatedCheckin(i, date(2026, 3, 12), rating) for i, rating in ((1, 5), (2, 4), (3, 3)))
    figures = summary_figures(ProgramInputs(pairs=(pair(1), pair(2), pair(3)), recent_checkins=checkins), TODAY)
    assert figures.average_rating == pytest.approx(4.0)


def test_at_risk_pairs_show_days_silent_help_and_paused_prompts_and_endings_within_30_days():
    pairs = (pair(1), pair(2), pair(3), pair(4, ends_on=date(2026, 4, 10)), pair(5, ends_on=date(2026, 5, 1)))
    asked = datetime(2026, 3, 13, 10, tzinfo=UTC)
    inputs = ProgramInputs(
        pairs=pairs,
        tallies={1: PairTally(last_met_on=date(2026, 1, 26)),
                 2: PairTally(last_met_on=date(2026, 3, 12), help_requests=1, last_help_at=asked),
                 3: PairTally(last_met_on=date(2026, 3, 12), prompts_paused=True),
                 4: PairTally(last_met_on=date(2026, 3, 12)), 5: PairTally(last_met_on=date(2026, 3, 12))},
    )
    figures = summary_figures(inputs, TODAY)
    assert [(a.pair.id, a.days_silent, a.help_requested, a.prompts_paused) for a in figures.at_risk] == [
        (1, 49, False, False), (2, 4, True, False), (3, 4, False, True)]
    assert [p.id for p in figures.endings] == [4]
    reply = build_summary_message(figures)
    text = str(reply.blocks)
    assert "<@UMR1> & <@UME1>: 49 days since the last check-in" in text
    assert "asked for help" in text and "prompts paused" in text
    assert "Apr 10" in text
    assert "Average rating* (last 4 weeks): —" in text


def test_a_large_program_stays_within_slacks_limits():
    pairs = tuple(pair(i) for i in range(1, 400))
    reply = build_summary_message(summary_figures(ProgramInputs(pairs=pairs), TODAY))
    assert len(reply.blocks) <= MAX_MESSAGE_BLOCKS
    assert all(len(b["text"]["text"]) <= 3000 for b in reply.blocks if b["type"] == "section")
    assert "and 384 more" in str(reply.blocks)


@pytest.fixture
def program(engine, runtime):  # type: ignore[no-untyped-def]
    cipher = runtime.services.ctx.cipher
    with Session(engine) as session:
        first = make_pair(session, phase=Phase.PROGRESSION)
        make_checkin(session, first, cipher, met_on=date(2026, 3, 12), rating=5, private_note="very private words",
                     shared_text="our shared words")
        make_goal(session, first, text="Secret goal text", status=GoalStatus.ACHIEVED, achieved_on=date(2026, 3, 11))
        second = make_pair(session, mentee_id=OTHER, channel_id="G2", started_on=date(2026, 1, 5))
        session.add(HelpRequest(pair_id=second.id, person_id=OTHER, created_at=datetime(2026, 3, 13, tzinfo=UTC)))
        session.add(MemberState(pair_id=first.id, person_id=MENTEE, prompts_paused_at=datetime(2026, 3, 1, tzinfo=UTC)))
        session.commit()


def test_a_coordinator_posts_the_summary_on_demand_without_any_note_text(runtime, fake_slack, program):
    reply = runtime.services.reports.post_summary(actor=COORDINATOR, now=datetime(2026, 3, 16, 12, tzinfo=UTC))
    assert "CSUMMARY1" in reply.text
    [message] = fake_slack.posted("CSUMMARY1")
    text = str(message["blocks"])
    assert "1 this week" in text and "2* active" in text
    assert f"<@{MENTOR}> & <@{OTHER}>" in text and "asked for help" in text
    assert f"<@{MENTOR}> & <@{MENTEE}>" in text and "prompts paused" in text
    everything = fake_slack.all_text()
    for secret in ("very private words", "our shared words", "Secret goal text"):
        assert secret not in everything


def test_only_a_coordinator_may_post_the_summary(runtime, fake_slack, program):
    with pytest.raises(UserError, match="coordinator"):
        runtime.services.reports.post_summary(actor=MENTOR, now=datetime(2026, 3, 16, 12, tzinfo=UTC))
    assert fake_slack.posted() == []


def test_without_a_summary_channel_the_coordinator_is_told_how_to_set_one(fake_slack, database_url, engine):
    from bot.app import build_app

    runtime = build_app(make_settings(fake_slack, database_url, summary_channel=None), engine=engine)
    with pytest.raises(UserError, match="MENTORBOT_SUMMARY_CHANNEL"):
        runtime.services.reports.post_summary(actor=COORDINATOR, now=datetime(2026, 3, 16, 12, tzinfo=UTC))


def test_the_summary_channel_refusing_us_is_said_in_words(runtime, fake_slack, program):
    fake_slack.fail("chat.postMessage", error="not_in_channel")
    with pytest.raises(UserError, match="invited"):
        runtime.services.reports.post_summary(actor=COORDINATOR, now=datetime(2026, 3, 16, 12, tzinfo=UTC))


def test_the_monday_sweep_posts_the_summary_once(runtime, fake_slack, program):
    monday_nine = datetime(2026, 3, 16, 9, tzinfo=UTC)
    runtime.services.sweep.run(now=monday_nine)
    runtime.services.sweep.run(now=monday_nine.replace(minute=5))
    [message] = fake_slack.posted("CSUMMARY1")
    assert message["metadata"]["event_payload"]["key"] == "program:CSUMMARY1:weekly_summary:2026-W12"
