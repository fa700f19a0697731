"""Queries of sign-up and matching: the topic list, profiles, their topics and exclusions, proposals. Never commit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import groupby
from operator import itemgetter

from sqlalchemy import delete, exists, func, literal, union_all
from sqlalchemy.orm import aliased
from sqlmodel import Session, and_, col, or_, select

from bot.domain.matching import Role
from bot.domain.models import (
    MatchProposal,
    Nudge,
    NudgeStatus,
    Pair,
    PairStatus,
    Person,
    Profile,
    ProfileBlock,
    ProfileTopic,
    ProposalStatus,
    Topic,
)
from bot.domain.offers import NEXT_OFFER_WINDOW_DAYS, OfferStep, OpenRequest, WaitingOffer, request_key
from bot.domain.outcomes import pair_topic

OFFERED = "offered"
WANTED = "wanted"


def topic_key(name: str) -> str:
    """Return the name as compared for uniqueness: case and spacing do not make a new topic."""
    return " ".join(name.casefold().split())


def list_topics(*, session: Session) -> list[Topic]:
    return list(session.exec(select(Topic).order_by(Topic.key)))


def find_topic(name: str, *, session: Session) -> Topic | None:
    return session.exec(select(Topic).where(Topic.key == topic_key(name))).first()


def count_topic_users(topic_id: int, *, session: Session) -> int:
    return len(session.exec(select(ProfileTopic.person_id).where(ProfileTopic.topic_id == topic_id)).all())


def get_profile(person_id: str, *, session: Session) -> Profile | None:
    return session.get(Profile, person_id)


def current_questions(person_id: str, *, session: Session) -> str:
    """Return the mentee's current questions ("" without a profile)."""
    profile = session.get(Profile, person_id)
    return profile.questions if profile is not None else ""


def profile_topic_ids(person_id: str, *, session: Session) -> dict[str, list[int]]:
    """Return the person's topic ids by kind (offered, wanted)."""
    found: dict[str, list[int]] = {OFFERED: [], WANTED: []}
    for row in session.exec(select(ProfileTopic).where(ProfileTopic.person_id == person_id)):
        found.setdefault(row.kind, []).append(row.topic_id)
    return found


def blocked_ids(person_id: str, *, session: Session) -> list[str]:
    return list(session.exec(select(ProfileBlock.blocked_id).where(ProfileBlock.person_id == person_id)
                             .order_by(ProfileBlock.blocked_id)))


def replace_profile_choices(person_id: str, *, offered: Iterable[int], wanted: Iterable[int],
                            blocked: Iterable[str], session: Session) -> None:
    """Make the person's topics and exclusions exactly these."""
    session.execute(delete(ProfileTopic).where(col(ProfileTopic.person_id) == person_id))
    session.execute(delete(ProfileBlock).where(col(ProfileBlock.person_id) == person_id))
    session.flush()
    for kind, ids in ((OFFERED, offered), (WANTED, wanted)):
        for topic_id in sorted(set(ids)):
            session.add(ProfileTopic(person_id=person_id, topic_id=topic_id, kind=kind))
    for other in sorted(set(blocked)):
        session.add(ProfileBlock(person_id=person_id, blocked_id=other))
    session.flush()


def topic_names(person_id: str, kind: str, *, session: Session) -> list[str]:
    query = (select(Topic.name).join(ProfileTopic, col(ProfileTopic.topic_id) == Topic.id)
             .where(ProfileTopic.person_id == person_id, ProfileTopic.kind == kind).order_by(Topic.key))
    return list(session.exec(query))


def profile_topics(*, session: Session) -> dict[tuple[str, str], tuple[str, ...]]:
    """Return every profile's topic names by (person, kind), sorted: what the export may carry of a profile."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    query = (select(ProfileTopic.person_id, ProfileTopic.kind, Topic.name)
             .join(Topic, col(Topic.id) == ProfileTopic.topic_id).order_by(Topic.key))
    for person_id, kind, name in session.exec(query):
        found[(person_id, kind)].append(name)
    return {key: tuple(names) for key, names in found.items()}


def pair_topics(*, session: Session) -> dict[int, str]:
    """Return each pair's topic (`bot.domain.outcomes.pair_topic`) where its members' profiles have topics."""
    query = (select(Pair.id, ProfileTopic.kind, Topic.name)
             .join(ProfileTopic, or_(and_(col(ProfileTopic.person_id) == Pair.mentor_id, ProfileTopic.kind == OFFERED),
                                     and_(col(ProfileTopic.person_id) == Pair.mentee_id, ProfileTopic.kind == WANTED)))
             .join(Topic, col(Topic.id) == ProfileTopic.topic_id).order_by(Pair.id, Topic.key))
    found: dict[int, str] = {}
    for pair_id, rows in groupby(session.exec(query), key=itemgetter(0)):
        offers: list[str] = []
        wants: list[str] = []
        for _, kind, name in rows:
            (offers if kind == OFFERED else wants).append(name)
        if topic := pair_topic(offers, wants):
            found[pair_id] = topic
    return found


@dataclass
class PoolEntry:
    """Everything the matcher needs about one person in the pool, as stored."""

    profile: Profile
    name: str
    zone: str | None
    offered: set[str] = field(default_factory=set)
    wanted: set[str] = field(default_factory=set)
    blocked: set[str] = field(default_factory=set)
    former_partners: set[str] = field(default_factory=set)
    mentoring_now: int = 0  # not-ended pairs they mentor
    has_mentor: bool = False  # a not-ended pair in which they are the mentee


def load_pool(*, session: Session, person_ids: Iterable[str] | None = None) -> dict[str, PoolEntry]:
    """Return the people in the pool (or the given people's profiles) with their topics, exclusions and pairs."""
    query = select(Profile, Person).join(Person, col(Person.slack_user_id) == Profile.person_id)
    if person_ids is None:
        query = query.where(Profile.in_pool)
    else:
        query = query.where(col(Profile.person_id).in_(list(person_ids)))
    pool = {profile.person_id: PoolEntry(profile=profile, name=person.display_name or profile.person_id,
                                         zone=person.tz)
            for profile, person in session.exec(query)}
    if not pool:
        return pool
    ids = list(pool)
    topics = (select(ProfileTopic.person_id, ProfileTopic.kind, Topic.name)
              .join(Topic, col(Topic.id) == ProfileTopic.topic_id).where(col(ProfileTopic.person_id).in_(ids)))
    for person_id, kind, name in session.exec(topics):
        (pool[person_id].offered if kind == OFFERED else pool[person_id].wanted).add(name)
    for person_id, other in session.exec(select(ProfileBlock.person_id, ProfileBlock.blocked_id)
                                         .where(col(ProfileBlock.person_id).in_(ids))):
        pool[person_id].blocked.add(other)
    pairs = select(Pair.mentor_id, Pair.mentee_id, Pair.status).where(
        or_(col(Pair.mentor_id).in_(ids), col(Pair.mentee_id).in_(ids)))
    for mentor_id, mentee_id, status in session.exec(pairs):
        open_pair = status != PairStatus.ENDED
        if mentor_id in pool:
            pool[mentor_id].former_partners.add(mentee_id)
            pool[mentor_id].mentoring_now += open_pair
        if mentee_id in pool:
            pool[mentee_id].former_partners.add(mentor_id)
            pool[mentee_id].has_mentor |= open_pair
    return pool


def list_proposals(statuses: Iterable[str], *, session: Session, mentee_id: str | None = None,
                   mentor_id: str | None = None) -> list[MatchProposal]:
    query = select(MatchProposal).where(col(MatchProposal.status).in_(list(statuses)))
    if mentee_id is not None:
        query = query.where(MatchProposal.mentee_id == mentee_id)
    if mentor_id is not None:
        query = query.where(MatchProposal.mentor_id == mentor_id)
    return list(session.exec(query.order_by(MatchProposal.id)))


def proposals_by_mentee(statuses: Iterable[str], *, session: Session) -> dict[str, list[MatchProposal]]:
    found: dict[str, list[MatchProposal]] = defaultdict(list)
    for proposal in list_proposals(statuses, session=session):
        found[proposal.mentee_id].append(proposal)
    return found


def get_proposal(proposal_id: int, *, session: Session) -> MatchProposal | None:
    return session.get(MatchProposal, proposal_id)


def is_in_pool(user_id: str, *, session: Session) -> bool:
    """Tell whether `user_id` has joined the pool of people who may be matched."""
    profile = get_profile(user_id, session=session)
    return profile is not None and profile.in_pool


def return_to_pool(mentee_id: str, now: datetime, *, session: Session) -> None:
    """Put a mentee whose relationship ended early back in the pool, first in the queue."""
    profile = get_profile(mentee_id, session=session) or Profile(person_id=mentee_id, role=Role.MENTEE,
                                                                 joined_at=now)
    profile.in_pool = True
    profile.front_of_queue = True
    profile.updated_at = now
    session.add(profile)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _zones(person_ids: Iterable[str], *, session: Session) -> dict[str, str | None]:
    ids = list(set(person_ids))
    if not ids:
        return {}
    return dict(session.exec(select(Person.slack_user_id, Person.tz).where(col(Person.slack_user_id).in_(ids))).all())


def waiting_offers(now: datetime, *, session: Session) -> list[WaitingOffer]:
    """Return every match offer that may still be unsent (one statement, and one for the zones if any): each
    mentee's choices from `/mentoring match`, the news of each recently closed request to a mentee still
    waiting, and each open request to its mentor, in that order and by proposal id. The ledger says which
    went out already."""
    # A round's key is its first proposal, whatever became of it since: a choice withdrawn meanwhile (its
    # mentor left) must not make the rest of the round look like a new offer.
    offered, round_ = aliased(MatchProposal), aliased(MatchProposal)
    rounds = (select(literal(0).label("step"), func.min(round_.id).label("id"), offered.mentee_id.label("person"))
              .join(round_, (round_.mentee_id == offered.mentee_id) & (round_.created_at == offered.created_at))
              .where(offered.status == ProposalStatus.OFFERED, offered.created_by != "")
              .group_by(offered.mentee_id))
    waiting = (exists().where(Profile.person_id == MatchProposal.mentee_id, col(Profile.in_pool))
               & ~exists().where(Pair.mentee_id == MatchProposal.mentee_id, Pair.status != PairStatus.ENDED))
    closed = select(literal(1), MatchProposal.id, MatchProposal.mentee_id).where(
        col(MatchProposal.status).in_([ProposalStatus.DECLINED, ProposalStatus.EXPIRED]),
        col(MatchProposal.decided_at) >= now - timedelta(days=NEXT_OFFER_WINDOW_DAYS), waiting)
    chosen = select(literal(2), MatchProposal.id, MatchProposal.mentor_id).where(
        MatchProposal.status == ProposalStatus.CHOSEN)
    steps = (OfferStep.CHOICES, OfferStep.NEXT, OfferStep.REQUEST)
    everything = union_all(rounds, closed, chosen).subquery()
    found = [(steps[step], proposal_id, person) for step, proposal_id, person in session.connection().execute(
        select(everything).order_by(everything.c.step, everything.c.id))]
    zones = _zones((person for _, _, person in found), session=session)
    return [WaitingOffer(step, proposal_id, person, zones.get(person)) for step, proposal_id, person in found]


def open_requests(*, session: Session) -> list[OpenRequest]:
    """Return the requests waiting on a mentor's answer, each with when it reached them (from the ledger)."""
    chosen = list(session.exec(select(MatchProposal.id, MatchProposal.mentor_id)
                               .where(MatchProposal.status == ProposalStatus.CHOSEN)))
    zones = _zones((mentor_id for _, mentor_id in chosen), session=session)
    requests = [OpenRequest(proposal_id or 0, mentor_id, zones.get(mentor_id), None)
                for proposal_id, mentor_id in chosen]
    keys = {request_key(r): r for r in requests}
    if not keys:
        return []
    sent = dict(session.exec(select(Nudge.key, Nudge.sent_at).where(
        col(Nudge.key).in_(list(keys)), Nudge.status == NudgeStatus.SENT)).all())
    return [OpenRequest(r.proposal_id, r.mentor_id, r.mentor_zone, _aware(sent[key]) if sent.get(key) else None)
            for key, r in keys.items()]


def list_round(proposal: MatchProposal, *, session: Session) -> list[MatchProposal]:
    """Return the proposals made with `proposal` by one `/mentoring match` (same moment, same coordinator)."""
    query = select(MatchProposal).where(MatchProposal.created_at == proposal.created_at,
                                        MatchProposal.created_by == proposal.created_by)
    return list(session.exec(query.order_by(col(MatchProposal.id))))
