"""Resident memory of `mentorbot run` (HTTP mode) over a program of N pairs, through its first sweep.

Usage: python bench/memory.py [--pairs 100000] [--seconds 90]
Builds the program in SQLite, starts `mentorbot run` against a fake Slack with a one-minute sweep,
samples VmRSS every half second and prints the idle and peak figures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import MENTORBOT, bot_env, free_port, rss_mb, stop, wait_healthy  # noqa: E402
from bench.dataset import build_program  # noqa: E402
from bot.crypto import NoteCipher  # noqa: E402
from bot.db import make_engine  # noqa: E402
from tests.conftest import TEST_ENCRYPTION_KEY  # noqa: E402
from tests.fake_slack import FakeSlack  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=90)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="mentorbot-memory-"))
    url = f"sqlite:///{workdir / 'memory.db'}"
    engine = make_engine(url)
    build_program(engine, args.pairs, NoteCipher([TEST_ENCRYPTION_KEY]))
    engine.dispose()
    subprocess.run([MENTORBOT, "--help"], capture_output=True, check=True)
    fake = FakeSlack().start()
    port = free_port()
    env = bot_env(fake, url, PORT=str(port), MENTORBOT_SWEEP_MINUTES="1")
    # The data set has no alembic stamp: let `run` see the tables as migrated.
    from alembic import command

    from bot.db import alembic_config

    command.stamp(alembic_config(make_engine(url)), "head")
    bot = subprocess.Popen([MENTORBOT, "run"], env=env, cwd=workdir, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", bot)
        idle = rss_mb(bot.pid)
        peak = idle
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline and bot.poll() is None:
            peak = max(peak, rss_mb(bot.pid))
            time.sleep(0.5)
        sent = len(fake.calls_to("chat.postMessage"))
        print(f"pairs: {args.pairs}  resident at start: {idle:.0f} MB  peak over {args.seconds:.0f} s "
              f"(first sweep included, {sent} messages sent): {peak:.0f} MB")
    finally:
        stop(bot)
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
