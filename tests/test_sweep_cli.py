"""`mentorbot sweep`: one pass as of --now, or a dry-run table, through bot.cli.main."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from bot.cli import main
from bot.crypto import NoteCipher
from bot.db import make_engine, migrate
from bot.domain.models import Nudge, NudgeStatus, Phase
from tests.conftest import COORDINATOR, MENTEE, MENTOR, TEST_ENCRYPTION_KEY
from tests.factories import make_checkin, make_pair, make_person

SEEN = datetime(2026, 3, 9, 9, tzinfo=UTC)


@pytest.fixture
def cli_db(tmp_path, fake_slack, monkeypatch):  # type: ignore[no-untyped-def]
    """A migrated SQLite file with one silent pair (Los Angeles mentor, Tokyo mentee), and the env to reach it."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    migrate(engine)
    with Session(engine) as session:
        make_person(session, MENTOR, tz="America/Los_Angeles", info_fetched_at=SEEN)
        make_person(session, MENTEE, tz="Asia/Tokyo", info_fetched_at=SEEN)
        pair = make_pair(session, phase=Phase.PROGRESSION)
        make_checkin(session, pair, NoteCipher([TEST_ENCRYPTION_KEY]), met_on=SEEN.date().replace(day=1))
        session.commit()
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "MENTORBOT_SUMMARY_CHANNEL", "MENTORBOT_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_API_URL", fake_slack.url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MENTORBOT_ENCRYPTION_KEY", TEST_ENCRYPTION_KEY)
    monkeypatch.setenv("MENTORBOT_COORDINATORS", COORDINATOR)
    yield engine
    engine.dispose()


def test_a_dry_run_prints_the_due_nudges_in_local_time_and_sends_nothing(cli_db, fake_slack, capsys):
    assert main(["sweep", "--dry-run", "--now", "2026-03-16T16:30:00Z"]) == 0
    out = capsys.readouterr().out
    assert "dry run: nothing sent" in out
    assert "RECIPIENT" in out and "LOCAL TIME" in out
    assert MENTOR in out and "how_is_it_going" in out and "Mon 2026-03-16 09:30 PDT" in out
    assert MENTEE not in out  # 01:30 in Tokyo
    assert fake_slack.posted() == []
    with Session(cli_db) as session:
        assert session.exec(select(Nudge)).all() == []


def test_a_sweep_sends_what_is_due_at_now(cli_db, fake_slack, capsys):
    assert main(["sweep", "--now", "2026-03-17T01:00:00+00:00"]) == 0  # Tokyo Tue 10:00
    assert "Sent 1," in capsys.readouterr().out
    assert [m["channel"] for m in fake_slack.posted()] == ["DMENTEE1"]
    assert main(["sweep", "--now", "2026-03-17T01:05:00+00:00"]) == 0
    assert len(fake_slack.posted()) == 1


def test_a_dry_run_lists_undeliverable_nudges_with_their_reason(cli_db, fake_slack, capsys):
    fake_slack.fail("chat.postMessage", error="user_disabled")
    main(["sweep", "--now", "2026-03-17T01:00:00Z"])
    capsys.readouterr()
    main(["sweep", "--dry-run", "--now", "2026-03-17T01:10:00Z"])
    out = capsys.readouterr().out
    assert "Undeliverable (1):" in out and "UMENTEE1  how_is_it_going: user_disabled" in out
    with Session(cli_db) as session:
        assert [n.status for n in session.exec(select(Nudge)) if n.recipient == MENTEE] == [NudgeStatus.UNDELIVERABLE]


def test_a_malformed_now_is_refused_in_one_line(cli_db, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["sweep", "--now", "next tuesday"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--now 'next tuesday' is not an ISO-8601 time" in err and len(err.strip().splitlines()) == 1


def test_a_refused_token_makes_the_sweep_fail_loudly(cli_db, fake_slack, capsys):
    fake_slack.fail("chat.postMessage", error="token_revoked")
    assert main(["sweep", "--now", "2026-03-17T01:00:00Z"]) == 1
    assert "Slack refused the bot token" in capsys.readouterr().err
