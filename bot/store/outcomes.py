"""Outcome answers: members' fit checks, pulses and closing surveys; the report's totals and the export's rows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Integer, String, and_, case, func, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col, select

from bot.domain.models import CheckIn, GoalAttainment, OutcomeKind, OutcomeResponse, Pair, PairStatus
from bot.domain.outcomes import (
    LOW_FIT,
    MEETING_ORDER,
    AnswerRow,
    OutcomeTotals,
    RatingTotals,
    trend_windows,
)
from bot.store.driver import Days, driver_rows

POOR_FIT = 2  # a fit rating at or below this marks the pair at risk


def get_response(pair_id: int, author_id: str, kind: str, period: str, *, session: Session) -> OutcomeResponse:
    """Return the member's answer row for this question set, new (unsaved) if they have not answered yet."""
    found = session.exec(select(OutcomeResponse).where(
        OutcomeResponse.pair_id == pair_id, OutcomeResponse.author_id == author_id,
        OutcomeResponse.kind == kind, OutcomeResponse.period == period,
    )).first()
    return found or OutcomeResponse(pair_id=pair_id, author_id=author_id, kind=kind, period=period)


def replace_attainments(response: OutcomeResponse, verdicts: dict[int, str], *, session: Session) -> None:
    """Store the survey's verdict per goal, replacing any earlier ones of the same response."""
    session.flush()  # the response needs its id
    for old in session.exec(select(GoalAttainment).where(GoalAttainment.response_id == response.id)):
        session.delete(old)
    session.flush()
    for goal_id, attainment in verdicts.items():
        session.add(GoalAttainment(response_id=response.id or 0, goal_id=goal_id, attainment=attainment))


def attainments_of(response: OutcomeResponse, *, session: Session) -> dict[int, str]:
    """Return the response's verdict per goal id (none for a response not yet saved)."""
    if response.id is None:
        return {}
    return dict(session.exec(select(GoalAttainment.goal_id, GoalAttainment.attainment).where(
        GoalAttainment.response_id == response.id)).all())


def poor_fit_pairs(*, session: Session, pair_ids: Iterable[int] | None = None) -> frozenset[int]:
    """Return the pairs (of `pair_ids`, or all) where a member rated the fit 1–2."""
    query = select(OutcomeResponse.pair_id).where(
        OutcomeResponse.kind == OutcomeKind.FIT, col(OutcomeResponse.rating) <= POOR_FIT).distinct()
    if pair_ids is not None:
        query = query.where(col(OutcomeResponse.pair_id).in_(list(pair_ids)))
    return frozenset(session.exec(query).all())


def has_requested_change(pair_id: int, *, session: Session) -> bool:
    """Return whether either member already asked for a different match (coordinators hear it once a pair)."""
    return session.exec(select(OutcomeResponse.id).where(
        OutcomeResponse.pair_id == pair_id, col(OutcomeResponse.change_requested_at).is_not(None)).limit(1)
    ).first() is not None



def load_outcome_totals(*, session: Session, today: date, topics: Mapping[int, str] | None = None
                        ) -> OutcomeTotals:
    """Return the report's totals, summed, counted and grouped by the database (see `OutcomeTotals`).

    Each statement returns a few rows to a few thousand (one per pair only for goal verdicts, which closing
    surveys alone have) where the rows behind them are hundreds of thousands. Grouped values are computed in a
    subquery first: PostgreSQL does not match an expression with bound values in GROUP BY to the same one in
    the select list.
    """
    run = session.connection().execute
    pairs = run(select(func.count()).select_from(Pair)).scalar_one()
    attainments = [(pid, verdict, count) for pid, verdict, count in run(
        select(OutcomeResponse.pair_id, GoalAttainment.attainment, func.count())
        .join(OutcomeResponse, OutcomeResponse.id == GoalAttainment.response_id)  # type: ignore[arg-type]
        .group_by(OutcomeResponse.pair_id, GoalAttainment.attainment))]

    # A pair's median gap from its middle gap(s): a gap's rank r among the pair's n sits in the middle when
    # n <= 2r <= n + 2.
    met = CheckIn.met_on
    gaps = select(CheckIn.pair_id.label("pair_id"),  # type: ignore[attr-defined]
                  _days_between(met, func.lag(met).over(partition_by=CheckIn.pair_id, order_by=met)).label("gap")
                  ).subquery()
    ranked = select(gaps.c.pair_id, gaps.c.gap,
                    func.row_number().over(partition_by=gaps.c.pair_id, order_by=gaps.c.gap).label("rank"),
                    # the same window as the rank's, so that one sort serves both
                    func.count().over(partition_by=gaps.c.pair_id, order_by=gaps.c.gap, rows=(None, None)).label("n")
                    ).where(gaps.c.gap.is_not(None)).subquery()
    middle = (select(ranked.c.pair_id, func.sum(ranked.c.gap).label("total"), func.count().label("taken"))
              .where(ranked.c.n <= 2 * ranked.c.rank, 2 * ranked.c.rank <= ranked.c.n + 2)
              .group_by(ranked.c.pair_id).subquery())
    regularity = [(int(total), taken, cadence, count) for total, taken, cadence, count in run(
        select(middle.c.total, middle.c.taken, Pair.cadence_days, func.count())
        .join(Pair, Pair.id == middle.c.pair_id)  # type: ignore[arg-type]
        .group_by(middle.c.total, middle.c.taken, Pair.cadence_days))]

    first = select(CheckIn.pair_id.label("pair_id"), func.min(met).label("first")  # type: ignore[attr-defined]
                   ).group_by(CheckIn.pair_id).subquery()
    waited = (select(_days_between(first.c.first, _utc_date(Pair.created_at)).label("days"))
              .select_from(first).join(Pair, Pair.id == first.c.pair_id).subquery())  # type: ignore[arg-type]
    waits = [(int(days), count) for days, count in run(
        select(waited.c.days, func.count()).group_by(waited.c.days))]

    # Answers, a statement per kind (each reads only its own columns): sums and counts per pair, then over the
    # pairs, with how many pairs had any. The trend windows are ranges of answer times (UTC midnights), which
    # compare on the stored values.
    start, before = trend_windows(today)
    answered_at, rating = col(OutcomeResponse.answered_at), col(OutcomeResponse.rating)
    windows = (and_(answered_at >= _utc_midnight(start, 1), answered_at < _utc_midnight(today, 1)),
               and_(answered_at >= _utc_midnight(before, 1), answered_at < _utc_midnight(start, 1)))

    def per_pair(kind: str, **counts: Any) -> list[int]:
        """Return each window's rating sum, ratings and pairs, then each of `counts`' sum and pairs with any."""
        columns = [aggregate for index, window in enumerate(windows) for aggregate in (
            func.sum(case((window, rating))).label(f"total{index}"),
            func.count(case((window, rating))).label(f"count{index}"))]
        columns += [func.count(case((condition, 1))).label(name) for name, condition in counts.items()]
        pairs_ = select(*columns).where(answered_at.is_not(None), OutcomeResponse.kind == kind
                                        ).group_by(OutcomeResponse.pair_id).subquery().c
        totals = [total for index in (0, 1) for total in (
            func.sum(pairs_[f"total{index}"]), func.sum(pairs_[f"count{index}"]),
            func.count(case((pairs_[f"count{index}"] > 0, 1))))]
        totals += [total for name in counts
                   for total in (func.sum(pairs_[name]), func.count(case((pairs_[name] > 0, 1))))]
        return [int(value or 0) for value in run(select(*totals)).one()]

    def ratings_of(kind: str, totals: list[int]) -> list[RatingTotals]:
        return [RatingTotals(kind, index, *totals[3 * index:3 * index + 3])
                for index in (0, 1) if totals[3 * index + 1]]

    meeting_as_agreed = col(OutcomeResponse.meeting_as_agreed)
    fit = per_pair(OutcomeKind.FIT, rated=rating.is_not(None), low=rating <= LOW_FIT)
    pulse = per_pair(OutcomeKind.PULSE, said=meeting_as_agreed.in_(MEETING_ORDER),
                     **{f"said_{value}": meeting_as_agreed == value for value in MEETING_ORDER})
    meeting = {str(value): count for value, count in zip(MEETING_ORDER, pulse[8::2], strict=True) if count}
    valued = and_(rating.is_not(None), rating != 0)
    closings, value_total, value_count, again_yes, again_answered = (int(value or 0) for value in run(select(
        func.count(col(OutcomeResponse.pair_id).distinct()), func.sum(case((valued, rating))),
        func.count(case((valued, 1))), func.count(case((col(OutcomeResponse.take_part_again).is_(True), 1))),
        func.count(OutcomeResponse.take_part_again),
    ).where(answered_at.is_not(None), OutcomeResponse.kind == OutcomeKind.CLOSING)).one())

    ended = select(Pair.closure_reason.label("reason"),  # type: ignore[attr-defined]
                   case((or_(col(Pair.ended_at).is_(None), _utc_date(Pair.ended_at) >= Pair.ends_on), 1), else_=0)
                   .label("on_time")).where(Pair.status == PairStatus.ENDED).subquery()
    endings = [(reason, bool(on_time), count) for reason, on_time, count in run(
        select(ended.c.reason, ended.c.on_time, func.count()).group_by(ended.c.reason, ended.c.on_time))]

    return OutcomeTotals(
        pairs=pairs, attainments=attainments, regularity=regularity, waits=waits,
        ratings=ratings_of(OutcomeKind.FIT, fit) + ratings_of(OutcomeKind.PULSE, pulse),
        fit_pairs=fit[7], low_fit_pairs=fit[9], meeting=meeting, meeting_pairs=pulse[7], closings=closings,
        closing_value_total=value_total, closing_values=value_count, again_yes=again_yes,
        again_answered=again_answered, endings=endings, topics=topics)


def export_outcome_rows(*, session: Session) -> tuple[Iterator[AnswerRow], Iterator[tuple[int, str]]]:
    """Return what the export's outcome columns are made of: every answered answer's ratings (never its free
    text), then (pair id, verdict) of every goal judged. Two streams, to read one after the other while
    `session` is open."""
    answers = select(OutcomeResponse.pair_id, OutcomeResponse.kind, OutcomeResponse.rating,
                     OutcomeResponse.meeting_as_agreed, OutcomeResponse.take_part_again
                     ).where(col(OutcomeResponse.answered_at).is_not(None))
    verdicts = select(OutcomeResponse.pair_id, GoalAttainment.attainment).join(
        OutcomeResponse, OutcomeResponse.id == GoalAttainment.response_id)  # type: ignore[arg-type]
    return ((AnswerRow(pair_id, kind, rating, meeting, None if again is None else bool(again))
             for pair_id, kind, rating, meeting, again in driver_rows(session.connection(), answers)),
            ((pair_id, verdict) for pair_id, verdict in driver_rows(session.connection(), verdicts)))


class _utc_date(FunctionElement[str]):  # noqa: N801  (reads as the SQL function it compiles to)
    """The UTC date of a stored time, as the database gives it: SQLite a string, PostgreSQL a date."""

    type = String()
    inherit_cache = True


@compiles(_utc_date)
def _utc_date_sqlite(element: _utc_date, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"  # stored as naive UTC text


@compiles(_utc_date, "postgresql")
def _utc_date_postgresql(element: _utc_date, compiler: Any, **kw: Any) -> str:
    return f"date(timezone('UTC', {compiler.process(element.clauses, **kw)}))"  # whatever the session's zone


class _days_between(FunctionElement[int]):  # noqa: N801  (reads as the SQL it compiles to)
    """Whole days from the second date to the first: two stored dates or `_utc_date`s."""

    type = Integer()
    inherit_cache = True


@compiles(_days_between)
def _days_between_sqlite(element: _days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"  # dates stored as ISO text


@compiles(_days_between, "postgresql")
def _days_between_postgresql(element: _days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"({later} - {earlier})"  # date minus date is a number of days


def _utc_midnight(day: date, days_after: int = 0) -> datetime:
    return datetime.combine(day + timedelta(days=days_after), time(), UTC)


def checkins_by_day(since: date, *, session: Session) -> list[tuple[date, int]]:
    """Return (meeting date, check-ins) for each day from `since` (through ix_checkin_pair_met's dates)."""
    rows = session.connection().execute(select(CheckIn.met_on, func.count()).where(CheckIn.met_on >= since)
                                        .group_by(CheckIn.met_on))
    return [(day, count) for day, count in rows]


def pulse_ratings(since: date, *, session: Session) -> Iterator[tuple[int, date, int]]:
    """Stream (pair id, answered on, growth rating) of pulse answers from `since` (UTC dates), while `session`
    is open."""
    statement = select(OutcomeResponse.pair_id, _utc_date(OutcomeResponse.answered_at), OutcomeResponse.rating).where(
        OutcomeResponse.kind == OutcomeKind.PULSE, col(OutcomeResponse.rating).is_not(None),
        col(OutcomeResponse.answered_at) >= _utc_midnight(since))
    days = Days()
    for pair_id, answered, rating in driver_rows(session.connection(), statement):
        yield pair_id, days[answered], rating


def pairs_by_phase(*, session: Session) -> dict[str, int]:
    """Return how many pairs not ended are in each phase."""
    rows = session.connection().execute(select(Pair.phase, func.count()).where(Pair.status != PairStatus.ENDED)
                                        .group_by(Pair.phase))
    return dict(rows.all())  # type: ignore[arg-type]
