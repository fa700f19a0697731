"""People and roles: `users.info` facts cached in the Person table, refreshed weekly."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from bot.domain.models import Person
from bot.gateway import SlackCallFailed
from bot.services.context import ServiceContext
from bot.services.errors import UserError
from bot.store.upsert import insert_if_absent

INFO_MAX_AGE = timedelta(days=7)
# users.info errors that mean Slack will not tell us who is asking: a guest we cannot see, someone
# deactivated while the request was on its way. Not a fault of ours, so the answer says so.
UNREADABLE_PROFILE_ERRORS = frozenset({"user_not_found", "user_not_visible", "account_inactive"})
PROFILE_REFUSAL = ("I can't find your Slack profile, so I can't let you do that. If you think you should be "
                   "able to, ask a workspace admin to check your account.")


class PeopleService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def get_person(self, session: Session, user_id: str, now: datetime, *, refresh: bool = False) -> Person:
        """Return the Person for `user_id`, asking Slack when unknown or stale.

        Raises SlackCallFailed when Slack cannot tell us about an unknown user.
        """
        person = session.get(Person, user_id)
        stale = person is None or person.info_fetched_at is None or now - person.info_fetched_at > INFO_MAX_AGE
        if stale or refresh:
            info = self.ctx.gateway.user_info(user_id)
            if person is None:
                # Two first requests from one person may race here: the second finds the first's row.
                insert_if_absent(Person.__table__, {"slack_user_id": user_id}, "slack_user_id", on=session)  # type: ignore[attr-defined]
                person = session.get(Person, user_id) or Person(slack_user_id=user_id)
            person.display_name = info.display_name[:255]
            person.tz = info.tz
            person.is_admin = info.is_admin
            person.is_owner = info.is_owner
            person.is_bot = info.is_bot
            person.is_deleted = info.is_deleted
            person.info_fetched_at = now
            session.add(person)
            session.flush()
        return person

    def is_coordinator(self, session: Session, user_id: str, now: datetime) -> bool:
        """Tell whether `user_id` is a coordinator; refuse (UserError) someone Slack will not describe."""
        if user_id in self.ctx.settings.coordinators:
            return True
        try:
            person = self.get_person(session, user_id, now)
        except SlackCallFailed as failure:
            if failure.code in UNREADABLE_PROFILE_ERRORS:
                raise UserError(PROFILE_REFUSAL) from None
            raise
        return person.is_admin or person.is_owner

    def coordinator_ids(self) -> list[str]:
        """Return the configured coordinators (admins are found only when they act)."""
        return list(self.ctx.settings.coordinators)
