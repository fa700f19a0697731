"""Hostile and malformed requests against `mentorbot run` in HTTP mode: refused early, cheaply and quietly."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, func, select

from bot.blocks.ids import AGREEMENT_VIEW, CHECKIN_OPEN_ACTION, CHECKIN_VIEW, CLOSURE_REASON_ACTION_PREFIX
from bot.domain.models import Agreement, CheckIn, Goal, Pair, SeenOnce
from tests.conftest import MENTEE, MENTOR, OTHER, stamp_head
from tests.factories import make_pair
from tests.fake_slack import FakeSlack
from tests.slack_requests import SIGNING_SECRET, TEAM_ID, command_body
from tests.test_cli_and_server import MENTORBOT, _free_port, mentorbot_env

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
STRANGER = "UNOBODY1"  # users.info answers user_not_found

# What a careless client or an attacker sends: each must be refused without a traceback.
JUNK: list[tuple[str, bytes, str]] = [
    ("empty body", b"", FORM),
    ("invalid UTF-8", b"\xff\xfe\xfa", FORM),
    ("payload not JSON", b"payload=not-json", FORM),
    ("payload null", b"payload=null", FORM),
    ("payload a list", b"payload=%5B1%2C2%5D", FORM),
    ("payload a number", b"payload=42", FORM),
    ("payload without a type", b"payload=%7B%7D", FORM),
    ("payload with an empty view_submission", b"payload=%7B%22type%22%3A%22view_submission%22%7D", FORM),
    ("payload of bytes that are not UTF-8", b"payload=" + b"%FF" * 10, FORM),
    ("form body sent as JSON", b"command=%2Fmentoring&text=hi", JSON),
    ("deeply nested list", b"[" * 100_000 + b"]" * 100_000, JSON),
    ("deeply nested object", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, JSON),
    ("JSON null", b"null", JSON),
    ("JSON list", b"[]", JSON),
    ("broken JSON", b"{not json", JSON),
    ("form with nothing Slack sends", b"a=b", FORM),
    ("control bytes", b"\x00\x01", JSON),
]


def sign(body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": ts, "x-slack-signature": f"v0={digest}"}


@dataclass
class Bot:
    """A running `mentorbot run` and where its log goes."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmHWM in /proc")

    def post(self, body: bytes, content_type: str = FORM, *, signed: bool = True,
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        sent = {"content-type": content_type, **(sign(body) if signed else {}), **(headers or {})}
        request = urllib.request.Request(self.url, data=body, method="POST", headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


def start_bot(directory: Path, fake: FakeSlack, database_url: str) -> Bot:
    """Start `mentorbot run` logging to a file in `directory`; return once it answers /healthz."""
    directory.mkdir(exist_ok=True)
    port = _free_port()
    log = directory / "mentorbot.log"
    env = mentorbot_env(fake, database_url, PORT=str(port), MENTORBOT_SWEEP_MINUTES="60")
    with log.open("wb") as sink:
        process = subprocess.Popen([MENTORBOT, "run"], env=env, cwd=directory, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                pass
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("mentorbot run did not start: " + log.read_text())
            time.sleep(0.1)
            continue
        # The scheduler's first sweep runs at start: once APScheduler logs it done, the log lines that follow
        # are the test's requests' alone.
        if "executed successfully" in log.read_text():
            return Bot(process, port, log)
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the first sweep of mentorbot run did not finish: " + log.read_text())
        time.sleep(0.1)


def stop_bot(bot: Bot) -> None:
    bot.process.terminate()
    try:
        bot.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        bot.process.kill()


@pytest.fixture
def bot(tmp_path, fake_slack, database_url, engine) -> Iterator[Bot]:
    stamp_head(engine)
    running = start_bot(tmp_path / "one", fake_slack, database_url)
    yield running
    stop_bot(running)


def wait_for_responses(fake: FakeSlack, count: int, timeout: float = 20) -> None:
    """Wait until the bot, another process, has posted `count` replies to response_urls."""
    deadline = time.monotonic() + timeout
    while len(fake.responses) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(fake.responses) >= count, f"{len(fake.responses)} of {count} replies"


def wait_for_replay_lines(bot: Bot, count: int, *, after: int = 0, timeout: float = 20) -> None:
    """Wait until the bot has logged `count` ignored replays (it decides after answering Slack)."""
    deadline = time.monotonic() + timeout
    while sum("replayed" in line for line in bot.lines()[after:]) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sum("replayed" in line for line in bot.lines()[after:]) == count


def count_rows(engine, model: type) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def interaction(payload: dict) -> bytes:
    payload = {"team": {"id": TEAM_ID}, "api_app_id": "A0001", "token": "legacy", "trigger_id": "t.1", **payload}
    return urlencode({"payload": json.dumps(payload)}).encode()


def no_tracebacks(bot: Bot) -> None:
    text = bot.log.read_text(errors="replace")
    assert "Traceback" not in text
    assert " ERROR " not in text


@pytest.fixture
def seeded_pair(engine) -> int:
    today = date.today()
    with Session(engine) as session:
        pair = make_pair(session, started_on=today - timedelta(days=20), ends_on=today + timedelta(days=150))
        session.commit()
        return pair.id or 0


# ---- the junk ------------------------------------------------------------------------------------------


def test_unsigned_junk_is_refused_401_with_one_warning_each(bot):
    before = len(bot.lines())
    statuses = [bot.post(body, content_type, signed=False)[0] for _name, body, content_type in JUNK]
    assert statuses == [401] * len(JUNK)
    new = bot.lines()[before:]
    assert len(new) == len(JUNK), new
    assert all(" WARNING " in line for line in new)
    no_tracebacks(bot)


def test_signed_junk_is_refused_400_with_one_warning_each(bot, engine):
    before = len(bot.lines())
    statuses = {name: bot.post(body, content_type)[0] for name, body, content_type in JUNK}
    assert statuses == {name: 400 for name, _b, _c in JUNK}
    new = bot.lines()[before:]
    assert len(new) == len(JUNK), new
    assert all(" WARNING " in line for line in new)
    no_tracebacks(bot)
    assert count_rows(engine, SeenOnce) == 0  # refused before the replay guard stored anything


def test_well_formed_requests_no_listener_takes_are_logged_in_one_line_each(bot):
    # Slack can send what the manifest never asked for (an old button, a shortcut, an event type
    # subscribed elsewhere): one warning naming it, not Bolt's multi-line code suggestion.
    unhandled = [
        interaction({"type": "block_actions", "user": {"id": MENTEE}, "actions": [
            {"action_id": "no_such_action", "block_id": "b", "type": "button", "value": "1"}]}),
        interaction({"type": "shortcut", "callback_id": "no_such_shortcut", "user": {"id": MENTEE}}),
        json.dumps({"type": "event_callback", "team_id": TEAM_ID, "api_app_id": "A0001", "event_id": "Ev0NOLISTEN",
                    "event_time": int(time.time()), "event": {"type": "reaction_added", "user": MENTEE}}).encode(),
    ]
    before = len(bot.lines())
    statuses = [bot.post(body, FORM if not body.startswith(b"{") else "application/json")[0] for body in unhandled]
    assert statuses == [200] * len(unhandled)  # acknowledged, so Slack neither retries nor marks a failure
    new = [line for line in bot.lines()[before:] if " slack request acknowledged " not in line]
    assert len(new) == len(unhandled), new
    assert all(" WARNING " in line and "no listener for" in line for line in new), new
    assert [line.split("no listener for ")[1].split(" ")[0] for line in new] == [
        "action:no_such_action", "shortcut", "event:reaction_added"]
    no_tracebacks(bot)


def test_a_stale_or_forged_signature_is_refused_401(bot):
    body = command_body("help", user_id=MENTEE, response_url="http://127.0.0.1:9/none")
    stale = sign(body.encode(), timestamp=int(time.time()) - 6 * 60)
    assert bot.post(body.encode(), headers=stale)[0] == 401
    assert bot.post(body.encode(), headers={"x-slack-signature": "v0=" + "0" * 64})[0] == 401
    assert bot.post(body.encode(), headers={"x-slack-request-timestamp": "1e9"})[0] == 401
    no_tracebacks(bot)


def _raw_post(port: int, head: str, chunks: Iterator[bytes]) -> bytes:
    """Send a request by hand, as far as the server lets us, then read its answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(head.encode())
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except OSError:
            pass  # the server answered and closed before taking the rest: what we want
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
        except OSError:
            pass
        return answer


HUNDRED_MB = 100 * 1024 * 1024


def test_an_unsigned_100_mb_body_is_refused_413_without_memory_growth(bot):
    peak = bot.peak_rss_mib()
    block = b"b" * 65536
    head = (f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\n"
            f"Content-Length: {HUNDRED_MB + 2}\r\n\r\n")
    answer = _raw_post(bot.port, head, iter([b"a=", *(block for _ in range(HUNDRED_MB // len(block)))]))
    assert answer.startswith(b"HTTP/1.1 413 ")
    chunked = f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\nTransfer-Encoding: chunked\r\n\r\n"
    pieces = (b"%x\r\n%s\r\n" % (len(block), block) for _ in range(HUNDRED_MB // len(block)))
    answer = _raw_post(bot.port, chunked, pieces)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert bot.peak_rss_mib() - peak < 50
    # Still serving.
    with urllib.request.urlopen(f"http://127.0.0.1:{bot.port}/healthz", timeout=5) as response:
        assert response.status == 200
    no_tracebacks(bot)


def test_a_signed_body_just_under_the_limit_is_read_and_its_long_command_refused(bot, fake_slack, engine,
                                                                               seeded_pair):
    # Far more text than Slack sends, but inside the body limit: refused before it is split into words.
    body = command_body("goal add " + "x " * 600_000, user_id=MENTEE, response_url=fake_slack.response_url + "long")
    assert bot.post(body.encode())[0] == 200
    wait_for_responses(fake_slack, 1)
    assert "40,000" in fake_slack.responses[0].params["text"]
    assert count_rows(engine, Goal) == 0
    no_tracebacks(bot)


# ---- garbled submissions and presses ------------------------------------------------------------------


def _submission(callback_id: str, view_extra: dict, user: str = MENTEE) -> bytes:
    view = {"id": "V1", "type": "modal", "callback_id": callback_id, **view_extra}
    return interaction({"type": "view_submission", "user": {"id": user, "team_id": TEAM_ID}, "view": view})


GARBLED_VIEWS = [
    {"private_metadata": "1", "state": {"values": ["not", "a", "dict"]}},
    {"private_metadata": "1", "state": "nothing"},
    {"private_metadata": "1", "state": {"values": {"block": "text", "other": {"action": 3}}}},
    {"state": {"values": {}}},
    {"private_metadata": "²", "state": {"values": {}}},
    {"private_metadata": '{"pair": 1e23, "channel": "D1", "ts": "1.0"}', "state": {"values": {}}},
    {"private_metadata": "99999999999999999999999", "state": {"values": {}}},
    {"private_metadata": '{"pair": true}', "state": {"values": {}}},
    {"private_metadata": 17, "state": {"values": {}}},
]


def test_garbled_view_submissions_are_answered_in_the_modal_and_store_nothing(bot, engine, seeded_pair):
    for callback_id in (CHECKIN_VIEW, AGREEMENT_VIEW):
        for extra in GARBLED_VIEWS:
            status, answer = bot.post(_submission(callback_id, extra))
            assert status == 200, (callback_id, extra)
            assert json.loads(answer)["response_action"] in ("errors", "update"), (callback_id, extra, answer)
    assert count_rows(engine, CheckIn) == 0
    assert count_rows(engine, Agreement) == 0
    no_tracebacks(bot)


@pytest.mark.parametrize("value", ["²", "1e23", "99999999999999999999999", "-1", "0", "", "1:2:3", "٣"])
def test_a_button_with_a_garbled_pair_id_gets_a_clear_private_answer(bot, fake_slack, seeded_pair, value):
    payload = {"type": "block_actions", "user": {"id": MENTEE, "team_id": TEAM_ID},
               "response_url": fake_slack.response_url + "press",
               "actions": [{"type": "button", "action_id": CHECKIN_OPEN_ACTION, "block_id": "b", "value": value,
                            "action_ts": "1.0"}]}
    assert bot.post(interaction(payload))[0] == 200
    wait_for_responses(fake_slack, 1)
    assert "doesn't point at a pair" in fake_slack.responses[0].params["text"]
    assert fake_slack.calls_to("views.open") == []
    no_tracebacks(bot)


# ---- people Slack will not describe -------------------------------------------------------------------


def test_a_stranger_running_a_coordinator_command_is_refused_in_words(bot, fake_slack, engine):
    body = command_body(f"pair <@{MENTOR}> <@{MENTEE}>", user_id=STRANGER, response_url=fake_slack.response_url + "s")
    assert bot.post(body.encode())[0] == 200
    wait_for_responses(fake_slack, 1)
    assert "can't find your Slack profile" in fake_slack.responses[0].params["text"]
    assert count_rows(engine, Pair) == 0
    no_tracebacks(bot)


@pytest.mark.parametrize("error", ["user_not_visible", "account_inactive"])
def test_an_unreadable_profile_pressing_a_coordinator_button_is_refused_in_words(bot, fake_slack, engine,
                                                                               seeded_pair, error):
    fake_slack.fail("users.info", error=error, times=5)
    payload = {"type": "block_actions", "user": {"id": OTHER, "team_id": TEAM_ID},
               "response_url": fake_slack.response_url + "r",
               "actions": [{"type": "button", "action_id": CLOSURE_REASON_ACTION_PREFIX + "completed", "block_id": "b",
                            "value": f"{seeded_pair}:completed", "action_ts": "1.0"}]}
    assert bot.post(interaction(payload))[0] == 200
    wait_for_responses(fake_slack, 1)
    assert "can't find your Slack profile" in fake_slack.responses[0].params["text"]
    with Session(engine) as session:
        assert session.get(Pair, seeded_pair).closure_reason is None
    no_tracebacks(bot)


# ---- replays ------------------------------------------------------------------------------------------


def test_a_replayed_signed_goal_add_adds_one_goal(bot, fake_slack, engine, seeded_pair):
    body = command_body('goal add "Ship the demo"', user_id=MENTEE, response_url=fake_slack.response_url + "g")
    headers = sign(body.encode())
    before = len(bot.lines())
    statuses = [bot.post(body.encode(), headers=headers)[0] for _ in range(20)]
    assert statuses == [200] * 20
    wait_for_replay_lines(bot, 19, after=before)
    wait_for_responses(fake_slack, 1)
    assert count_rows(engine, Goal) == 1
    assert len(fake_slack.responses) == 1
    no_tracebacks(bot)


def test_a_request_replayed_to_another_instance_is_ignored_there(bot, tmp_path, fake_slack, database_url, engine,
                                                                 seeded_pair):
    other = start_bot(tmp_path / "two", fake_slack, database_url)
    try:
        body = command_body('goal add "Ship the demo"', user_id=MENTEE, response_url=fake_slack.response_url + "g")
        headers = sign(body.encode())
        assert bot.post(body.encode(), headers=headers)[0] == 200
        assert other.post(body.encode(), headers=headers)[0] == 200
        wait_for_replay_lines(other, 1)
        wait_for_responses(fake_slack, 1)
        assert count_rows(engine, Goal) == 1
        no_tracebacks(other)
    finally:
        stop_bot(other)


# ---- seeded fuzz ---------------------------------------------------------------------------------------

FUZZ = settings(max_examples=60, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
WORDS = st.sampled_from(["goal", "add", "pair", "pause", "end", "resume", "phase", "next", "quiet", "on", "summary",
                         "due", "measure", "2026-13-40", "999999999999999999999", "<!channel>", "<@U1|x>", '"', "²",
                         "\u202e", "\x00", "pairs", "checkin", "help", "-1", "1e23"])
COMMAND_TEXT = st.one_of(st.text(max_size=300), st.lists(WORDS, max_size=30).map(" ".join))
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                     max_size=4),
                       max_leaves=20)


def test_fuzzed_command_texts_from_an_outsider_are_answered_and_store_nothing(bot, fake_slack, engine):
    sent = []

    @FUZZ
    @given(text=COMMAND_TEXT)
    def one(text: str) -> None:
        body = command_body(text, user_id=OTHER, response_url=f"{fake_slack.response_url}f{len(sent)}")
        sent.append(text)
        assert bot.post(body.encode())[0] == 200

    one()
    wait_for_responses(fake_slack, len(sent))
    assert count_rows(engine, Pair) == count_rows(engine, Goal) == 0
    no_tracebacks(bot)


def test_fuzzed_view_submissions_never_fail_and_store_nothing(bot, engine, seeded_pair):
    @FUZZ
    @given(metadata=st.one_of(JSONISH, JSONISH.map(json.dumps), st.text(max_size=30)), values=JSONISH,
           callback=st.sampled_from([CHECKIN_VIEW, AGREEMENT_VIEW]))
    def one(metadata: object, values: object, callback: str) -> None:
        status, _answer = bot.post(_submission(callback, {"private_metadata": metadata, "state": {"values": values}},
                                               user=OTHER))
        assert status == 200

    one()
    assert count_rows(engine, CheckIn) == count_rows(engine, Agreement) == 0
    no_tracebacks(bot)
