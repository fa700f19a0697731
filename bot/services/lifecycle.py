"""The life of a pair: register, agree, set goals, move through phases, pause, and close well."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot.blocks import Block, Reply, mention
from bot.blocks.agreement import (
    FIELD_OF_BLOCK,
    LABEL_OF_BLOCK,
    MAX_LENGTH_OF_BLOCK,
    AgreementFields,
    build_agreement_modal,
    build_agreement_recap,
)
from bot.blocks.ids import (
    AGREEMENT_CADENCE_BLOCK,
    AGREEMENT_ENDS_ON_BLOCK,
    INPUT_ACTION,
    REFLECTION_TEXT_BLOCK,
)
from bot.blocks.lifecycle import (
    MAX_REFLECTION_TEXT,
    PAIRS_PER_PAGE,
    GoalRow,
    PairRow,
    build_closing_prompt,
    build_closing_reflection_modal,
    build_closure_reason_request,
    build_closure_recorded,
    build_goal_added_reply,
    build_goal_done_reply,
    build_goals_reply,
    build_pair_choice_text,
    build_pair_registered_reply,
    build_pairs_reply,
    build_phase_reply,
    build_quiet_reply,
    build_welcome_message,
    describe_pair,
    notice,
    page_count,
)
from bot.blocks.refs import BadPairRef, PairRef
from bot.domain.commands import (
    USAGE,
    AddGoal,
    CompleteGoal,
    RegisterPair,
    UsageError,
    cadence_label,
    check_end_date,
    default_end_date,
    parse_cadence,
)
from bot.domain.health import health_of
from bot.domain.models import Agreement, ClosureReason, Goal, GoalStatus, Pair, PairStatus, Phase
from bot.domain.phases import next_phase
from bot.gateway import SlackCallFailed
from bot.services.context import ServiceContext
from bot.services.errors import UserError
from bot.store import get_pair, is_member, list_pairs_for_person, partner_of
from bot.store.flags import QUIET, set_flag
from bot.store.pairs import (
    find_open_pair_between,
    get_agreement,
    get_member_state,
    list_goals,
    list_open_pairs_page,
)

if TYPE_CHECKING:
    from bot.services import Services

logger = logging.getLogger(__name__)

DEFAULT_CADENCE_DAYS = 14
MAX_GOALS_PER_PAIR = 50


@dataclass
class _AfterCommit:
    """Messages to send once the transaction is safely committed."""

    posts: list[tuple[str, Reply]] = field(default_factory=list)

    def add(self, channel: str | None, reply: Reply) -> None:
        if channel:
            self.posts.append((channel, reply))


def _goal_rows(goals: list[Goal]) -> list[GoalRow]:
    return [GoalRow(number=i, text=g.text, measure=g.measure, due_on=g.due_on, status=g.status,
                    achieved_on=g.achieved_on) for i, g in enumerate(goals, start=1)]


def parse_pair_id(value: str | None) -> int:
    """Return the pair id carried in a button value or a modal's private metadata."""
    try:
        return PairRef.from_value(value).pair_id
    except BadPairRef:
        raise UserError("That button or form no longer points at a pair. Run the command again.") from None


class LifecycleService:
    def __init__(self, ctx: ServiceContext, services: Services) -> None:
        self.ctx = ctx
        self.services = services

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

    def _send(self, after: _AfterCommit) -> None:
        """Deliver post-commit messages; a failure is logged, the committed change stands."""
        for channel, reply in after.posts:
            try:
                self.ctx.gateway.post_message(channel, reply.text, reply.blocks)
            except SlackCallFailed as failure:
                logger.warning("could not post to %s: %s", channel, failure.code)

    def _member_pair(self, session: Session, actor: str, pair_id: int, *, allow_ended: bool = False) -> Pair:
        pair = get_pair(pair_id, session=session)
        if pair is None or not is_member(pair, actor):
            raise UserError("Only the two members of this pair can do that.")
        if pair.status == PairStatus.ENDED and not allow_ended:
            raise UserError("This pair has ended, so its agreement can no longer change.")
        return pair

    # ---- registering a pair -------------------------------------------------------------------------

    def _valid_person(self, session: Session, user_id: str, now: datetime, usage: str) -> None:
        try:
            person = self.services.people.get_person(session, user_id, now, refresh=True)
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
            if not chosen_by_members and not self.services.people.is_coordinator(session, actor, now):
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
            coordinator = self.services.people.is_coordinator(session, actor, now)
            listings, total = list_open_pairs_page(session=session, offset=(page - 1) * PAIRS_PER_PAGE,
                                                   limit=PAIRS_PER_PAGE, person=None if coordinator else actor)
            if page > page_count(total):
                raise UserError(f"There {'is' if page_count(total) == 1 else 'are'} only {page_count(total)} "
                                f"page{'s' if page_count(total) != 1 else ''} of pairs.", USAGE["pairs"])
            rows = [PairRow(pair_id=p.id or 0, mentor_id=p.mentor_id, mentee_id=p.mentee_id, phase=p.phase,
                            health=health_of(p, signals, today), last_met_on=signals.last_met_on,
                            ends_on=p.ends_on, cadence_days=p.cadence_days, paused_until=p.paused_until)
                    for p, signals in listings]
            session.commit()
        return build_pairs_reply(rows=rows, page=page, total=total, coordinator=coordinator, today=today)

    # ---- the agreement ------------------------------------------------------------------------------

    def open_agreement_modal(self, *, actor: str, pair_id: int, trigger_id: str) -> None:
        """Open the agreement modal for a member of the pair, pre-filled with what they agreed so far."""
        with self.ctx.session() as session:
            pair = self._member_pair(session, actor, pair_id)
            agreement = get_agreement(pair_id, session=session)
            cadence = cadence_label(pair.cadence_days)
            if agreement is None:
                fields = AgreementFields(cadence=cadence)
            else:
                fields = AgreementFields(
                    cadence=agreement.meeting_frequency or cadence, who_sets_up=agreement.who_sets_up,
                    contact=agreement.contact, confidentiality=agreement.confidentiality,
                    off_limits=agreement.off_limits, success_measure=agreement.success_measure,
                    way_out=agreement.way_out,
                )
            view = build_agreement_modal(pair_id=pair_id, partner_id=partner_of(pair, actor), fields=fields,
                                         ends_on=pair.ends_on)
        try:
            self.ctx.gateway.open_view(trigger_id, view)
        except SlackCallFailed as failure:
            raise UserError(f"I couldn't open the agreement form (Slack said {failure.code}). Please try again."
                            ) from None

    def save_agreement(self, *, actor: str, private_metadata: str, values: dict[str, Any],
                       now: datetime) -> dict[str, str]:
        """Save the agreement from the modal; return errors by block id (empty when saved)."""
        if not all(block_id in values for block_id in FIELD_OF_BLOCK):
            # Slack sends every input's state, empty or not: a form without them would blank the agreement.
            return {AGREEMENT_CADENCE_BLOCK: "This form came back incomplete, so I saved nothing. Close it and "
                                             "open the agreement again."}
        today = self.today(now)
        texts = {block_id: str(((values.get(block_id) or {}).get(INPUT_ACTION) or {}).get("value") or "").strip()
                 for block_id in FIELD_OF_BLOCK}
        picked = ((values.get(AGREEMENT_ENDS_ON_BLOCK) or {}).get(INPUT_ACTION) or {}).get("selected_date")
        errors: dict[str, str] = {}
        for block_id, text in texts.items():
            if len(text) > MAX_LENGTH_OF_BLOCK[block_id]:
                errors[block_id] = f"{LABEL_OF_BLOCK[block_id]} can be at most {MAX_LENGTH_OF_BLOCK[block_id]} " \
                                   "characters."
        cadence_days: int | None = None
        if texts[AGREEMENT_CADENCE_BLOCK] and AGREEMENT_CADENCE_BLOCK not in errors:
            try:
                cadence_days = parse_cadence(texts[AGREEMENT_CADENCE_BLOCK])
            except UsageError as problem:
                errors[AGREEMENT_CADENCE_BLOCK] = problem.message
        with self.ctx.session() as session:
            try:
                pair = self._member_pair(session, actor, parse_pair_id(private_metadata))
            except UserError as problem:
                return {AGREEMENT_CADENCE_BLOCK: problem.text}
            ends_on = pair.ends_on
            if picked:
                try:
                    chosen = date.fromisoformat(str(picked))
                    ends_on = chosen if chosen == pair.ends_on else check_end_date(chosen, today, USAGE["agreement"])
                except ValueError:
                    errors[AGREEMENT_ENDS_ON_BLOCK] = "Pick a date from the calendar."
                except UsageError as problem:
                    errors[AGREEMENT_ENDS_ON_BLOCK] = problem.message
            if errors:
                return errors
            fields = AgreementFields(
                cadence=cadence_label(cadence_days) if cadence_days else "",
                **{FIELD_OF_BLOCK[b]: texts[b] for b in FIELD_OF_BLOCK if b != AGREEMENT_CADENCE_BLOCK},
            )
            agreement = get_agreement(pair.id or 0, session=session) or Agreement(pair_id=pair.id, updated_by=actor)
            agreement.meeting_frequency = fields.cadence
            agreement.who_sets_up = fields.who_sets_up
            agreement.contact = fields.contact
            agreement.confidentiality = fields.confidentiality
            agreement.off_limits = fields.off_limits
            agreement.success_measure = fields.success_measure
            agreement.way_out = fields.way_out
            agreement.updated_at = now
            agreement.updated_by = actor
            if cadence_days:
                pair.cadence_days = cadence_days
            pair.ends_on = ends_on
            session.add(agreement)
            session.add(pair)
            channel = pair.channel_id
            session.commit()
        after = _AfterCommit()
        after.add(channel, build_agreement_recap(actor=actor, fields=fields, ends_on=ends_on))
        self._send(after)
        return {}

    # ---- goals --------------------------------------------------------------------------------------

    def add_goal(self, *, actor: str, command: AddGoal, now: datetime) -> Reply:
        today = self.today(now)
        with self.ctx.session() as session:
            pair = self.resolve_pair(session, actor=actor, partner_id=command.partner_id, usage=USAGE["goal add"],
                                     suggest="/mentoring goal add … ")
            goals = list_goals(pair.id or 0, session=session)
            if len(goals) >= MAX_GOALS_PER_PAIR:
                raise UserError(f"Your pair already has {len(goals)} goals, the most I keep. Mark some done or "
                                "focus on fewer.", USAGE["goal add"])
            goal = Goal(pair_id=pair.id, text=command.text, measure=command.measure, due_on=command.due_on,
                        created_at=now, created_by=actor)
            session.add(goal)
            moved = pair.phase == Phase.RAPPORT
            if moved:
                pair.phase = Phase.DIRECTION
                pair.phase_changed_at = now
                session.add(pair)
            session.commit()
            row = _goal_rows([*goals, goal])[-1]
        return build_goal_added_reply(goal=row, moved_to_direction=moved, today=today)

    def list_goals(self, *, actor: str, partner_id: str | None, now: datetime) -> Reply:
        with self.ctx.session() as session:
            pair = self.resolve_pair(session, actor=actor, partner_id=partner_id, usage=USAGE["goals"],
                                     suggest="/mentoring goals")
            rows = _goal_rows(list_goals(pair.id or 0, session=session))
            partner = partner_of(pair, actor)
        return build_goals_reply(goals=rows, partner_id=partner, today=self.today(now))

    def complete_goal(self, *, actor: str, command: CompleteGoal, now: datetime) -> Reply:
        usage = USAGE["goal done"]
        with self.ctx.session() as session:
            pair = self.resolve_pair(session, actor=actor, partner_id=command.partner_id, usage=usage,
                                     suggest=f"/mentoring goal done {command.number}")
            goals = list_goals(pair.id or 0, session=session)
            if not goals:
                raise UserError("Your pair has no goals yet — add one with `/mentoring goal add`.", usage)
            if command.number > len(goals):
                raise UserError(f"There is no goal {command.number}: your pair has {len(goals)} goal"
                                f"{'s' if len(goals) != 1 else ''} (1–{len(goals)}). See `/mentoring goals`.", usage)
            goal = goals[command.number - 1]
            already = goal.status == GoalStatus.ACHIEVED
            if not already:
                goal.status = GoalStatus.ACHIEVED
                goal.achieved_on = self.today(now)
                session.add(goal)
                session.commit()
            row = _goal_rows(goals)[command.number - 1]
        return build_goal_done_reply(goal=row, already=already)

    # ---- phases, pausing, ending --------------------------------------------------------------------

    def _wind_up(self, pair: Pair, goals: list[Goal], now: datetime, after: _AfterCommit) -> None:
        """Move `pair` to winding up and queue the closing prompts and the coordinators' question."""
        pair.phase = Phase.WINDING_UP
        pair.phase_changed_at = now
        pair.winding_up_at = now
        rows = _goal_rows(goals)
        for member in (pair.mentor_id, pair.mentee_id):
            after.add(member, build_closing_prompt(pair_id=pair.id or 0, partner_id=partner_of(pair, member),
                                                   goals=rows, ends_on=pair.ends_on))
        for coordinator in self.ctx.settings.coordinators:
            after.add(coordinator, build_closure_reason_request(pair_id=pair.id or 0, mentor_id=pair.mentor_id,
                                                                mentee_id=pair.mentee_id))

    def _finish(self, pair: Pair, now: datetime, after: _AfterCommit) -> None:
        pair.phase = Phase.ENDED
        pair.status = PairStatus.ENDED
        pair.phase_changed_at = now
        pair.ended_at = now
        pair.paused_until = None
        who = describe_pair(pair.mentor_id, pair.mentee_id)
        after.add(pair.channel_id, notice(f"Your mentoring relationship ({who}) has ended. Thank you both for the "
                                          "time you gave it."))

    def _move_on(self, session: Session, pair: Pair, now: datetime, after: _AfterCommit) -> str | None:
        """Advance `pair` one phase, with what that step brings; return the phase it left."""
        left = pair.phase
        target = next_phase(pair.phase)
        if target is None:
            return None
        if target == Phase.WINDING_UP:
            self._wind_up(pair, list_goals(pair.id or 0, session=session), now, after)
        elif target == Phase.ENDED:
            self._finish(pair, now, after)
        else:
            pair.phase = target
            pair.phase_changed_at = now
        session.add(pair)
        return left

    def show_phase(self, *, actor: str, advance: bool, partner_id: str | None, now: datetime) -> Reply:
        after = _AfterCommit()
        with self.ctx.session() as session:
            pair = self.resolve_pair(session, actor=actor, partner_id=partner_id, usage=USAGE["phase"],
                                     suggest="/mentoring phase next" if advance else "/mentoring phase")
            left = self._move_on(session, pair, now, after) if advance else None
            session.commit()
            phase, partner = pair.phase, partner_of(pair, actor)
        self._send(after)
        return build_phase_reply(phase=phase, partner_id=partner, advanced_from=left)

    def pause(self, *, actor: str, days: int, partner_id: str | None, now: datetime) -> Reply:
        usage = USAGE["pause"]
        today = self.today(now)
        after = _AfterCommit()
        with self.ctx.session() as session:
            coordinator = self.services.people.is_coordinator(session, actor, now)
            pair = self.resolve_pair(session, actor=actor, partner_id=partner_id, usage=usage,
                                     suggest="/mentoring pause", coordinator=coordinator)
            until = date.fromordinal(today.toordinal() + days)
            pair.status = PairStatus.PAUSED
            pair.paused_until = until
            session.add(pair)
            session.commit()
            text = (f":double_vertical_bar: {mention(actor)} paused reminders for "
                    f"{describe_pair(pair.mentor_id, pair.mentee_id)} until {until.isoformat()}. "
                    "`/mentoring resume` restarts them sooner.")
            after.add(pair.channel_id, notice(text))
        self._send(after)
        return notice(text)

    def resume(self, *, actor: str, partner_id: str | None, now: datetime) -> Reply:
        usage = USAGE["resume"]
        after = _AfterCommit()
        with self.ctx.session() as session:
            coordinator = self.services.people.is_coordinator(session, actor, now)
            pair = self.resolve_pair(session, actor=actor, partner_id=partner_id, usage=usage,
                                     suggest="/mentoring resume", coordinator=coordinator)
            if pair.status != PairStatus.PAUSED:
                raise UserError(f"{describe_pair(pair.mentor_id, pair.mentee_id)} isn't paused.", usage)
            pair.status = PairStatus.ACTIVE
            pair.paused_until = None
            session.add(pair)
            session.commit()
            text = (f":arrow_forward: {mention(actor)} resumed reminders for "
                    f"{describe_pair(pair.mentor_id, pair.mentee_id)}.")
            after.add(pair.channel_id, notice(text))
        self._send(after)
        return notice(text)

    def end(self, *, actor: str, partner_id: str | None, now: datetime) -> Reply:
        """First `end`: wind up (closing prompts, coordinators asked why). Again: the pair ends."""
        after = _AfterCommit()
        with self.ctx.session() as session:
            coordinator = self.services.people.is_coordinator(session, actor, now)
            pair = self.resolve_pair(session, actor=actor, partner_id=partner_id, usage=USAGE["end"],
                                     suggest="/mentoring end", coordinator=coordinator)
            who = describe_pair(pair.mentor_id, pair.mentee_id)
            if pair.phase == Phase.WINDING_UP or self.today(now) >= pair.ends_on:
                self._finish(pair, now, after)
                text = f":checkered_flag: {who} has ended. Thank you for closing it well."
            else:
                self._wind_up(pair, list_goals(pair.id or 0, session=session), now, after)
                text = (f":hourglass_flowing_sand: {who} is now winding up: both members got a closing-reflection "
                        f"prompt. It ends on {pair.ends_on.isoformat()}, or run `/mentoring end` again to end it now.")
            session.add(pair)
            session.commit()
        self._send(after)
        return notice(text)

    # ---- the kill switch ----------------------------------------------------------------------------

    def set_quiet(self, *, actor: str, on: bool, now: datetime) -> Reply:
        with self.ctx.session() as session:
            if not self.services.people.is_coordinator(session, actor, now):
                raise self.coordinator_refusal("turn quiet mode on or off", USAGE["quiet"])
            set_flag(QUIET, "on" if on else "off", session=session, by=actor, now=now)
            session.commit()
        return build_quiet_reply(on=on)

    # ---- closing well -------------------------------------------------------------------------------

    def open_reflection_modal(self, *, actor: str, pair_id: int, trigger_id: str) -> None:
        with self.ctx.session() as session:
            pair = self._member_pair(session, actor, pair_id, allow_ended=True)
            state = get_member_state(pair_id, actor, session=session)
            text = self.ctx.cipher.decrypt(state.reflection_text_enc)
            view = build_closing_reflection_modal(pair_id=pair_id, partner_id=partner_of(pair, actor), text=text)
            session.rollback()  # nothing to keep: an empty MemberState is made when the reflection is saved
        try:
            self.ctx.gateway.open_view(trigger_id, view)
        except SlackCallFailed as failure:
            raise UserError(f"I couldn't open the reflection form (Slack said {failure.code}). Please try again."
                            ) from None

    def save_reflection(self, *, actor: str, private_metadata: str, values: dict[str, Any]) -> dict[str, str]:
        """Store the author's closing reflection, encrypted; return errors by block id."""
        text = str(((values.get(REFLECTION_TEXT_BLOCK) or {}).get(INPUT_ACTION) or {}).get("value") or "").strip()
        if not text:
            return {REFLECTION_TEXT_BLOCK: "Write a few words, or press Cancel."}
        if len(text) > MAX_REFLECTION_TEXT:
            return {REFLECTION_TEXT_BLOCK: f"Keep it to {MAX_REFLECTION_TEXT} characters."}
        with self.ctx.session() as session:
            try:
                pair_id = parse_pair_id(private_metadata)
                self._member_pair(session, actor, pair_id, allow_ended=True)
            except UserError as problem:
                return {REFLECTION_TEXT_BLOCK: problem.text}
            state = get_member_state(pair_id, actor, session=session)
            state.reflection_text_enc = self.ctx.cipher.encrypt(text)
            session.add(state)
            session.commit()
        return {}

    def record_closure_reason(self, *, actor: str, value: str, now: datetime) -> Reply:
        """Store why a pair closed (completed, ended early, rematched); coordinators only."""
        pair_id = parse_pair_id(value)
        reason_text = value.split(":", 1)[1] if ":" in value else ""
        try:
            reason = ClosureReason(reason_text)
        except ValueError:
            raise UserError("That closure reason is not one I know.") from None
        with self.ctx.session() as session:
            if not self.services.people.is_coordinator(session, actor, now):
                raise self.coordinator_refusal("record why a pair closed")
            pair = get_pair(pair_id, session=session)
            if pair is None:
                raise UserError("That pair no longer exists.")
            pair.closure_reason = reason
            session.add(pair)
            if reason in (ClosureReason.REMATCHED, ClosureReason.ENDED_EARLY):
                self.services.matching.return_to_pool(session, pair.mentee_id, now)
            session.commit()
            return build_closure_recorded(mentor_id=pair.mentor_id, mentee_id=pair.mentee_id, reason=reason)
