"""The life of a pair: register it, list pairs, move through phases, pause, resume, end, and why it closed."""

from __future__ import annotations

import logging
from datetime import date, datetime

from sqlmodel import Session

from bot.blocks import Block, Reply, mention
from bot.blocks.lifecycle import (
    PAIRS_PER_PAGE,
    PairRow,
    build_closing_prompt,
    build_closure_reason_request,
    build_closure_recorded,
    build_pair_choice_text,
    build_pair_registered_reply,
    build_pairs_reply,
    build_phase_reply,
    build_welcome_message,
    describe_pair,
    goal_rows,
    notice,
    page_count,
)
from bot.blocks.refs import BadPairRef, PairRef
from bot.domain import pairs
from bot.domain.commands import (
    USAGE,
    RegisterPair,
    default_end_date,
)
from bot.domain.health import health_of
from bot.domain.models import ClosureReason, Goal, Pair, PairStatus, Phase
from bot.domain.pairs import is_member, partner_of
from bot.gateway import SlackCallFailed
from bot.services.context import ServiceContext
from bot.services.errors import UserError
from bot.services.outbox import Outbox
from bot.services.people import PeopleService
from bot.store import get_pair, list_pairs_for_person
from bot.store.pairs import (
    find_open_pair_between,
    list_goals,
    list_open_pairs_page,
)
from bot.store.profiles import return_to_pool

logger = logging.getLogger(__name__)

DEFAULT_CADENCE_DAYS = 14
MAX_GOALS_PER_PAIR = 50


def parse_pair_id(value: str | None) -> int:
    """Return the pair id carried in a button value or a modal's private metadata."""
    try:
        return PairRef.from_value(value).pair_id
    except BadPairRef:
        raise UserError("That button or form no longer points at a pair. Run the command again.") from None


class PairService:
    def __init__(self, ctx: ServiceContext, people: PeopleService) -> None:
        self.ctx = ctx
        self.people = people

    # ---- shared pieces ------------------------------------------------------------------------------

    def today(self, now: datetime) -> date:
        """Return the program's calendar date at `now`."""
        return now.astimezone(self.ctx.settings.zone).date()

    def coordinator_refusal(self, what: str, usage: str | None = None) -> UserError:
        """Return the refusal for a coordinator-only action, saying who may do it."""
        named = ", ".join(mention(c) for c in self.ctx.settings.coordinators[:5])
        who = f" Ask {named}." if named else " Ask a workspace admin."
        return UserError(f"Only coordinators can {what}. Coordinators are the people listed in "
                         f"MENTORBOT_COORDINATORS and workspace admins and owners.{who}", usage)

    def require_coordinator(self, session: Session, actor: str, now: datetime, what: str,
                            usage: str | None = None) -> None:
        """Refuse, saying who may, unless `actor` is a coordinator."""
        if not self.people.is_coordinator(session, actor, now):
            raise self.coordinator_refusal(what, usage)

    def resolve_pair(self, session: Session, *, actor: str, partner_id: str | None, usage: str, suggest: str,
                     coordinator: bool = False) -> Pair:
        """Return the one not-ended pair the caller means; coordinators may name any member.

        Args:
            suggest: the command to show for each pair when the caller is in several.
            coordinator: the caller is a coordinator and this command lets coordinators act on any pair.
        """
        if partner_id == actor:
            raise UserError("That's you — mention your partner instead.", usage)
        own = list_pairs_for_person(actor, session=session)
        if partner_id is not None:
            for pair in own:
                if partner_of(pair, actor) == partner_id:
                    return pair
            if coordinator:
                theirs = list_pairs_for_person(partner_id, session=session)
                if len(theirs) == 1:
                    return theirs[0]
                if theirs:
                    listed = "; ".join(describe_pair(p.mentor_id, p.mentee_id) for p in theirs[:10])
                    raise UserError(f"{mention(partner_id)} is in {len(theirs)} pairs ({listed}), so I can't "
                                    "tell which you mean. Ask one of that pair to run it.", usage)
                raise UserError(f"{mention(partner_id)} is not in an active pair.", usage)
            raise UserError(f"You are not in an active pair with {mention(partner_id)}. Only the two members of a "
                            "pair (and, for pause, resume and end, a coordinator) can do this.", usage)
        if not own:
            hint = (" As a coordinator, name one of the pair, e.g. `/mentoring end @mentee`." if coordinator else
                    " Only pair members can do this; a coordinator can pair you with someone.")
            raise UserError("You are not in an active mentoring pair." + hint, usage)
        if len(own) > 1:
            pairs = [(p.mentor_id, p.mentee_id) for p in own]
            raise UserError(build_pair_choice_text(actor=actor, pairs=pairs, command=suggest), usage)
        return own[0]

    def member_pair(self, session: Session, actor: str, pair_id: int, *, allow_ended: bool = False) -> Pair:
        pair = get_pair(pair_id, session=session)
        if pair is None or not is_member(pair, actor):
            raise UserError("Only the two members of this pair can do that.")
        if pair.status == PairStatus.ENDED and not allow_ended:
            raise UserError("This pair has ended, so its agreement can no longer change.")
        return pair

    # ---- registering a pair -------------------------------------------------------------------------

    def _valid_person(self, session: Session, user_id: str, now: datetime, usage: str) -> None:
        try:
            person = self.people.get_person(session, user_id, now, refresh=True)
        except SlackCallFailed as failure:
            if failure.code == "user_not_found":
                raise UserError(f"I can't find {mention(user_id)} in this workspace.", usage) from None
            raise UserError(f"I couldn't look up {mention(user_id)} (Slack said {failure.code}). Nothing was "
                            "saved; please try again.", usage) from None
        if person.is_bot:
            raise UserError(f"{mention(user_id)} is a bot — a pair is two people.", usage)
        if person.is_deleted:
            raise UserError(f"{mention(user_id)}'s account is deactivated, so they can't be paired.", usage)

    def register_pair(self, *, actor: str, command: RegisterPair, now: datetime,
                      introduction: list[Block] | None = None, chosen_by_members: bool = False) -> Reply:
        """Register a pair, open its group DM and welcome it; refuse cleanly, leaving nothing behind.

        Args:
            introduction: blocks for the welcome saying what each brings (a pair made by matching).
            chosen_by_members: the mentee chose and the mentor (`actor`) accepted, so no coordinator is needed.
        """
        usage = USAGE["pair"]
        today = self.today(now)
        mentor_id, mentee_id = command.mentor_id, command.mentee_id
        with self.ctx.session() as session:
            if not chosen_by_members and not self.people.is_coordinator(session, actor, now):
                raise self.coordinator_refusal("register pairs", usage)
            self._valid_person(session, mentor_id, now, usage)
            self._valid_person(session, mentee_id, now, usage)
            existing = find_open_pair_between(mentor_id, mentee_id, session=session)
            if existing is not None:
                raise UserError(f"{mention(mentor_id)} and {mention(mentee_id)} are already an active pair "
                                f"(since {existing.started_on.isoformat()}).", usage)
            cadence = command.cadence_days or DEFAULT_CADENCE_DAYS
            ends_on = command.ends_on or default_end_date(today)
            # Open the DM before writing anything: if Slack refuses, there is nothing to undo.
            try:
                channel = self.ctx.gateway.open_conversation([mentor_id, mentee_id])
            except SlackCallFailed as failure:
                raise UserError(f"I couldn't open a group DM with {mention(mentor_id)} and {mention(mentee_id)} "
                                f"(Slack said {failure.code}). Nothing was saved; please try again.", usage) from None
            pair = Pair(mentor_id=mentor_id, mentee_id=mentee_id, cadence_days=cadence, started_on=today,
                        ends_on=ends_on, created_at=now, created_by=actor, channel_id=channel,
                        phase_changed_at=now)
            session.add(pair)
            session.commit()
            pair_id = pair.id
        assert pair_id is not None
        welcome = build_welcome_message(pair_id=pair_id, mentor_id=mentor_id, mentee_id=mentee_id,
                                        coordinator_id=actor, cadence_days=cadence, ends_on=ends_on,
                                        introduction=introduction)
        try:
            self.ctx.gateway.post_message(channel, welcome.text, welcome.blocks)
        except SlackCallFailed as failure:
            # A pair nobody was told about would drift from day one: take it back and say so.
            with self.ctx.session() as session:
                stored = get_pair(pair_id, session=session)
                if stored is not None:
                    session.delete(stored)
                    session.commit()
            raise UserError(f"I couldn't post the welcome to {mention(mentor_id)} and {mention(mentee_id)} "
                            f"(Slack said {failure.code}). Nothing was saved; please try again.", usage) from None
        return build_pair_registered_reply(mentor_id=mentor_id, mentee_id=mentee_id, cadence_days=cadence,
                                           ends_on=ends_on)

    # ---- listing pairs ------------------------------------------------------------------------------

    def list_pairs(self, *, actor: str, page: int, now: datetime) -> Reply:
        """Return a page of pairs: every open pair for a coordinator, one's own pairs for anyone else."""
        today = self.today(now)
        with self.ctx.session() as session:
            coordinator = self.people.is_coordinator(session, actor, now)
            listings, total = list_open_pairs_page(session=session, offset=(page - 1) * PAIRS_PER_PAGE,
                                                   limit=PAIRS_PER_PAGE, zone=self.ctx.settings.zone,
                                                   person=None if coordinator else actor)
            if page > page_count(total):
                raise UserError(f"There {'is' if page_count(total) == 1 else 'are'} only {page_count(total)} "
                                f"page{'s' if page_count(total) != 1 else ''} of pairs.", USAGE["pairs"])
            rows = [PairRow(pair_id=p.id or 0, mentor_id=p.mentor_id, mentee_id=p.mentee_id, phase=p.phase,
                            health=health_of(p, signals, today), last_met_on=signals.last_met_on,
                            ends_on=p.ends_on, cadence_days=p.cadence_days, paused_until=p.paused_until)
                    for p, signals in listings]
            session.commit()
        return build_pairs_reply(rows=rows, page=page, total=total, coordinator=coordinator, today=today)

    # ---- phases, pausing, ending --------------------------------------------------------------------

    def _tell_winding_up(self, pair: Pair, goals: list[Goal], after: Outbox) -> None:
        """Queue the closing prompts and the coordinators' question of a pair that began winding up."""
        rows = goal_rows(goals)
        for member in (pair.mentor_id, pair.mentee_id):
            after.add(member, build_closing_prompt(pair_id=pair.id or 0, partner_id=partner_of(pair, member),
                                                   goals=rows, ends_on=pair.ends_on))
        for coordinator in self.ctx.settings.coordinators:
            after.add(coordinator, build_closure_reason_request(pair_id=pair.id or 0, mentor_id=pair.mentor_id,
                                                                mentee_id=pair.mentee_id))

    @staticmethod
    def _tell_ended(pair: Pair, after: Outbox) -> None:
        who = describe_pair(pair.mentor_id, pair.mentee_id)
        after.add(pair.channel_id, notice(f"Your mentoring relationship ({who}) has ended. Thank you both for the "
                                          "time you gave it."))

    def _move_on(self, session: Session, pair: Pair, now: datetime, after: Outbox) -> str | None:
        """Advance `pair` one phase, with what that step brings; return the phase it left."""
        left = pair.phase
        reached = pairs.advance(pair, now, self.today(now))
        if reached is None:
            return None
        if reached == Phase.WINDING_UP:
            self._tell_winding_up(pair, list_goals(pair.id or 0, session=session), after)
        elif reached == Phase.ENDED:
            self._tell_ended(pair, after)
        session.add(pair)
        return left

    def show_phase(self, *, actor: str, advance: bool, partner_id: str | None, now: datetime) -> Reply:
        after = Outbox()
        with self.ctx.session() as session:
            pair = self.resolve_pair(session, actor=actor, partner_id=partner_id, usage=USAGE["phase"],
                                     suggest="/mentoring phase next" if advance else "/mentoring phase")
            left = self._move_on(session, pair, now, after) if advance else None
            session.commit()
            phase, partner = pair.phase, partner_of(pair, actor)
        after.send(self.ctx.gateway)
        return build_phase_reply(phase=phase, partner_id=partner, advanced_from=left)

    def pause(self, *, actor: str, days: int, partner_id: str | None, now: datetime) -> Reply:
        usage = USAGE["pause"]
        today = self.today(now)
        after = Outbox()
        with self.ctx.session() as session:
            coordinator = self.people.is_coordinator(session, actor, now)
            pair = self.resolve_pair(session, actor=actor, partner_id=partner_id, usage=usage,
                                     suggest="/mentoring pause", coordinator=coordinator)
            until = date.fromordinal(today.toordinal() + days)
            pairs.pause(pair, until)
            session.add(pair)
            session.commit()
            text = (f":double_vertical_bar: {mention(actor)} paused reminders for "
                    f"{describe_pair(pair.mentor_id, pair.mentee_id)} until {until.isoformat()}. "
                    "`/mentoring resume` restarts them sooner.")
            after.add(pair.channel_id, notice(text))
        after.send(self.ctx.gateway)
        return notice(text)

    def resume(self, *, actor: str, partner_id: str | None, now: datetime) -> Reply:
        usage = USAGE["resume"]
        after = Outbox()
        with self.ctx.session() as session:
            coordinator = self.people.is_coordinator(session, actor, now)
            pair = self.resolve_pair(session, actor=actor, partner_id=partner_id, usage=usage,
                                     suggest="/mentoring resume", coordinator=coordinator)
            if pair.status != PairStatus.PAUSED:
                raise UserError(f"{describe_pair(pair.mentor_id, pair.mentee_id)} isn't paused.", usage)
            pairs.resume(pair)
            session.add(pair)
            session.commit()
            text = (f":arrow_forward: {mention(actor)} resumed reminders for "
                    f"{describe_pair(pair.mentor_id, pair.mentee_id)}.")
            after.add(pair.channel_id, notice(text))
        after.send(self.ctx.gateway)
        return notice(text)

    def end(self, *, actor: str, partner_id: str | None, now: datetime) -> Reply:
        """First `end`: wind up (closing prompts, coordinators asked why). Again: the pair ends."""
        after = Outbox()
        with self.ctx.session() as session:
            coordinator = self.people.is_coordinator(session, actor, now)
            pair = self.resolve_pair(session, actor=actor, partner_id=partner_id, usage=USAGE["end"],
                                     suggest="/mentoring end", coordinator=coordinator)
            who = describe_pair(pair.mentor_id, pair.mentee_id)
            if pair.phase == Phase.WINDING_UP or self.today(now) >= pair.ends_on:
                pairs.end(pair, now, self.today(now))
                self._tell_ended(pair, after)
                text = f":checkered_flag: {who} has ended. Thank you for closing it well."
            else:
                pairs.wind_up(pair, now)
                self._tell_winding_up(pair, list_goals(pair.id or 0, session=session), after)
                text = (f":hourglass_flowing_sand: {who} is now winding up: both members got a closing-reflection "
                        f"prompt. It ends on {pair.ends_on.isoformat()}, or run `/mentoring end` again to end it now.")
            session.add(pair)
            session.commit()
        after.send(self.ctx.gateway)
        return notice(text)

    # ---- closing well -------------------------------------------------------------------------------

    def record_closure_reason(self, *, actor: str, value: str) -> Reply:
        """Store why a pair closed (completed, ended early, rematched); coordinators only."""
        now = self.ctx.now()
        pair_id = parse_pair_id(value)
        reason_text = value.split(":", 1)[1] if ":" in value else ""
        try:
            reason = ClosureReason(reason_text)
        except ValueError:
            raise UserError("That closure reason is not one I know.") from None
        with self.ctx.session() as session:
            self.require_coordinator(session, actor, now, "record why a pair closed")
            pair = get_pair(pair_id, session=session)
            if pair is None:
                raise UserError("That pair no longer exists.")
            pair.closure_reason = reason
            session.add(pair)
            if reason in (ClosureReason.REMATCHED, ClosureReason.ENDED_EARLY):
                return_to_pool(pair.mentee_id, now, session=session)
            session.commit()
            return build_closure_recorded(mentor_id=pair.mentor_id, mentee_id=pair.mentee_id, reason=reason)
