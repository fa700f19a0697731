"""The outcome report as the database pre-aggregates it: every figure of a small program worked out by hand.

The report's totals are summed, counted and grouped in SQL (`bot.store.outcomes.load_outcome_totals`); these
figures are what the program's rows say. The export's outcome columns of the same program are worked out too.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session

from bot.domain.models import ClosureReason, GoalAttainment, OutcomeResponse, PairStatus, Phase
from bot.domain.outcomes import OUTCOME_EXPORT_COLUMNS, OutcomeReport, Share, Trend
from tests.factories import make_checkin, make_goal, make_pair

TODAY = date(2026, 6, 1)  # trend windows: (Mar 3, Jun 1] and (Dec 3, Mar 3]


def at(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def program(engine, runtime):  # type: ignore[no-untyped-def]
    cipher = runtime.services.ctx.cipher
    with Session(engine) as session:
        def pair(n: int, **fields: object):  # type: ignore[no-untyped-def]
            return make_pair(session, mentor_id=f"UMR{n}", mentee_id=f"UME{n}", channel_id=f"G{n}",
                             created_at=at(2026, 1, 1, 9), **fields)  # type: ignore[arg-type]

        ended = {"status": PairStatus.ENDED, "phase": Phase.ENDED}
        p1 = pair(1, ends_on=date(2026, 12, 1))
        p2 = pair(2, ends_on=date(2026, 12, 1))
        p3 = pair(3, cadence_days=7, ends_on=date(2026, 5, 1), ended_at=at(2026, 5, 2),
                  closure_reason=ClosureReason.COMPLETED, **ended)
        p4 = pair(4, ends_on=date(2026, 9, 1), ended_at=at(2026, 3, 1), closure_reason=ClosureReason.ENDED_EARLY,
                  **ended)
        p5 = pair(5, ends_on=date(2026, 9, 1), ended_at=at(2026, 3, 1), closure_reason=ClosureReason.REMATCHED,
                  **ended)
        # Completed, but before its end date: it did not reach it.
        pair(6, ends_on=date(2026, 9, 1), ended_at=at(2026, 4, 1), closure_reason=ClosureReason.COMPLETED, **ended)
        # Gaps 14, 14, 18 (median 14); 15, 16 (15.5); 30; none. First meetings 4, 10, 20 and 31 days after Jan 1.
        for p, days in ((p1, ("01-05", "01-19", "02-02", "02-20")), (p2, ("01-11", "01-26", "02-11")),
                        (p3, ("01-21", "02-20")), (p4, ("02-01",))):
            for day in days:
                make_checkin(session, p, cipher, met_on=date.fromisoformat(f"2026-{day}"))

        def answer(p, kind: str, who: str, period: str, when: datetime | None, rating: int | None = None,
                   meeting: str | None = None, again: bool | None = None) -> OutcomeResponse:  # type: ignore[no-untyped-def]
            response = OutcomeResponse(pair_id=p.id, author_id=getattr(p, f"{who}_id"), kind=kind, period=period,
                                       answered_at=when, rating=rating, meeting_as_agreed=meeting,
                                       take_part_again=again)
            session.add(response)
            session.flush()
            return response

        # Fit: 4, 2, 5, 3 in the last 90 days from pairs 1–3; 5 before; pair 4's 1 a year ago. Low: pairs 1, 4.
        answer(p1, "fit", "mentor", "first", at(2026, 5, 1), 4)
        answer(p1, "fit", "mentee", "first", at(2026, 5, 1), 2)
        answer(p2, "fit", "mentee", "first", at(2026, 5, 20), 5)
        answer(p2, "fit", "mentor", "first", at(2026, 2, 1), 5)
        answer(p3, "fit", "mentor", "first", at(2026, 4, 1), 3)
        answer(p4, "fit", "mentor", "first", at(2025, 6, 1), 1)
        # Pulses. Last 90 days: 4, 4, 5 and 5 (just after midnight today); before: 3, 3, 2 and 1 (late on the
        # window's last day). Dec 3 is outside both, and an unanswered response counts nowhere.
        answer(p1, "pulse", "mentor", "p1", at(2026, 3, 10), 4, "yes")
        answer(p2, "pulse", "mentor", "p1", at(2026, 4, 10), 4, "sometimes")
        answer(p3, "pulse", "mentor", "p1", at(2026, 5, 10), 5, "no")
        answer(p4, "pulse", "mentor", "p1", at(2026, 6, 1, 0, 10), 5)
        answer(p1, "pulse", "mentor", "p2", at(2026, 1, 10), 3, "yes")
        answer(p2, "pulse", "mentor", "p2", at(2026, 2, 10), 3)
        answer(p3, "pulse", "mentor", "p2", at(2025, 12, 20), 2)
        answer(p4, "pulse", "mentor", "p2", at(2026, 3, 3, 23, 30), 1)
        answer(p5, "pulse", "mentor", "p1", at(2025, 12, 3, 23, 59), 5, "yes")
        answer(p5, "pulse", "mentee", "p1", None, 1, "no")
        answer(p4, "pulse", "mentee", "p1", at(2026, 5, 5), None, "no")
        # Closing: values 5, 4, 2 (and one without); again yes, yes, no. Verdicts: met 2, partly 1, not met 1.
        verdicts = (
            (answer(p3, "closing", "mentor", "end", at(2026, 5, 3), 5, again=True), p3, ("met", "partly")),
            (answer(p3, "closing", "mentee", "end", at(2026, 5, 3), 4, again=True), p3, ()),
            (answer(p4, "closing", "mentee", "end", at(2026, 3, 2), 2, again=False), p4, ("not_met",)),
            (answer(p5, "closing", "mentor", "end", at(2026, 3, 2)), p5, ("met",)),
        )
        for response, p, said in verdicts:
            for verdict in said:
                goal = make_goal(session, p)
                session.add(GoalAttainment(response_id=response.id, goal_id=goal.id, attainment=verdict))
        session.commit()


EXPECTED = OutcomeReport(
    today=TODAY,
    pairs=6,
    attainment=Share({"met": 2, "partly": 1, "not_met": 1}, 3),
    median_gap_days=15.5,  # of 14, 15.5 and 30
    median_cadence_days=14,  # of 14, 14 and 7
    on_cadence_percent=67,  # 14 and 15.5 are within 17.5 days; 30 is over 8.75
    regular_pairs=3,
    fit=Trend(14 / 4, None, 3),  # before: one pair only
    low_fit_pairs=2,
    growth=Trend(18 / 4, 9 / 4, 4),
    meeting_as_agreed=Share({"yes": 3, "sometimes": 1, "no": 2}, 5),  # any day, not the unanswered one
    closing_value=11 / 3,
    take_part_again_percent=67,
    closings=3,
    endings=Share({"reached_end_date": 1, "ended_early": 1, "rematched": 1, "completed": 1}, 4),
    days_to_first_meeting=15,  # of 4, 10, 20 and 31
    first_meetings=4,
)


def test_every_figure_of_the_report_is_the_programs_worked_out_by_hand(runtime, program):
    assert runtime.services.outcomes.outcome_figures(TODAY) == EXPECTED
    assert runtime.services.outcomes.outcome_figures(TODAY).growth.direction == "up"


# The export's outcome columns, by mentor: fit, pulse growth, meeting as agreed, closing value, take part again,
# goals met, partly, not met. Any day counts; the unanswered pulse (pair 5's "no") counts nowhere.
EXPORTED = {
    "UMR1": ("3.0", "3.5", "yes:2", "", "", "", "", ""),
    "UMR2": ("5.0", "3.5", "sometimes:1", "", "", "", "", ""),
    "UMR3": ("3.0", "3.5", "no:1", "4.5", "2/2", "1", "1", "0"),
    "UMR4": ("1.0", "3.0", "no:1", "2.0", "0/1", "0", "0", "1"),  # the "no" of a pulse without a rating
    "UMR5": ("", "5.0", "yes:1", "", "", "1", "0", "0"),
    "UMR6": ("", "", "", "", "", "", "", ""),
}


def test_the_exports_outcome_columns_are_the_programs_worked_out_by_hand(runtime, program):
    exported = runtime.services.reports.export_csv(at(2026, 6, 1, 9))
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert {row["mentor_id"]: tuple(row[c] for c in OUTCOME_EXPORT_COLUMNS) for row in rows} == EXPORTED
    assert exported.splitlines()[0].endswith(",".join(OUTCOME_EXPORT_COLUMNS))
