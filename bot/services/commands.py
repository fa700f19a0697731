"""`/mentoring …`: parse the text, check the role, run the use case, return the reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.blocks import Reply
from bot.blocks.help import build_help_reply
from bot.domain.commands import (
    USAGE,
    AddGoal,
    CompleteGoal,
    EndPair,
    Help,
    LeavePool,
    ListGoals,
    ListPairs,
    ManageTopics,
    OpenAgreement,
    OpenCheckin,
    OpenProfile,
    PausePair,
    PostSummary,
    ProposeMatches,
    RegisterPair,
    ResumePair,
    SetQuiet,
    ShowPhase,
    ShowProfile,
    ShowReport,
    UnknownCommand,
    UsageError,
    parse_command,
)
from bot.services.agreements import AgreementService
from bot.services.checkins import CheckinService
from bot.services.context import ServiceContext
from bot.services.errors import UserError
from bot.services.goals import GoalService
from bot.services.matching import MatchingService
from bot.services.outcomes import OutcomeService
from bot.services.pairs import PairService
from bot.services.people import PeopleService
from bot.services.profiles import ProfileService
from bot.services.quiet import QuietService
from bot.services.reports import ReportService

if TYPE_CHECKING:
    from datetime import datetime


@dataclass
class CommandService:
    """Routes each `/mentoring` command to the use case that serves it."""

    ctx: ServiceContext
    people: PeopleService
    pairs: PairService
    goals: GoalService
    agreements: AgreementService
    checkins: CheckinService
    quiet: QuietService
    reports: ReportService
    profiles: ProfileService
    matching: MatchingService
    outcomes: OutcomeService

    def _is_coordinator(self, actor: str, now: datetime, *, refuse_unknown: bool = True) -> bool:
        """Tell whether `actor` is a coordinator; for help, someone Slack will not describe just isn't one."""
        with self.ctx.session() as session:
            try:
                coordinator = self.people.is_coordinator(session, actor, now)
            except UserError:
                if refuse_unknown:
                    raise
                return False
            session.commit()  # keep the users.info cache
        return coordinator

    def run(self, *, actor: str, text: str, trigger_id: str | None = None, channel_id: str | None = None
            ) -> Reply | None:
        """Run one `/mentoring` command for `actor`; return what they should read (None when a modal opened)."""
        now = self.ctx.now()
        pairs, goals = self.pairs, self.goals
        try:
            command = parse_command(text, today=pairs.today(now))
        except UnknownCommand as problem:
            return build_help_reply(coordinator=self._is_coordinator(actor, now, refuse_unknown=False),
                                    problem=problem.message)
        except UsageError as problem:
            raise UserError(problem.message, problem.usage) from None

        match command:
            case Help():
                return build_help_reply(coordinator=self._is_coordinator(actor, now, refuse_unknown=False))
            case RegisterPair():
                return pairs.register_pair(actor=actor, command=command, now=now)
            case ListPairs(page=page):
                return pairs.list_pairs(actor=actor, page=page, now=now)
            case OpenCheckin(partner_id=partner):
                pair_id = self._pair_for(actor, partner, "checkin", "/mentoring checkin")
                self.checkins.open_checkin_modal(actor=actor, pair_id=pair_id, trigger_id=trigger_id or "")
                return None
            case OpenAgreement(partner_id=partner):
                pair_id = self._pair_for(actor, partner, "agreement", "/mentoring agreement")
                self.agreements.open_agreement_modal(actor=actor, pair_id=pair_id, trigger_id=trigger_id or "")
                return None
            case AddGoal():
                return goals.add_goal(actor=actor, command=command, now=now)
            case ListGoals(partner_id=partner):
                return goals.list_goals(actor=actor, partner_id=partner, now=now)
            case CompleteGoal():
                return goals.complete_goal(actor=actor, command=command, now=now)
            case ShowPhase(advance=advance, partner_id=partner):
                return pairs.show_phase(actor=actor, advance=advance, partner_id=partner, now=now)
            case PausePair(days=days, partner_id=partner):
                return pairs.pause(actor=actor, days=days, partner_id=partner, now=now)
            case ResumePair(partner_id=partner):
                return pairs.resume(actor=actor, partner_id=partner, now=now)
            case EndPair(partner_id=partner):
                return pairs.end(actor=actor, partner_id=partner, now=now)
            case PostSummary():
                if not self._is_coordinator(actor, now):
                    raise pairs.coordinator_refusal("post the program summary", USAGE["summary"])
                return self.reports.post_summary(actor=actor, now=now)
            case SetQuiet(on=on):
                return self.quiet.set_quiet(actor=actor, on=on, now=now)
            case OpenProfile(joining=joining):
                self.profiles.open_profile_modal(actor=actor, trigger_id=trigger_id or "", joining=joining)
                return None
            case ShowProfile(person_id=person):
                return self.profiles.show_profile(actor=actor, person_id=person, now=now)
            case LeavePool():
                return self.profiles.leave(actor=actor, now=now)
            case ManageTopics():
                return self.profiles.manage_topics(actor=actor, command=command, now=now)
            case ProposeMatches():
                return self.matching.propose(actor=actor, now=now)
            case ShowReport():
                if not self._is_coordinator(actor, now):
                    raise pairs.coordinator_refusal("read the outcome report", USAGE["report"])
                return self.outcomes.show_report(now=now)
        raise UserError("I don't know that command.", USAGE["help"])

    def _pair_for(self, actor: str, partner_id: str | None, name: str, suggest: str) -> int:
        """Return the id of the caller's pair for a modal command."""
        with self.ctx.session() as session:
            pair = self.pairs.resolve_pair(session, actor=actor, partner_id=partner_id,
                                                        usage=USAGE[name], suggest=suggest)
            return pair.id or 0
