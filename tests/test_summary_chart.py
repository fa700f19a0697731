"""The weekly summary's chart: drawn headless in a child process, shared with Slack's three-step upload into
the summary channel; when that fails the text summary still stands and the failure is said in words."""

from __future__ import annotations

import io
import json
import struct
import sys
import zlib
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session

from bot.domain.chart import ChartData
from bot.domain.models import OutcomeResponse, Phase
from bot.domain.outcomes import chart_data
from bot.services.outcomes import draw_in_child
from tests.conftest import COORDINATOR
from tests.factories import make_checkin, make_pair, make_person

MONDAY = datetime(2026, 3, 9, 9, 30, tzinfo=UTC)


def png_size(data: bytes) -> tuple[int, int]:
    """Return (width, height) of a PNG after checking its signature and every chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    stream = io.BytesIO(data[8:])
    size = None
    kinds = []
    while chunk := stream.read(8):
        length, kind = struct.unpack(">I4s", chunk)
        body = stream.read(length)
        (crc,) = struct.unpack(">I", stream.read(4))
        assert zlib.crc32(kind + body) == crc, kind
        kinds.append(kind)
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
    assert kinds[0] == b"IHDR" and b"IDAT" in kinds and kinds[-1] == b"IEND"
    assert size is not None
    return size


def test_the_chart_series_count_weeks_and_hide_pulse_weeks_under_three_pairs():
    today = date(2026, 3, 9)
    data = chart_data([(today, 2), (today - timedelta(days=7), 5), (today - timedelta(days=200), 9)],
                      [(1, today, 4), (2, today, 5), (3, today, 3), (1, today - timedelta(days=7), 1)],
                      {"rapport": 2}, today)
    assert len(data.week_starts) == 12 and data.week_starts[-1] == today - timedelta(days=6)
    assert data.checkins[-2:] == [5, 2] and sum(data.checkins) == 7
    assert data.pulse_average[-1] == 4.0 and data.pulse_average[-2] is None


def test_the_child_process_draws_a_valid_png():
    data = ChartData([date(2026, 1, 5) + timedelta(days=7 * w) for w in range(12)], list(range(12)),
                     [None] * 6 + [3.5] * 6, {"rapport": 1, "progression": 3})
    assert png_size(draw_in_child(data)) == (1000, 400)


def seed(engine, cipher, fake_slack) -> None:
    with Session(engine) as session:
        make_person(session, COORDINATOR, info_fetched_at=MONDAY)
        for n in range(3):
            for person in (f"UMR{n}", f"UME{n}"):
                fake_slack.add_user(person)
                make_person(session, person, info_fetched_at=MONDAY)
            pair = make_pair(session, mentor_id=f"UMR{n}", mentee_id=f"UME{n}", phase=Phase.PROGRESSION)
            make_checkin(session, pair, cipher, met_on=date(2026, 3, 2))
            session.add(OutcomeResponse(pair_id=pair.id, author_id=pair.mentee_id, kind="pulse", period="p0",
                                        rating=4, answered_at=MONDAY - timedelta(days=3)))
        session.commit()


def test_the_weekly_summary_uploads_its_chart_into_the_summary_channel(runtime, fake_slack, engine):
    seed(engine, runtime.services.ctx.cipher, fake_slack)
    result = runtime.services.sweep.run(now=MONDAY)
    assert any(key.endswith(":weekly_summary:2026-W11") for key in result.sent)

    sequence = [c.method for c in fake_slack.calls if c.method in (
        "files.getUploadURLExternal", "upload", "files.completeUploadExternal")
        or c.method == "chat.postMessage" and c.params.get("channel") == "CSUMMARY1"]
    assert sequence == ["chat.postMessage", "files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    [asked] = fake_slack.calls_to("files.getUploadURLExternal")
    [shared] = fake_slack.shared_files
    assert shared["channel"] == "CSUMMARY1" and shared["filename"].endswith(".png")
    assert int(asked.params["length"]) == len(shared["data"])
    width, height = png_size(shared["data"])
    assert (width, height) == (1000, 400)
    [summary] = fake_slack.posted("CSUMMARY1")
    assert "*Outcomes*" in json.dumps(summary["blocks"])
    assert "matplotlib" not in sys.modules  # drawn in a child process: the bot never loads it
    data = runtime.services.outcomes.chart(MONDAY.date())
    assert data.pulse_average[-1] == 4.0 and data.checkins[-2] == 3 and data.by_phase == {"progression": 3}


def test_when_the_upload_fails_the_summary_stands_and_the_failure_is_said_in_words(runtime, fake_slack, engine):
    seed(engine, runtime.services.ctx.cipher, fake_slack)
    fake_slack.fail("files.getUploadURLExternal", error="missing_scope")
    result = runtime.services.sweep.run(now=MONDAY)
    assert any(key.endswith(":weekly_summary:2026-W11") for key in result.sent)
    summary, note = fake_slack.posted("CSUMMARY1")
    assert "Mentoring program" in summary["text"]
    assert "chart could not be attached" in note["text"] and "missing_scope" in note["text"]
    assert not fake_slack.shared_files


def test_a_coordinator_posting_the_summary_hears_when_the_chart_was_left_out(slack, fake_slack, runtime, engine):
    seed(engine, runtime.services.ctx.cipher, fake_slack)
    fake_slack.fail("files.completeUploadExternal", error="not_in_channel")
    slack.command("summary", user_id=COORDINATOR)
    assert "without its chart" in fake_slack.responses[-1].params["text"]
    assert "not_in_channel" in fake_slack.responses[-1].params["text"]
