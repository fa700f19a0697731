"""Delivering thousands of due nudges against a fake Slack that enforces chat.postMessage's limit per channel.

Usage: python bench/delivery.py [--nudges 10000] [--channels 100] [--burst 4] [--rate 1]
                                [--layout interleaved|clustered] [--slack process|inproc] [--latency 0]
                                [--max-seconds 240]

Slack allows chat.postMessage about one message per second per channel, with short bursts. The fake
(tests/fake_slack.py: RateLimitedSlack) models that as a token bucket per channel: `--burst` tokens at the
start, refilled at `--rate` tokens a second up to `--burst`; a post takes one token, and a post that finds
less than one token is answered HTTP 429 with Retry-After = the whole seconds until the next token (at
least 1) and is not kept.
Slack also keeps an unpublished workspace-wide limit; it is not modelled. The fake runs in its own process
(`--slack process`, the default), as Slack is not in ours; `--slack inproc` runs it on threads of the bot's
process, where its work competes with the sweep for the GIL. `--latency` adds seconds to every answer to
chat.postMessage (a real round trip to Slack is tens to hundreds of milliseconds).

The scenario: `--nudges` pairs each owe one group nudge at the same moment, and the pairs share
`--channels` conversations, so the per-channel limit binds. The rate Slack allows is then
nudges / ideal drain time, where the ideal drain time is max over channels of (nudges in it − burst) / rate:
what a sender that never waits for anything but the buckets would take.

What is measured is the production delivery path only, on a fresh database and fake:
`NudgeService.sweep(now, dry_run=False)`, which paces its posts per conversation (bot/services/pacing.py),
called again at once whenever a sweep ends early (in production the next sweep comes
MENTORBOT_SWEEP_MINUTES later), until all is sent or --max-seconds pass (then the service is told to stop,
as on shutdown). The sweep spaces posts to a conversation by a full second and never counts on the burst,
so its best is nudges / (max over channels of (nudges in it − 1) / rate), a little under "allowed".
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dataset import NOW, build_due_program  # noqa: E402
from bot.app import build_services  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.db import make_engine  # noqa: E402
from bot.delivery.worker import conversation_of  # noqa: E402
from bot.services import Services  # noqa: E402
from tests.conftest import TEST_ENCRYPTION_KEY  # noqa: E402
from tests.fake_slack import RateLimitedSlack  # noqa: E402

POST = "chat.postMessage"


def ideal_seconds(per_channel: Counter[str], rate: float, burst: int) -> float:
    """Return the shortest time in which Slack's buckets let every message through."""
    return max((max(0, count - burst) / rate for count in per_channel.values()), default=0.0)


class FakeSlackRun:
    """The rate-limited fake, on threads of this process or in a process of its own; its figures at the end."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.fake: RateLimitedSlack | None = None
        self.process: multiprocessing.process.BaseProcess | None = None
        self.conn: Connection | None = None

    def start(self) -> str:
        """Start the fake; return its API url."""
        if self.args.slack == "inproc":
            self.fake = _start_fake(self.args)
            return self.fake.url
        # fork: the child needs nothing but what is already imported; both use the system's monotonic clock
        context = multiprocessing.get_context("fork")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve_fake, args=(self.args, child), daemon=True)
        self.process.start()
        return str(self.conn.recv())

    def figures(self) -> dict[str, Any]:
        """Return accepted_at (monotonic seconds), refused and calls to chat.postMessage, and stop the fake."""
        if self.fake is not None:
            figures = _figures(self.fake)
            self.fake.stop()
            self.fake = None
            return figures
        assert self.conn is not None and self.process is not None
        self.conn.send("figures")
        figures = self.conn.recv()
        self.process.join(timeout=10)
        return figures

    def stop(self) -> None:
        if self.fake is not None:
            self.fake.stop()
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=10)


def _start_fake(args: argparse.Namespace) -> RateLimitedSlack:
    fake = RateLimitedSlack(args.rate, args.burst).start()
    if args.latency:
        fake.delays[POST] = args.latency
    return fake


def _figures(fake: RateLimitedSlack) -> dict[str, Any]:
    return {"accepted_at": list(fake.accepted_at), "refused": fake.refused, "calls": len(fake.calls_to(POST))}


def _serve_fake(args: argparse.Namespace, conn: Connection) -> None:
    fake = _start_fake(args)
    conn.send(fake.url)
    conn.recv()  # until the bench asks for the figures
    conn.send(_figures(fake))
    fake.stop()


def make_services(url: str, slack_url: str) -> Services:
    settings = Settings(slack_bot_token="xoxb-bench", slack_signing_secret="bench", slack_api_url=slack_url,
                        database_url=url, coordinators=(), summary_channel=None,
                        encryption_keys=(TEST_ENCRYPTION_KEY,))
    return build_services(settings, engine=make_engine(url))


def deliver_by_sweeps(services: Services, deadline: float) -> int:
    """Call the real sweep until nothing is left or the deadline passes; return how many sweeps ran."""
    stopper = threading.Timer(max(0.0, deadline - time.monotonic()), services.sweep.stopping.set)
    stopper.daemon = True
    stopper.start()
    sweeps = 0
    try:
        while time.monotonic() < deadline:
            result = services.sweep.run(now=NOW, dry_run=False)
            sweeps += 1
            if not result.due or (result.stopped is None and not result.retry_later):
                break
    finally:
        stopper.cancel()
    return sweeps


def measure(template: Path, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    database = workdir / "delivery.db"
    shutil.copy(template, database)
    url = f"sqlite:///{database}"
    fake = FakeSlackRun(args)
    services = make_services(url, fake.start())
    try:
        due = services.sweep.run(now=NOW, dry_run=True).due
        per_channel = Counter(conversation_of(n) for n in due)
        started = time.monotonic()
        sweeps = deliver_by_sweeps(services, started + args.max_seconds)
        ended = time.monotonic()
        figures = fake.figures()
        accepted_at, refused, calls = figures["accepted_at"], figures["refused"], figures["calls"]
        sent = len(accepted_at)
        drained = sent >= len(due)
        seconds = (accepted_at[-1] if drained and accepted_at else ended) - started
        ideal = ideal_seconds(per_channel, args.rate, args.burst)
        allowed = len(due) / ideal if ideal else float("inf")
        achieved = sent / seconds if seconds else float("nan")
        return {"due": len(due), "channels": len(per_channel), "sent": sent, "calls": calls,
                "refused": refused, "refused_pct": 100 * refused / calls if calls else 0.0,
                "seconds": seconds, "drained": drained, "ideal": ideal, "achieved": achieved, "allowed": allowed,
                "share": 100 * achieved / allowed, "sweeps": sweeps}
    finally:
        services.ctx.engine.dispose()
        fake.stop()


HEADER = (f"{'slack':<7} {'rtt ms':>6} {'layout':<11} {'nudges':>6} {'chans':>5} {'sent':>6} {'calls':>6} {'429s':>5} "
          f"{'429 %':>6} {'seconds':>8} {'drained':>7} {'ideal s':>8} {'nudge/s':>8} {'allowed/s':>9} "
          f"{'% allowed':>9} {'sweeps':>6}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nudges", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--rate", type=float, default=1.0, help="tokens a second per channel")
    parser.add_argument("--burst", type=int, default=4, help="bucket size per channel")
    parser.add_argument("--layout", choices=("interleaved", "clustered"), default="interleaved")
    parser.add_argument("--slack", choices=("process", "inproc"), default="process",
                        help="run the fake Slack in its own process, or on threads of the bot's")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each chat.postMessage answer")
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
        row = measure(template, workdir, args)
        print(f"{args.slack:<7} {1000 * args.latency:>6.0f} {args.layout:<11} {row['due']:>6} {row['channels']:>5} "
              f"{row['sent']:>6} {row['calls']:>6} {row['refused']:>5} {row['refused_pct']:>6.2f} "
              f"{row['seconds']:>8.1f} {'yes' if row['drained'] else 'no':>7} {row['ideal']:>8.1f} "
              f"{row['achieved']:>8.1f} {row['allowed']:>9.1f} {row['share']:>9.1f} {row['sweeps']:>6}", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
