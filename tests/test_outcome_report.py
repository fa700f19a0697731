"""The outcome report's rules, each over rows in the database through the one path (`load_outcome_totals`,
then `report_of`): "—" under 3 pairs, `/mentoring report` and the export columns."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.blocks.report import build_outcome_report, outcome_lines
from bot.crypto import NoteCipher
from bot.domain.models import GoalAttainment, OutcomeResponse, Pair, PairStatus, Phase, Profile, ProfileTopic, Topic
from bot.domain.outcomes import AnswerRow, OutcomeReport, export_outcome_columns, report_of
from bot.store.outcomes import load_outcome_totals
from tests.conftest import COORDINATOR, MENTEE, TEST_ENCRYPTION_KEY
from tests.factories import make_checkin, make_goal, make_pair, make_person

TODAY = date(2026, 6, 1)


class ProgramRows:
    """A program's pairs, check-ins, answers and goal verdicts, added through the models in one session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cipher = NoteCipher([TEST_ENCRYPTION_KEY])
        self.made = 0

    def pair(self, *, ended_on: date | None = None, **fields: object) -> Pair:
        """Add a pair registered on Jan 1, every 14 days until Dec 1 unless told otherwise; ended when told."""
        self.made += 1
        if ended_on is not None:
            fields.update(status=PairStatus.ENDED, phase=Phase.ENDED, ended_at=_noon(ended_on))
        values: dict[str, object] = {"ends_on": date(2026, 12, 1), **fields}
        return make_pair(self.session, mentor_id=f"UMR{self.made}", mentee_id=f"UME{self.made}",
                         channel_id=f"G{self.made}", created_at=datetime(2026, 1, 1, 9, tzinfo=UTC),
                         **values)  # type: ignore[arg-type]

    def pairs(self, n: int, **fields: object) -> list[Pair]:
        return [self.pair(**fields) for _ in range(n)]

    def meet(self, pair: Pair, *days: date) -> None:
        for day in days:
            make_checkin(self.session, pair, self.cipher, met_on=day)

    def answer(self, pair: Pair, kind: str, day: date, rating: int | None = None, meeting: str | None = None,
               again: bool | None = None) -> OutcomeResponse:
        """Add the mentor's answer, at noon UTC of `day`; each in a period of its own, so a pair may answer a
        kind more than once."""
        self.made += 1
        response = OutcomeResponse(pair_id=pair.id, author_id=pair.mentor_id, kind=kind, period=f"p{self.made}",
                                   answered_at=_noon(day), rating=rating, meeting_as_agreed=meeting,
                                   take_part_again=again)
        self.session.add(response)
        self.session.flush()
        return response

    def judge(self, pair: Pair, *verdicts: str, survey: OutcomeResponse | None = None) -> None:
        """Add a verdict on one goal of the pair's per verdict, in `survey` or a closing survey of its own."""
        response = survey or self.answer(pair, "closing", TODAY)
        for verdict in verdicts:
            goal = make_goal(self.session, pair)
            self.session.add(GoalAttainment(response_id=response.id, goal_id=goal.id, attainment=verdict))
        self.session.flush()

    def report(self, topics: Mapping[int, str] | None = None) -> OutcomeReport:
        """Return the report as `/mentoring report` works it out, with `topics` as the pairs' topics."""
        return report_of(load_outcome_totals(session=self.session, today=TODAY, topics=topics), TODAY)


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), UTC)


@pytest.fixture
def rows(engine: Engine) -> Iterator[ProgramRows]:
    with Session(engine) as session:
        yield ProgramRows(session)


def test_goal_attainment_counts_each_verdict(rows):
    first, second, third = rows.pairs(3)
    rows.judge(first, "met", "partly")
    rows.judge(second, "met")
    rows.judge(third, "not_met")
    report = rows.report()
    assert report.attainment.counts == {"met": 2, "partly": 1, "not_met": 1}
    assert report.attainment.percent("met") == 50


@pytest.mark.parametrize("answering_pairs", [1, 2])
def test_every_figure_from_fewer_than_three_pairs_is_a_dash(rows, answering_pairs):
    answering = rows.pairs(answering_pairs, ends_on=TODAY, ended_on=TODAY)
    rows.pairs(7, ends_on=TODAY)
    for pair in answering:
        rows.meet(pair, *(TODAY - timedelta(days=d) for d in (30, 15, 1)))
        for kind in ("fit", "pulse"):
            rows.answer(pair, kind, TODAY, 2, "no", True)
        rows.judge(pair, "met", survey=rows.answer(pair, "closing", TODAY, 2, "no", True))
    report = rows.report(topics={pair.id: "Leadership" for pair in answering})
    lines = outcome_lines(report)
    assert all("—" in line for line in lines), lines
    assert report.fit.current is None and report.low_fit_pairs is None and report.closing_value is None
    assert report.by_topic["Leadership"].counts is None


def test_meeting_regularity_is_the_median_gap_against_the_agreed_cadence(rows):
    pairs = rows.pairs(4)
    for pair, gap in zip(pairs, (14, 15, 30), strict=False):
        rows.meet(pair, *(date(2026, 3, 1) + timedelta(days=gap * k) for k in range(4)))
    report = rows.report()
    assert (report.median_gap_days, report.median_cadence_days, report.regular_pairs) == (15, 14, 3)
    assert report.on_cadence_percent == 67  # 14 and 15 are within a quarter of 14; 30 is not


def test_a_pairs_gap_is_the_median_of_its_own_gaps_whatever_order_they_were_logged_in(rows):
    pairs = rows.pairs(3)
    # Gaps 10, 30, 12 (median 12, mean 17.3); 20, 21 (median 20.5); 7, 7, 7, 40 (median 7, mean 15.25).
    for pair, days in zip(pairs, ((40, 0, 52, 10), (0, 20, 41), (21, 0, 7, 14, 61)), strict=True):
        rows.meet(pair, *(date(2026, 3, 1) + timedelta(days=d) for d in days))
    report = rows.report()
    assert (report.median_gap_days, report.regular_pairs) == (12, 3)
    assert report.on_cadence_percent == 67  # 12 and 7 are within 17.5 days of a 14-day cadence; 20.5 is not


def test_fit_and_pulse_averages_come_with_their_trend(rows):
    pairs = rows.pairs(3)
    for pair in pairs:
        rows.answer(pair, "pulse", TODAY - timedelta(days=10), 4)
        rows.answer(pair, "pulse", TODAY - timedelta(days=100), 2)
    for pair, rating in zip(pairs, (1, 5, 5), strict=True):
        rows.answer(pair, "fit", TODAY - timedelta(days=5), rating)
    report = rows.report()
    assert (report.growth.current, report.growth.previous, report.growth.direction) == (4, 2, "up")
    assert report.fit.current == pytest.approx(11 / 3) and report.fit.previous is None
    assert report.low_fit_pairs == 1


def test_endings_split_reached_end_date_from_early_and_why_and_time_to_first_meeting(rows):
    ended = [rows.pair(ends_on=date(2026, 5, 1), ended_on=date(2026, 5, 2), closure_reason="completed"),
             rows.pair(ends_on=date(2026, 9, 1), ended_on=date(2026, 3, 1), closure_reason="ended_early"),
             rows.pair(ends_on=date(2026, 9, 1), ended_on=date(2026, 3, 1), closure_reason="rematched")]
    active = rows.pair(ends_on=date(2026, 9, 1))
    for pair, day in zip([*ended, active], (date(2026, 1, 5), date(2026, 1, 11), date(2026, 1, 21),
                                            date(2026, 2, 1)), strict=True):
        rows.meet(pair, day)
    report = rows.report()
    assert report.endings.counts == {"reached_end_date": 1, "ended_early": 1, "rematched": 1}
    assert report.days_to_first_meeting == 15  # 4, 10, 20, 31 days: the median
    text = "\n".join(outcome_lines(report))
    assert "reached their end date 33%" in text and "ended early 33%" in text and "rematched 33%" in text


def test_attainment_by_topic_when_the_program_has_topics(rows):
    pairs = rows.pairs(4)
    for pair, verdict in zip(pairs, ("met", "met", "met", "not_met"), strict=True):
        rows.judge(pair, verdict)
    report = rows.report(topics=dict(zip((p.id for p in pairs), ("Design", "Design", "Design", "Sales"),
                                         strict=True)))
    assert report.by_topic["Design"].counts == {"met": 3}
    assert report.by_topic["Sales"].counts is None
    assert "Design: met 100%" in build_outcome_report(report).blocks[-2]["text"]["text"]


def test_the_export_columns_average_both_members_and_never_say_who():
    columns = export_outcome_columns(
        iter([AnswerRow(1, "fit", 2), AnswerRow(1, "fit", 5), AnswerRow(1, "pulse", 4, "yes"),
              AnswerRow(1, "closing", 3, None, True), AnswerRow(1, "closing", 5, None, False)]),
        iter([(1, "met"), (1, "partly")]))
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
