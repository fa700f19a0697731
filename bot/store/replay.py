"""Signed requests already acted on, so a replay of one within Slack's 5-minute window is ignored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from bot.domain.models import SeenRequest

_TABLE = SeenRequest.__table__  # type: ignore[attr-defined]


def claim_request(signature: str, signed_at: datetime, *, connection: Connection) -> bool:
    """Record a request's signature; False when it was already recorded (a replay, here or elsewhere).

    One insert that skips a duplicate instead of failing, so a replay costs no error and no second query.
    """
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(_TABLE).values(signature=signature, signed_at=signed_at) \
        .on_conflict_do_nothing(index_elements=["signature"]).returning(_TABLE.c.signature)
    # RETURNING, not rowcount: psycopg reports no rowcount for this statement.
    return connection.execute(statement).first() is not None


def prune_requests(before: datetime, *, connection: Connection) -> int:
    """Forget requests signed before `before`: their signatures are refused as too old by then."""
    return connection.execute(delete(_TABLE).where(_TABLE.c.signed_at < before)).rowcount
