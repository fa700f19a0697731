"""Handle each Events API delivery once: Slack retries, and several instances may each receive one."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from bot.services.context import ServiceContext
from bot.store import events as store

# Slack redelivers an event for at most about an hour; a week of ids is plenty.
HANDLED_EVENT_RETENTION = timedelta(days=7)


class EventService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def is_first_delivery(self, event_id: str) -> bool:
        """Record `event_id` as handled; False when it already was (a redelivery or another instance)."""
        with self.ctx.session() as session:
            try:
                store.claim_event(event_id, self.ctx.now(), session=session)
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
        return True

    def forget_old(self, now: datetime) -> None:
        """Drop the ids older than Slack's redelivery horizon (the sweep calls this)."""
        with self.ctx.session() as session:
            store.prune_handled_events(session=session, before=now - HANDLED_EVENT_RETENTION)
            session.commit()
