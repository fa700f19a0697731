"""`mentorbot run` answers Slack at once and does the work after: slow replies never hold up an answer."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import COORDINATOR, OTHER
from tests.fake_slack import FakeSlack
from tests.slack_requests import command_body, signed_headers
from tests.test_cli_and_server import _post, server  # noqa: F401  (`server` is a fixture)

SLOW_MEMBERS = [f"USLOW{i:04d}" for i in range(6)]


def _command(base: str, fake: FakeSlack, text: str, user_id: str, tag: str) -> float:
    """Send a signed `/mentoring` command; return the seconds until its HTTP 200."""
    body = command_body(text, user_id=user_id, response_url=f"{fake.response_url}{tag}")
    started = time.monotonic()
    assert _post(base + "/slack/events", body, signed_headers(body)) == 200
    return time.monotonic() - started


def _wait_for_replies(fake: FakeSlack, count: int, timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(fake.responses) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return [json.dumps(call.params) for call in fake.responses]


def test_an_answer_does_not_wait_behind_earlier_requests_slow_work(server, fake_slack):  # noqa: F811
    # Each of these people is new to the bot, so their `/mentoring pairs` asks Slack about them: slowly.
    for member in SLOW_MEMBERS:
        fake_slack.add_user(member, tz="UTC")
    fake_slack.delays["users.info"] = 1.5
    with ThreadPoolExecutor(len(SLOW_MEMBERS)) as pool:
        slow = list(pool.map(lambda member: _command(server, fake_slack, "pairs", member, member), SLOW_MEMBERS))
    quick = _command(server, fake_slack, "help", COORDINATOR, "help")

    # More slow work than Bolt's own listener pool has threads, yet every answer came at once.
    assert max(slow) < 1.0, slow
    assert quick < 1.0, quick
    replies = _wait_for_replies(fake_slack, len(SLOW_MEMBERS) + 1)
    assert len(replies) == len(SLOW_MEMBERS) + 1, "every command still gets its reply"
    assert any("/mentoring checkin" in reply for reply in replies), "the help text arrived"


def test_a_failure_after_the_answer_still_tells_the_user(server, fake_slack):  # noqa: F811
    # Slack fails to describe this person (a fault, not a stranger) after the command was answered.
    fake_slack.fail("users.info", error="fatal_error", times=5)
    assert _command(server, fake_slack, "pairs", OTHER, "lost") < 3
    [reply] = _wait_for_replies(fake_slack, 1)
    assert "something went wrong" in reply
