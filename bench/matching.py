"""How long the matcher takes to propose matches for a big pool.

Usage: python bench/matching.py [--mentors 1000] [--mentees 1000] [--topics 30] [--runs 3] [--seed 7]
Builds a seeded pool (mentors with capacities 1–3 and some current pairs, mentees wanting 1–3 topics,
mentors offering 1–4, people spread over twelve zones, a few "don't pair me with" entries and former
partners) and times `propose_matches` over it: the whole pool solved at once, every proposal and every
unmatched person explained. The first run also pays for importing numpy and SciPy; it is timed apart.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.domain.matching import Candidate, Role, propose_matches  # noqa: E402

ZONES = ("Europe/London", "Europe/Berlin", "Europe/Madrid", "Europe/Warsaw", "America/New_York",
         "America/Chicago", "America/Los_Angeles", "America/Sao_Paulo", "Asia/Kolkata", "Asia/Singapore",
         "Asia/Tokyo", "Australia/Sydney")


def build_pool(mentors: int, mentees: int, topics: int, seed: int) -> list[Candidate]:
    rng = random.Random(seed)
    names = [f"topic {i:02d}" for i in range(topics)]
    mentor_ids = [f"UM{i:05d}" for i in range(mentors)]
    mentee_ids = [f"UE{i:05d}" for i in range(mentees)]
    pool = []
    for pid in mentor_ids:
        capacity = rng.randint(1, 3)
        pool.append(Candidate(
            pid, pid, Role.MENTOR, offered=frozenset(rng.sample(names, rng.randint(1, 4))), zone=rng.choice(ZONES),
            capacity=capacity, current_pairs=rng.choice((0, 0, 0, 1)) if capacity > 1 else 0,
            blocked=frozenset(rng.sample(mentee_ids, 1)) if rng.random() < 0.05 else frozenset(),
        ))
    for pid in mentee_ids:
        pool.append(Candidate(
            pid, pid, Role.MENTEE, wanted=frozenset(rng.sample(names, rng.randint(1, 3))), zone=rng.choice(ZONES),
            blocked=frozenset(rng.sample(mentor_ids, 1)) if rng.random() < 0.05 else frozenset(),
            former_partners=frozenset(rng.sample(mentor_ids, 1)) if rng.random() < 0.1 else frozenset(),
            front_of_queue=rng.random() < 0.05,
        ))
    return pool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentors", type=int, default=1000)
    parser.add_argument("--mentees", type=int, default=1000)
    parser.add_argument("--topics", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    pool = build_pool(args.mentors, args.mentees, args.topics, args.seed)
    started = time.perf_counter()
    import numpy  # noqa: F401
    import scipy.optimize  # noqa: F401

    imports = time.perf_counter() - started
    timings = []
    for _ in range(args.runs):
        started = time.perf_counter()
        result = propose_matches(pool)
        timings.append(time.perf_counter() - started)
    places = sum(c.free for c in pool if c.role == Role.MENTOR)
    print(f"{'people':>7} {'topics':>6} {'places':>6} {'proposed':>8} {'unmatched':>9} {'score':>7} "
          f"{'seconds':>7} {'worst':>7} {'imports':>7}")
    print(f"{len(pool):>7} {args.topics:>6} {places:>6} {len(result.proposals):>8} {len(result.unmatched):>9} "
          f"{result.total_score:>7} {min(timings):>7.3f} {max(timings):>7.3f} {imports:>7.3f}")


if __name__ == "__main__":
    main()
