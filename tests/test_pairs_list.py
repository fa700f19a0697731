"""The pairs list from its one-statement page query: signals, paging per person, and a cost flat in pairs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, event
from sqlmodel import Session

from bot.domain.models import HelpRequest, MemberState, PairStatus
from tests.conftest import COORDINATOR, MENTEE, MENTOR
from tests.factories import make_checkin, make_pair


def _today() -> date:
    return datetime.now(UTC).date()


def _reply_blocks(fake_slack) -> str:
    return json.dumps(fake_slack.responses[-1].params["blocks"], ensure_ascii=False)


def _add_pairs(engine: Engine, count: int, *, mentor_id: str | None = None, start: int = 0) -> None:
    with Session(engine) as session:
        for i in range(start, start + count):
            make_pair(session, mentor_id=mentor_id or f"UMR{i:04d}", mentee_id=f"UME{i:04d}")
        session.commit()


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_help_request_before_the_last_meeting_leaves_the_pair_on_track(slack, fake_slack, engine, runtime):
    today = _today()
    with Session(engine) as session:
        pair = make_pair(session, started_on=today - timedelta(days=20))
        session.add(HelpRequest(pair_id=pair.id, person_id=MENTEE, created_at=datetime.now(UTC) - timedelta(days=5)))
        make_checkin(session, pair, runtime.services.ctx.cipher, met_on=today - timedelta(days=2))
        session.commit()

    slack.command("pairs", user_id=COORDINATOR)

    blocks = _reply_blocks(fake_slack)
    assert f"last check-in {today - timedelta(days=2)}" in blocks and "on track" in blocks
    assert "at risk" not in blocks


def test_paused_prompts_show_the_pair_at_risk(slack, fake_slack, engine, runtime):
    today = _today()
    with Session(engine) as session:
        pair = make_pair(session, started_on=today - timedelta(days=20))
        make_checkin(session, pair, runtime.services.ctx.cipher, met_on=today - timedelta(days=1))
        session.add(MemberState(pair_id=pair.id, person_id=MENTEE, prompts_paused_at=datetime.now(UTC)))
        session.commit()

    slack.command("pairs", user_id=COORDINATOR)

    assert "at risk" in _reply_blocks(fake_slack)


def test_a_member_pages_through_only_their_open_pairs(slack, fake_slack, engine):
    _add_pairs(engine, 45, mentor_id=MENTOR)
    _add_pairs(engine, 3, start=100)
    with Session(engine) as session:
        make_pair(session, mentor_id=MENTOR, mentee_id="UENDED01", status=PairStatus.ENDED)
        session.commit()

    slack.command("pairs 2", user_id=MENTOR)
    second = _reply_blocks(fake_slack)
    assert "45 pairs · page 2 of 2" in second and "UME0044" in second and "UME0039" not in second
    assert "UMR0100" not in second and "UENDED01" not in second

    slack.command("pairs 3", user_id=MENTOR)
    assert "only 2 pages" in fake_slack.responses[-1].params["text"]


def test_the_pairs_list_runs_as_many_statements_for_45_pairs_as_for_3(slack, fake_slack, engine):
    counts: dict[str, list[int]] = {COORDINATOR: [], MENTOR: []}
    for batch, start in ((3, 0), (42, 3)):
        _add_pairs(engine, batch, start=start)
        _add_pairs(engine, batch, mentor_id=MENTOR, start=200 + start)
        for actor in counts:
            slack.command("pairs", user_id=actor)  # the first call may look the person up; count the second
            with _statements(engine) as seen:
                slack.command("pairs", user_id=actor)
            counts[actor].append(len(seen))

    assert 0 < counts[COORDINATOR][0] == counts[COORDINATOR][1]
    assert 0 < counts[MENTOR][0] == counts[MENTOR][1]
