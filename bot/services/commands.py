"""`/mentoring …`: parse the text, check the role, run the use case, return the reply."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.blocks import Reply
from bot.blocks.help import build_help_reply
from bot.services.context import ServiceContext

if TYPE_CHECKING:
    from bot.services import Services


class CommandService:
    def __init__(self, ctx: ServiceContext, services: Services) -> None:
        self.ctx = ctx
        self.services = services

    def run(self, *, actor: str, text: str, trigger_id: str | None = None, channel_id: str | None = None) -> Reply:
        """Run one `/mentoring` command for `actor` and return what they should read."""
        words = text.strip().split()
        now = self.ctx.now()
        with self.ctx.session() as session:
            coordinator = self.services.people.is_coordinator(session, actor, now)
            session.commit()
        if not words or words[0].lower() == "help":
            return build_help_reply(coordinator=coordinator)
        return build_help_reply(coordinator=coordinator, problem=f"I don't know the command “{words[0]}”.")
