"""Shared bench plumbing: a fake Slack, signed requests, a `mentorbot run` process, percentiles."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import TEST_ENCRYPTION_KEY  # noqa: E402
from tests.fake_slack import FakeSlack  # noqa: E402
from tests.slack_requests import SIGNING_SECRET  # noqa: E402

# BENCH_MENTORBOT runs the benchmarks against another command (say, a build under trial).
MENTORBOT = os.environ.get("BENCH_MENTORBOT") or str(Path(sys.executable).with_name("mentorbot"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def bot_env(fake: FakeSlack, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MENTORBOT_", "DATABASE_URL"))}
    env.update({
        "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake.url,
        "DATABASE_URL": database_url, "MENTORBOT_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
        "MENTORBOT_COORDINATORS": "UCOORD1", "LOG_LEVEL": "WARNING", "MENTORBOT_SWEEP_MINUTES": "60",
    })
    env.update(extra)
    return env


def wait_healthy(base: str, process: subprocess.Popen, path: str = "/healthz", timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(base + path, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answers: good enough for a server without /healthz
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("server did not come up")


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """Ask `process` to stop (SIGTERM), and kill it if it will not."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()


def rss_mb(pid: int) -> float:
    """Return the resident memory of `pid` in MB (Linux /proc)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb_self() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
