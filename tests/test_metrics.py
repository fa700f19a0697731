"""`GET /metrics` on a real HTTP server (waitress, the same WSGI app `mentorbot run` serves on PORT).

The metrics are the process's own, so each test compares what it reads before and after what it does.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from bot.domain.models import NudgeKind, Phase
from bot.http import build_wsgi_app
from bot.socket_mode import serve_ops
from scheduler.jobs import send_due_nudges
from tests.conftest import MENTEE, MENTOR
from tests.factories import make_checkin, make_pair, make_person
from tests.slack_requests import SIGNING_SECRET, command_body, signed_headers


@pytest.fixture
def base_url(runtime) -> Iterator[str]:
    server = serve_ops(build_wsgi_app(runtime.app, runtime.engine, signing_secret=SIGNING_SECRET), 0, host="127.0.0.1")
    yield f"http://127.0.0.1:{server.port}"
    server.close()


def scrape(base_url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics and return every sample as {(name, sorted labels): value}."""
    with urllib.request.urlopen(base_url + "/metrics", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        text = response.read().decode()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def total(samples: dict, name: str, **labels: str) -> float:
    """Sum the samples of `name` whose labels include `labels`."""
    return sum(value for (sample, got), value in samples.items()
               if sample == name and set(labels.items()) <= set(got))


def delta(before: dict, after: dict, name: str, **labels: str) -> float:
    return total(after, name, **labels) - total(before, name, **labels)


def test_metrics_show_a_sweeps_nudges_duration_and_slack_calls(runtime, engine, fake_slack, base_url):
    with Session(engine) as session:
        seen = datetime(2026, 1, 27, 9, tzinfo=UTC)
        make_person(session, MENTOR, tz="UTC", info_fetched_at=seen)
        make_person(session, MENTEE, tz="UTC", info_fetched_at=seen)
        pair = make_pair(session, phase=Phase.PROGRESSION)
        make_checkin(session, pair, runtime.services.ctx.cipher)
        session.commit()
    fake_slack.users[MENTEE]["dm_error"] = "messages_tab_disabled"
    fake_slack.fail("chat.postMessage", error="fatal_error", times=2)  # both nudges wait for the next sweep
    before = scrape(base_url)

    first = datetime(2026, 1, 27, 10, tzinfo=UTC)
    with time_machine.travel(first, tick=False):
        send_due_nudges(runtime.services)
    middle = scrape(base_url)
    with time_machine.travel(first + timedelta(minutes=5), tick=False):
        send_due_nudges(runtime.services)
    after = scrape(base_url)

    assert delta(before, middle, "mentorbot_nudges_total", outcome="deferred") == 2
    assert delta(before, middle, "mentorbot_nudges_total", outcome="sent") == 0
    assert delta(middle, after, "mentorbot_nudges_total", outcome="sent") == 1
    assert delta(middle, after, "mentorbot_nudges_total", outcome="failed") == 1
    kinds = {dict(labels)["kind"] for (name, labels), value in after.items()
             if name == "mentorbot_nudges_total" and value}
    assert kinds and kinds <= {kind.value for kind in NudgeKind}
    assert delta(before, after, "mentorbot_sweep_duration_seconds_count") == 2
    assert delta(before, after, "mentorbot_sweep_duration_seconds_sum") > 0
    calls = "mentorbot_slack_api_calls_total"
    assert delta(before, after, calls, method="chat.postMessage", outcome="fatal_error") == 2
    assert delta(before, after, calls, method="chat.postMessage", outcome="messages_tab_disabled") == 1
    posted = [m["channel"] for m in fake_slack.posted()]
    assert delta(before, after, calls, method="chat.postMessage", outcome="ok") == len(posted), posted
    assert "DMENTOR1" in posted


def test_a_429_is_counted_even_when_the_client_waits_it_out(runtime, fake_slack, base_url):
    fake_slack.fail("users.info", status=429, retry_after=0)
    before = scrape(base_url)
    assert runtime.services.ctx.gateway.user_info(MENTOR).user_id == MENTOR
    after = scrape(base_url)
    calls = "mentorbot_slack_api_calls_total"
    assert delta(before, after, calls, method="users.info", outcome="ratelimited") == 1
    assert delta(before, after, calls, method="users.info", outcome="ok") == 1


def test_acknowledgements_are_timed_by_kind(fake_slack, base_url):
    before = scrape(base_url)
    body = command_body("help", user_id=MENTEE, response_url=fake_slack.response_url + "m1")
    request = urllib.request.Request(base_url + "/slack/events", data=body.encode(), method="POST",
                                     headers={k: v[0] for k, v in signed_headers(body).items()})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
    after = scrape(base_url)
    assert delta(before, after, "mentorbot_ack_latency_seconds_count", kind="command") == 1
    assert delta(before, after, "mentorbot_ack_latency_seconds_bucket", kind="command", le="+Inf") == 1
