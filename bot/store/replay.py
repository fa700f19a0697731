"""Signed requests already acted on, so a replay of one within Slack's 5-minute window is ignored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.engine import Connection

from bot.domain.models import SeenRequest
from bot.store.upsert import insert_if_absent

_TABLE = SeenRequest.__table__  # type: ignore[attr-defined]


def claim_request(signature: str, signed_at: datetime, *, connection: Connection) -> bool:
    """Record a request's signature; False when it was already recorded (a replay, here or elsewhere)."""
    return insert_if_absent(_TABLE, {"signature": signature, "signed_at": signed_at}, "signature", on=connection)


def prune_requests(before: datetime, *, connection: Connection) -> int:
    """Forget requests signed before `before`: their signatures are refused as too old by then."""
    return connection.execute(delete(_TABLE).where(_TABLE.c.signed_at < before)).rowcount
