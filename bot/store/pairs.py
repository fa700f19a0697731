"""Queries of the pair lifecycle: pairs, agreements, goals, member state. Never commit."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Row, Select, bindparam, exists, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, and_, col, or_, select

from bot.domain.figures import is_help_raised
from bot.domain.health import PairSignals
from bot.domain.models import Agreement, CheckIn, Goal, HelpRequest, MemberState, Pair, PairStatus
from bot.domain.policy import PairSnapshot
from bot.store import get_member_state  # noqa: F401  (re-exported for callers)


def find_open_pair_between(first: str, second: str, *, session: Session) -> Pair | None:
    """Return the not-ended pair of these two people, in either role."""
    query = select(Pair).where(
        Pair.status != PairStatus.ENDED,
        or_(
            and_(Pair.mentor_id == first, Pair.mentee_id == second),
            and_(Pair.mentor_id == second, Pair.mentee_id == first),
        ),
    )
    return session.exec(query.order_by(Pair.id)).first()


# The pairs list runs on every `/mentoring pairs`, beside the acks, so its statements are built once
# here and bound per call: building and cache-keying them per call was most of the command's CPU.
# Each signal is a correlated subquery (served by the checkin/help request/member state indexes), so
# a page is one statement whatever its size; the total rides along, so a page also needs no count.
_OPEN = Pair.status != PairStatus.ENDED
_OF_PERSON = or_(Pair.mentor_id == bindparam("person"), Pair.mentee_id == bindparam("person"))
_LISTING_COLUMNS = (
    Pair.id, Pair.mentor_id, Pair.mentee_id, Pair.phase, Pair.status, Pair.cadence_days, Pair.started_on,
    Pair.ends_on, Pair.channel_id, Pair.paused_until,
    sa_select(func.max(CheckIn.met_on)).where(CheckIn.pair_id == Pair.id).scalar_subquery(),
    sa_select(func.max(HelpRequest.created_at)).where(HelpRequest.pair_id == Pair.id).scalar_subquery(),
    exists().where(MemberState.pair_id == Pair.id, MemberState.prompts_paused_at.is_not(None)),
)


def _page_of(*where: ColumnElement[bool]) -> tuple[Select[Any], Select[Any]]:
    """Return (page with its total, bare count) statements for the open pairs matching `where`."""
    # Not correlated: it counts every matching pair, not the row it rides along with.
    count = sa_select(func.count()).select_from(Pair).where(_OPEN, *where).correlate(None)
    page = (sa_select(*_LISTING_COLUMNS, count.scalar_subquery()).where(_OPEN, *where).order_by(Pair.id)
            .offset(bindparam("offset")).limit(bindparam("limit")))
    return page, count


_OPEN_PAGE, _OPEN_COUNT = _page_of()
_PERSON_PAGE, _PERSON_COUNT = _page_of(_OF_PERSON)


def list_open_pairs_page(*, session: Session, offset: int, limit: int, zone: ZoneInfo, person: str | None = None
                         ) -> tuple[list[tuple[PairSnapshot, PairSignals]], int]:
    """Return one page of the not-ended pairs (only `person`'s when given) with their health signals, oldest
    first, and their total."""
    page, count = (_OPEN_PAGE, _OPEN_COUNT) if person is None else (_PERSON_PAGE, _PERSON_COUNT)
    params = {"offset": offset, "limit": limit, "person": person}
    # Core execution on the session's connection: the rows are only read, so the ORM layer is skipped.
    connection = session.connection()
    rows = connection.execute(page, params).all()
    if not rows:
        # Past the last page (or no pairs at all): the total did not ride along, so ask for it.
        return [], int(connection.execute(count, params).scalar_one())
    listings = [_listing(row, zone) for row in rows]
    return listings, int(rows[0][-1])


def _listing(row: Row[Any], zone: ZoneInfo) -> tuple[PairSnapshot, PairSignals]:
    *columns, last_met, last_asked, paused, _total = row
    signals = PairSignals(last_met_on=last_met, help_requested=is_help_raised(last_asked, last_met, zone),
                          prompts_paused=bool(paused))
    return PairSnapshot(*columns), signals


def get_agreement(pair_id: int, *, session: Session) -> Agreement | None:
    return session.get(Agreement, pair_id)


def list_goals(pair_id: int, *, session: Session) -> list[Goal]:
    """Return the pair's goals in creation order (their 1-based position is the goal number)."""
    return list(session.exec(select(Goal).where(Goal.pair_id == pair_id).order_by(Goal.id)))



def pairs_by_id(pair_ids: list[int], *, session: Session, batch: int = 500) -> list[Pair]:
    """Return the pairs with these ids (those that still exist), a few statements for any number of them."""
    found: list[Pair] = []
    for start in range(0, len(pair_ids), batch):
        found.extend(session.exec(select(Pair).where(col(Pair.id).in_(pair_ids[start:start + batch]))))
    return found


def active_pairs_of(person_id: str, *, session: Session) -> list[Pair]:
    """Return the active pairs `person_id` belongs to, in either role."""
    return list(session.exec(select(Pair).where(
        Pair.status == PairStatus.ACTIVE, or_(Pair.mentor_id == person_id, Pair.mentee_id == person_id))
        .order_by(Pair.id)))  # type: ignore[arg-type]
