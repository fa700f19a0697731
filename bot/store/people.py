"""People the bot has met (the `users.info` cache): who is due for a refresh. Never commits."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, exists, or_
from sqlmodel import Session, select

from bot.domain.models import Pair, PairStatus, Person


@cache
def _statements() -> tuple[Any, Any]:
    """Return the (stale, known coordinators) statements, built once: every sweep runs them."""
    never_or_before = or_(Person.info_fetched_at.is_(None), Person.info_fetched_at < bindparam("before"))  # type: ignore[operator,union-attr]
    live_member = or_(
        exists().where(Pair.mentor_id == Person.slack_user_id, Pair.status != PairStatus.ENDED),
        exists().where(Pair.mentee_id == Person.slack_user_id, Pair.status != PairStatus.ENDED),
    )
    coordinators = Person.slack_user_id.in_(bindparam("coordinators", expanding=True))  # type: ignore[attr-defined]
    # People whose Slack profile is due for a refresh: members of live pairs, and the coordinators.
    stale = select(Person.slack_user_id).where(never_or_before, or_(live_member, coordinators)).order_by(
        Person.slack_user_id)
    return stale, select(Person.slack_user_id).where(coordinators)


def stale_people(*, session: Session, before: datetime, coordinators: tuple[str, ...]) -> list[str]:
    """Return who the sweep should ask Slack about again: members of live pairs and coordinators whose
    profile was fetched before `before` (or never), and coordinators we have never met."""
    run = session.connection().execute
    stale_statement, known_statement = _statements()
    stale = list(run(stale_statement, {"before": before, "coordinators": list(coordinators)}).scalars())
    known = set(run(known_statement, {"coordinators": list(coordinators)}).scalars())
    return stale + [c for c in coordinators if c not in known]
