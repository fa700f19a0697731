"""Workspace-wide switches (the `quiet` kill switch). Functions take `session=` and never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.domain.models import WorkspaceFlag

QUIET = "quiet"
SWEEP_LEASE = "sweep_lease"


def get_flag(name: str, *, session: Session) -> str:
    """Return the flag's value, or "" when it was never set."""
    flag = session.get(WorkspaceFlag, name)
    return flag.value if flag is not None else ""


def set_flag(name: str, value: str, *, session: Session, by: str, now: datetime) -> WorkspaceFlag:
    flag = session.get(WorkspaceFlag, name) or WorkspaceFlag(name=name)
    flag.value = value
    flag.updated_by = by
    flag.updated_at = now
    session.add(flag)
    session.flush()
    return flag


def is_quiet(session: Session) -> bool:
    """Return True while the kill switch is on: no scheduled DM or summary goes out."""
    return get_flag(QUIET, session=session) == "on"


def take_lease(name: str, *, session: Session, holder: str, now: datetime, lease: timedelta,
               host: str | None = None, pid: int | None = None, dead: str | None = None) -> bool:
    """Take the lease `name` for `holder` (on `host`, process `pid`) if it is free, expired, already
    `holder`'s, or held by `dead` (a holder known to have died); compare-and-set. True when taken.

    Commits: the lease is only worth anything once other processes can see it.
    """
    if session.get(WorkspaceFlag, name) is None:
        session.add(WorkspaceFlag(name=name, value="", updated_at=now, updated_by=""))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another process created it first; compete for it below
    free = [WorkspaceFlag.value == "", WorkspaceFlag.updated_at < now - lease, WorkspaceFlag.updated_by == holder]
    if dead is not None:
        free.append(WorkspaceFlag.updated_by == dead)
    taken = session.execute(
        update(WorkspaceFlag)
        .where(WorkspaceFlag.name == name, or_(*free))
        .values(value="held", updated_by=holder, updated_at=now, holder_host=host, holder_pid=pid)
    ).rowcount  # type: ignore[attr-defined]
    session.commit()
    return bool(taken)


@dataclass(frozen=True)
class LeaseHolder:
    holder: str
    host: str | None
    pid: int | None


def lease_holder(name: str, *, session: Session) -> LeaseHolder | None:
    """Return who holds the lease `name` (expired or not), or None when it is free."""
    row = session.execute(
        select(WorkspaceFlag.updated_by, WorkspaceFlag.holder_host, WorkspaceFlag.holder_pid)
        .where(WorkspaceFlag.name == name, WorkspaceFlag.value == "held")
    ).first()
    return LeaseHolder(*row) if row is not None else None


def release_lease(name: str, *, session: Session, holder: str) -> None:
    """Free the lease `name` if `holder` still holds it. Commits."""
    session.execute(update(WorkspaceFlag).where(WorkspaceFlag.name == name, WorkspaceFlag.updated_by == holder)
                    .values(value="", holder_host=None, holder_pid=None))
    session.commit()
