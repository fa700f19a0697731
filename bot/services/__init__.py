"""Use cases in the user's words. Each opens a session, commits once, then talks to Slack."""

from __future__ import annotations

from bot.services.checkins import CheckinService
from bot.services.commands import CommandService
from bot.services.context import ServiceContext
from bot.services.errors import UserError
from bot.services.home import HomeService
from bot.services.lifecycle import LifecycleService
from bot.services.matching import MatchingService
from bot.services.nudges import NudgeService
from bot.services.outcomes import OutcomeService
from bot.services.people import PeopleService
from bot.services.profiles import ProfileService

__all__ = ["Services", "ServiceContext", "UserError"]


class Services:
    """Every use case, grouped by surface; handlers and the scheduler get one of these."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.people = PeopleService(ctx)
        self.commands = CommandService(ctx, self)
        self.lifecycle = LifecycleService(ctx, self)
        self.checkins = CheckinService(ctx, self)
        self.home = HomeService(ctx, self)
        self.nudges = NudgeService(ctx, self)
        self.profiles = ProfileService(ctx, self)
        self.matching = MatchingService(ctx, self)
        self.outcomes = OutcomeService(ctx, self)
