"""Workspace-wide switches (the `quiet` kill switch). Functions take `session=` and never commit."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
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


def take_lease(name: str, *, session: Session, holder: str, now: datetime, lease: timedelta) -> bool:
    """Take the lease `name` for `holder` if it is free or expired (compare-and-set); True when taken.

    Commits: the lease is only worth anything once other processes can see it.
    """
    if session.get(WorkspaceFlag, name) is None:
        session.add(WorkspaceFlag(name=name, value="", updated_at=now, updated_by=""))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another process created it first; compete for it below
    taken = session.execute(
        update(WorkspaceFlag)
        .where(WorkspaceFlag.name == name,
               or_(WorkspaceFlag.value == "", WorkspaceFlag.updated_at < now - lease,
                   WorkspaceFlag.updated_by == holder))
        .values(value="held", updated_by=holder, updated_at=now)
    ).rowcount  # type: ignore[attr-defined]
    session.commit()
    return bool(taken)


def release_lease(name: str, *, session: Session, holder: str) -> None:
    """Free the lease `name` if `holder` still holds it. Commits."""
    session.execute(update(WorkspaceFlag).where(WorkspaceFlag.name == name, WorkspaceFlag.updated_by == holder)
                    .values(value=""))
    session.commit()
