"""Socket Mode over a WebSocket server of ours on 127.0.0.1: `mentorbot run`, and the runner it uses.

The server plays Slack's side of the connection: it says hello, sends envelopes, and collects the
acknowledgements the bot sends back. Web API calls go to the fake Slack, which hands out the server's URL.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlmodel import Session, select
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from bot.app import Runtime, build_app
from bot.blocks.ids import CHECKIN_MET_ON_BLOCK, CHECKIN_VIEW
from bot.db import make_engine
from bot.domain.models import CheckIn, Phase
from bot.socket_mode import RECONNECT_GRACE_SECONDS, SocketModeRunner, build_ops_app, serve_ops
from tests.conftest import MENTEE, MENTOR, OTHER, make_settings
from tests.factories import make_pair
from tests.test_checkin_modal import checkin_values
from tests.test_cli_and_server import MENTORBOT, _free_port, mentorbot_env, run_cli


def wait_until(condition: Callable[[], object], timeout: float = 15, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


class SocketSlack:
    """Slack's end of Socket Mode: one connection at a time, envelopes out, acknowledgements in."""

    def __init__(self) -> None:
        self.acks: list[dict[str, Any]] = []
        self.connections: list[ServerConnection] = []
        self._server = serve(self._session, "127.0.0.1", 0)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/link"

    def _session(self, connection: ServerConnection) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1}))
        self.connections.append(connection)
        with contextlib.suppress(ConnectionClosed):  # the bot hung up, as it does on a refresh
            for message in connection:
                self.acks.append(json.loads(message))

    def send(self, envelope: dict[str, Any], *, on: int = -1) -> None:
        self.connections[on].send(json.dumps(envelope))

    def acks_of(self, envelope_id: str) -> list[dict[str, Any]]:
        return [ack for ack in list(self.acks) if ack.get("envelope_id") == envelope_id]

    def ack_of(self, envelope_id: str) -> dict[str, Any]:
        """Wait for the first acknowledgement of `envelope_id`."""
        wait_until(lambda: self.acks_of(envelope_id), what=f"the acknowledgement of {envelope_id}")
        return self.acks_of(envelope_id)[0]

    def stop(self) -> None:
        self._server.shutdown()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def socket_slack(fake_slack) -> Iterator[SocketSlack]:
    server = SocketSlack()
    fake_slack.socket_mode_url = server.url
    yield server
    server.stop()


@pytest.fixture
def socket_runtime(fake_slack, database_url, engine) -> Iterator[Runtime]:
    settings = make_settings(fake_slack, database_url, slack_app_token="xapp-test", slack_signing_secret=None)
    runtime = build_app(settings, engine=engine)  # the reply pool, as in production
    yield runtime
    runtime.after_ack.shutdown()


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def runner(socket_runtime, socket_slack, clock) -> Iterator[SocketModeRunner]:
    runner = SocketModeRunner(socket_runtime.app, "xapp-test", clock=clock)
    runner.connect()
    wait_until(lambda: socket_slack.connections, what="the bot to connect")
    yield runner
    runner.close()


def command_envelope(envelope_id: str, text: str, fake_slack, *, user_id: str = MENTEE) -> dict[str, Any]:
    return {"envelope_id": envelope_id, "type": "slash_commands", "accepts_response_payload": True,
            "payload": {"command": "/mentoring", "text": text, "user_id": user_id, "team_id": "T0001",
                        "channel_id": "C0000GEN", "api_app_id": "A0001", "trigger_id": f"trig-{envelope_id}",
                        "response_url": fake_slack.response_url + envelope_id}}


def home_opened_envelope(envelope_id: str, event_id: str, user_id: str, *, retry_attempt: int = 0
                         ) -> dict[str, Any]:
    return {"envelope_id": envelope_id, "type": "events_api", "accepts_response_payload": False,
            "retry_attempt": retry_attempt, "retry_reason": "timeout" if retry_attempt else "",
            "payload": {"token": "x", "team_id": "T0001", "api_app_id": "A0001", "type": "event_callback",
                        "event_id": event_id, "event_time": 1767000000,
                        "event": {"type": "app_home_opened", "user": user_id, "channel": "DHOME", "tab": "home"}}}


def publishes_for(fake_slack, user_id: str) -> int:
    return sum(1 for call in fake_slack.calls_to("views.publish") if call.params.get("user_id") == user_id)


def test_socket_mode_receives_a_command_acks_it_and_answers(tmp_path, fake_slack, socket_slack, database_url):
    metrics_port = _free_port()
    env = mentorbot_env(fake_slack, database_url, SLACK_APP_TOKEN="xapp-test", SLACK_SIGNING_SECRET="",
                        MENTORBOT_SWEEP_MINUTES="60", MENTORBOT_METRICS_PORT=str(metrics_port))
    process = subprocess.Popen([MENTORBOT, "run"], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: socket_slack.connections or process.poll() is not None, 30, "the bot to connect")
        socket_slack.send(command_envelope("env-1", "help", fake_slack))
        ack = socket_slack.ack_of("env-1")
        wait_until(lambda: fake_slack.responses, what="the reply to the response_url")
        base = f"http://127.0.0.1:{metrics_port}"
        with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
            health = (response.status, json.loads(response.read()))
        with urllib.request.urlopen(base + "/metrics", timeout=5) as response:
            metrics = response.read().decode()
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=15)
    assert ack["envelope_id"] == "env-1"
    assert fake_slack.calls_to("apps.connections.open"), output
    assert "/mentoring checkin" in json.dumps(fake_slack.responses[0].params)
    assert health == (200, {"ok": True, "database": "ok", "socket_mode": "open"}), output
    assert 'mentorbot_ack_latency_seconds_count{kind="command"} 1.0' in metrics, metrics
    # One connection, or more when the client replaced a slow one (under load its pings can go unanswered).
    assert re.search(r'mentorbot_slack_api_calls_total\{method="apps.connections.open",outcome="ok"\} [1-9]',
                     metrics), metrics
    assert "Traceback" not in output, output


@pytest.mark.parametrize("code", ["invalid_auth", "token_revoked", "not_authed"])
def test_a_refused_app_token_stops_run_with_one_line_and_exit_2(tmp_path, fake_slack, socket_slack, database_url,
                                                                  code):
    fake_slack.fail("apps.connections.open", error=code)
    env = mentorbot_env(fake_slack, database_url, SLACK_APP_TOKEN="xapp-revoked", SLACK_SIGNING_SECRET="")
    result = run_cli(["run"], env, tmp_path)
    assert result.returncode == 2, result.stderr
    [line] = [line for line in result.stderr.splitlines() if "mentorbot:" in line]
    assert f"Slack refused SLACK_APP_TOKEN ({code})" in line and "connections:write" in line
    assert "Traceback" not in result.stderr
    assert socket_slack.connections == []


def test_a_bot_token_where_the_app_token_belongs_stops_run_before_calling_slack(tmp_path, fake_slack,
                                                                                 database_url):
    env = mentorbot_env(fake_slack, database_url, SLACK_APP_TOKEN="xoxb-a-bot-token", SLACK_SIGNING_SECRET="")
    result = run_cli(["run"], env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "mentorbot: SLACK_APP_TOKEN does not start with xapp- (it holds a xoxb- token). Create an app-level token "
        "with connections:write (Basic Information page), or unset it for HTTP mode."]
    assert fake_slack.calls == []


def test_an_unreachable_socket_mode_endpoint_stops_run_with_one_line(tmp_path, fake_slack, database_url):
    fake_slack.socket_mode_url = f"ws://127.0.0.1:{_free_port()}/link"  # nothing listens there
    env = mentorbot_env(fake_slack, database_url, SLACK_APP_TOKEN="xapp-test", SLACK_SIGNING_SECRET="")
    result = run_cli(["run"], env, tmp_path)
    assert result.returncode == 1
    [line] = [line for line in result.stderr.splitlines() if "mentorbot:" in line]
    assert "cannot open the Socket Mode connection (ConnectionRefusedError)" in line
    assert "Traceback" not in result.stderr


def test_check_tries_the_app_token_once_in_socket_mode(tmp_path, fake_slack, socket_slack, database_url):
    env = mentorbot_env(fake_slack, database_url, SLACK_APP_TOKEN="xapp-test", SLACK_SIGNING_SECRET="")
    result = run_cli(["check"], env, tmp_path)
    assert result.returncode == 0, result.stdout
    assert "✓ socket mode: SLACK_APP_TOKEN opens a connection" in result.stdout
    assert len(fake_slack.calls_to("apps.connections.open")) == 1


def test_check_reports_a_revoked_app_token(tmp_path, fake_slack, socket_slack, database_url):
    fake_slack.fail("apps.connections.open", error="token_revoked")
    env = mentorbot_env(fake_slack, database_url, SLACK_APP_TOKEN="xapp-revoked", SLACK_SIGNING_SECRET="")
    result = run_cli(["check"], env, tmp_path)
    assert result.returncode == 1
    assert "✗ socket mode: Slack refused SLACK_APP_TOKEN (token_revoked)" in result.stdout
    assert "all well" not in result.stdout


def test_a_modal_submission_with_bad_fields_is_answered_with_errors_in_the_ack(runner, socket_slack, fake_slack,
                                                                               engine):
    with Session(engine, expire_on_commit=False) as session:
        pair = make_pair(session, phase=Phase.DIRECTION)
        session.commit()
    values = checkin_values(met_on="not-a-date")
    socket_slack.send({"envelope_id": "env-modal", "type": "interactive", "accepts_response_payload": True,
                       "payload": {"type": "view_submission", "team": {"id": "T0001"},
                                   "user": {"id": MENTEE, "team_id": "T0001"}, "api_app_id": "A0001",
                                   "view": {"id": "V0001", "type": "modal", "callback_id": CHECKIN_VIEW,
                                            "private_metadata": str(pair.id), "state": {"values": values}}}})
    ack = socket_slack.ack_of("env-modal")
    assert ack["payload"]["response_action"] == "errors"
    assert list(ack["payload"]["errors"]) == [CHECKIN_MET_ON_BLOCK]
    with Session(engine) as session:
        assert list(session.exec(select(CheckIn))) == []


def test_an_event_resent_with_the_same_event_id_is_handled_once(runner, socket_slack, fake_slack):
    socket_slack.send(home_opened_envelope("env-a", "Ev0001", MENTOR))
    socket_slack.ack_of("env-a")
    wait_until(lambda: publishes_for(fake_slack, MENTOR) == 1, what="the Home tab to be published")
    socket_slack.send(home_opened_envelope("env-b", "Ev0001", MENTOR, retry_attempt=1))
    socket_slack.send(home_opened_envelope("env-c", "Ev0002", OTHER))  # handled after the resend, in order
    assert socket_slack.ack_of("env-b")["envelope_id"] == "env-b"
    socket_slack.ack_of("env-c")
    wait_until(lambda: publishes_for(fake_slack, OTHER) == 1, what="the second event's Home tab")
    assert publishes_for(fake_slack, MENTOR) == 1


def test_a_refresh_requested_disconnect_reconnects_and_loses_or_repeats_nothing(runner, socket_slack, fake_slack):
    socket_slack.send(home_opened_envelope("env-1", "Ev1001", MENTOR))
    socket_slack.ack_of("env-1")
    socket_slack.send({"type": "disconnect", "reason": "refresh_requested",
                       "debug_info": {"host": "local"}}, on=0)
    wait_until(lambda: len(socket_slack.connections) == 2, what="a second connection")
    wait_until(lambda: runner.watch.status() == "open", what="the new connection to be the current one")
    # Slack redelivers the event it may not have seen acknowledged, and sends new work on the new connection.
    socket_slack.send(home_opened_envelope("env-1", "Ev1001", MENTOR, retry_attempt=1), on=1)
    socket_slack.send(home_opened_envelope("env-2", "Ev1002", OTHER), on=1)
    socket_slack.send(command_envelope("env-3", "help", fake_slack), on=1)
    socket_slack.ack_of("env-2")
    socket_slack.ack_of("env-3")
    wait_until(lambda: len(socket_slack.acks_of("env-1")) == 2, what="the redelivered event's acknowledgement")
    wait_until(lambda: publishes_for(fake_slack, OTHER) == 1, what="the event sent after the reconnect")
    wait_until(lambda: len(fake_slack.responses) == 1, what="the command's reply")
    assert publishes_for(fake_slack, MENTOR) == 1
    assert len(fake_slack.calls_to("apps.connections.open")) == 2


def test_healthz_follows_the_connection_and_the_database(runner, socket_slack, socket_runtime, clock):
    server = serve_ops(build_ops_app(socket_runtime.engine, runner.watch), 0, host="127.0.0.1")
    base = f"http://127.0.0.1:{server.port}"
    try:
        assert health(base) == (200, "open")
        socket_slack.stop()  # Slack goes away, and the client cannot reconnect
        wait_until(lambda: not runner.handler.client.is_connected(), what="the connection to drop")
        assert health(base) == (200, "reconnecting")
        clock.now += RECONNECT_GRACE_SECONDS - 1
        assert health(base) == (200, "reconnecting")
        clock.now += 2
        assert health(base) == (503, "lost")
    finally:
        server.close()


def test_healthz_is_503_when_the_database_does_not_answer(runner):
    dead = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/nothing?connect_timeout=2")
    server = serve_ops(build_ops_app(dead, runner.watch), 0, host="127.0.0.1")
    try:
        status, body = fetch(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        server.close()
    assert status == 503
    assert body["ok"] is False and body["database"] == "OperationalError" and body["socket_mode"] == "open"


def fetch(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def health(base: str) -> tuple[int, str]:
    status, body = fetch(base + "/healthz")
    return status, body["socket_mode"]

