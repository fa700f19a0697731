"""Sign-up: join the pool, edit one's profile, leave; coordinators keep the topic list."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from bot.blocks import Reply, mention
from bot.blocks.ids import (
    PROFILE_BLOCKED_BLOCK,
    PROFILE_CAPACITY_BLOCK,
    PROFILE_OFFERED_BLOCK,
    PROFILE_QUESTIONS_BLOCK,
    PROFILE_ROLE_BLOCK,
    PROFILE_STRENGTHS_BLOCK,
    PROFILE_WANTED_BLOCK,
)
from bot.blocks.matching import (
    MAX_BLOCKED,
    MAX_CAPACITY,
    MAX_PROFILE_TEXT,
    MAX_TOPICS,
    ProfileFields,
    ProfileForm,
    build_profile_card,
    build_profile_modal,
    build_profile_saved_reply,
    build_topics_reply,
    read_profile_form,
)
from bot.domain.commands import USAGE, ManageTopics
from bot.domain.matching import Role
from bot.domain.models import Profile, ProposalStatus, Topic
from bot.gateway import SlackCallFailed
from bot.services.context import ServiceContext
from bot.services.errors import UserError
from bot.services.home import HomeService
from bot.services.matching import MatchingService
from bot.services.pairs import PairService
from bot.services.people import PeopleService
from bot.store import profiles as store
from bot.store.pairs import find_open_pair_between

logger = logging.getLogger(__name__)

OPEN_PROPOSALS = (ProposalStatus.PROPOSED, ProposalStatus.OFFERED, ProposalStatus.CHOSEN)


class ProfileService:
    def __init__(self, ctx: ServiceContext, *, people: PeopleService, pairs: PairService, home: HomeService,
                 matching: MatchingService) -> None:
        self.ctx = ctx
        self.people = people
        self.pairs = pairs
        self.home = home
        self.matching = matching

    # ---- the profile modal --------------------------------------------------------------------------

    def open_profile_modal(self, *, actor: str, trigger_id: str, joining: bool) -> None:
        """Open the sign-up form (`join`, the Home button) or the profile pre-filled (`profile`)."""
        with self.ctx.session() as session:
            topics = store.list_topics(session=session)
            profile = store.get_profile(actor, session=session)
            if not joining and profile is None:
                raise UserError("You haven't joined the mentoring program yet — `/mentoring join` signs you up.",
                                USAGE["join"])
            if not topics:
                raise UserError("The program has no topics yet, so there is nothing to pick. Ask a coordinator to "
                                "add some with `/mentoring topics add <name>`.", USAGE["join"])
            fields = ProfileFields(topics=[(t.id or 0, t.name) for t in topics])
            if profile is not None:
                chosen = store.profile_topic_ids(actor, session=session)
                fields = ProfileFields(topics=fields.topics, role=profile.role, offered=chosen[store.OFFERED],
                                       wanted=chosen[store.WANTED], strengths=profile.strengths,
                                       questions=profile.questions, capacity=profile.capacity,
                                       blocked=store.blocked_ids(actor, session=session))
        # A member who left and joins again is shown "Join", not "Save".
        view = build_profile_modal(fields, joining=joining and (profile is None or not profile.in_pool))
        try:
            self.ctx.gateway.open_view(trigger_id, view)
        except SlackCallFailed as failure:
            raise UserError(f"I couldn't open the profile form (Slack said {failure.code}). Please try again."
                            ) from None

    def save_profile(self, *, actor: str, values: dict[str, Any]) -> tuple[dict[str, str], Reply | None]:
        """Save the submitted profile and put its owner in the pool; return errors by block id, or the reply."""
        now = self.ctx.now()
        form = read_profile_form(values)
        with self.ctx.session() as session:
            topics = {t.id: t for t in store.list_topics(session=session)}
            errors, offered, wanted, capacity = _check(form, topics, actor)
            if errors:
                return errors, None
            try:
                self.people.get_person(session, actor, now)
            except SlackCallFailed as failure:
                return {PROFILE_ROLE_BLOCK: f"I couldn't look you up in Slack ({failure.code}); try again."}, None
            profile = store.get_profile(actor, session=session)
            joining = profile is None or not profile.in_pool
            if profile is None:
                profile = Profile(person_id=actor, role=form.role, joined_at=now)
            elif not profile.in_pool:
                profile.joined_at = now
            profile.role = form.role
            profile.strengths = form.strengths
            profile.questions = form.questions
            profile.capacity = capacity
            profile.in_pool = True
            profile.updated_at = now
            session.add(profile)
            session.flush()
            store.replace_profile_choices(actor, offered=offered, wanted=wanted, blocked=form.blocked,
                                          session=session)
            session.commit()
        return {}, build_profile_saved_reply(joining=joining, role=form.role)

    def tell_saved(self, *, user_id: str, reply: Reply) -> None:
        """Confirm a saved profile in the person's DM and refresh their Home (no more join button)."""
        try:
            self.ctx.gateway.post_message(user_id, reply.text, reply.blocks)
            self.home.publish_home(user_id=user_id)
        except SlackCallFailed as failure:
            logger.warning("could not confirm a saved profile to %s: %s", user_id, failure.code)

    def leave(self, *, actor: str, now: datetime) -> Reply:
        """Take the caller out of the pool; pairs already made go on, open proposals for them are withdrawn."""
        with self.ctx.session() as session:
            profile = store.get_profile(actor, session=session)
            if profile is None or not profile.in_pool:
                raise UserError("You are not in the mentoring program's pool, so there is nothing to leave.",
                                USAGE["leave"])
            profile.in_pool = False
            profile.updated_at = now
            session.add(profile)
            # A mentee waiting on this mentor's answer is offered their next best instead (below).
            asked = (ProposalStatus.PROPOSED, ProposalStatus.OFFERED)
            for proposal in [*store.list_proposals(OPEN_PROPOSALS, session=session, mentee_id=actor),
                             *store.list_proposals(asked, session=session, mentor_id=actor)]:
                proposal.status = ProposalStatus.WITHDRAWN
                proposal.decided_at = now
                session.add(proposal)
            session.commit()
        self.matching.release_requests_to(actor, now)
        text = ("You've left the mentoring program's pool: no new match will be proposed for you. Your current "
                "pairs carry on; `/mentoring join` brings you back.")
        return Reply(text=text)

    def show_profile(self, *, actor: str, person_id: str, now: datetime) -> Reply:
        """Show a profile to its owner, a coordinator, or the person's partner in a pair; never the block list."""
        usage = USAGE["profile"]
        with self.ctx.session() as session:
            allowed = (actor == person_id or find_open_pair_between(actor, person_id, session=session) is not None
                       or self.people.is_coordinator(session, actor, now))
            if not allowed:
                raise UserError("A profile is seen by coordinators and, once you are paired, by your partner.", usage)
            profile = store.get_profile(person_id, session=session)
            if profile is None:
                raise UserError(f"{mention(person_id)} hasn't filled in a profile.", usage)
            return build_profile_card(
                person_id=person_id, role=profile.role, in_pool=profile.in_pool, capacity=profile.capacity,
                offered=store.topic_names(person_id, store.OFFERED, session=session),
                wanted=store.topic_names(person_id, store.WANTED, session=session),
                strengths=profile.strengths, questions=profile.questions)

    # ---- the topic list ---------------------------------------------------------------------------------

    def manage_topics(self, *, actor: str, command: ManageTopics, now: datetime) -> Reply:
        usage = USAGE["topics"]
        with self.ctx.session() as session:
            if command.verb is None:
                return build_topics_reply([t.name for t in store.list_topics(session=session)])
            self.pairs.require_coordinator(session, actor, now, "change the topic list", usage)
            existing = store.find_topic(command.name, session=session)
            if command.verb == "add":
                if existing is not None:
                    raise UserError(f"“{existing.name}” is already on the topic list.", usage)
                if len(store.list_topics(session=session)) >= MAX_TOPICS:
                    raise UserError(f"The topic list is full ({MAX_TOPICS} topics, as many as a Slack menu shows). "
                                    "Remove one first.", usage)
                session.add(Topic(name=command.name, key=store.topic_key(command.name), created_at=now,
                                  created_by=actor))
                changed = f":white_check_mark: Added “{command.name}”."
            else:
                if existing is None:
                    raise UserError(f"“{command.name}” is not on the topic list; `/mentoring topics` shows it.", usage)
                users = store.count_topic_users(existing.id or 0, session=session)
                session.delete(existing)
                changed = f":wastebasket: Removed “{existing.name}”" + (
                    f"; it was in {users} profile{'s' if users != 1 else ''}." if users else ".")
            session.commit()
            return build_topics_reply([t.name for t in store.list_topics(session=session)], changed=changed)


def _check(form: ProfileForm, topics: dict[int | None, Topic], actor: str
           ) -> tuple[dict[str, str], list[int], list[int], int]:
    """Return the form's errors by block id, the chosen topic ids and the capacity."""
    errors: dict[str, str] = {}
    if form.role not in {r.value for r in Role}:
        errors[PROFILE_ROLE_BLOCK] = "Pick mentor, mentee or either."
    chosen: dict[str, list[int]] = {}
    for block_id, values in ((PROFILE_OFFERED_BLOCK, form.offered), (PROFILE_WANTED_BLOCK, form.wanted)):
        ids = [int(v) for v in values if v.isascii() and v.isdigit() and len(v) <= 12]
        if len(ids) != len(values) or any(i not in topics for i in ids):
            errors[block_id] = "A topic you picked is no longer on the list; pick again."
        chosen[block_id] = ids
    if form.role in (Role.MENTOR, Role.EITHER) and not form.offered and PROFILE_OFFERED_BLOCK not in errors:
        errors[PROFILE_OFFERED_BLOCK] = "As a mentor, pick at least one topic you can help with."
    if form.role in (Role.MENTEE, Role.EITHER) and not form.wanted and PROFILE_WANTED_BLOCK not in errors:
        errors[PROFILE_WANTED_BLOCK] = "As a mentee, pick at least one topic you want help with."
    for block_id, text in ((PROFILE_STRENGTHS_BLOCK, form.strengths), (PROFILE_QUESTIONS_BLOCK, form.questions)):
        if len(text) > MAX_PROFILE_TEXT:
            errors[block_id] = f"Keep it to {MAX_PROFILE_TEXT} characters (this is {len(text)})."
    capacity = int(form.capacity) if form.capacity.isascii() and form.capacity.isdigit() else 0
    if not 1 <= capacity <= MAX_CAPACITY:
        errors[PROFILE_CAPACITY_BLOCK] = f"Pick how many mentees, from 1 to {MAX_CAPACITY}."
    if actor in form.blocked:
        errors[PROFILE_BLOCKED_BLOCK] = "You can't exclude yourself — you'll never be paired with yourself anyway."
    elif len(form.blocked) > MAX_BLOCKED:
        errors[PROFILE_BLOCKED_BLOCK] = f"Pick at most {MAX_BLOCKED} people."
    elif any(not u.isascii() or not u.isalnum() or len(u) > 32 for u in form.blocked):
        errors[PROFILE_BLOCKED_BLOCK] = "Pick people from the list."
    return errors, chosen[PROFILE_OFFERED_BLOCK], chosen[PROFILE_WANTED_BLOCK], capacity
