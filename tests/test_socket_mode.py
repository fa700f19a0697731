"""`mentorbot run` with SLACK_APP_TOKEN: Socket Mode, over a WebSocket server of ours on 127.0.0.1."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time

import pytest
from websockets.sync.server import ServerConnection, serve

from tests.test_cli_and_server import MENTORBOT, mentorbot_env


def test_socket_mode_receives_a_command_acks_it_and_answers(tmp_path, fake_slack, database_url):
    acks: queue.Queue[dict] = queue.Queue()

    def session(connection: ServerConnection) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1}))
        connection.send(json.dumps({
            "envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True,
            "payload": {"command": "/mentoring", "text": "help", "user_id": "UMENTEE1", "team_id": "T0001",
                        "channel_id": "C0000GEN", "api_app_id": "A0001", "trigger_id": "trig",
                        "response_url": fake_slack.response_url + "sm1"},
        }))
        for message in connection:
            acks.put(json.loads(message))

    with serve(session, "127.0.0.1", 0) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        fake_slack.socket_mode_url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}/link"
        env = mentorbot_env(fake_slack, database_url, SLACK_APP_TOKEN="xapp-test", SLACK_SIGNING_SECRET="",
                            MENTORBOT_SWEEP_MINUTES="60")
        process = subprocess.Popen([MENTORBOT, "run"], env=env, cwd=tmp_path,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            ack = acks.get(timeout=30)
            deadline = time.monotonic() + 15
            while not fake_slack.responses and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            process.terminate()
            try:
                output, _ = process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                output, _ = process.communicate()
            server.shutdown()
    assert ack["envelope_id"] == "env-1"
    assert fake_slack.calls_to("apps.connections.open"), output
    if not fake_slack.responses:
        pytest.fail("no reply reached the response_url:\n" + output)
    assert "/mentoring checkin" in json.dumps(fake_slack.responses[0].params)
