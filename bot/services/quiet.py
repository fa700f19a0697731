"""The workspace's quiet switch: coordinators stop every scheduled DM and summary at once, and start them again."""

from __future__ import annotations

from datetime import datetime

from bot.blocks import Reply
from bot.blocks.lifecycle import build_quiet_reply
from bot.domain.commands import USAGE
from bot.services.context import ServiceContext
from bot.services.pairs import PairService
from bot.services.people import PeopleService
from bot.store.flags import QUIET, set_flag


class QuietService:
    def __init__(self, ctx: ServiceContext, people: PeopleService, pairs: PairService) -> None:
        self.ctx = ctx
        self.people = people
        self.pairs = pairs

    def set_quiet(self, *, actor: str, on: bool, now: datetime) -> Reply:
        with self.ctx.session() as session:
            self.pairs.require_coordinator(session, actor, now, "turn quiet mode on or off", USAGE["quiet"])
            set_flag(QUIET, "on" if on else "off", session=session, by=actor, now=now)
            session.commit()
        return build_quiet_reply(on=on)
