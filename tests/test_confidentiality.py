"""What a pair says stays in the pair: a private note reaches its author alone; nothing is stored in plain text.

Two unique strings are planted through the real check-in modal; then every surface that renders pairs is driven
and everything Slack received is searched for them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, SQLModel

from bot.blocks.ids import CHECKIN_VIEW
from bot.domain.models import Phase
from tests.conftest import COORDINATOR, MENTEE, MENTOR, is_postgres
from tests.factories import make_goal, make_pair
from tests.test_checkin_modal import checkin_values, days_ago

PRIVATE = "PRIVNOTE-zebra-7f3a-quartz"
SHARED = "SHAREDTXT-otter-91bd-marble"
PAIR_CHANNEL = "GPAIR0001"
# Who may read the shared text: the pair's conversation and the two members.
PAIR_AUDIENCE = {"channel:GPAIR0001", "channel:DMENTEE1", "channel:DMENTOR1", f"home:{MENTEE}", f"home:{MENTOR}"}


def audiences(fake_slack, needle: str) -> set[str]:
    """Return who received `needle`: a Home's owner, a channel, or a response_url reply."""
    found = set()
    for call in fake_slack.calls + fake_slack.responses:
        if needle not in json.dumps(call.params, ensure_ascii=False):
            continue
        if call.method == "views.publish":
            found.add(f"home:{call.params['user_id']}")
        elif call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            found.add(f"channel:{call.params['channel']}")
        else:
            found.add(call.method)
    return found


@pytest.fixture
def planted(slack, fake_slack, engine):
    """A direction pair with a goal, and a check-in saved by the mentee through the modal."""
    with Session(engine, expire_on_commit=False) as session:
        pair = make_pair(session, phase=Phase.DIRECTION, started_on=days_ago(30))
        goal = make_goal(session, pair, text="Run a workshop")
        session.commit()
    response = slack.view_submission(
        user_id=MENTEE, callback_id=CHECKIN_VIEW, private_metadata=str(pair.id),
        values=checkin_values(shared=SHARED, private=PRIVATE, next_on=days_ago(-7).isoformat(),
                              goals={goal.id: "on_track"}),
    )
    assert response.status == 200
    assert SHARED in json.dumps(fake_slack.posted(PAIR_CHANNEL))  # the recap really went out
    return pair


def open_home(slack, user_id: str) -> None:
    slack.event({"type": "app_home_opened", "user": user_id, "channel": "D0HOME", "tab": "home"})


def test_the_private_note_reaches_only_its_authors_home(slack, fake_slack, planted):
    for user in (MENTEE, MENTOR, COORDINATOR):
        open_home(slack, user)
    for user, words in ((MENTOR, "pairs"), (MENTOR, "goals"), (MENTOR, "phase"), (COORDINATOR, "pairs")):
        slack.command(words, user_id=user)

    assert audiences(fake_slack, PRIVATE) == {f"home:{MENTEE}"}
    assert audiences(fake_slack, SHARED) <= PAIR_AUDIENCE
    assert "channel:GPAIR0001" in audiences(fake_slack, SHARED)
    assert f"home:{MENTEE}" in audiences(fake_slack, PRIVATE)  # the author does see their note


def test_the_partners_and_coordinators_homes_carry_no_note_text(slack, fake_slack, planted):
    fake_slack.reset_calls()
    open_home(slack, MENTOR)
    open_home(slack, COORDINATOR)
    published = json.dumps([c.params for c in fake_slack.calls_to("views.publish")])
    assert len(fake_slack.calls_to("views.publish")) == 2
    assert PRIVATE not in published
    assert SHARED not in json.dumps(fake_slack.calls_to("views.publish")[1].params)


def test_the_summary_and_the_scheduled_nudges_carry_no_note_text(slack, fake_slack, runtime, planted):
    services = runtime.services
    slack.command("summary", user_id=COORDINATOR)
    assert fake_slack.posted("CSUMMARY1"), "the summary was posted"
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    before = len(fake_slack.posted())
    for hours in range(0, 24 * 10, 3):  # ten days of sweeps, through working hours in every zone
        services.sweep.run(now=start + timedelta(hours=hours))
    services.reports.post_summary(actor=COORDINATOR, now=start + timedelta(days=7))
    assert len(fake_slack.posted()) > before + 1, "the sweeps delivered nudges to check"

    assert audiences(fake_slack, PRIVATE) == {f"home:{MENTEE}"}  # from the save, the author's Home only
    assert audiences(fake_slack, SHARED) <= PAIR_AUDIENCE
    assert SHARED not in json.dumps(fake_slack.posted("CSUMMARY1"))


def test_the_export_carries_no_note_text(runtime, planted):
    exported = runtime.services.reports.export_csv(datetime.now(UTC))
    assert str(planted.id) in exported or "UMENTEE1" in exported  # the pair is in it
    assert PRIVATE not in exported and SHARED not in exported


def test_the_database_holds_neither_string_in_plain_text(engine, settings, planted):
    with engine.connect() as connection:
        checkins = connection.execute(text("SELECT * FROM checkin")).all()
        notes = connection.execute(text("SELECT * FROM private_note")).all()
        everything = [connection.execute(text(f'SELECT * FROM "{table.name}"')).all()
                      for table in SQLModel.metadata.sorted_tables]
    assert len(checkins) == 1 and len(notes) == 1
    for dump in (str(checkins), str(notes), str(everything)):
        assert PRIVATE not in dump and SHARED not in dump
    if is_postgres():
        return
    database = Path(settings.database_url.removeprefix("sqlite:///"))
    raw = b"".join(p.read_bytes() for p in (database, Path(f"{database}-wal")) if p.exists())
    assert raw, "the SQLite file was read"
    for needle in (PRIVATE, SHARED):
        assert needle.encode() not in raw
        assert needle.encode("utf-16-le") not in raw
