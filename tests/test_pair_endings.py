"""A pair ends the same way whoever ends it: by command or by the clock, the same fields are set."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlmodel import Session

from bot.domain.models import ClosureReason, Pair, PairStatus, Phase
from tests.conftest import COORDINATOR
from tests.factories import make_pair

# A Wednesday in working hours; both pairs were winding up and their end date was yesterday.
NOW = datetime(2026, 3, 18, 10, tzinfo=UTC)
ENDS_ON = date(2026, 3, 17)
WOUND_UP_AT = datetime(2026, 3, 3, 10, tzinfo=UTC)
ENDING_FIELDS = ("status", "phase", "phase_changed_at", "ended_at", "paused_until", "closure_reason",
                 "winding_up_at")


def _winding_up_pair(session: Session, mentee: str, channel: str, **fields: object) -> int:
    pair = make_pair(session, mentee_id=mentee, channel_id=channel, phase=Phase.WINDING_UP, ends_on=ENDS_ON,
                     winding_up_at=WOUND_UP_AT, **fields)  # type: ignore[arg-type]
    return pair.id or 0


def _fields(engine, pair_id: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        pair = session.get(Pair, pair_id)
        assert pair is not None
        values = {name: getattr(pair, name) for name in ENDING_FIELDS}
    for name in ("phase_changed_at", "ended_at", "winding_up_at"):
        moment = values[name]
        if isinstance(moment, datetime) and moment.tzinfo is None:  # SQLite hands aware times back naive
            values[name] = moment.replace(tzinfo=UTC)
    return values


@pytest.mark.parametrize("recorded", [None, ClosureReason.REMATCHED])
def test_ending_by_command_and_by_the_clock_sets_the_same_fields(slack, runtime, engine, recorded):
    with Session(engine) as session:
        by_command = _winding_up_pair(session, "UMENTEECMD", "GCMD", closure_reason=recorded)
        by_clock = _winding_up_pair(session, "UMENTEECLK", "GCLK", closure_reason=recorded)
        session.commit()

    with time_machine.travel(NOW, tick=False):
        slack.command("end <@UMENTEECMD>", user_id=COORDINATOR)
    runtime.services.sweep.run(now=NOW)

    ended = _fields(engine, by_command)
    assert ended == _fields(engine, by_clock)
    assert ended == {
        "status": PairStatus.ENDED, "phase": Phase.ENDED, "phase_changed_at": NOW, "ended_at": NOW,
        "paused_until": None, "closure_reason": recorded or ClosureReason.COMPLETED, "winding_up_at": WOUND_UP_AT,
    }


def test_a_pair_ended_before_its_end_date_without_a_reason_ended_early(slack, engine):
    with Session(engine) as session:
        pair = make_pair(session, phase=Phase.WINDING_UP, ends_on=date(2026, 6, 30), winding_up_at=WOUND_UP_AT)
        session.commit()
        pair_id = pair.id or 0
    with time_machine.travel(NOW, tick=False):
        slack.command("end", user_id=pair.mentee_id)
    assert _fields(engine, pair_id)["closure_reason"] == ClosureReason.ENDED_EARLY
