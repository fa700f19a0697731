"""The App Home: gather what the viewer may see, then publish it."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.blocks.home import HomeCheckin, HomeData, HomePair, build_home_view
from bot.domain.pairs import local_today, partner_of
from bot.gateway import SlackCallFailed
from bot.services.context import ServiceContext
from bot.services.people import PeopleService
from bot.services.reports import ReportService
from bot.store import checkins as store
from bot.store import list_pairs_for_person
from bot.store.flags import is_quiet
from bot.store.profiles import is_in_pool


class HomeService:
    def __init__(self, ctx: ServiceContext, people: PeopleService, reports: ReportService) -> None:
        self.ctx = ctx
        self.people = people
        self.reports = reports

    def publish_home(self, *, user_id: str) -> None:
        """Build `user_id`'s Home from the database and publish it."""
        now = self.ctx.now()
        with self.ctx.session() as session:
            data = self.home_data(session, user_id, now)
            session.commit()  # keeps a freshly cached Person
        self.ctx.gateway.publish_home(user_id, build_home_view(data))

    def home_data(self, session: Session, user_id: str, now: datetime) -> HomeData:
        """Return what `user_id` may see on their Home: their pairs, and the overview if coordinator."""
        try:
            tz = self.people.get_person(session, user_id, now).tz
            coordinator = self.people.is_coordinator(session, user_id, now)
        except SlackCallFailed:
            tz = None
            coordinator = user_id in self.ctx.settings.coordinators
        today = local_today(tz, now, self.ctx.settings.timezone)
        pairs = list_pairs_for_person(user_id, session=session)
        last_met = store.last_met_on([p.id for p in pairs if p.id is not None], session=session)
        states = store.list_member_states(user_id, [p.id for p in pairs if p.id is not None], session=session)
        cards = []
        for pair in pairs:
            pair_id = pair.id or 0
            own = store.recent_checkins_by(pair_id, user_id, session=session)
            notes = store.own_private_notes([c.id for c in own if c.id is not None], user_id, session=session)
            state = states.get(pair_id)
            cards.append(HomePair(
                pair_id=pair_id,
                partner_id=partner_of(pair, user_id),
                role="mentor" if pair.mentor_id == user_id else "mentee",
                phase=pair.phase,
                status=pair.status,
                last_met_on=last_met.get(pair_id),
                next_meeting_on=store.next_meeting_on(pair_id, today, session=session),
                open_goals=[(g.text, g.due_on) for g in store.list_open_goals(pair_id, session=session)],
                stopped_kinds=store.stopped_kinds(state),
                prompts_paused=state is not None and state.prompts_paused_at is not None,
                recent=[
                    HomeCheckin(
                        met_on=c.met_on,
                        rating=c.rating,
                        shared_text=self.ctx.cipher.decrypt(c.shared_text_enc),
                        private_note=self.ctx.cipher.decrypt(notes[c.id].text_enc) if c.id in notes else "",
                    )
                    for c in own
                ],
            ))
        # Program figures are the program's, as of its own today: the same as the summary and the export.
        overview = self.reports.figures(now) if coordinator else None
        return HomeData(user_id=user_id, today=today, pairs=cards, overview=overview,
                        quiet=is_quiet(session), in_pool=is_in_pool(user_id, session=session))
