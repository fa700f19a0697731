"""The matcher: its score and constraints, its words, and one optimal assignment checked against exhaustive search."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.matching import (
    MIN_OVERLAP_MINUTES,
    Candidate,
    Role,
    best_choices,
    overlap_minutes,
    pair_score,
    propose_matches,
    score_matrix,
)
from bot.domain.offers import OfferStep, OpenRequest, WaitingOffer, expired_requests, offer_nudges


def mentor(pid: str, name: str | None = None, *, offers: tuple[str, ...] = ("design",), zone: str = "Europe/London",
           capacity: int = 1, current: int = 0, blocked: tuple[str, ...] = (), former: tuple[str, ...] = (),
           role: Role = Role.MENTOR) -> Candidate:
    return Candidate(pid, name or pid, role, offered=frozenset(offers), zone=zone, capacity=capacity,
                     current_pairs=current, blocked=frozenset(blocked), former_partners=frozenset(former))


def mentee(pid: str, name: str | None = None, *, wants: tuple[str, ...] = ("design",), zone: str = "Europe/London",
           blocked: tuple[str, ...] = (), former: tuple[str, ...] = (), front: bool = False,
           role: Role = Role.MENTEE, offers: tuple[str, ...] = ()) -> Candidate:
    return Candidate(pid, name or pid, role, wanted=frozenset(wants), offered=frozenset(offers), zone=zone,
                     blocked=frozenset(blocked), former_partners=frozenset(former), front_of_queue=front)


@pytest.mark.parametrize(
    ("first", "second", "minutes"),
    [
        ("Europe/London", "Europe/London", 480),
        ("Europe/London", "Europe/Berlin", 420),
        ("Europe/Berlin", "Europe/London", 420),
        ("UTC", "Asia/Kolkata", 150),
        ("America/New_York", "Europe/London", 180),
        ("America/Los_Angeles", "Asia/Tokyo", 0),  # in June: 00:00 UTC is where one day ends and the other starts
        ("Pacific/Auckland", "America/Los_Angeles", 180),  # across the date line: Tuesday meets Wednesday
        (None, "UTC", 480),  # no zone known: the program treats it as UTC
        ("Not/AZone", "UTC", 480),
    ],
)
def test_working_hours_overlap_on_an_ordinary_weekday(first, second, minutes):
    assert overlap_minutes(first, second) == minutes


@pytest.mark.parametrize(
    ("the_mentor", "the_mentee", "allowed"),
    [
        (mentor("M"), mentee("E"), True),
        (mentor("M", offers=("sales",)), mentee("E"), False),  # no shared topic
        (mentor("M"), mentee("E", wants=()), True),  # a mentee with no topics takes any mentor
        (mentor("M", capacity=2, current=2), mentee("E"), False),  # full
        (mentor("M", capacity=2, current=1), mentee("E"), True),
        (mentor("M", blocked=("E",)), mentee("E"), False),  # blocked by the mentor
        (mentor("M"), mentee("E", blocked=("M",)), False),  # blocked by the mentee
        (mentor("M", former=("E",)), mentee("E"), False),
        (mentor("M"), mentee("E", former=("M",)), False),
        (mentor("X", role=Role.EITHER), mentee("X", role=Role.EITHER), False),  # oneself
        (mentor("M", zone="America/Los_Angeles"), mentee("E", zone="Asia/Tokyo"), False),  # no shared hours
        (mentee("A", role=Role.MENTEE, offers=("design",)), mentee("E"), False),  # a mentee is no mentor
    ],
)
def test_hard_constraints(the_mentor, the_mentee, allowed):
    assert (pair_score(the_mentor, the_mentee) is not None) is allowed


def test_the_score_rewards_topics_then_hours_then_room():
    base = pair_score(mentor("M"), mentee("E"))
    assert pair_score(mentor("M", offers=("design", "speaking")), mentee("E", wants=("design", "speaking"))) > base
    assert pair_score(mentor("M", zone="Europe/Berlin"), mentee("E")) < base
    assert pair_score(mentor("M", capacity=3), mentee("E")) > base
    assert pair_score(mentor("M"), mentee("E", front=True)) > base


def test_a_proposal_says_why_in_words():
    maya = mentor("M", "Maya", offers=("design reviews", "public speaking", "sales"), capacity=2, current=1)
    theo = mentee("T", "Theo", wants=("design reviews", "public speaking", "go"), zone="Europe/Berlin")
    [proposal] = propose_matches([maya, theo]).proposals
    assert proposal.reason == ("Maya offers *design reviews* and *public speaking*, which Theo wants; "
                               "7 working hours overlap; Maya has room for 1 more")
    assert proposal.shared_topics == ("design reviews", "public speaking")


def _reasons(pool):
    return {u.person_id: u.reason for u in propose_matches(pool).unmatched}


@pytest.mark.parametrize(
    ("pool", "person", "reason"),
    [
        ([mentor("M"), mentee("E", wants=("data engineering",))], "E", "no mentor offers *data engineering*"),
        ([mentor("M", offers=("leadership",), current=1), mentee("E", wants=("leadership",))], "E",
         "every mentor offering *leadership* is full"),
        ([mentor("M", zone="America/Los_Angeles"), mentee("E", zone="Asia/Tokyo")], "E",
         "no free mentor offering *design* has working hours that overlap theirs"),
        ([mentor("M", blocked=("E",)), mentee("E")], "E",
         "the free mentors offering *design* are former partners or excluded for this person"),
        ([mentor("M"), mentee("A", wants=("design", "go")), mentee("E")], "E",
         "the free mentors offering *design* went to other mentees this round"),
        ([mentee("E")], "E", "there are no mentors in the pool"),
        ([mentor("M", offers=("go",)), mentee("E")], "M", "no waiting mentee wants *go*"),
        ([mentor("M", capacity=2, current=2)], "M", "full (2 of 2 mentees)"),
        ([mentor("M")], "M", "no mentee is waiting"),
    ],
)
def test_everyone_left_unmatched_gets_a_reason(pool, person, reason):
    assert _reasons(pool)[person] == reason


def test_a_block_is_never_named_in_a_reason():
    reasons = " ".join(_reasons([mentor("M", "Maya", blocked=("E",)), mentee("E", "Eve")]).values())
    assert "Maya" not in reasons and "Eve" not in reasons and "block" not in reasons


def test_the_whole_pool_beats_a_greedy_pass():
    # Greedy would give A (the best single fit) to X and leave Y with nobody.
    a = mentor("A", offers=("design", "go"))
    b = mentor("B", offers=("go",))
    x = mentee("X", wants=("design", "go"))
    y = mentee("Y", wants=("design",))
    result = propose_matches([a, b, x, y])
    assert {(p.mentor_id, p.mentee_id) for p in result.proposals} == {("A", "Y"), ("B", "X")}
    assert result.unmatched == []


def test_a_mentor_takes_as_many_mentees_as_free_places():
    pool = [mentor("M", capacity=3, current=1), *(mentee(f"E{i}") for i in range(4))]
    result = propose_matches(pool)
    assert len(result.proposals) == 2
    assert len(result.unmatched) == 2


def test_someone_who_is_either_is_mentor_or_mentee_but_not_both():
    x = Candidate("X", "X", Role.EITHER, offered=frozenset({"design"}), wanted=frozenset({"go"}), zone="UTC")
    result = propose_matches([x, mentor("G", offers=("go",), zone="UTC"), mentee("E", zone="UTC")])
    sides = Counter(role for p in result.proposals for role, pid in (("mentor", p.mentor_id), ("mentee", p.mentee_id))
                    if pid == "X")
    assert sum(sides.values()) == 1
    assert len(result.proposals) == 1


def test_a_mentee_back_from_an_ended_relationship_is_served_first():
    pool = [mentor("M"), mentee("A"), mentee("Z", front=True)]
    result = propose_matches(pool)
    assert [p.mentee_id for p in result.proposals] == ["Z"]
    assert "back in the pool" in result.proposals[0].reason


def test_the_three_best_choices_come_best_first_and_skip_who_declined():
    the_mentee = mentee("E", wants=("design", "go"))
    mentors = [mentor("A", offers=("design", "go")), mentor("B", capacity=3), mentor("C"), mentor("D"),
               mentor("F", offers=("sales",))]
    assert [p.mentor_id for p in best_choices(the_mentee, mentors)] == ["A", "B", "C"]
    assert [p.mentor_id for p in best_choices(the_mentee, mentors, skip=["A"])] == ["B", "C", "D"]


# ---- the property: the solver against exhaustive search ---------------------------------------------

TOPICS = ("design", "go", "sales", "speaking")
ZONES = ("Europe/London", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "America/Los_Angeles")


@st.composite
def pools(draw: st.DrawFn, *, either: bool = False) -> list[Candidate]:
    mentors_n = draw(st.integers(0, 7))
    mentees_n = draw(st.integers(0, 7))
    ids = [f"M{i}" for i in range(mentors_n)] + [f"E{i}" for i in range(mentees_n)]
    roles = (Role.MENTOR, Role.MENTEE, Role.EITHER) if either else None
    pool = []
    for pid in ids:
        role = draw(st.sampled_from(roles)) if roles else (Role.MENTOR if pid[0] == "M" else Role.MENTEE)
        capacity = draw(st.integers(1, 3))
        pool.append(Candidate(
            pid, pid, role,
            offered=frozenset(draw(st.sets(st.sampled_from(TOPICS), max_size=3))),
            wanted=frozenset(draw(st.sets(st.sampled_from(TOPICS), max_size=2))),
            zone=draw(st.sampled_from(ZONES)),
            capacity=capacity,
            current_pairs=draw(st.integers(0, capacity)),
            blocked=frozenset(draw(st.sets(st.sampled_from(ids), max_size=2))) if ids else frozenset(),
            former_partners=frozenset(draw(st.sets(st.sampled_from(ids), max_size=1))) if ids else frozenset(),
            front_of_queue=draw(st.booleans()),
        ))
    return pool


def exhaustive_best(mentors: list[Candidate], mentees: list[Candidate]) -> int:
    """Return the best total score over every assignment (each mentee to one mentor or none), by search."""
    scores = [[pair_score(m, e) for m in mentors] for e in mentees]

    @cache
    def best(row: int, places: tuple[int, ...]) -> int:
        if row == len(mentees):
            return 0
        top = best(row + 1, places)
        for col, score in enumerate(scores[row]):
            if score is not None and places[col] > 0:
                left = places[:col] + (places[col] - 1,) + places[col + 1:]
                top = max(top, score + best(row + 1, left))
        return top

    return best(0, tuple(m.free for m in mentors))


def assert_feasible(pool: list[Candidate], result) -> None:
    by_id = {c.person_id: c for c in pool}
    taken = Counter(p.mentor_id for p in result.proposals)
    mentees = Counter(p.mentee_id for p in result.proposals)
    assert all(n == 1 for n in mentees.values()), "a mentee got two mentors"
    assert not set(taken) & set(mentees), "someone is mentor and mentee in one round"
    for mentor_id, count in taken.items():
        assert count <= by_id[mentor_id].free, "a mentor beyond capacity"
    for proposal in result.proposals:
        the_mentor, the_mentee = by_id[proposal.mentor_id], by_id[proposal.mentee_id]
        assert not (the_mentee.person_id in the_mentor.blocked or the_mentor.person_id in the_mentee.blocked)
        assert not (the_mentee.person_id in the_mentor.former_partners
                    or the_mentor.person_id in the_mentee.former_partners)
        assert overlap_minutes(the_mentor.zone, the_mentee.zone) >= MIN_OVERLAP_MINUTES
        assert proposal.score == pair_score(the_mentor, the_mentee)
    placed = {p.mentor_id for p in result.proposals} | {p.mentee_id for p in result.proposals}
    assert placed.isdisjoint(u.person_id for u in result.unmatched)
    assert placed | {u.person_id for u in result.unmatched} == set(by_id)


@settings(max_examples=80, derandomize=True, deadline=None)
@given(pools())
def test_the_matcher_finds_the_best_total_score_as_exhaustive_search_does(pool):
    result = propose_matches(pool)
    assert_feasible(pool, result)
    mentors = [c for c in pool if c.role == Role.MENTOR]
    mentees = [c for c in pool if c.role == Role.MENTEE]
    assert result.total_score == exhaustive_best(mentors, mentees)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(pools(either=True))
def test_with_people_who_are_either_every_constraint_still_holds(pool):
    assert_feasible(pool, propose_matches(pool))


@settings(max_examples=40, derandomize=True, deadline=None)
@given(pools())
def test_the_pool_matrix_scores_every_cell_as_the_pair_rule_does(pool):
    mentors = [c for c in pool if c.may_mentor]
    mentees = [c for c in pool if c.may_be_mentored]
    if not mentors or not mentees:
        return
    matrix = score_matrix(mentors, mentees)
    for row, the_mentee in enumerate(mentees):
        for col, the_mentor in enumerate(mentors):
            assert int(matrix[row, col]) == (pair_score(the_mentor, the_mentee) or 0)


# ---- mentee-choice mode: when a request expires, when an offer may go out --------------------------------


LONDON_WED_10 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("sent_at", "zone", "now", "expired"),
    [
        (LONDON_WED_10, "Europe/London", datetime(2026, 12, 7, 9, 59, tzinfo=UTC), False),  # Thu, Fri, Mon 09:59
        (LONDON_WED_10, "Europe/London", datetime(2026, 12, 7, 10, 0, tzinfo=UTC), True),
        # Sent on a Friday afternoon: the weekend does not count.
        (datetime(2026, 12, 4, 15, 0, tzinfo=UTC), "Europe/London", datetime(2026, 12, 8, 15, 0, tzinfo=UTC), False),
        (datetime(2026, 12, 4, 15, 0, tzinfo=UTC), "Europe/London", datetime(2026, 12, 9, 15, 0, tzinfo=UTC), True),
        # Sent on a Saturday (a caught-up sweep): counted from Monday, the first working day after it.
        (datetime(2026, 12, 5, 12, 0, tzinfo=UTC), "Europe/London", datetime(2026, 12, 9, 12, 0, tzinfo=UTC), True),
        (datetime(2026, 12, 5, 12, 0, tzinfo=UTC), "Europe/London", datetime(2026, 12, 8, 12, 0, tzinfo=UTC), False),
        # Friday 23:30 UTC is Saturday 08:30 in Tokyo: Mon, Tue, Wed there, so Wednesday 08:30 Tokyo time.
        (datetime(2026, 12, 4, 23, 30, tzinfo=UTC), "Asia/Tokyo", datetime(2026, 12, 8, 23, 29, tzinfo=UTC), False),
        (datetime(2026, 12, 4, 23, 30, tzinfo=UTC), "Asia/Tokyo", datetime(2026, 12, 8, 23, 30, tzinfo=UTC), True),
        # And Friday 15:30 in Los Angeles: Mon, Tue, Wed by its own clock, a day later in UTC than Tokyo's.
        (datetime(2026, 12, 4, 23, 30, tzinfo=UTC), "America/Los_Angeles",
         datetime(2026, 12, 9, 23, 29, tzinfo=UTC), False),
        (datetime(2026, 12, 4, 23, 30, tzinfo=UTC), "America/Los_Angeles",
         datetime(2026, 12, 9, 23, 30, tzinfo=UTC), True),
        (None, "Europe/London", datetime(2027, 1, 1, tzinfo=UTC), False),  # never delivered: not counting yet
    ],
)
def test_a_request_expires_after_three_working_days_in_the_mentors_zone(sent_at, zone, now, expired):
    request = OpenRequest(7, "UMENTOR", zone, sent_at)
    assert expired_requests([request], now, "UTC") == ([7] if expired else [])


@pytest.mark.parametrize(
    ("now", "zone", "due"),
    [
        (datetime(2026, 12, 2, 8, 30, tzinfo=UTC), "Europe/Berlin", True),  # 09:30 in Berlin
        (datetime(2026, 12, 2, 8, 30, tzinfo=UTC), "Europe/London", False),  # 08:30 in London
        (datetime(2026, 12, 2, 16, 59, tzinfo=UTC), "Europe/London", True),
        (datetime(2026, 12, 2, 17, 0, tzinfo=UTC), "Europe/London", False),
        (datetime(2026, 12, 5, 12, 0, tzinfo=UTC), "Europe/London", False),  # a Saturday
        (datetime(2026, 12, 2, 12, 0, tzinfo=UTC), None, True),  # no zone: the program's
    ],
)
def test_a_match_offer_is_due_only_in_its_readers_working_hours(now, zone, due):
    waiting = [WaitingOffer(OfferStep.CHOICES, 5, "UMENTEE", zone), WaitingOffer(OfferStep.REQUEST, 9, "UMENTOR", zone)]
    found = offer_nudges(waiting, now, "UTC")
    assert [n.key for n in found] == (["match:UMENTEE:match_offer:o5", "match:UMENTOR:match_offer:r9"] if due else [])
    assert all(n.pair_id is None and n.audience == (n.recipient,) for n in found)
