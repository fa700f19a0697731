"""Handle each Events API delivery once: Slack retries, and several instances may each receive one."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.services.context import ServiceContext
from bot.store.once import EVENT, claim_once, forget_seen

# Slack redelivers an event for at most about an hour; a week of ids is plenty.
HANDLED_EVENT_RETENTION = timedelta(days=7)


class EventService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def is_first_delivery(self, event_id: str) -> bool:
        """Record `event_id` as handled; False when it already was (a redelivery or another instance)."""
        with self.ctx.session() as session:
            first = claim_once(EVENT, event_id, self.ctx.now(), on=session)
            session.commit()
        return first

    def forget_old(self, now: datetime) -> None:
        """Drop the ids older than Slack's redelivery horizon (the sweep calls this)."""
        with self.ctx.session() as session:
            forget_seen(EVENT, now - HANDLED_EVENT_RETENTION, on=session)
            session.commit()
