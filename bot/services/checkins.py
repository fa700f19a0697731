"""Check-ins and the prompt buttons: log a meeting, snooze, ask for help, stop or resume reminders."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.blocks import Reply
from bot.blocks.checkins import (
    build_checkin_logged_prompt,
    build_checkin_modal,
    build_checkin_recap,
    build_checkin_thanks,
    build_help_request_dm,
    build_help_sent_prompt,
    build_kind_stopped_prompt,
    build_prompts_resumed_prompt,
    build_snoozed_prompt,
    kind_label,
)
from bot.blocks.forms import CheckinForm, checkin_errors, goal_block_id
from bot.blocks.refs import BadPairRef, PairRef, id_from_text
from bot.domain import pairs
from bot.domain.models import (
    CheckIn,
    Goal,
    GoalProgress,
    GoalStatus,
    HelpRequest,
    MemberState,
    NudgeKind,
    Pair,
    PairStatus,
    Phase,
    PrivateNote,
)
from bot.domain.pairs import is_member, partner_of, zone_of
from bot.domain.policy import SNOOZE_FOR, snooze_reminder_at
from bot.gateway import SlackCallFailed
from bot.services.context import ServiceContext
from bot.services.errors import UserError
from bot.services.home import HomeService
from bot.services.people import PeopleService
from bot.store import checkins as store
from bot.store import get_pair
from bot.store.profiles import get_profile

logger = logging.getLogger(__name__)

# A second "I could use some help" within this window does not ping the coordinators again.
HELP_REPEAT_WINDOW = timedelta(hours=24)
# A match offer belongs to no pair and answers the person's own sign-up: `/mentoring leave` is its way out.
STOPPABLE_KINDS = frozenset(NudgeKind) - {NudgeKind.WEEKLY_SUMMARY, NudgeKind.AT_RISK, NudgeKind.MATCH_OFFER}


@dataclass(frozen=True)
class SavedCheckin:
    """What is needed to announce a stored check-in; never the private note."""

    pair_id: int
    author_id: str
    channel_id: str | None
    met_on: date
    shared_text: str
    next_meeting_on: date | None
    achieved_goals: list[str]
    source_channel: str | None = None
    source_ts: str | None = None


@dataclass(frozen=True)
class CheckinResult:
    """Either field errors keyed by block id (nothing stored) or the saved check-in."""

    errors: dict[str, str] = field(default_factory=dict)
    saved: SavedCheckin | None = None


def parse_pair_value(value: str | None) -> int:
    """Return the pair id carried by a button, or refuse clearly."""
    ref = _button_ref(value)
    if ref.rest:
        raise UserError("That button doesn't point at a pair I know. Try `/mentoring pairs` instead.")
    return ref.pair_id


def _button_ref(value: str | None) -> PairRef:
    try:
        return PairRef.from_value(value)
    except BadPairRef:
        raise UserError("That button doesn't point at a pair I know. Try `/mentoring pairs` instead.") from None


def parse_pair_kind_value(value: str | None) -> tuple[int, str]:
    """Return (pair id, nudge kind) from a "pair_id:kind" button value, or refuse clearly."""
    ref = _button_ref(value)
    pair_id, kind = ref.pair_id, ref.rest
    if kind not in STOPPABLE_KINDS:
        raise UserError("That button names a kind of reminder I don't know, so I changed nothing.")
    return pair_id, kind


def parse_modal_source(private_metadata: object) -> PairRef:
    """Return the pair a check-in modal is for, and the prompt it was opened from."""
    try:
        return PairRef.from_metadata(private_metadata)
    except BadPairRef:
        raise UserError("This check-in form is out of date. Close it and start again from "
                        "`/mentoring checkin`.") from None


def _own_conversations(pair: Pair, actor: str) -> tuple[str, ...]:
    """Return the ledger recipients whose messages `actor` sees: their own DMs, and the pair's conversation."""
    return (actor, pair.channel_id) if pair.channel_id else (actor,)


class CheckinService:
    def __init__(self, ctx: ServiceContext, people: PeopleService, home: HomeService) -> None:
        self.ctx = ctx
        self.people = people
        self.home = home

    # ---- shared helpers ------------------------------------------------------------------
    def _zone(self, session: Session, user_id: str, now: datetime) -> ZoneInfo:
        """Return the person's own time zone, falling back to the program's."""
        try:
            tz = self.people.get_person(session, user_id, now).tz
        except SlackCallFailed:
            tz = None
        return zone_of(tz, self.ctx.settings.timezone)

    def _member_pair(self, session: Session, actor: str, pair_id: int, *, open_only: bool = False) -> Pair:
        pair = get_pair(pair_id, session=session)
        if pair is None:
            raise UserError("That pair no longer exists — it may have been removed. Try `/mentoring pairs`.")
        if not is_member(pair, actor):
            raise UserError("That is not one of your pairs, so I did nothing.")
        if open_only and pair.status == PairStatus.ENDED:
            raise UserError("That pair has ended, so there is nothing more to log or snooze.")
        return pair

    def _answered(self, session: Session, pair: Pair, actor: str, now: datetime,
                  channel: str | None, ts: str | None, *, state: MemberState | None = None) -> bool:
        """Record that `actor` responded for this pair (any press or check-in counts); tell whether message
        `ts` in `channel` is one of the pair's prompts to `actor` or their pair's conversation.

        Args:
            state: `actor`'s member state when the caller already loaded it (saves a query per press).
        """
        if state is None:
            state = store.get_member_state(pair.id or 0, actor, session=session)
        store.record_response(state, now)
        session.add(state)
        if channel and ts:
            return store.mark_nudge_answered(channel, ts, now, pair_id=pair.id or 0,
                                             recipients=_own_conversations(pair, actor), session=session)
        return False

    def is_own_prompt(self, *, actor: str, value: str, channel: str, ts: str) -> bool:
        """Tell whether message `ts` in `channel` is a prompt of the pair in `value` sent to `actor` or their
        pair's conversation: the only message a press without a response_url may have changed."""
        try:
            pair_id = _button_ref(value).pair_id
        except UserError:
            return False
        with self.ctx.session() as session:
            pair = get_pair(pair_id, session=session)
            if pair is None or not is_member(pair, actor):
                return False
            return bool(store.prompts_in_message(channel, ts, pair_id=pair_id,
                                                 recipients=_own_conversations(pair, actor), session=session))

    def _refresh_home(self, user_id: str) -> None:
        # A stale Home is a cosmetic problem; the change itself is already saved.
        try:
            self.home.publish_home(user_id=user_id)
        except SlackCallFailed as error:
            logger.warning("could not republish the Home of %s: %s", user_id, error.code)

    # ---- the modal -------------------------------------------------------------------------
    def open_checkin_modal(self, *, actor: str, pair_id: int, trigger_id: str, source_channel: str | None = None,
                           source_ts: str | None = None) -> None:
        """Open the check-in modal for one of `actor`'s pairs."""
        now = self.ctx.now()
        with self.ctx.session() as session:
            pair = self._member_pair(session, actor, pair_id, open_only=True)
            today = now.astimezone(self._zone(session, actor, now)).date()
            partner = partner_of(pair, actor)
            try:
                partner_name = self.people.get_person(session, partner, now).display_name or partner
            except SlackCallFailed:
                partner_name = "your partner"
            goals = store.list_open_goals(pair_id, session=session)
            profile = get_profile(actor, session=session) if actor == pair.mentee_id else None
            questions = profile.questions if profile is not None else None
            own = self._answered(session, pair, actor, now, source_channel, source_ts)
            session.commit()
        # Only the presser's own prompt is marked done once the check-in is saved.
        source = PairRef(pair_id=pair_id, channel=source_channel if own else None, ts=source_ts if own else None)
        view = build_checkin_modal(private_metadata=source.encode(), partner_id=partner, partner_name=partner_name,
                                   today=today, goals=goals, questions=questions)
        self.ctx.gateway.open_view(trigger_id, view)

    def save_checkin(self, *, actor: str, private_metadata: str, form: CheckinForm) -> CheckinResult:
        """Validate a submitted check-in; store it only when every field is valid."""
        source = parse_modal_source(private_metadata)
        now = self.ctx.now()
        with self.ctx.session() as session:
            pair = self._member_pair(session, actor, source.pair_id, open_only=True)
            today = now.astimezone(self._zone(session, actor, now)).date()
            errors = checkin_errors(form, today=today, started_on=pair.started_on)
            progress: list[tuple[Goal, str]] = []
            for goal_key, choice in form.progress.items():
                try:
                    goal = session.get(Goal, id_from_text(goal_key))
                except BadPairRef:
                    goal = None
                if goal is None or goal.pair_id != pair.id:
                    errors[goal_block_id(goal_key)] = "This goal no longer exists. Cancel and open the check-in again."
                elif goal_block_id(goal_key) not in errors:
                    progress.append((goal, choice))
            met_on, next_on = form.met_on.value, form.next_meeting_on.value
            shared, private, rating = form.shared_text, form.private_note, form.rating
            questions = form.questions
            if errors or met_on is None:
                return CheckinResult(errors=errors)
            profile = get_profile(actor, session=session) if actor == pair.mentee_id else None
            if questions is not None and profile is not None:
                profile.questions = questions
                session.add(profile)

            checkin = CheckIn(pair_id=source.pair_id, author_id=actor, met_on=met_on, rating=rating,
                              shared_text_enc=self.ctx.cipher.encrypt(shared), next_meeting_on=next_on,
                              created_at=now)
            session.add(checkin)
            session.flush()
            if private:
                session.add(PrivateNote(checkin_id=checkin.id, author_id=actor,
                                        text_enc=self.ctx.cipher.encrypt(private)))
            achieved = []
            for goal, choice in progress:
                session.add(GoalProgress(checkin_id=checkin.id, goal_id=goal.id, progress=choice))
                if choice == "done" and goal.status != GoalStatus.ACHIEVED:
                    goal.status = GoalStatus.ACHIEVED
                    goal.achieved_on = met_on
                    session.add(goal)
                    achieved.append(goal.text)
            # Meeting with goals set means the pair is past setting direction and into the core work.
            if pair.phase == Phase.DIRECTION and pairs.begin_progression(
                    pair, now, has_goals=store.has_goals(source.pair_id, session=session)):
                session.add(pair)
            self._answered(session, pair, actor, now, source.channel, source.ts)
            session.commit()
            saved = SavedCheckin(pair_id=source.pair_id, author_id=actor, channel_id=pair.channel_id, met_on=met_on,
                                 shared_text=shared, next_meeting_on=next_on, achieved_goals=achieved,
                                 source_channel=source.channel, source_ts=source.ts)
        return CheckinResult(saved=saved)

    def announce_checkin(self, saved: SavedCheckin) -> None:
        """Post the recap to the pair, update the prompt, thank the author and refresh their Home."""
        gateway = self.ctx.gateway
        recap_posted = False
        if saved.channel_id:
            recap = build_checkin_recap(author_id=saved.author_id, met_on=saved.met_on, shared_text=saved.shared_text,
                                        next_meeting_on=saved.next_meeting_on, achieved_goals=saved.achieved_goals)
            try:
                gateway.post_message(saved.channel_id, recap.text, recap.blocks)
                recap_posted = True
            except SlackCallFailed as error:
                logger.warning("recap for pair %s not posted: %s", saved.pair_id, error.code)
        if saved.source_channel and saved.source_ts:
            done = build_checkin_logged_prompt(saved.met_on)
            try:
                gateway.update_message(saved.source_channel, saved.source_ts, done.text, done.blocks)
            except SlackCallFailed as error:
                logger.warning("prompt message not updated: %s", error.code)
        thanks = build_checkin_thanks(met_on=saved.met_on, recap_posted=recap_posted)
        try:
            gateway.post_message(saved.author_id, thanks.text, thanks.blocks)
        except SlackCallFailed as error:
            logger.warning("could not thank %s: %s", saved.author_id, error.code)
        self._refresh_home(saved.author_id)

    # ---- prompt buttons ----------------------------------------------------------------------
    def snooze(self, *, actor: str, value: str, channel: str | None = None, ts: str | None = None) -> Reply:
        """Hold this pair's prompts to `actor` for three days, then ask again (see the policy's snooze reminder);
        a second press does not extend it."""
        pair_id = parse_pair_value(value)
        now = self.ctx.now()
        with self.ctx.session() as session:
            pair = self._member_pair(session, actor, pair_id, open_only=True)
            state = store.get_member_state(pair_id, actor, session=session)
            already = state.snoozed_until is not None and store.as_utc(state.snoozed_until) > now
            if not already:
                state.snoozed_until = now + SNOOZE_FOR
            asks_at = snooze_reminder_at(store.as_utc(state.snoozed_until or now), self._zone(session, actor, now))
            self._answered(session, pair, actor, now, channel, ts, state=state)
            session.commit()
        return build_snoozed_prompt(asks_at, already=already)

    def request_help(self, *, actor: str, value: str, channel: str | None = None, ts: str | None = None) -> Reply:
        """Tell the coordinators, privately, that this pair could use help — once per day at most."""
        pair_id = parse_pair_value(value)
        now = self.ctx.now()
        with self.ctx.session() as session:
            pair = self._member_pair(session, actor, pair_id, open_only=True)
            already = store.recent_help_request(pair_id, now - HELP_REPEAT_WINDOW, session=session) is not None
            if not already:
                session.add(HelpRequest(pair_id=pair_id, person_id=actor, created_at=now))
            self._answered(session, pair, actor, now, channel, ts)
            session.commit()
        if already:
            return build_help_sent_prompt(told=0, already=True)
        message = build_help_request_dm(mentor_id=pair.mentor_id, mentee_id=pair.mentee_id)
        told = 0
        for coordinator in self.ctx.settings.coordinators:
            try:
                self.ctx.gateway.post_message(coordinator, message.text, message.blocks)
                told += 1
            except SlackCallFailed as error:
                logger.warning("help request for pair %s not delivered to %s: %s", pair_id, coordinator, error.code)
        return build_help_sent_prompt(told=told, already=False)

    def stop_kind(self, *, actor: str, value: str, channel: str | None = None, ts: str | None = None) -> Reply:
        """Stop one kind of reminder for `actor` in this pair."""
        pair_id, kind = parse_pair_kind_value(value)
        now = self.ctx.now()
        with self.ctx.session() as session:
            pair = self._member_pair(session, actor, pair_id)
            state = store.get_member_state(pair_id, actor, session=session)
            store.set_stopped_kinds(state, [*store.stopped_kinds(state), kind])
            self._answered(session, pair, actor, now, channel, ts, state=state)
            session.commit()
        self._refresh_home(actor)
        return build_kind_stopped_prompt(kind)

    def resume_kind(self, *, actor: str, value: str) -> str:
        """Turn one stopped kind of reminder back on (from the Home tab); return what changed."""
        pair_id, kind = parse_pair_kind_value(value)
        now = self.ctx.now()
        with self.ctx.session() as session:
            pair = self._member_pair(session, actor, pair_id)
            state = store.get_member_state(pair_id, actor, session=session)
            store.set_stopped_kinds(state, [k for k in store.stopped_kinds(state) if k != kind])
            self._answered(session, pair, actor, now, None, None, state=state)
            session.commit()
        self._refresh_home(actor)
        return f"{kind_label(kind).capitalize()} are back on."

    def resume_prompts(self, *, actor: str, value: str, channel: str | None = None, ts: str | None = None) -> Reply:
        """Lift the pause that three unanswered prompts put on this pair's prompts."""
        pair_id = parse_pair_value(value)
        now = self.ctx.now()
        with self.ctx.session() as session:
            pair = self._member_pair(session, actor, pair_id)
            state = store.get_member_state(pair_id, actor, session=session)
            state.prompts_paused_at = None
            self._answered(session, pair, actor, now, channel, ts)
            session.commit()
        self._refresh_home(actor)
        return build_prompts_resumed_prompt()
