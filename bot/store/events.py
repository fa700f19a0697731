"""Events API ids already handled (Slack redelivers; several instances may each receive one). Never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session

from bot.domain.models import HandledEvent


def claim_event(event_id: str, now: datetime, *, session: Session) -> None:
    """Record the event as handled; the flush raises IntegrityError when it already was."""
    session.add(HandledEvent(event_id=event_id, handled_at=now))
    session.flush()


def prune_handled_events(*, session: Session, before: datetime) -> None:
    """Forget Events API ids older than Slack's redelivery horizon (one statement)."""
    session.execute(delete(HandledEvent).where(HandledEvent.handled_at < before))
