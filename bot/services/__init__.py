"""Use cases in the user's words. Each opens a session, commits once, then talks to Slack."""

from __future__ import annotations

from bot.services.commands import CommandService
from bot.services.context import ServiceContext
from bot.services.errors import UserError
from bot.services.people import PeopleService

__all__ = ["Services", "ServiceContext", "UserError"]


class Services:
    """Every use case, grouped by surface; handlers and the scheduler get one of these."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.people = PeopleService(ctx)
        self.commands = CommandService(ctx, self)
