"""26 weeks of one program, one sweep per simulated hour: the real policy and delivery, the fake Slack.

Twenty pairs behave differently (diligent, drifting, paused, ending early, ending on time, one mentee who stops
answering). Simulated people act as the handlers would record them: check-ins, a "Not yet" press, winding up.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from bot.chart import draw_chart
from bot.domain.chart import ChartData
from bot.domain.models import (
    CheckIn,
    ClosureReason,
    MemberState,
    Nudge,
    NudgeKind,
    NudgeStatus,
    Pair,
    PairStatus,
    Phase,
)
from bot.domain.policy import (
    CLOSING_SURVEY_WINDOW_DAYS,
    GROUP,
    PULSE_EVERY_DAYS,
    PULSE_FIRST_DAYS,
    PULSE_WINDOW_DAYS,
    is_within_working_hours,
    next_working_day,
)
from bot.services.outcomes import CHART_TIMEOUT_SECONDS
from tests.conftest import COORDINATOR
from tests.factories import make_agreement, make_goal, make_pair, make_person

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
DAY0 = START.date()
WEEKS = 26
ZONES = ("America/Los_Angeles", "Asia/Tokyo", "Europe/Berlin", "America/New_York", "UTC")
COORDINATOR_ZONE = "Europe/London"


@dataclass
class Plan:
    behaviour: str
    cadence: int
    ends_on: date


def plans() -> list[Plan]:
    far = DAY0 + timedelta(days=365)
    out = [Plan("diligent", c, far) for c in (14, 7, 14, 21, 14, 7, 14, 14)]
    out += [Plan("drifting", c, far) for c in (14, 7, 14, 21)]
    out += [Plan("paused", 14, far) for _ in range(2)]
    out += [Plan("ends_early", 14, far) for _ in range(2)]
    out += [Plan("stops_answering", 14, far)]
    out += [Plan("ends_on_time", c, DAY0 + timedelta(days=150)) for c in (14, 7, 14)]
    return out


def d(days: int) -> date:
    return DAY0 + timedelta(days=days)


@pytest.fixture
def chart_drawer() -> Iterator[ProcessPoolExecutor]:
    """One fresh interpreter (spawned, not forked from this threaded one) that draws every chart asked of it;
    matplotlib stays out of this process, as out of the bot's."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


@pytest.mark.timeout(600)
def test_twenty_pairs_over_twenty_six_weeks(runtime, engine, fake_slack, chart_drawer):
    services = runtime.services
    program = plans()
    zone_of: dict[str, str] = {COORDINATOR: COORDINATOR_ZONE}
    with Session(engine) as session:
        make_person(session, COORDINATOR, tz=COORDINATOR_ZONE, info_fetched_at=START)
        ids = []
        for index, plan in enumerate(program):
            mentor, mentee = f"UMR{index:03d}", f"UME{index:03d}"
            for offset, person in enumerate((mentor, mentee)):
                zone_of[person] = ZONES[(index + 2 * offset) % len(ZONES)]
                make_person(session, person, tz=zone_of[person], info_fetched_at=START)
                fake_slack.add_user(person, tz=zone_of[person])
            pair = make_pair(session, mentor_id=mentor, mentee_id=mentee, cadence_days=plan.cadence, started_on=DAY0,
                             ends_on=plan.ends_on, channel_id=f"G{index:03d}", created_at=START)
            if plan.behaviour != "drifting":
                make_agreement(session, pair, updated_at=START + timedelta(days=3))
                make_goal(session, pair, due_on=d(60), created_at=START + timedelta(days=10))
            ids.append(pair.id)
        session.commit()
    fake_slack.add_user(COORDINATOR, tz=COORDINATOR_ZONE)
    by_id = dict(zip(ids, program, strict=True))
    paused_windows: dict[int, tuple[datetime, datetime]] = {}
    zones = {ZoneInfo(z) for z in (*ZONES, COORDINATOR_ZONE, "UTC")}

    def act_as_people(now: datetime) -> None:
        """Once a day at 12:00 UTC: meet, pause, end, as the simulated people would."""
        day = (now.date() - DAY0).days
        with Session(engine) as session:
            pairs = {p.id: p for p in session.exec(select(Pair))}
            last = defaultdict(lambda: None)
            for checkin in session.exec(select(CheckIn).order_by(CheckIn.met_on)):
                last[checkin.pair_id] = checkin.met_on
            for pair_id, plan in by_id.items():
                pair = pairs[pair_id]
                if plan.behaviour == "paused" and day == 42:
                    pair.status, pair.paused_until = PairStatus.PAUSED, d(70)
                    paused_windows[pair_id] = (now, datetime.combine(d(70), datetime.min.time(), UTC))
                if plan.behaviour == "ends_early" and day == 70:
                    pair.phase, pair.ends_on = Phase.WINDING_UP, d(84)
                    pair.winding_up_at, pair.closure_reason = now, ClosureReason.ENDED_EARLY
                meets = plan.behaviour in ("diligent", "paused", "ends_early", "ends_on_time") or (
                    plan.behaviour == "drifting" and day <= 21) or (plan.behaviour == "stops_answering" and day <= 14)
                if pair.status != PairStatus.ACTIVE or not meets or now.weekday() >= 5:
                    continue
                last_met = last[pair_id]
                if last_met is None and day < 3 or last_met is not None and (now.date() - last_met).days < max(
                        plan.cadence - 2, 3):
                    continue
                session.add(CheckIn(pair_id=pair_id, author_id=pair.mentee_id, met_on=now.date(), rating=4,
                                    next_meeting_on=now.date() + timedelta(days=plan.cadence - 1), created_at=now))
                # What the check-in handler records: the author answered.
                session.execute(update(MemberState).where(
                    MemberState.pair_id == pair_id, MemberState.person_id == pair.mentee_id
                ).values(unanswered_prompts=0, last_response_at=now))
            session.commit()

    def react(now: datetime, sent: list[str]) -> None:
        """The mentor of the quiet pair presses "Not yet"; pairs told to wind up do so."""
        with Session(engine) as session:
            for key in sent:
                pair_id, recipient, kind = key.split(":")[:3]
                if not pair_id.isdigit():
                    continue
                plan, pair = by_id[int(pair_id)], session.get(Pair, int(pair_id))
                if plan.behaviour == "stops_answering" and kind == NudgeKind.HOW_IS_IT_GOING and (
                        recipient == pair.mentor_id):
                    session.execute(update(MemberState).where(
                        MemberState.pair_id == pair.id, MemberState.person_id == recipient
                    ).values(unanswered_prompts=0, last_response_at=now, snoozed_until=now + timedelta(days=3)))
                if plan.behaviour == "ends_on_time" and kind == NudgeKind.WINDING_UP:
                    pair.phase, pair.winding_up_at = Phase.WINDING_UP, now
            session.commit()

    # The 26 summary charts are drawn by the bot's drawing code in one child process kept for the whole run:
    # the bot's own child (`python -m bot.chart`, tested in test_summary_chart.py) would import matplotlib
    # afresh for each chart, seconds apiece on a busy machine. Their drawing time is kept apart from the sweeps'.
    drawing = [0.0]

    def draw(data: ChartData) -> bytes:
        begun = time.perf_counter()
        png = chart_drawer.submit(draw_chart, data).result(timeout=CHART_TIMEOUT_SECONDS)
        drawing[0] += time.perf_counter() - begun
        return png

    services.outcomes.draw = draw
    started = time.perf_counter()
    sweeps = 0
    for hour in range(WEEKS * 7 * 24):
        now = START + timedelta(hours=hour)
        if now.hour == 12:
            act_as_people(now)
        if not any(is_within_working_hours(now.astimezone(zone)) for zone in zones):
            continue
        result = services.sweep.run(now=now)
        sweeps += 1
        assert result.stopped is None and not result.undeliverable and not result.retry_later
        if result.sent:
            react(now, result.sent)
    elapsed = time.perf_counter() - started - drawing[0]
    print(f"\nsimulation: {sweeps} sweeps in {elapsed:.1f} s, and {drawing[0]:.1f} s drawing charts")

    with Session(engine) as session:
        rows = list(session.exec(select(Nudge).where(Nudge.status == NudgeStatus.SENT).order_by(Nudge.sent_at)))
        pairs = {p.id: p for p in session.exec(select(Pair))}
        last_met = {}
        for checkin in session.exec(select(CheckIn).order_by(CheckIn.met_on)):
            last_met[checkin.pair_id] = checkin.met_on

    # Exactly once: every ledger row was posted once, and nothing was posted without a ledger row.
    posted_keys = [m["metadata"]["event_payload"]["key"] for m in fake_slack.posted()]
    assert sorted(posted_keys) == sorted(r.key for r in rows)

    def local(row: Nudge, person: str) -> datetime:
        return row.sent_at.astimezone(ZoneInfo(zone_of[person]))

    # No one hears two scheduled nudges on one (local) day; every DM arrives in working hours.
    per_day: dict[tuple[str, date], list[str]] = defaultdict(list)
    for row in rows:
        if row.kind in (NudgeKind.WEEKLY_SUMMARY, NudgeKind.AT_RISK, "delivery_failed"):
            continue
        pair = pairs[row.pair_id]
        reached = (pair.mentor_id, pair.mentee_id) if row.recipient == GROUP else (row.recipient,)
        hours_zone = pair.mentee_id if row.recipient == GROUP else row.recipient
        assert is_within_working_hours(local(row, hours_zone)), row.key
        for person in reached:
            per_day[(person, local(row, person).date())].append(row.key)
    assert all(len(keys) == 1 for keys in per_day.values()), [k for k in per_day.values() if len(k) > 1]
    for row in rows:
        if row.kind == NudgeKind.AT_RISK:
            assert is_within_working_hours(local(row, COORDINATOR))

    # Drifting pairs: the drift nudge and the coordinator's alert come within a working day of the crossing.
    def first_working_day_on_or_after(day: date) -> date:
        return day if day.weekday() < 5 else next_working_day(day)

    drifting = [pid for pid, plan in by_id.items() if plan.behaviour == "drifting"]
    for pair_id in drifting:
        pair, anchor = pairs[pair_id], last_met[pair_id]
        [drift] = [r for r in rows if r.pair_id == pair_id and r.kind == NudgeKind.DRIFT]
        crossed = first_working_day_on_or_after(anchor + timedelta(days=2 * pair.cadence_days))
        assert crossed <= local(drift, pair.mentee_id).date() <= next_working_day(crossed), drift.key
        [alert] = [r for r in rows if r.pair_id == pair_id and r.kind == NudgeKind.AT_RISK]
        crossed = first_working_day_on_or_after(anchor + timedelta(days=3 * pair.cadence_days))
        assert local(alert, COORDINATOR).date() == crossed, alert.key

    # Nothing reaches a pair while it is paused or after it ended.
    for pair_id, (paused_at, resumes_at) in paused_windows.items():
        assert not [r.key for r in rows if r.pair_id == pair_id and paused_at <= r.sent_at < resumes_at]
        assert pairs[pair_id].status == PairStatus.ACTIVE
    ended = [p for p in pairs.values() if p.status == PairStatus.ENDED]
    assert {by_id[p.id].behaviour for p in ended} == {"ends_early", "ends_on_time"} and len(ended) == 5
    for pair in ended:
        assert pair.ended_at is not None and pair.ended_at.date() > pair.ends_on
        after_end = [r for r in rows if r.pair_id == pair.id and r.sent_at >= pair.ended_at]
        # Only the closing survey, once to each member (but one whose prompts are paused), within two weeks.
        with Session(engine) as session:
            paused_members = set(session.exec(select(MemberState.person_id).where(
                MemberState.pair_id == pair.id, MemberState.prompts_paused_at.is_not(None))))
        expected = sorted(p for p in (pair.mentor_id, pair.mentee_id) if p not in paused_members)
        assert sorted(r.recipient for r in after_end) == expected and expected
        assert {r.kind for r in after_end} == {NudgeKind.CLOSING_SURVEY}
        assert all(r.sent_at - pair.ended_at <= timedelta(days=CLOSING_SURVEY_WINDOW_DAYS) for r in after_end)

    # Outcomes: every pair that met hears the fit check once per member, within a week of the working day
    # after its first meeting; pulses come 30 days after it and every 60 after, within their two weeks.
    first_met: dict[int, date] = {}
    with Session(engine) as session:
        for checkin in session.exec(select(CheckIn).order_by(CheckIn.met_on.desc())):
            first_met[checkin.pair_id] = checkin.met_on
    last_day = d(WEEKS * 7)
    with Session(engine) as session:
        paused_people = set(session.exec(select(MemberState.person_id).where(
            MemberState.prompts_paused_at.is_not(None))))
    pulsed: set[str] = set()
    for pair_id, first in first_met.items():
        pair = pairs[pair_id]
        for person in (pair.mentor_id, pair.mentee_id):
            fits = [r for r in rows if r.pair_id == pair_id and r.recipient == person and r.kind == NudgeKind.FIT_CHECK]
            if by_id[pair_id].behaviour == "stops_answering" and not fits:
                continue  # prompts paused for this member: no personal DMs for the pair
            [fit] = fits
            assert next_working_day(first) <= local(fit, person).date() <= next_working_day(first) + timedelta(days=7)
        if by_id[pair_id].behaviour != "diligent":
            continue
        number = 0
        while (due := first + timedelta(days=PULSE_FIRST_DAYS + number * PULSE_EVERY_DAYS)) + timedelta(
                days=PULSE_WINDOW_DAYS) < last_day:
            for person in (pair.mentor_id, pair.mentee_id):
                if person in paused_people:
                    continue  # three prompts unanswered: no personal DMs for the pair, pulses included
                found = [r for r in rows if r.pair_id == pair_id and r.recipient == person
                         and r.kind == NudgeKind.QUALITY_PULSE and r.period == f"p{number}"]
                [pulse] = found
                assert due <= local(pulse, person).date() <= due + timedelta(days=PULSE_WINDOW_DAYS), pulse.key
                pulsed.add(person)
            number += 1
        assert number >= 2, pair_id
    assert len(pulsed) >= 8  # at least every diligent pair's mentee heard each pulse on schedule

    # The weekly cap holds for everyone, over every rolling 7 days.
    reached: dict[str, list[datetime]] = defaultdict(list)
    for row in rows:
        if row.kind in (NudgeKind.WEEKLY_SUMMARY, NudgeKind.AT_RISK, "delivery_failed"):
            continue
        pair = pairs[row.pair_id]
        for person in (pair.mentor_id, pair.mentee_id) if row.recipient == GROUP else (row.recipient,):
            reached[person].append(row.sent_at)
    for person, times in reached.items():
        times.sort()
        for index, moment in enumerate(times):
            assert sum(1 for t in times[index:] if t - moment < timedelta(days=7)) <= 3, person
    assert {p.closure_reason for p in ended} == {ClosureReason.ENDED_EARLY, ClosureReason.COMPLETED}

    # The weekly summary appears every Monday at 09:00 program time (UTC here).
    summaries = [r for r in rows if r.kind == NudgeKind.WEEKLY_SUMMARY]
    assert len(summaries) == WEEKS
    assert all(r.sent_at.weekday() == 0 and r.sent_at.hour == 9 for r in summaries)
    assert len(fake_slack.posted("CSUMMARY1")) == WEEKS
    assert [f["channel"] for f in fake_slack.shared_files] == ["CSUMMARY1"] * WEEKS  # one chart each
    assert all(f["data"].startswith(b"\x89PNG") for f in fake_slack.shared_files)

    # The mentee who stops answering: at most three prompts, one "prompts paused" message, then no more prompts.
    [quiet_pair] = [pid for pid, plan in by_id.items() if plan.behaviour == "stops_answering"]
    mentee_rows = [r for r in rows if r.pair_id == quiet_pair and r.recipient == pairs[quiet_pair].mentee_id]
    kinds = [r.kind for r in mentee_rows if r.kind in (NudgeKind.HOW_IS_IT_GOING, NudgeKind.PROMPTS_PAUSED)]
    assert kinds.count(NudgeKind.PROMPTS_PAUSED) == 1
    pause = kinds.index(NudgeKind.PROMPTS_PAUSED)
    assert 1 <= kinds[:pause].count(NudgeKind.HOW_IS_IT_GOING) <= 3
    assert NudgeKind.HOW_IS_IT_GOING not in kinds[pause + 1:]
    mentor_prompts = [r for r in rows if r.pair_id == quiet_pair and r.recipient == pairs[quiet_pair].mentor_id
                      and r.kind == NudgeKind.HOW_IS_IT_GOING]
    assert len(mentor_prompts) > 3  # the mentor answers, so keeps being asked
    # The mentor presses "Not yet" on each prompt: at most one reminder per press, three days or more after it.
    reminders = [r for r in rows if r.pair_id == quiet_pair and r.kind == NudgeKind.SNOOZE_REMINDER]
    assert reminders
    presses = [p.sent_at for p in mentor_prompts]
    answered = [max(at for at in presses if at < r.sent_at) for r in reminders]
    assert len(set(answered)) == len(answered)
    assert all(r.sent_at - at >= timedelta(days=3) for r, at in zip(reminders, answered, strict=True))

    # Diligent pairs are never told they drift, and every kind of a pair's nudge was exercised (match offers
    # come before a pair exists: tests/test_match_offers.py drives them).
    diligent = [pid for pid, plan in by_id.items() if plan.behaviour == "diligent"]
    assert not [r.key for r in rows if r.pair_id in diligent and r.kind in (NudgeKind.DRIFT, NudgeKind.AT_RISK)]
    assert {r.kind for r in rows} >= {k.value for k in NudgeKind} - {NudgeKind.MATCH_OFFER}
