"""The one read behind every program figure (summary, Home overview, export). Never commits."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.domain.figures import RATING_WINDOW_DAYS, PairRecord, ProgramInputs, RatedCheckin, tallied_pairs
from bot.domain.models import CheckIn, Goal, GoalStatus, HelpRequest, MemberState, Pair, Person
from bot.store.outcomes import poor_fit_pairs
from bot.store.profiles import profile_topics


def load_program_inputs(*, session: Session, today: date, names: bool = False) -> ProgramInputs:
    """Return every pair with its tallies and the recent ratings (no text) in a fixed number of statements.

    The pairs stream from `session` in id order, as `PairRecord`s of the columns the figures read (never ORM
    objects), each with its tally from grouped rows read alongside: read them once, before the session closes.
    A program's figures keep few of its pairs and none of their tallies.
    Equal values are held once (a program's pairs share a few phases and many dates).

    Args:
        names: also read people's display names and profile topics (the export shows them).
    """
    run = session.connection().execute
    shared: dict[Any, Any] = {}

    def once(value: Any) -> Any:
        return shared.setdefault(value, value)

    # Every stream in pair id order, read side by side as the pairs go by.
    checkins = ((pair_id, count, rating_sum, once(last_met)) for pair_id, count, rating_sum, last_met in run(
        select(CheckIn.pair_id, func.count(), func.sum(CheckIn.rating), func.max(CheckIn.met_on))
        .group_by(CheckIn.pair_id).order_by(CheckIn.pair_id)))
    helps = run(select(HelpRequest.pair_id, func.count(), func.max(HelpRequest.created_at))
                .group_by(HelpRequest.pair_id).order_by(HelpRequest.pair_id))
    goals = run(select(Goal.pair_id, Goal.status).order_by(Goal.pair_id))
    paused = frozenset(session.exec(
        select(MemberState.pair_id).where(col(MemberState.prompts_paused_at).is_not(None))
    ).all())
    pairs = (
        PairRecord(pair_id, mentor_id, mentee_id, once(phase), once(status), once(started_on), once(ends_on),
                   cadence_days, once(closure_reason))
        for pair_id, mentor_id, mentee_id, phase, status, started_on, ends_on, cadence_days, closure_reason in run(
            select(Pair.id, Pair.mentor_id, Pair.mentee_id, Pair.phase, Pair.status, Pair.started_on, Pair.ends_on,
                   Pair.cadence_days, Pair.closure_reason).order_by(Pair.id)))  # type: ignore[arg-type]
    tallied = tallied_pairs(pairs, checkins, helps, goals, paused, poor_fit_pairs(session=session))  # type: ignore[arg-type]
    achieved = tuple(once(achieved_on or today) for (achieved_on,) in run(
        select(Goal.achieved_on).where(Goal.status == GoalStatus.ACHIEVED)))
    since = today - timedelta(days=RATING_WINDOW_DAYS)
    recent = tuple(
        RatedCheckin(pair_id, once(met_on), rating)
        for pair_id, met_on, rating in run(
            select(CheckIn.pair_id, CheckIn.met_on, CheckIn.rating).where(CheckIn.met_on >= since))
    )
    return ProgramInputs(
        tallied=tallied,
        recent_checkins=recent,
        goals_achieved_on=achieved,
        names=dict(session.exec(select(Person.slack_user_id, Person.display_name)).all()) if names else {},
        topics=profile_topics(session=session) if names else {},
    )
