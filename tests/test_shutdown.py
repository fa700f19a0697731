"""SIGTERM during a sweep, to a real process: the nudge in flight is finished and recorded as sent, the rest of
the batch waits for the next sweep, and the process exits 0."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from bot.domain.models import Nudge, NudgeStatus
from tests.fake_slack import FakeSlack
from tests.test_cli_and_server import MENTORBOT, _free_port, mentorbot_env
from tests.test_crash_and_instances import NOW, delivered_keys
from tests.test_crash_and_instances import program as program  # noqa: PLC0414  (the fixture)

SLOW_POST = 1.5  # seconds the fake Slack takes per message, so SIGTERM lands while one is in flight

# `mentorbot run` reads the real clock; this starts the real CLI with the clock moved to NOW (and ticking),
# so the program's nudges are due when its scheduler makes the first sweep, at start.
RUN_AT_NOW = (
    "import sys, time_machine; time_machine.travel(sys.argv[1], tick=True).start(); "
    "from bot.cli import main; raise SystemExit(main(['run']))"
)


def ledger(engine) -> list[Nudge]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return list(session.exec(select(Nudge)))


def wait_for_first_post(fake: FakeSlack, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not fake.calls_to("chat.postMessage"):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no sweep began"
        time.sleep(0.02)


def assert_only_the_nudge_in_flight_went_out(fake: FakeSlack, engine) -> str:  # type: ignore[no-untyped-def]
    [key] = delivered_keys(fake)
    rows = ledger(engine)
    assert [(r.key, r.status) for r in rows] == [(key, NudgeStatus.SENT)], "recorded as sent; nothing left claimed"
    assert rows[0].ts == fake.posted()[0]["ts"]
    assert len(fake.calls_to("chat.postMessage")) == 1, "the rest of the batch was not started"
    return key


def test_sigterm_to_mentorbot_run_finishes_the_nudge_in_flight_and_exits_0(
    program, engine, fake_slack, database_url, tmp_path: Path
):
    fake_slack.delays["chat.postMessage"] = SLOW_POST
    # The default interval (5 minutes) is far longer than the test: the sweep that posts is the one at start.
    env = mentorbot_env(fake_slack, database_url, PORT=str(_free_port()), MENTORBOT_SUMMARY_CHANNEL="CSUMMARY1")
    process = subprocess.Popen([sys.executable, "-c", RUN_AT_NOW, NOW.isoformat()], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_first_post(fake_slack, process)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert output.rstrip().endswith("stopped"), output
    key = assert_only_the_nudge_in_flight_went_out(fake_slack, engine)
    assert f"nudge sent key={key}" in output


def test_sigterm_to_mentorbot_sweep_finishes_the_nudge_in_flight_and_the_next_sweep_sends_the_rest(
    program, engine, fake_slack, database_url, tmp_path: Path
):
    fake_slack.delays["chat.postMessage"] = SLOW_POST
    env = mentorbot_env(fake_slack, database_url, MENTORBOT_SUMMARY_CHANNEL="CSUMMARY1")
    process = subprocess.Popen([MENTORBOT, "sweep", "--now", NOW.isoformat()], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_first_post(fake_slack, process)
        process.send_signal(signal.SIGTERM)
        output, errors = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, errors
    assert "Sent 1," in output and "Stopped early on SIGTERM" in output
    first = assert_only_the_nudge_in_flight_went_out(fake_slack, engine)
    fake_slack.delays.clear()
    later = subprocess.run([MENTORBOT, "sweep", "--now", (NOW + timedelta(minutes=5)).isoformat()], env=env,
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert later.returncode == 0, later.stderr
    keys = delivered_keys(fake_slack)
    assert sorted(keys) == sorted(program) and keys.count(first) == 1
