"""How long the outcome report and the summary's chart take on a big program.

Usage: python bench/outcomes.py [--pairs 100000] [--runs 3]
Builds a program with realistic histories (bench/dataset.py) plus outcome answers (a fit check from both
members of most pairs that met, pulses, closing surveys with a verdict per goal), then times, best and
worst of `--runs`: the report (the database's totals and the pure figures, as `/mentoring report` runs it),
the chart's data (three grouped reads), drawing the chart in this process once matplotlib is loaded, and
drawing it as the bot does, in a child process (`python -m bot.chart`). Also the resident memory a
process gains by drawing in-process, which is why the bot draws in a child.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from datetime import time as clock_time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from bench.common import rss_mb  # noqa: E402
from bench.dataset import NOW, build_program  # noqa: E402
from bot.app import build_services  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.crypto import NoteCipher  # noqa: E402
from bot.db import make_engine  # noqa: E402
from bot.domain.models import CheckIn, Goal, GoalAttainment, OutcomeResponse, Pair  # noqa: E402
from bot.services.outcomes import draw_in_child  # noqa: E402
from tests.conftest import TEST_ENCRYPTION_KEY  # noqa: E402


def add_answers(engine, seed: int = 11) -> int:  # type: ignore[no-untyped-def]
    """Add fit, pulse and closing answers (with goal verdicts) to the program; return the answers added."""
    rng = random.Random(seed)
    with engine.connect() as connection:
        first = dict(connection.execute(select(CheckIn.pair_id, CheckIn.met_on).order_by(CheckIn.met_on.desc())).all())
        pairs = connection.execute(select(Pair.id, Pair.mentor_id, Pair.mentee_id, Pair.status)).all()
        goals: dict[int, list[int]] = {}
        for goal_id, pair_id in connection.execute(select(Goal.id, Goal.pair_id)):
            goals.setdefault(pair_id, []).append(goal_id)
    answers, verdicts = [], []
    response_id = 0
    for pair_id, mentor, mentee, status in pairs:
        met = first.get(pair_id)
        if met is None:
            continue
        for person in (mentor, mentee):
            rows = []
            if rng.random() < 0.8:
                rows.append(("fit", "first", rng.randint(1, 5), None, None, met.toordinal() + 1))
            for number in range(3):
                day = met.toordinal() + 30 + 60 * number
                if day < NOW.date().toordinal() and rng.random() < 0.7:
                    rows.append(("pulse", f"p{number}", rng.randint(2, 5), rng.choice(("yes", "sometimes", "no")),
                                 None, day))
            if status == "ended" and rng.random() < 0.6:
                rows.append(("closing", "end", rng.randint(2, 5), None, rng.random() < 0.8,
                             NOW.date().toordinal() - 2))
            for kind, period, rating, meeting, again, day in rows:
                response_id += 1
                answered = datetime.combine(date.fromordinal(day), clock_time(10), UTC)
                answers.append({"id": response_id, "pair_id": pair_id, "author_id": person, "kind": kind,
                                "period": period, "asked_at": answered, "answered_at": answered, "rating": rating,
                                "meeting_as_agreed": meeting, "take_part_again": again,
                                "change_requested_at": None, "helped_most_enc": None})
                if kind == "closing":
                    verdicts += [{"response_id": response_id, "goal_id": goal_id,
                                  "attainment": rng.choice(("met", "partly", "not_met"))}
                                 for goal_id in goals.get(pair_id, [])]
    with engine.begin() as connection:
        for start in range(0, len(answers), 5000):
            connection.execute(insert(OutcomeResponse), answers[start:start + 5000])
        for start in range(0, len(verdicts), 5000):
            connection.execute(insert(GoalAttainment), verdicts[start:start + 5000])
    return len(answers)


def timed(runs: int, work):  # type: ignore[no-untyped-def]
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        seconds.append(time.perf_counter() - started)
    return min(seconds), max(seconds), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="mentorbot-outcomes-"))
    try:
        url = f"sqlite:///{workdir / 'outcomes.db'}"
        engine = make_engine(url)
        cipher = NoteCipher([TEST_ENCRYPTION_KEY])
        build_program(engine, args.pairs, cipher)
        answers = add_answers(engine)
        settings = Settings(slack_bot_token="xoxb-bench", slack_signing_secret="bench", database_url=url,
                            slack_api_url="http://127.0.0.1:9/api/", encryption_keys=(TEST_ENCRYPTION_KEY,))
        services = build_services(settings, engine=engine)
        outcomes = services.outcomes
        today = NOW.date()
        print(f"pairs {args.pairs}, answers {answers}")
        print(f"{'what':34} {'best s':>8} {'worst s':>8}")
        best, worst, report = timed(args.runs, lambda: outcomes.outcome_figures(today))
        print(f"{'report (reads + aggregation)':34} {best:8.3f} {worst:8.3f}")
        best, worst, data = timed(args.runs, lambda: outcomes.chart(today))
        print(f"{'chart data (reads)':34} {best:8.3f} {worst:8.3f}")
        before = rss_mb(os.getpid())
        from bot.chart import draw_chart

        draw_chart(data)  # loads matplotlib and its fonts once, as a long-lived drawer would
        best, worst, png = timed(args.runs, lambda: draw_chart(data))
        print(f"{'chart drawn, in process (warm)':34} {best:8.3f} {worst:8.3f}")
        best, worst, child_png = timed(args.runs, lambda: draw_in_child(data))
        print(f"{'chart drawn, child process':34} {best:8.3f} {worst:8.3f}")
        print(f"png {len(png)} bytes (child: {len(child_png)}); RSS of this process {before:.0f} MB before "
              f"loading matplotlib, {rss_mb(os.getpid()):.0f} MB after drawing; "
              f"report over {report.pairs} pairs, {report.regular_pairs} with two or more check-ins")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
