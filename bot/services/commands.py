"""`/mentoring …`: parse the text, check the role, run the use case, return the reply."""

from __future__ import annotations

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
from bot.services.context import ServiceContext
from bot.services.errors import UserError

if TYPE_CHECKING:
    from datetime import datetime

    from bot.services import Services


class CommandService:
    def __init__(self, ctx: ServiceContext, services: Services) -> None:
        self.ctx = ctx
        self.services = services

    def _is_coordinator(self, actor: str, now: datetime, *, refuse_unknown: bool = True) -> bool:
        """Tell whether `actor` is a coordinator; for help, someone Slack will not describe just isn't one."""
        with self.ctx.session() as session:
            try:
                coordinator = self.services.people.is_coordinator(session, actor, now)
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
        lifecycle = self.services.lifecycle
        try:
            command = parse_command(text, today=lifecycle.today(now))
        except UnknownCommand as problem:
            return build_help_reply(coordinator=self._is_coordinator(actor, now, refuse_unknown=False),
                                    problem=problem.message)
        except UsageError as problem:
            raise UserError(problem.message, problem.usage) from None

        match command:
            case Help():
                return build_help_reply(coordinator=self._is_coordinator(actor, now, refuse_unknown=False))
            case RegisterPair():
                return lifecycle.register_pair(actor=actor, command=command, now=now)
            case ListPairs(page=page):
                return lifecycle.list_pairs(actor=actor, page=page, now=now)
            case OpenCheckin(partner_id=partner):
                pair_id = self._pair_for(actor, partner, "checkin", "/mentoring checkin")
                self.services.checkins.open_checkin_modal(actor=actor, pair_id=pair_id, trigger_id=trigger_id or "")
                return None
            case OpenAgreement(partner_id=partner):
                pair_id = self._pair_for(actor, partner, "agreement", "/mentoring agreement")
                lifecycle.open_agreement_modal(actor=actor, pair_id=pair_id, trigger_id=trigger_id or "")
                return None
            case AddGoal():
                return lifecycle.add_goal(actor=actor, command=command, now=now)
            case ListGoals(partner_id=partner):
                return lifecycle.list_goals(actor=actor, partner_id=partner, now=now)
            case CompleteGoal():
                return lifecycle.complete_goal(actor=actor, command=command, now=now)
            case ShowPhase(advance=advance, partner_id=partner):
                return lifecycle.show_phase(actor=actor, advance=advance, partner_id=partner, now=now)
            case PausePair(days=days, partner_id=partner):
                return lifecycle.pause(actor=actor, days=days, partner_id=partner, now=now)
            case ResumePair(partner_id=partner):
                return lifecycle.resume(actor=actor, partner_id=partner, now=now)
            case EndPair(partner_id=partner):
                return lifecycle.end(actor=actor, partner_id=partner, now=now)
            case PostSummary():
                if not self._is_coordinator(actor, now):
                    raise lifecycle.coordinator_refusal("post the program summary", USAGE["summary"])
                return self.services.nudges.post_summary(actor=actor, now=now)
            case SetQuiet(on=on):
                return lifecycle.set_quiet(actor=actor, on=on, now=now)
            case OpenProfile(joining=joining):
                self.services.profiles.open_profile_modal(actor=actor, trigger_id=trigger_id or "", joining=joining)
                return None
            case ShowProfile(person_id=person):
                return self.services.profiles.show_profile(actor=actor, person_id=person, now=now)
            case LeavePool():
                return self.services.profiles.leave(actor=actor, now=now)
            case ManageTopics():
                return self.services.profiles.manage_topics(actor=actor, command=command, now=now)
            case ProposeMatches():
                return self.services.matching.propose(actor=actor, now=now)
            case ShowReport():
                if not self._is_coordinator(actor, now):
                    raise lifecycle.coordinator_refusal("read the outcome report", USAGE["report"])
                return self.services.outcomes.show_report(now=now)
        raise UserError("I don't know that command.", USAGE["help"])

    def _pair_for(self, actor: str, partner_id: str | None, name: str, suggest: str) -> int:
        """Return the id of the caller's pair for a modal command."""
        with self.ctx.session() as session:
            pair = self.services.lifecycle.resolve_pair(session, actor=actor, partner_id=partner_id,
                                                        usage=USAGE[name], suggest=suggest)
            return pair.id or 0
