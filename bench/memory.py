"""Resident memory of `mentorbot run` (HTTP mode) over a program of N pairs, through its first sweep.

Usage: python bench/memory.py [--pairs 100000] [--seconds 100]
Builds the program in SQLite as of Monday 2026-03-09 10:00 UTC (bench/dataset.py), starts `mentorbot run`
against a fake Slack with a one-minute sweep and its clock moved to that Monday morning (it keeps ticking:
at the real time, a weekend or a night would leave nothing due), samples VmRSS every half second and prints
the figures when it first answers /healthz and at its peak, and the Slack calls the sweeps made. The first
sweep begins as the bot starts, so the first figure may include the start of that sweep.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import MENTORBOT, bot_env, free_port, rss_mb, stop, wait_healthy  # noqa: E402
from bench.dataset import NOW, build_program  # noqa: E402
from bot.crypto import NoteCipher  # noqa: E402
from bot.db import make_engine  # noqa: E402
from tests.conftest import TEST_ENCRYPTION_KEY  # noqa: E402
from tests.fake_slack import FakeSlack  # noqa: E402

# `mentorbot run` with its clock at argv[1]: time-machine (a test dependency) moves datetime and time.time in
# the process, so the scheduler and the sweep see that moment; monotonic time is left alone.
RUN_AT = ("import sys, time_machine; from bot.cli import main; "
          "time_machine.travel(sys.argv[1], tick=True).start(); sys.exit(main(['run']))")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=100)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="mentorbot-memory-"))
    url = f"sqlite:///{workdir / 'memory.db'}"
    engine = make_engine(url)
    build_program(engine, args.pairs, NoteCipher([TEST_ENCRYPTION_KEY]))
    engine.dispose()
    subprocess.run([MENTORBOT, "--help"], capture_output=True, check=True)
    fake = FakeSlack().start()
    # Everyone in the program exists in Slack, so the sweep's DMs and look-ups succeed as they would.
    for index in range(1, args.pairs + 1):
        fake.add_user(f"UM{index:07d}")
        fake.add_user(f"UE{index:07d}")
    fake.add_user("UCOORD1")
    port = free_port()
    # A summary channel, so the Monday sweep posts the weekly summary with its outcome report and chart.
    env = bot_env(fake, url, PORT=str(port), MENTORBOT_SWEEP_MINUTES="1", MENTORBOT_SUMMARY_CHANNEL="CSUMMARY1")
    # The data set has no alembic stamp: let `run` see the tables as migrated.
    from alembic import command

    from bot.db import alembic_config

    command.stamp(alembic_config(make_engine(url)), "head")
    bot = subprocess.Popen([sys.executable, "-c", RUN_AT, NOW.isoformat()], env=env, cwd=workdir,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", bot)
        idle = rss_mb(bot.pid)
        peak = idle
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline and bot.poll() is None:
            peak = max(peak, rss_mb(bot.pid))
            time.sleep(0.5)
        sent = len(fake.calls_to("chat.postMessage"))
        looked_up = len(fake.calls_to("users.info"))
        charts = len(fake.shared_files)
        print(f"pairs: {args.pairs}  resident at start: {idle:.0f} MB  peak over {args.seconds:.0f} s: {peak:.0f} MB  "
              f"(Slack calls meanwhile: {sent} chat.postMessage, {looked_up} users.info, {charts} chart uploaded)")
    finally:
        stop(bot)
        fake.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
