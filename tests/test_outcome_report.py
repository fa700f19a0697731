"""The outcome report: pure figures over rows, "—" under 3 pairs, `/mentoring report` and the export columns."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session

from bot.blocks.report import build_outcome_report, outcome_lines
from bot.domain.models import GoalAttainment, OutcomeResponse, PairStatus, Profile, ProfileTopic, Topic
from bot.domain.outcomes import AnswerRow, OutcomeInputs, PairRow, export_outcome_columns, outcome_report
from tests.conftest import COORDINATOR, MENTEE
from tests.factories import make_checkin, make_goal, make_pair, make_person

TODAY = date(2026, 6, 1)


def pairs(n: int, **overrides) -> list[PairRow]:
    values = {"status": PairStatus.ACTIVE, "cadence_days": 14, "ends_on": date(2026, 12, 1),
              "registered_on": date(2026, 1, 1)}
    values.update(overrides)
    return [PairRow(pair_id=i, **values) for i in range(1, n + 1)]


def test_goal_attainment_counts_each_verdict():
    report = outcome_report(OutcomeInputs(pairs=pairs(3), attainments=[
        (1, "met"), (1, "partly"), (2, "met"), (3, "not_met")]),
        TODAY)
    assert report.attainment.counts == {"met": 2, "partly": 1, "not_met": 1}
    assert report.attainment.percent("met") == 50


@pytest.mark.parametrize("answering_pairs", [1, 2])
def test_every_figure_from_fewer_than_three_pairs_is_a_dash(answering_pairs):
    ids = range(1, answering_pairs + 1)
    report = outcome_report(OutcomeInputs(
        pairs=[PairRow(i, PairStatus.ENDED, 14, TODAY, date(2026, 1, 1), TODAY) for i in ids]
        + [PairRow(i, PairStatus.ACTIVE, 14, TODAY, date(2026, 1, 1)) for i in range(3, 10)],
        meetings=[(i, TODAY - timedelta(days=d)) for i in ids for d in (30, 15, 1)],
        answers=[AnswerRow(i, kind, TODAY, 2, "no", True) for i in ids for kind in ("fit", "pulse", "closing")],
        attainments=[(i, "met") for i in ids],
        topics={i: "Leadership" for i in ids}), TODAY)
    lines = outcome_lines(report)
    assert all("—" in line for line in lines), lines
    assert report.fit.current is None and report.low_fit_pairs is None and report.closing_value is None
    assert report.by_topic["Leadership"].counts is None


def test_meeting_regularity_is_the_median_gap_against_the_agreed_cadence():
    meetings = []
    for pair_id, gap in ((1, 14), (2, 15), (3, 30)):
        meetings += [(pair_id, date(2026, 3, 1) + timedelta(days=gap * k)) for k in range(4)]
    report = outcome_report(OutcomeInputs(pairs=pairs(4), meetings=meetings), TODAY)
    assert (report.median_gap_days, report.median_cadence_days, report.regular_pairs) == (15, 14, 3)
    assert report.on_cadence_percent == 67  # 14 and 15 are within a quarter of 14; 30 is not


def test_fit_and_pulse_averages_come_with_their_trend():
    recent = [AnswerRow(i, "pulse", TODAY - timedelta(days=10), 4) for i in (1, 2, 3)]
    earlier = [AnswerRow(i, "pulse", TODAY - timedelta(days=100), 2) for i in (1, 2, 3)]
    fits = [AnswerRow(i, "fit", TODAY - timedelta(days=5), r) for i, r in ((1, 1), (2, 5), (3, 5))]
    report = outcome_report(OutcomeInputs(pairs=pairs(3), answers=recent + earlier + fits), TODAY)
    assert (report.growth.current, report.growth.previous, report.growth.direction) == (4, 2, "up")
    assert report.fit.current == pytest.approx(11 / 3) and report.fit.previous is None
    assert report.low_fit_pairs == 1


def test_endings_split_reached_end_date_from_early_and_why_and_time_to_first_meeting():
    rows = [PairRow(1, PairStatus.ENDED, 14, date(2026, 5, 1), date(2026, 1, 1), date(2026, 5, 2), "completed"),
            PairRow(2, PairStatus.ENDED, 14, date(2026, 9, 1), date(2026, 1, 1), date(2026, 3, 1), "ended_early"),
            PairRow(3, PairStatus.ENDED, 14, date(2026, 9, 1), date(2026, 1, 1), date(2026, 3, 1), "rematched"),
            PairRow(4, PairStatus.ACTIVE, 14, date(2026, 9, 1), date(2026, 1, 1))]
    meetings = [(1, date(2026, 1, 5)), (2, date(2026, 1, 11)), (3, date(2026, 1, 21)), (4, date(2026, 2, 1))]
    report = outcome_report(OutcomeInputs(pairs=rows, meetings=meetings), TODAY)
    assert report.endings.counts == {"reached_end_date": 1, "ended_early": 1, "rematched": 1}
    assert report.days_to_first_meeting == 15  # 4, 10, 20, 31 days: the median
    text = "\n".join(outcome_lines(report))
    assert "reached their end date 33%" in text and "ended early 33%" in text and "rematched 33%" in text


def test_attainment_by_topic_when_the_program_has_topics():
    verdicts = [(i, "met") for i in (1, 2, 3)] + [(4, "not_met")]
    report = outcome_report(OutcomeInputs(pairs=pairs(4), attainments=verdicts,
                                          topics={1: "Design", 2: "Design", 3: "Design", 4: "Sales"}), TODAY)
    assert report.by_topic["Design"].counts == {"met": 3}
    assert report.by_topic["Sales"].counts is None
    assert "Design: met 100%" in build_outcome_report(report).blocks[-2]["text"]["text"]


def test_the_export_columns_average_both_members_and_never_say_who():
    columns = export_outcome_columns(
        [AnswerRow(1, "fit", TODAY, 2), AnswerRow(1, "fit", TODAY, 5), AnswerRow(1, "pulse", TODAY, 4, "yes"),
         AnswerRow(1, "closing", TODAY, 3, None, True), AnswerRow(1, "closing", TODAY, 5, None, False)],
        [(1, "met"), (1, "partly")])
    assert columns[1] == {"fit_rating": "3.5", "pulse_growth": "4.0", "pulses_meeting_as_agreed": "yes:1",
                          "closing_value": "4.0", "take_part_again": "1/2", "goals_met": "1", "goals_partly": "1",
                          "goals_not_met": "0"}


@pytest.fixture
def program(engine, runtime):
    """Four pairs with check-ins, fit and pulse answers and two closing surveys, one with free text."""
    cipher = runtime.services.ctx.cipher
    with Session(engine) as session:
        for n in range(4):
            pair = make_pair(session, mentor_id=f"UMR{n}", mentee_id=f"UME{n}", started_on=date(2026, 1, 5),
                             created_at=datetime(2026, 1, 5, 9, tzinfo=UTC))
            goal = make_goal(session, pair, text=f"Goal of pair {n}")
            for week in range(3):
                make_checkin(session, pair, cipher, met_on=date(2026, 1, 12) + timedelta(days=14 * week))
            for person in (pair.mentor_id, pair.mentee_id):
                session.add(OutcomeResponse(pair_id=pair.id, author_id=person, kind="fit", period="first", rating=4,
                                            answered_at=datetime(2026, 1, 13, tzinfo=UTC)))
            closing = OutcomeResponse(pair_id=pair.id, author_id=pair.mentee_id, kind="closing", period="end",
                                      rating=5, take_part_again=True, answered_at=datetime(2026, 3, 1, tzinfo=UTC),
                                      helped_most_enc=cipher.encrypt(f"secret {n}"))
            session.add(closing)
            session.flush()
            session.add(GoalAttainment(response_id=closing.id, goal_id=goal.id, attainment="met"))
        make_person(session, COORDINATOR)
        session.commit()


def test_a_coordinator_reads_the_report_ephemerally(slack, fake_slack, program):
    slack.command("report", user_id=COORDINATOR)
    reply = fake_slack.responses[-1].params
    text = json.dumps(reply["blocks"], ensure_ascii=False)
    assert reply.get("response_type", "ephemeral") == "ephemeral"
    assert "Outcome report" in text and "met 100%" in text and "median 14 days" in text
    assert "secret" not in fake_slack.all_text()


def test_someone_else_asking_for_the_report_is_told_why_not(slack, fake_slack, program):
    slack.command("report", user_id=MENTEE)
    reply = fake_slack.responses[-1].params
    assert "coordinator" in reply["text"] and "Outcome report" not in json.dumps(reply)


def test_the_report_takes_no_arguments(slack, fake_slack, program):
    slack.command("report everything", user_id=COORDINATOR)
    assert "/mentoring report" in json.dumps(fake_slack.responses[-1].params)


def test_the_weekly_summary_has_the_outcome_section_and_the_export_the_ratings(runtime, program):
    summary = runtime.services.reports.summary_reply(datetime(2026, 3, 2, 9, tzinfo=UTC))
    assert "*Outcomes*" in json.dumps(summary.blocks)
    rows = list(csv.DictReader(io.StringIO(runtime.services.reports.export_csv(datetime.now(UTC)))))
    assert {r["fit_rating"] for r in rows} == {"4.0"} and {r["goals_met"] for r in rows} == {"1"}
    assert "secret" not in runtime.services.reports.export_csv(datetime.now(UTC))


@pytest.fixture
def topics(engine, program):
    """Profiles for the program's pairs: three on Design, the fourth sharing Leadership (wanted beside Sales)."""
    chosen = {n: ({"Design"}, {"Design"}) for n in range(3)}
    chosen[3] = ({"Design", "Leadership"}, {"Leadership", "Sales"})
    with Session(engine) as session:
        ids = {}
        for name in ("Design", "Leadership", "Sales"):
            topic = Topic(name=name, key=name.casefold())
            session.add(topic)
            session.flush()
            ids[name] = topic.id
        for n, (offered, wanted) in chosen.items():
            for person, kind, names in ((f"UMR{n}", "offered", offered), (f"UME{n}", "wanted", wanted)):
                session.add(Profile(person_id=person, role="mentor" if kind == "offered" else "mentee"))
                session.flush()
                session.add_all(ProfileTopic(person_id=person, topic_id=ids[t], kind=kind) for t in names)
        session.commit()


def test_the_report_and_the_weekly_summary_show_attainment_by_the_pairs_profile_topics(
        slack, fake_slack, runtime, topics):
    slack.command("report", user_id=COORDINATOR)
    text = json.dumps(fake_slack.responses[-1].params["blocks"], ensure_ascii=False)
    assert "*Attainment by topic*: Design: met 100%; Leadership: —" in text
    summary = runtime.services.reports.summary_reply(datetime(2026, 3, 2, 9, tzinfo=UTC))
    assert "*Attainment by topic*: Design: met 100%; Leadership: —" in json.dumps(summary.blocks, ensure_ascii=False)
