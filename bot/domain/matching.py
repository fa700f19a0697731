"""Who should mentor whom: the score, the hard constraints, one optimal assignment and the words that explain it.

Decisions, in one place:
- A mentor may take a mentee only if they share a topic (when the mentee named any), their working hours
  (09:00–17:00 Mon–Fri in each zone) overlap by at least an hour, the mentor has a free place (current pairs
  count), neither is on the other's "don't pair me with" list, they were never partners, and they are two people.
- The score rewards shared topics most, then overlapping hours, then the mentor's free places; a mentee
  back from an ended relationship gets a bonus so they are served first ("front of the queue").
- The whole pool is solved at once by an assignment solver (maximum total score, not greedy). Someone who
  is "either" may end up on one side only: a conflict is settled by keeping the side they score more on
  and solving again.
- Explanations never name a blocked person or say who blocked whom.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from bot.domain.policy import (
    WORK_END,
    WORK_START,
    zone_of,
)

MIN_OVERLAP_MINUTES = 60
TOPIC_POINTS = 10
HOUR_POINTS = 1
ROOM_POINTS = 2
ROOM_POINTS_UP_TO = 5
FRONT_OF_QUEUE_POINTS = 30
CHOICES_OFFERED = 3
# A Wednesday: overlaps are measured on an ordinary mid-week day, away from any DST change in either hemisphere.
REFERENCE_DAY = date(2026, 6, 17)


class Role(StrEnum):
    MENTOR = "mentor"
    MENTEE = "mentee"
    EITHER = "either"


@dataclass(frozen=True)
class Candidate:
    """One person in the pool, as the matcher sees them."""

    person_id: str
    name: str
    role: Role
    offered: frozenset[str] = frozenset()
    wanted: frozenset[str] = frozenset()
    zone: str | None = None
    capacity: int = 1
    current_pairs: int = 0  # pairs they mentor now
    blocked: frozenset[str] = frozenset()
    former_partners: frozenset[str] = frozenset()
    front_of_queue: bool = False

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.current_pairs)

    @property
    def may_mentor(self) -> bool:
        return self.role in (Role.MENTOR, Role.EITHER)

    @property
    def may_be_mentored(self) -> bool:
        return self.role in (Role.MENTEE, Role.EITHER)


@dataclass(frozen=True, slots=True)
class Proposal:
    """One mentor and mentee the matcher proposes, with the score and the words that explain it."""

    mentor_id: str
    mentee_id: str
    score: int
    shared_topics: tuple[str, ...]
    overlap_minutes: int
    reason: str


@dataclass(frozen=True, slots=True)
class Unmatched:
    """Someone the matcher could not place, with the reason in words."""

    person_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The pool's optimal proposals and everyone left unmatched."""

    proposals: list[Proposal] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)

    @property
    def total_score(self) -> int:
        return sum(p.score for p in self.proposals)


# ---- the rule for one mentor and one mentee ---------------------------------------------------------


@lru_cache(maxsize=4096)
def overlap_minutes(first_zone: str | None, second_zone: str | None) -> int:
    """Return the minutes both are in working hours on the reference weekday (days either side count)."""

    def span(zone: str | None, day: date) -> tuple[datetime, datetime]:
        tz = zone_of(zone, "UTC")
        return (datetime.combine(day, WORK_START, tzinfo=tz), datetime.combine(day, WORK_END, tzinfo=tz))

    start, end = span(first_zone, REFERENCE_DAY)
    total = 0.0
    for shift in (-1, 0, 1):
        other_start, other_end = span(second_zone, REFERENCE_DAY + timedelta(days=shift))
        total += max(0.0, (min(end, other_end) - max(start, other_start)).total_seconds())
    return int(total // 60)


def shared_topics(mentor: Candidate, mentee: Candidate) -> tuple[str, ...]:
    return tuple(sorted(mentor.offered & mentee.wanted))


def is_excluded(mentor: Candidate, mentee: Candidate) -> bool:
    """Return True when the two may never be paired: oneself, a block either way, or former partners."""
    return (mentor.person_id == mentee.person_id or mentee.person_id in mentor.blocked
            or mentor.person_id in mentee.blocked or mentee.person_id in mentor.former_partners
            or mentor.person_id in mentee.former_partners)


def pair_score(mentor: Candidate, mentee: Candidate) -> int | None:
    """Return how well `mentor` fits `mentee` (higher is better), or None when they may not be paired."""
    if not (mentor.may_mentor and mentee.may_be_mentored) or mentor.free <= 0 or is_excluded(mentor, mentee):
        return None
    shared = len(mentor.offered & mentee.wanted)
    if mentee.wanted and not shared:
        return None
    overlap = overlap_minutes(mentor.zone, mentee.zone)
    if overlap < MIN_OVERLAP_MINUTES:
        return None
    return _score(shared, overlap, min(mentor.free, ROOM_POINTS_UP_TO), int(mentee.front_of_queue))


def _score(shared, overlap, room, front):  # ints, or numpy arrays of them
    """Return the score from its parts; plain arithmetic, so the whole pool's matrix uses it too."""
    return (1 + TOPIC_POINTS * shared + HOUR_POINTS * (overlap // 60) + ROOM_POINTS * room
            + FRONT_OF_QUEUE_POINTS * front)


# ---- words ----------------------------------------------------------------------------------------------


def topic_list(topics: Iterable[str], joiner: str = "and") -> str:
    """Return “*a*, *b* and *c*”."""
    items = [f"*{t}*" for t in topics]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {joiner} {items[-1]}"


def hours_text(minutes: int) -> str:
    hours = minutes / 60
    shown = f"{hours:.0f}" if minutes % 60 == 0 else f"{hours:.1f}"
    return f"{shown} working hour{'' if minutes == 60 else 's'} overlap"


def explain(mentor: Candidate, mentee: Candidate) -> str:
    """Return why this pair fits, in one sentence."""
    shared = shared_topics(mentor, mentee)
    if shared:
        topics = f"{mentor.name} offers {topic_list(shared)}, which {mentee.name} wants"
    else:
        topics = f"{mentee.name} named no topics, so any mentor fits"
    room = f"{mentor.name} has room for {mentor.free} more"
    front = f"; {mentee.name} is back in the pool after a relationship ended" if mentee.front_of_queue else ""
    return f"{topics}; {hours_text(overlap_minutes(mentor.zone, mentee.zone))}; {room}{front}"


def why_unmatched_mentee(mentee: Candidate, mentors: Sequence[Candidate]) -> str:
    others = [m for m in mentors if m.person_id != mentee.person_id]
    if not others:
        return "there are no mentors in the pool"
    if mentee.wanted:
        offering = [m for m in others if m.offered & mentee.wanted]
        if not offering:
            return f"no mentor offers {topic_list(sorted(mentee.wanted), 'or')}"
        named = topic_list(sorted(mentee.wanted & frozenset().union(*(m.offered for m in offering))), "or")
    else:
        offering, named = others, ""
    of_topic = f" offering {named}" if named else ""
    free = [m for m in offering if m.free > 0]
    if not free:
        return f"every mentor{of_topic} is full"
    in_hours = [m for m in free if overlap_minutes(m.zone, mentee.zone) >= MIN_OVERLAP_MINUTES]
    if not in_hours:
        return f"no free mentor{of_topic} has working hours that overlap theirs"
    if all(is_excluded(m, mentee) for m in in_hours):
        return f"the free mentors{of_topic} are former partners or excluded for this person"
    return f"the free mentors{of_topic} went to other mentees this round"


def why_unmatched_mentor(mentor: Candidate, mentees: Sequence[Candidate]) -> str:
    if mentor.free <= 0:
        return f"full ({mentor.current_pairs} of {mentor.capacity} mentees)"
    others = [m for m in mentees if m.person_id != mentor.person_id]
    if not others:
        return "no mentee is waiting"
    wanting = [m for m in others if not m.wanted or m.wanted & mentor.offered]
    if not wanting:
        return f"no waiting mentee wants {topic_list(sorted(mentor.offered), 'or')}" if mentor.offered \
            else "they offer no topics yet"
    if all(overlap_minutes(mentor.zone, m.zone) < MIN_OVERLAP_MINUTES for m in wanting):
        return "no mentee who wants their topics has working hours that overlap theirs"
    return "the mentees who want their topics were matched with others this round"


# ---- the whole pool ------------------------------------------------------------------------------------


def propose_matches(pool: Sequence[Candidate]) -> MatchResult:
    """Return one assignment of the pool with the largest total score, each proposal and gap explained."""
    pool = list({c.person_id: c for c in pool}.values())
    fixed: dict[str, Role] = {}
    while True:
        mentors = [c for c in pool if c.may_mentor and fixed.get(c.person_id, Role.MENTOR) == Role.MENTOR]
        mentees = [c for c in pool if c.may_be_mentored and fixed.get(c.person_id, Role.MENTEE) == Role.MENTEE]
        pairs = _solve(mentors, mentees)
        conflicts = _both_sides(pairs)
        if not conflicts:
            break
        for person_id, (as_mentor, as_mentee) in conflicts.items():
            fixed[person_id] = Role.MENTOR if as_mentor >= as_mentee else Role.MENTEE
    by_id = {c.person_id: c for c in pool}
    proposals = [Proposal(mentor_id=m.person_id, mentee_id=e.person_id, score=score,
                          shared_topics=shared_topics(m, e), overlap_minutes=overlap_minutes(m.zone, e.zone),
                          reason=explain(m, e)) for m, e, score in pairs]
    proposals.sort(key=lambda p: (not by_id[p.mentee_id].front_of_queue, by_id[p.mentee_id].name, p.mentee_id))
    matched = {p.mentor_id for p in proposals} | {p.mentee_id for p in proposals}
    unmatched = []
    for person in sorted(pool, key=lambda c: (not c.front_of_queue, c.name, c.person_id)):
        if person.person_id in matched:
            continue
        if person.may_be_mentored and fixed.get(person.person_id) != Role.MENTOR:
            unmatched.append(Unmatched(person.person_id, why_unmatched_mentee(person, mentors)))
        else:
            unmatched.append(Unmatched(person.person_id, why_unmatched_mentor(person, mentees)))
    return MatchResult(proposals=proposals, unmatched=unmatched)


def _both_sides(pairs: list[tuple[Candidate, Candidate, int]]) -> dict[str, tuple[int, int]]:
    """Return, for each person placed as mentor and as mentee at once, their score on each side."""
    as_mentor: dict[str, int] = {}
    as_mentee: dict[str, int] = {}
    for mentor, mentee, score in pairs:
        as_mentor[mentor.person_id] = as_mentor.get(mentor.person_id, 0) + score
        as_mentee[mentee.person_id] = score
    return {p: (as_mentor[p], as_mentee[p]) for p in as_mentor.keys() & as_mentee.keys()}


def _solve(mentors: list[Candidate], mentees: list[Candidate]) -> list[tuple[Candidate, Candidate, int]]:
    """Return the (mentor, mentee, score) assignment with the largest total score."""
    if not mentors or not mentees:
        return []
    # Lazy: numpy and SciPy cost tens of megabytes, and only a coordinator's `match` needs them.
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    scores = score_matrix(mentors, mentees)
    allowed = scores > 0
    # Each mentor becomes one column per free place (never more places than mentees who could take them).
    places = np.minimum(np.array([m.free for m in mentors]), allowed.sum(axis=0))
    columns = np.repeat(np.arange(len(mentors)), places)
    if columns.size == 0:
        return []
    # A forbidden cell costs what staying unmatched costs (nothing), so the solver never trades a real
    # match for one; whatever it puts there is dropped below.
    cost = -scores[:, columns]
    rows, cols = linear_sum_assignment(cost)
    chosen = []
    for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
        mentor_index = int(columns[col])
        if allowed[row, mentor_index]:
            chosen.append((mentors[mentor_index], mentees[row], int(scores[row, mentor_index])))
    return chosen


def score_matrix(mentors: Sequence[Candidate], mentees: Sequence[Candidate]):  # a numpy array; numpy is imported lazily
    """Return `pair_score` for every (mentee, mentor) cell at once, 0 where forbidden (vectorised)."""
    import numpy as np

    topics = sorted(frozenset().union(*(m.offered for m in mentors), *(e.wanted for e in mentees)))
    index = {t: i for i, t in enumerate(topics)}
    offered = np.zeros((len(mentors), max(1, len(topics))), dtype=np.int32)
    wanted = np.zeros((len(mentees), max(1, len(topics))), dtype=np.int32)
    for row, mentor in enumerate(mentors):
        offered[row, [index[t] for t in mentor.offered]] = 1
    for row, mentee in enumerate(mentees):
        wanted[row, [index[t] for t in mentee.wanted]] = 1
    shared = wanted @ offered.T
    wants_any = wanted.sum(axis=1) > 0

    zones = sorted({c.zone or "" for c in (*mentors, *mentees)})
    zone_index = {z: i for i, z in enumerate(zones)}
    table = np.array([[overlap_minutes(a or None, b or None) for b in zones] for a in zones], dtype=np.int32)
    overlap = table[np.ix_([zone_index[e.zone or ""] for e in mentees], [zone_index[m.zone or ""] for m in mentors])]

    free = np.array([m.free for m in mentors], dtype=np.int32)
    front = np.array([e.front_of_queue for e in mentees], dtype=bool)
    allowed = ((shared > 0) | ~wants_any[:, None]) & (overlap >= MIN_OVERLAP_MINUTES) & (free > 0)[None, :]
    mentor_at = {m.person_id: i for i, m in enumerate(mentors)}
    for row, mentee in enumerate(mentees):
        for other in (mentee.person_id, *mentee.blocked, *mentee.former_partners):
            col = mentor_at.get(other)
            if col is not None:
                allowed[row, col] = False
    mentee_at = {e.person_id: i for i, e in enumerate(mentees)}
    for col, mentor in enumerate(mentors):
        for other in (*mentor.blocked, *mentor.former_partners):
            row = mentee_at.get(other)
            if row is not None:
                allowed[row, col] = False
    scores = _score(shared, overlap, np.minimum(free, ROOM_POINTS_UP_TO)[None, :], front.astype(np.int32)[:, None])
    return np.where(allowed, scores, 0).astype(np.int64)


def best_choices(mentee: Candidate, mentors: Sequence[Candidate], *, skip: Iterable[str] = (),
                 limit: int = CHOICES_OFFERED) -> list[Proposal]:
    """Return the mentee's `limit` best mentors (best first), leaving out the people in `skip`."""
    skipped = set(skip)
    scored = []
    for mentor in mentors:
        if mentor.person_id in skipped:
            continue
        score = pair_score(mentor, mentee)
        if score is not None:
            scored.append((score, mentor))
    scored.sort(key=lambda item: (-item[0], item[1].name, item[1].person_id))
    return [Proposal(mentor_id=m.person_id, mentee_id=mentee.person_id, score=s, shared_topics=shared_topics(m, mentee),
                     overlap_minutes=overlap_minutes(m.zone, mentee.zone), reason=explain(m, mentee))
            for s, m in scored[:limit]]
