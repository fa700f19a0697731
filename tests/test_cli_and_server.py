"""The real `mentorbot` process: --help, check, and run in HTTP mode behind signed requests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import TEST_ENCRYPTION_KEY
from tests.fake_slack import FakeSlack
from tests.slack_requests import SIGNING_SECRET, command_body, signed_headers

MENTORBOT = str(Path(sys.executable).with_name("mentorbot"))


def mentorbot_env(fake: FakeSlack | None, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MENTORBOT_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": database_url, "MENTORBOT_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
                "MENTORBOT_COORDINATORS": "UCOORD1"})
    if fake is not None:
        env.update({"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                    "SLACK_API_URL": fake.url})
    env.update(extra)
    return env


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MENTORBOT, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_help_lists_the_commands(tmp_path):
    result = run_cli(["--help"], mentorbot_env(None, "sqlite://"), tmp_path)
    assert result.returncode == 0
    for command in ("run", "check"):
        assert command in result.stdout


def test_check_without_a_token_names_slack_bot_token_in_one_line(tmp_path, database_url):
    result = run_cli(["check"], mentorbot_env(None, database_url), tmp_path)
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "SLACK_BOT_TOKEN" in lines[0]
    assert "Traceback" not in result.stderr


def test_check_against_a_working_slack_reports_all_well(tmp_path, fake_slack, database_url):
    result = run_cli(["check"], mentorbot_env(fake_slack, database_url), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all well" in result.stdout
    assert fake_slack.calls_to("auth.test")


def test_check_with_a_refused_token_fails_and_says_so(tmp_path, fake_slack, database_url):
    fake_slack.fail("auth.test", error="invalid_auth")
    result = run_cli(["check"], mentorbot_env(fake_slack, database_url), tmp_path)
    assert result.returncode == 1
    assert "invalid_auth" in result.stdout
    assert "problem" in result.stdout.splitlines()[-1]


def test_run_in_http_mode_without_a_signing_secret_refuses_to_start(tmp_path, fake_slack, database_url):
    env = mentorbot_env(fake_slack, database_url, SLACK_SIGNING_SECRET="")
    result = run_cli(["run"], env, tmp_path)
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path, fake_slack, database_url) -> Iterator[str]:
    """`mentorbot run` in HTTP mode; yields its base URL."""
    port = _free_port()
    env = mentorbot_env(fake_slack, database_url, PORT=str(port), MENTORBOT_SWEEP_MINUTES="60")
    process = subprocess.Popen([MENTORBOT, "run"], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            if process.poll() is not None:
                pytest.fail("mentorbot run exited: " + (process.stdout.read() if process.stdout else ""))
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("mentorbot run did not become healthy in 30 s")
    yield base
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def _post(url: str, body: str, headers: dict[str, list[str]]) -> int:
    request = urllib.request.Request(url, data=body.encode(), method="POST",
                                     headers={k: v[0] for k, v in headers.items()})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_healthz_reports_the_database(server):
    with urllib.request.urlopen(server + "/healthz", timeout=5) as response:
        assert json.loads(response.read()) == {"ok": True, "database": "ok"}


def test_a_signed_help_command_is_answered_with_help_text(server, fake_slack):
    body = command_body("help", user_id="UMENTEE1", response_url=fake_slack.response_url + "h1")
    assert _post(server + "/slack/events", body, signed_headers(body)) == 200
    deadline = time.monotonic() + 10
    while not fake_slack.responses and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "/mentoring checkin" in json.dumps(fake_slack.responses[0].params)


def test_a_bad_signature_is_refused_with_401(server, fake_slack):
    body = command_body("help", user_id="UMENTEE1", response_url=fake_slack.response_url + "h2")
    assert _post(server + "/slack/events", body, signed_headers(body, secret="wrong-secret")) == 401
    assert fake_slack.responses == []


def test_a_timestamp_older_than_five_minutes_is_refused_with_401(server, fake_slack):
    body = command_body("help", user_id="UMENTEE1", response_url=fake_slack.response_url + "h3")
    stale = signed_headers(body, timestamp=int(time.time()) - 6 * 60)
    assert _post(server + "/slack/events", body, stale) == 401


def test_fifty_requests_at_once_are_all_answered(server, fake_slack):
    def one(index: int) -> int:
        body = command_body("help", user_id="UMENTEE1", response_url=f"{fake_slack.response_url}c{index}")
        return _post(server + "/slack/events", body, signed_headers(body))

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(one, range(50)))
    assert statuses == [200] * 50
    deadline = time.monotonic() + 20
    while len(fake_slack.responses) < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(fake_slack.responses) == 50


def test_check_says_when_the_kill_switch_is_on(tmp_path, fake_slack, database_url, engine):
    from datetime import UTC, datetime

    from sqlmodel import Session

    from bot.domain.models import WorkspaceFlag
    from tests.conftest import stamp_head

    stamp_head(engine)
    with Session(engine) as session:
        session.add(WorkspaceFlag(name="quiet", value="on", updated_by="UCOORD1",
                                  updated_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC)))
        session.commit()
    result = run_cli(["check"], mentorbot_env(fake_slack, database_url), tmp_path)
    assert result.returncode == 0, result.stdout
    assert "kill switch is ON since 2026-11-20 10:00 UTC (by UCOORD1)" in result.stdout
    assert "/mentoring quiet off" in result.stdout
