"""What Slack may deliver twice (event ids, signed requests), recorded once across instances. Never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.engine import Connection
from sqlmodel import Session

from bot.domain.models import SeenOnce
from bot.store.upsert import insert_if_absent

EVENT = "event"
REQUEST = "request"

_TABLE = SeenOnce.__table__  # type: ignore[attr-defined]


def claim_once(kind: str, key: str, seen_at: datetime, *, on: Connection | Session) -> bool:
    """Record `key` as seen; False when it already was (here or by another instance)."""
    return insert_if_absent(_TABLE, {"kind": kind, "key": key, "seen_at": seen_at}, ("kind", "key"), on=on)


def forget_seen(kind: str, before: datetime, *, on: Connection | Session) -> int:
    """Forget the keys of `kind` seen before `before`, when a repeat of them can no longer come."""
    return on.execute(delete(_TABLE).where(_TABLE.c.kind == kind, _TABLE.c.seen_at < before)).rowcount
