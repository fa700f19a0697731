"""Delivering thousands of due nudges against a fake Slack that enforces chat.postMessage's limit per channel.

Usage: python bench/delivery.py [--nudges 10000] [--channels 100] [--burst 4] [--rate 1]
                                [--layout interleaved|clustered] [--modes sweep,paced] [--max-seconds 240]

Slack allows chat.postMessage about one message per second per channel, with short bursts. The fake
models that as a token bucket per channel: `--burst` tokens at the start, refilled at `--rate` tokens a
second up to `--burst`; a post takes one token, and a post that finds less than one token is answered
HTTP 429 with Retry-After = the whole seconds until the next token (at least 1) and is not kept.
Slack also keeps an unpublished workspace-wide limit; it is not modelled.

The scenario: `--nudges` pairs each owe one group nudge at the same moment, and the pairs share
`--channels` conversations, so the per-channel limit binds. The rate Slack allows is then
nudges / ideal drain time, where the ideal drain time is max over channels of (nudges in it − burst) / rate:
what a sender that never waits for anything but the buckets would take.

Modes (each on a fresh copy of the database and a fresh fake):
- sweep: the real delivery path, `NudgeService.sweep(now, dry_run=False)`, called again at once whenever
  a sweep ends early (in production the next sweep comes MENTORBOT_SWEEP_MINUTES later), until all is sent
  or --max-seconds pass (then the service is told to stop, as on shutdown).
- paced: a prototype of the proposed fix, not production code: the same plan and the same per-nudge
  delivery (`NudgeService._deliver`: claim, post, record), but sent in per-channel order, at most `--rate`
  a second per channel, so no channel is asked faster than Slack allows and nobody waits for another
  channel's limit.
"""

from __future__ import annotations

import argparse
import heapq
import logging
import math
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dataset import NOW, build_due_program  # noqa: E402
from bot.app import build_services  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.db import make_engine  # noqa: E402
from bot.domain.policy import DueNudge, plan  # noqa: E402
from bot.services import Services  # noqa: E402
from tests.conftest import TEST_ENCRYPTION_KEY  # noqa: E402
from tests.fake_slack import Call, FakeSlack  # noqa: E402

POST = "chat.postMessage"


class RateLimitedSlack(FakeSlack):
    """The fake Slack, with chat.postMessage limited by a token bucket per channel (429 + Retry-After)."""

    def __init__(self, rate: float, burst: int) -> None:
        super().__init__()
        self.rate = rate
        self.burst = burst
        self.buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, when they were counted)
        self.refused = 0
        self.accepted_at: list[float] = []

    @staticmethod
    def _conversation(params: dict[str, Any]) -> str:
        channel = str(params.get("channel", ""))
        return "D" + channel.lstrip("U") if channel.startswith("U") else channel  # a DM, as the fake names it

    def _wait_for_token(self, channel: str) -> int:
        """Take a token from `channel`'s bucket; return 0, or the whole seconds until one is there."""
        now = time.monotonic()
        with self._lock:
            tokens, counted = self.buckets.get(channel, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - counted) * self.rate)
            if tokens >= 1:
                self.buckets[channel] = (tokens - 1, now)
                return 0
            self.buckets[channel] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.rate))

    def answer(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict, dict]:
        if method == POST:
            wait = self._wait_for_token(self._conversation(params))
            if wait:
                with self._lock:
                    self.calls.append(Call(method, params, headers))
                    self.refused += 1
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)}
        status, payload, extra = super().answer(method, params, headers)
        if method == POST and status == 200 and payload.get("ok"):
            with self._lock:
                self.accepted_at.append(time.monotonic())
        return status, payload, extra


def ideal_seconds(per_channel: Counter[str], rate: float, burst: int) -> float:
    """Return the shortest time in which Slack's buckets let every message through."""
    return max((max(0, count - burst) / rate for count in per_channel.values()), default=0.0)


def make_services(url: str, fake: FakeSlack) -> Services:
    settings = Settings(slack_bot_token="xoxb-bench", slack_signing_secret="bench", slack_api_url=fake.url,
                        database_url=url, coordinators=(), summary_channel=None,
                        encryption_keys=(TEST_ENCRYPTION_KEY,))
    return build_services(settings, engine=make_engine(url))


def deliver_by_sweeps(services: Services, deadline: float) -> int:
    """Call the real sweep until nothing is left or the deadline passes; return how many sweeps ran."""
    stopper = threading.Timer(max(0.0, deadline - time.monotonic()), services.nudges.stopping.set)
    stopper.daemon = True
    stopper.start()
    sweeps = 0
    try:
        while time.monotonic() < deadline:
            result = services.nudges.sweep(now=NOW, dry_run=False)
            sweeps += 1
            if not result.due or (result.stopped is None and not result.retry_later):
                break
    finally:
        stopper.cancel()
    return sweeps


def deliver_paced(services: Services, rate: float, deadline: float) -> int:
    """Prototype: the sweep's plan and per-nudge delivery, in per-channel order at `rate` per channel."""
    nudges = services.nudges
    with services.ctx.session() as session:
        state, _people = nudges.load_state(session, NOW)
    decided = plan(state, NOW)
    facts = {f.pair.id: f for f in state.pairs}
    queues: dict[str, deque[DueNudge]] = {}
    for nudge in decided.nudges:
        queues.setdefault(nudges._channel_for(nudge, facts.get(nudge.pair_id)), deque()).append(nudge)
    started = time.monotonic()
    ready = [(started, order, channel) for order, channel in enumerate(queues)]  # (when, tie-break, channel)
    heapq.heapify(ready)
    while ready and time.monotonic() < deadline:
        at, order, channel = heapq.heappop(ready)
        pause = at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        nudge = queues[channel].popleft()
        claimed_at = NOW + timedelta(seconds=time.monotonic() - started)
        nudges._deliver(nudge, facts.get(nudge.pair_id), NOW, claimed_at=claimed_at)
        if queues[channel]:
            heapq.heappush(ready, (at + 1 / rate, order, channel))
    return 1


def measure(mode: str, template: Path, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    database = workdir / f"delivery-{mode}.db"
    shutil.copy(template, database)
    url = f"sqlite:///{database}"
    fake = RateLimitedSlack(args.rate, args.burst).start()
    services = make_services(url, fake)
    try:
        due = services.nudges.sweep(now=NOW, dry_run=True).due
        with services.ctx.session() as session:
            state, _people = services.nudges.load_state(session, NOW)
        facts = {f.pair.id: f for f in state.pairs}
        per_channel = Counter(services.nudges._channel_for(n, facts.get(n.pair_id)) for n in due)
        started = time.monotonic()
        deadline = started + args.max_seconds
        if mode == "sweep":
            sweeps = deliver_by_sweeps(services, deadline)
        else:
            sweeps = deliver_paced(services, args.rate, deadline)
        ended = time.monotonic()
        sent = len(fake.accepted_at)
        calls = len(fake.calls_to(POST))
        drained = sent >= len(due)
        seconds = (fake.accepted_at[-1] if drained and fake.accepted_at else ended) - started
        ideal = ideal_seconds(per_channel, args.rate, args.burst)
        allowed = len(due) / ideal if ideal else float("inf")
        achieved = sent / seconds if seconds else float("nan")
        return {"mode": mode, "due": len(due), "channels": len(per_channel), "sent": sent, "calls": calls,
                "refused": fake.refused, "refused_pct": 100 * fake.refused / calls if calls else 0.0,
                "seconds": seconds, "drained": drained, "ideal": ideal, "achieved": achieved, "allowed": allowed,
                "share": 100 * achieved / allowed, "sweeps": sweeps}
    finally:
        services.ctx.engine.dispose()
        fake.stop()


HEADER = (f"{'mode':<6} {'layout':<11} {'nudges':>6} {'chans':>5} {'sent':>6} {'calls':>6} {'429s':>5} "
          f"{'429 %':>6} {'seconds':>8} {'drained':>7} {'ideal s':>8} {'nudge/s':>8} {'allowed/s':>9} "
          f"{'% allowed':>9} {'sweeps':>6}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nudges", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--rate", type=float, default=1.0, help="tokens a second per channel")
    parser.add_argument("--burst", type=int, default=4, help="bucket size per channel")
    parser.add_argument("--layout", choices=("interleaved", "clustered"), default="interleaved")
    parser.add_argument("--modes", default="sweep,paced")
    parser.add_argument("--max-seconds", type=float, default=240)
    args = parser.parse_args(argv)
    # Each refused post logs a warning; the table is the output.
    logging.basicConfig(level=logging.ERROR)
    workdir = Path(tempfile.mkdtemp(prefix="mentorbot-delivery-"))
    template = workdir / "template.db"
    engine = make_engine(f"sqlite:///{template}")
    build_due_program(engine, args.nudges, args.channels, clustered=args.layout == "clustered")
    engine.dispose()
    print(f"token bucket per channel: {args.burst} to start, +{args.rate:g}/s up to {args.burst}; "
          f"429 with Retry-After beyond it")
    print(HEADER)
    try:
        for mode in args.modes.split(","):
            row = measure(mode, template, workdir, args)
            print(f"{row['mode']:<6} {args.layout:<11} {row['due']:>6} {row['channels']:>5} {row['sent']:>6} "
                  f"{row['calls']:>6} {row['refused']:>5} {row['refused_pct']:>6.2f} {row['seconds']:>8.1f} "
                  f"{'yes' if row['drained'] else 'no':>7} {row['ideal']:>8.1f} {row['achieved']:>8.1f} "
                  f"{row['allowed']:>9.1f} {row['share']:>9.1f} {row['sweeps']:>6}", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
