"""A pair ends the same way whoever ends it: by command or by the clock, the same fields are set."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlmodel import Session

from bot.domain import pairs
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


def _pair(**fields: object) -> Pair:
    values: dict[str, object] = dict(id=1, mentor_id="UMR", mentee_id="UME", started_on=date(2026, 1, 5),
                                     ends_on=ENDS_ON, created_by=COORDINATOR, phase=Phase.RAPPORT)
    values.update(fields)
    return Pair(**values)


def test_each_phase_move_stamps_when_it_happened_and_winding_up_and_ending_their_own_times():
    pair = _pair()
    moments = [datetime(2026, 2, day, 10, tzinfo=UTC) for day in (2, 9, 16, 23)]
    reached = [pairs.advance(pair, moment, ENDS_ON) for moment in moments]
    assert reached == [Phase.DIRECTION, Phase.PROGRESSION, Phase.WINDING_UP, Phase.ENDED]
    assert (pair.status, pair.phase_changed_at, pair.winding_up_at, pair.ended_at) == (
        PairStatus.ENDED, moments[3], moments[2], moments[3])
    assert pairs.advance(pair, NOW, ENDS_ON) is None  # nothing follows the end


@pytest.mark.parametrize(("phase", "has_goals", "moves"), [
    (Phase.DIRECTION, True, True), (Phase.DIRECTION, False, False), (Phase.RAPPORT, True, False),
    (Phase.PROGRESSION, True, False),
])
def test_a_check_in_moves_a_pair_into_progression_only_from_direction_with_goals(phase, has_goals, moves):
    pair = _pair(phase=phase)
    assert pairs.begin_progression(pair, NOW, has_goals=has_goals) is moves
    assert (pair.phase == Phase.PROGRESSION) is (moves or phase == Phase.PROGRESSION)


def test_the_clock_resumes_a_pause_only_while_the_pair_is_still_paused():
    paused = _pair(status=PairStatus.PAUSED, paused_until=date(2026, 3, 18))
    assert pairs.follow_clock(paused, PairStatus.ACTIVE, NOW, date(2026, 3, 18))
    assert (paused.status, paused.paused_until) == (PairStatus.ACTIVE, None)
    ended = _pair(status=PairStatus.ENDED, phase=Phase.ENDED)
    assert not pairs.follow_clock(ended, PairStatus.ACTIVE, NOW, date(2026, 3, 18))
    assert ended.status == PairStatus.ENDED
