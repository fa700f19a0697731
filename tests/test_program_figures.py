"""One program, three readers: the weekly summary, the coordinator's Home and the export agree figure by figure."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlmodel import Session

from bot.app import build_app
from bot.domain.figures import is_help_raised
from bot.domain.models import HelpRequest, PairStatus, Phase
from tests.conftest import COORDINATOR, MENTOR, make_settings
from tests.factories import make_checkin, make_pair, make_person
from tests.slack_requests import SlackDriver

# Sunday 12:00 UTC is already Monday 01:00 in Auckland, the program's zone: the program's today is 16 March.
NOW = datetime(2026, 3, 15, 12, tzinfo=UTC)
PROGRAM_ZONE = "Pacific/Auckland"


@pytest.fixture
def runtime(fake_slack, database_url, engine):  # type: ignore[no-untyped-def]
    return build_app(make_settings(fake_slack, database_url, timezone=PROGRAM_ZONE), engine=engine,
                     process_before_response=True)


@pytest.fixture
def program(engine, runtime):  # type: ignore[no-untyped-def]
    """Six pairs: silent for exactly the at-risk limit, a back-dated check-in after a raised hand, an answered
    hand, a healthy pair, a paused one and an ended one."""
    cipher = runtime.services.ctx.cipher
    with Session(engine) as session:
        # A zone Slack never sends: the coordinator's Home must fall back to the program's zone.
        make_person(session, COORDINATOR, tz="Mars/Olympus_Mons", info_fetched_at=NOW)
        started = date(2026, 1, 5)
        pairs = {name: make_pair(session, mentee_id=f"UME{name.upper()}", channel_id=f"G{name.upper()}",
                                 phase=Phase.PROGRESSION, started_on=started)
                 for name in ("silent", "backdated", "answered", "healthy")}
        pairs["paused"] = make_pair(session, mentee_id="UMEPAUSED", channel_id="GPAUSED", status=PairStatus.PAUSED,
                                    started_on=started)
        pairs["ended"] = make_pair(session, mentee_id="UMEENDED", channel_id="GENDED", status=PairStatus.ENDED,
                                   phase=Phase.ENDED, started_on=started)
        # 42 days before the program's 16 March is three 14-day cadences: at risk there, not yet in UTC.
        make_checkin(session, pairs["silent"], cipher, met_on=date(2026, 2, 2), rating=2)
        backdated = pairs["backdated"]
        make_checkin(session, backdated, cipher, met_on=date(2026, 3, 12), rating=4,
                     created_at=datetime(2026, 3, 12, 8, tzinfo=UTC))
        session.add(HelpRequest(pair_id=backdated.id, person_id=backdated.mentee_id,
                                created_at=datetime(2026, 3, 13, 9, tzinfo=UTC)))
        # Logged after the hand went up, but of a meeting before it: the hand is still up.
        make_checkin(session, backdated, cipher, met_on=date(2026, 3, 5), rating=2,
                     created_at=datetime(2026, 3, 14, 9, tzinfo=UTC))
        answered = pairs["answered"]
        session.add(HelpRequest(pair_id=answered.id, person_id=answered.mentee_id,
                                created_at=datetime(2026, 3, 2, 9, tzinfo=UTC)))
        make_checkin(session, answered, cipher, met_on=date(2026, 3, 9), rating=3)
        make_checkin(session, pairs["healthy"], cipher, met_on=date(2026, 3, 14), rating=5)
        # 29 days before the program's today: outside the four-week window.
        make_checkin(session, pairs["paused"], cipher, met_on=date(2026, 2, 15), rating=1)
        make_checkin(session, pairs["ended"], cipher, met_on=date(2026, 3, 10), rating=1)
        session.commit()
        return {name: pair.id for name, pair in pairs.items()}


AT_RISK_LINE = re.compile(r"<@(\w+)> & <@(\w+)>:? — ?(\d+) days since the last check-in|"
                          r"<@(\w+)> & <@(\w+)>: (\d+) days since the last check-in")


def at_risk_of(text: str) -> dict[str, int]:
    """Return {mentee: days silent} of the at-risk lines in a rendered message or view."""
    found = {}
    for match in AT_RISK_LINE.finditer(text):
        groups = [g for g in match.groups() if g is not None]
        found[groups[1]] = int(groups[2])
    return found


def test_summary_home_and_export_give_the_same_figures(runtime, fake_slack, engine, program):
    slack = SlackDriver(runtime.app, fake_slack.response_url)
    runtime.services.reports.post_summary(actor=COORDINATOR, now=NOW)
    [summary] = fake_slack.posted("CSUMMARY1")
    summary_text = json.dumps(summary["blocks"], ensure_ascii=False)
    fake_slack.reset_calls()
    with time_machine.travel(NOW, tick=False):
        slack.event({"type": "app_home_opened", "user": COORDINATOR, "channel": "D0HOME", "tab": "home"})
        exported = runtime.services.reports.export_csv(NOW)
    [publish] = fake_slack.calls_to("views.publish")
    home_text = json.dumps(publish.params["view"], ensure_ascii=False)
    rows = {row["mentee_id"]: row for row in csv.DictReader(io.StringIO(exported))}

    expected_at_risk = {"UMESILENT": 42, "UMEBACKDATED": 4}
    assert at_risk_of(summary_text) == expected_at_risk
    assert at_risk_of(home_text) == expected_at_risk
    assert {m for m, row in rows.items() if row["health"] == "at_risk"} == set(expected_at_risk)
    assert rows["UMEANSWERED"]["health"] == "on_track" and rows["UMEHEALTHY"]["health"] == "on_track"
    assert "asked for help" in summary_text

    assert "*4* active · *1* paused · *1* ended" in summary_text
    assert "*Active pairs:* 4   *Paused:* 1" in home_text
    statuses = [row["status"] for row in rows.values()]
    assert (statuses.count("active"), statuses.count("paused"), statuses.count("ended")) == (4, 1, 1)

    # Five check-ins met in the last four weeks (4, 2, 3, 5 and the ended pair's 1); the paused pair's is older.
    assert "Average rating* (last 4 weeks): 3.0" in summary_text
    assert "Check-ins in the last 4 weeks: 5 · average rating: 3.0" in home_text
    assert rows["UMEBACKDATED"]["last_checkin_on"] == "2026-03-12"
    assert rows["UMESILENT"]["last_checkin_on"] == "2026-02-02"
    assert MENTOR not in rows  # keyed by mentee: every pair has the same mentor


@pytest.mark.parametrize(("asked_at", "last_met_on", "zone", "raised"), [
    (None, date(2026, 3, 1), "UTC", False),  # nobody asked
    (datetime(2026, 3, 13, 9, tzinfo=UTC), None, "UTC", True),  # asked, never met
    (datetime(2026, 3, 13, 9, tzinfo=UTC), date(2026, 3, 12), "UTC", True),  # newest meeting before the hand
    (datetime(2026, 3, 13, 9, tzinfo=UTC), date(2026, 3, 13), "UTC", True),  # the same day: it may be why
    (datetime(2026, 3, 13, 9, tzinfo=UTC), date(2026, 3, 14), "UTC", False),  # met on a later day: answered
    # 11:30 UTC on the 13th is already the 14th in Auckland, so a meeting on the 14th does not answer it.
    (datetime(2026, 3, 13, 11, 30, tzinfo=UTC), date(2026, 3, 14), PROGRAM_ZONE, True),
    (datetime(2026, 3, 13, 9), date(2026, 3, 14), "UTC", False),  # SQLite's naive UTC reads the same
])
def test_a_raised_hand_counts_until_a_meeting_on_a_later_program_day(asked_at, last_met_on, zone, raised):
    assert is_help_raised(asked_at, last_met_on, ZoneInfo(zone)) is raised
