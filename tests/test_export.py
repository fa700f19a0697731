"""`mentorbot export`: a CSV of pairs with figures and dates, never note text."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.cli import main
from bot.crypto import NoteCipher
from bot.db import make_engine, migrate
from bot.domain.figures import EXPORT_COLUMNS, ProgramInputs, export_rows, tally_pairs
from bot.domain.models import ClosureReason, GoalStatus, HelpRequest, Pair, PairStatus, Phase
from bot.domain.outcomes import OUTCOME_EXPORT_COLUMNS
from tests.conftest import COORDINATOR, MENTEE, MENTOR, OTHER, TEST_ENCRYPTION_KEY
from tests.factories import make_checkin, make_goal, make_pair, make_person


def test_rows_count_checkins_goals_and_help_per_pair():
    first = Pair(id=1, mentor_id=MENTOR, mentee_id=MENTEE, phase=Phase.PROGRESSION, cadence_days=14,
                 started_on=date(2026, 1, 5), ends_on=date(2026, 7, 5), created_by=COORDINATOR)
    second = Pair(id=2, mentor_id=MENTOR, mentee_id=OTHER, phase=Phase.ENDED, status=PairStatus.ENDED,
                  cadence_days=7, started_on=date(2026, 1, 5), ends_on=date(2026, 3, 5), created_by=COORDINATOR,
                  closure_reason=ClosureReason.ENDED_EARLY)
    rows = export_rows(ProgramInputs(
        pairs=(second, first),
        names={MENTOR: "Maya", MENTEE: "=HYPERLINK(\"x\")"},
        tallies=tally_pairs([(1, 2, 9, date(2026, 1, 26))], [(2, 2, datetime(2026, 2, 1, tzinfo=UTC))],
                            [(1, GoalStatus.OPEN), (1, GoalStatus.ACHIEVED)], frozenset()),
    ), date(2026, 2, 2), ZoneInfo("UTC"))
    assert [r["pair_id"] for r in rows] == ["1", "2"]
    assert rows[0] == {
        "pair_id": "1", "mentor_id": MENTOR, "mentor_name": "Maya", "mentee_id": MENTEE,
        "mentee_name": "'=HYPERLINK(\"x\")", "phase": "progression", "status": "active", "started_on": "2026-01-05",
        "ends_on": "2026-07-05", "cadence_days": "14", "checkins": "2", "last_checkin_on": "2026-01-26",
        "average_rating": "4.5", "goals_set": "2", "goals_achieved": "1", "help_requests": "0",
        "closure_reason": "", "mentor_topics_offered": "", "mentee_topics_wanted": "", "health": "on_track",
    }
    assert (rows[1]["checkins"], rows[1]["average_rating"], rows[1]["help_requests"], rows[1]["closure_reason"]) == (
        "0", "", "2", "ended_early")
    assert list(rows[0]) == list(EXPORT_COLUMNS)


def _seed(url: str) -> None:
    engine = make_engine(url)
    migrate(engine)
    cipher = NoteCipher([TEST_ENCRYPTION_KEY])
    with Session(engine) as session:
        make_person(session, MENTOR, display_name="Maya Mentor")
        pair = make_pair(session)
        make_checkin(session, pair, cipher, rating=5, private_note="my private worry", shared_text="shared words")
        make_goal(session, pair, text="a goal")
        session.add(HelpRequest(pair_id=pair.id, person_id=MENTEE, created_at=datetime(2026, 1, 20, tzinfo=UTC)))
        session.commit()
    engine.dispose()


def _env(monkeypatch, tmp_path, url, fake_slack) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_API_URL", fake_slack.url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MENTORBOT_ENCRYPTION_KEY", TEST_ENCRYPTION_KEY)
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)


def test_export_writes_a_csv_file_without_note_text(tmp_path, monkeypatch, fake_slack, capsys):
    url = f"sqlite:///{tmp_path / 'export.db'}"
    _seed(url)
    _env(monkeypatch, tmp_path, url, fake_slack)
    out = tmp_path / "pairs.csv"
    assert main(["export", "--out", str(out)]) == 0
    assert "Wrote 1 pair(s)" in capsys.readouterr().out
    content = out.read_text(encoding="utf-8")
    [row] = list(csv.DictReader(io.StringIO(content)))
    assert (row["mentor_name"], row["checkins"], row["average_rating"], row["goals_set"], row["help_requests"]) == (
        "Maya Mentor", "1", "5.0", "1", "1")
    for secret in ("my private worry", "shared words", "a goal"):
        assert secret not in content
    assert fake_slack.calls == []


def test_export_to_standard_output(tmp_path, monkeypatch, fake_slack, capsys):
    url = f"sqlite:///{tmp_path / 'export.db'}"
    _seed(url)
    _env(monkeypatch, tmp_path, url, fake_slack)
    assert main(["export"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ",".join([*EXPORT_COLUMNS, *OUTCOME_EXPORT_COLUMNS]) and len(lines) == 2


def test_export_to_an_unwritable_place_says_so(tmp_path, monkeypatch, fake_slack, capsys):
    url = f"sqlite:///{tmp_path / 'export.db'}"
    _seed(url)
    _env(monkeypatch, tmp_path, url, fake_slack)
    assert main(["export", "--out", str(tmp_path / "missing-dir" / "pairs.csv")]) == 2
    assert "cannot write" in capsys.readouterr().err
