"""The one read behind every program figure (summary, Home overview, export). Never commits."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.domain.figures import RATING_WINDOW_DAYS, ProgramInputs, RatedCheckin, tally_pairs
from bot.domain.models import CheckIn, Goal, GoalStatus, HelpRequest, MemberState, Pair, Person
from bot.store.outcomes import poor_fit_pairs
from bot.store.profiles import profile_topics


def load_program_inputs(*, session: Session, today: date, names: bool = False) -> ProgramInputs:
    """Return every pair with its tallies and the recent ratings (no text) in a fixed number of statements.

    Args:
        names: also read people's display names and profile topics (the export shows them).
    """
    pairs = tuple(session.exec(select(Pair).order_by(Pair.id)))
    checkins = session.exec(
        select(CheckIn.pair_id, func.count(), func.sum(CheckIn.rating), func.max(CheckIn.met_on))
        .group_by(CheckIn.pair_id)
    ).all()
    helps = session.exec(
        select(HelpRequest.pair_id, func.count(), func.max(HelpRequest.created_at)).group_by(HelpRequest.pair_id)
    ).all()
    goals = session.exec(select(Goal.pair_id, Goal.status, Goal.achieved_on)).all()
    paused = frozenset(session.exec(
        select(MemberState.pair_id).where(col(MemberState.prompts_paused_at).is_not(None))
    ).all())
    since = today - timedelta(days=RATING_WINDOW_DAYS)
    recent = tuple(
        RatedCheckin(pair_id, met_on, rating)
        for pair_id, met_on, rating in session.exec(
            select(CheckIn.pair_id, CheckIn.met_on, CheckIn.rating).where(CheckIn.met_on >= since)
        ).all()
    )
    return ProgramInputs(
        pairs=pairs,
        tallies=tally_pairs(list(checkins), list(helps), [(p, s) for p, s, _ in goals], paused,
                            poor_fit_pairs(session=session)),  # type: ignore[arg-type]
        recent_checkins=recent,
        goals_achieved_on=tuple(d or today for _, s, d in goals if s == GoalStatus.ACHIEVED),
        names=dict(session.exec(select(Person.slack_user_id, Person.display_name)).all()) if names else {},
        topics=profile_topics(session=session) if names else {},
    )
