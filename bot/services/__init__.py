"""Use cases in the user's words. Each opens a session, commits once, then talks to Slack."""

from __future__ import annotations

from bot.delivery.worker import worker_name
from bot.services.agreements import AgreementService
from bot.services.checkins import CheckinService
from bot.services.commands import CommandService
from bot.services.context import ServiceContext
from bot.services.departures import DepartureService
from bot.services.errors import UserError
from bot.services.events import EventService
from bot.services.goals import GoalService
from bot.services.home import HomeService
from bot.services.matching import MatchingService
from bot.services.notifier import Notifier
from bot.services.outcomes import OutcomeService
from bot.services.pairs import PairService
from bot.services.people import PeopleService
from bot.services.profiles import ProfileService
from bot.services.quiet import QuietService
from bot.services.reports import ReportService
from bot.services.sweep import SweepService

__all__ = ["Services", "ServiceContext", "UserError"]


class Services:
    """Every use case, each built with what it needs; handlers and the scheduler get one of these."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        worker = worker_name()
        self.people = PeopleService(ctx)
        self.notifier = Notifier(ctx.gateway)
        self.outcomes = OutcomeService(ctx)
        self.reports = ReportService(ctx, self.people, self.outcomes)
        self.events = EventService(ctx)
        self.home = HomeService(ctx, self.people, self.reports)
        self.pairs = PairService(ctx, self.people)
        self.goals = GoalService(ctx, self.pairs)
        self.agreements = AgreementService(ctx, self.pairs)
        self.quiet = QuietService(ctx, self.people, self.pairs)
        self.checkins = CheckinService(ctx, self.people, self.home)
        self.departures = DepartureService(ctx, self.people, worker=worker)
        self.matching = MatchingService(ctx, people=self.people, pairs=self.pairs)
        self.sweep = SweepService(ctx, worker=worker, departures=self.departures, events=self.events,
                                  reports=self.reports, matching=self.matching)
        self.profiles = ProfileService(ctx, people=self.people, pairs=self.pairs, home=self.home,
                                       matching=self.matching)
        self.commands = CommandService(ctx=ctx, people=self.people, pairs=self.pairs, goals=self.goals,
                                       agreements=self.agreements, checkins=self.checkins, quiet=self.quiet,
                                       reports=self.reports, profiles=self.profiles, matching=self.matching,
                                       outcomes=self.outcomes)
