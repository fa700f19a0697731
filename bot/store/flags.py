"""Workspace-wide switches (the `quiet` kill switch). Functions take `session=` and never commit."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.domain.models import WorkspaceFlag

QUIET = "quiet"


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
