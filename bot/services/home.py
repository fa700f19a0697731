"""The App Home: gather what the viewer may see, then publish it; and Events-API redelivery dedup."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.blocks.home import AtRiskPair, HomeCheckin, HomeData, HomePair, ProgramOverview, build_home_view
from bot.domain.health import Health, average_or_none, days_silent, format_average, health_of
from bot.domain.models import Pair, PairStatus, Phase
from bot.gateway import SlackCallFailed
from bot.services.context import ServiceContext
from bot.store import checkins as store
from bot.store import list_active_pairs, list_pairs_for_person, partner_of
from bot.store.flags import is_quiet

if TYPE_CHECKING:
    from bot.services import Services

RATING_WINDOW = timedelta(days=30)


class HomeService:
    def __init__(self, ctx: ServiceContext, services: Services) -> None:
        self.ctx = ctx
        self.services = services

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
            person = self.services.people.get_person(session, user_id, now)
            zone_name = person.tz or self.ctx.settings.timezone
            coordinator = self.services.people.is_coordinator(session, user_id, now)
        except SlackCallFailed:
            zone_name = self.ctx.settings.timezone
            coordinator = user_id in self.ctx.settings.coordinators
        try:
            today = now.astimezone(ZoneInfo(zone_name)).date()
        except (ZoneInfoNotFoundError, ValueError):
            today = now.date()
        pairs = list_pairs_for_person(user_id, session=session)
        signals = store.load_signals([p.id for p in pairs if p.id is not None], session=session)
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
                last_met_on=signals[pair_id].last_met_on,
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
        overview = self.program_overview(session, today) if coordinator else None
        return HomeData(user_id=user_id, today=today, pairs=cards, overview=overview,
                        quiet=is_quiet(session), in_pool=self.services.profiles.is_in_pool(session, user_id))

    def program_overview(self, session: Session, today: date) -> ProgramOverview:
        """Return counts, phases and at-risk pairs: dates and numbers only, never note text."""
        pairs: list[Pair] = list_active_pairs(session=session)
        ids = [p.id for p in pairs if p.id is not None]
        signals = store.load_signals(ids, session=session)
        by_phase = Counter(p.phase for p in pairs)
        at_risk = []
        for pair in pairs:
            pair_signals = signals[pair.id or 0]
            if health_of(pair, pair_signals, today) == Health.AT_RISK:
                silent = days_silent(pair, pair_signals.last_met_on, today)
                at_risk.append(AtRiskPair(mentor_id=pair.mentor_id, mentee_id=pair.mentee_id, days_silent=silent))
        at_risk.sort(key=lambda p: -p.days_silent)
        since = today - RATING_WINDOW
        rated = store.ratings_since(ids, since, session=session)
        average = average_or_none([r for _, r in rated], group_size=len({p for p, _ in rated}))
        return ProgramOverview(
            active=sum(1 for p in pairs if p.status == PairStatus.ACTIVE),
            paused=sum(1 for p in pairs if p.status == PairStatus.PAUSED),
            by_phase={phase.value: by_phase[phase.value] for phase in Phase if by_phase[phase.value]},
            at_risk=at_risk,
            average_rating=format_average(average),
            checkins_last_30_days=len(rated),
        )

    def is_first_delivery(self, event_id: str) -> bool:
        """Record `event_id` as handled; False when it already was (a redelivery or another instance)."""
        with self.ctx.session() as session:
            try:
                store.claim_event(event_id, self.ctx.now(), session=session)
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
        return True
