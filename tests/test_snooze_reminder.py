""""Not yet — remind me in 3 days" keeps its promise: the policy's snooze reminder, and the real press and sweeps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.app import build_app
from bot.blocks.ids import CHECKIN_VIEW
from bot.cli import main
from bot.crypto import NoteCipher
from bot.db import make_engine, migrate
from bot.domain.models import MemberState, Nudge, NudgeKind, NudgeStatus, Pair, PairStatus, Phase
from bot.domain.policy import (
    SNOOZE_FOR,
    Delivery,
    MemberFacts,
    PairFacts,
    ProgramState,
    due_nudges,
    nudge_key,
)
from tests.conftest import MENTEE, MENTOR, TEST_ENCRYPTION_KEY, make_settings
from tests.factories import make_agreement, make_checkin, make_goal, make_pair, make_person
from tests.slack_requests import SlackDriver
from tests.test_checkin_modal import checkin_values
from tests.test_policy import facts, kinds_to, utc
from tests.test_policy import state as program_state

# ---- the policy -----------------------------------------------------------------------------------------


def state(*pairs: PairFacts, **fields: object) -> ProgramState:
    """The program, with the prompt the press answered already in the ledger."""
    fields["ledger_keys"] = PROMPTED | fields.get("ledger_keys", frozenset())  # type: ignore[operator]
    return program_state(*pairs, **fields)

PRESSED = utc(2026, 2, 4, 10)  # a Wednesday; three days on is a Saturday
UNTIL = PRESSED + SNOOZE_FOR
MET = date(2026, 1, 19)  # a cadence of 14 days: the press answered the prompt of Feb 2; the next is due Feb 16
PROMPTED = frozenset({nudge_key(1, MENTOR, NudgeKind.HOW_IS_IT_GOING, "since2026-01-19-1")})


def snoozed(until: datetime = UNTIL, **fields: object) -> dict[str, MemberFacts]:
    return {MENTOR: MemberFacts(snoozed_until=until, **fields)}  # type: ignore[arg-type]


def test_the_reminder_waits_for_the_first_working_hour_three_days_on_in_the_pressers_zone():
    pair = facts(met_on=MET, members=snoozed())
    program = state(pair, zones={MENTOR: "America/New_York", MENTEE: "UTC"})
    assert kinds_to(due_nudges(program, UNTIL), MENTOR) == []  # Saturday
    assert kinds_to(due_nudges(program, utc(2026, 2, 9, 13, 59)), MENTOR) == []  # Monday 08:59 in New York
    [reminder] = [n for n in due_nudges(program, utc(2026, 2, 9, 14)) if n.recipient == MENTOR]
    assert reminder.kind == NudgeKind.SNOOZE_REMINDER
    assert reminder.key == nudge_key(1, MENTOR, NudgeKind.SNOOZE_REMINDER, f"until{int(UNTIL.timestamp())}")


def test_the_reminder_comes_once_per_press():
    pair = facts(met_on=MET, members=snoozed())
    monday = utc(2026, 2, 9, 10)
    [reminder] = [n for n in due_nudges(state(pair), monday) if n.recipient == MENTOR]
    claimed = state(pair, ledger_keys=frozenset({reminder.key}))
    assert kinds_to(due_nudges(claimed, monday + timedelta(hours=3)), MENTOR) == []
    # A new press is a new promise, with a key of its own.
    again = facts(met_on=MET, members=snoozed(utc(2026, 2, 12, 11)))
    [second] = [n for n in due_nudges(state(again, ledger_keys=frozenset({reminder.key})), utc(2026, 2, 12, 11))
                if n.recipient == MENTOR]
    assert second.kind == NudgeKind.SNOOZE_REMINDER and second.key != reminder.key


@pytest.mark.parametrize("met_on", [PRESSED.date(), date(2026, 2, 6)])
def test_no_reminder_when_the_pair_met_on_or_after_the_day_of_the_press(met_on):
    pair = facts(met_on=met_on, members=snoozed())
    assert NudgeKind.SNOOZE_REMINDER not in kinds_to(due_nudges(state(pair), utc(2026, 2, 9, 10)), MENTOR)


def test_no_reminder_for_a_paused_pair_or_one_who_stopped_the_prompts():
    paused = facts(pair=None, met_on=MET, members=snoozed())
    paused.status, paused.paused_until = PairStatus.PAUSED, date(2026, 2, 20)
    assert due_nudges(state(paused), utc(2026, 2, 9, 10)) == []
    for stopped in (NudgeKind.SNOOZE_REMINDER, NudgeKind.HOW_IS_IT_GOING):
        pair = facts(met_on=MET, members=snoozed(stopped_kinds=frozenset({stopped.value})))
        assert kinds_to(due_nudges(state(pair), utc(2026, 2, 9, 10)), MENTOR) == []
    pair = facts(met_on=MET, members=snoozed(unanswered_prompts=1, prompts_paused_at=utc(2026, 2, 5, 10)))
    assert kinds_to(due_nudges(state(pair), utc(2026, 2, 9, 10)), MENTOR) == []


def test_the_caps_hold_the_reminder_to_a_later_day_and_it_lapses_after_its_grace():
    pair = facts(met_on=MET, members=snoozed())
    reached_today = state(pair, deliveries=(Delivery(MENTOR, utc(2026, 2, 9, 9, 30)),))
    assert kinds_to(due_nudges(reached_today, utc(2026, 2, 9, 10)), MENTOR) == []
    assert kinds_to(due_nudges(reached_today, utc(2026, 2, 10, 10)), MENTOR) == [NudgeKind.SNOOZE_REMINDER]
    full_week = state(pair, earlier_this_week={MENTOR: 3})
    assert kinds_to(due_nudges(full_week, utc(2026, 2, 9, 10)), MENTOR) == []
    assert kinds_to(due_nudges(state(pair), utc(2026, 2, 11, 16)), MENTOR) == [NudgeKind.SNOOZE_REMINDER]
    # Two days after its first day it lapses; the regular prompt of the next period is the cadence's business.
    assert NudgeKind.SNOOZE_REMINDER not in kinds_to(due_nudges(state(pair), utc(2026, 2, 12, 10)), MENTOR)


def test_a_new_cadence_period_asks_instead_of_the_reminder():
    pair = facts(met_on=date(2026, 1, 23), members=snoozed())  # pressed in the first period; Feb 6 starts the next
    assert kinds_to(due_nudges(state(pair), utc(2026, 2, 9, 10)), MENTOR) == [NudgeKind.HOW_IS_IT_GOING]
    claimed = state(pair, ledger_keys=frozenset({nudge_key(1, MENTOR, NudgeKind.HOW_IS_IT_GOING,
                                                           "since2026-01-23-1")}))
    assert kinds_to(due_nudges(claimed, utc(2026, 2, 10, 10)), MENTOR) == []


# ---- through Slack: a real press, then the sweeps ------------------------------------------------------------

# The mentee works in Tokyo (UTC+9). Monday Nov 23, 2026, 10:00 there is 01:00 UTC.
FIRST_PROMPT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
PRESS = FIRST_PROMPT + timedelta(minutes=30)


@pytest.fixture
def quiet_pair(engine) -> int:
    return _seed(engine)


def _seed(engine: Engine) -> int:
    """A pair whose last meeting was 17 days before the first prompt: only "how is it going?" is due."""
    with Session(engine) as session:
        for user, tz in ((MENTOR, "America/Los_Angeles"), (MENTEE, "Asia/Tokyo")):
            make_person(session, user, tz=tz, info_fetched_at=FIRST_PROMPT)
        pair = make_pair(session, phase=Phase.PROGRESSION, started_on=date(2026, 9, 1), channel_id="GPAIR0001")
        make_agreement(session, pair)
        make_goal(session, pair, text="Ship the demo", due_on=date(2027, 3, 1))
        make_checkin(session, pair, _cipher(), met_on=date(2026, 11, 6), created_at=datetime(2026, 11, 6, tzinfo=UTC))
        session.commit()
        return pair.id or 0


def _cipher() -> NoteCipher:
    return NoteCipher([TEST_ENCRYPTION_KEY])


def _sweep(runtime, now: datetime):  # type: ignore[no-untyped-def]
    with time_machine.travel(now, tick=False):
        return runtime.services.sweep.run(now=now)


def _to_mentee(fake_slack, kind: NudgeKind) -> list[dict]:
    return [m for m in fake_slack.posted("D" + MENTEE.lstrip("U"))
            if m.get("metadata") and m["metadata"]["event_payload"]["key"].split(":")[2] == kind]


def _press_not_yet(slack, fake_slack, runtime) -> None:
    _sweep(runtime, FIRST_PROMPT)
    [prompt] = _to_mentee(fake_slack, NudgeKind.HOW_IS_IT_GOING)
    with time_machine.travel(PRESS, tick=False):
        slack.press(prompt, "Not yet — remind me in 3 days", user_id=MENTEE)


def _hourly(start: datetime, hours: int) -> list[datetime]:
    return [start + timedelta(hours=h) for h in range(hours)]


def test_a_press_brings_exactly_one_reminder_three_days_later_in_working_hours(
        slack, fake_slack, runtime, engine, settings, quiet_pair):
    _press_not_yet(slack, fake_slack, runtime)
    reply = fake_slack.responses[-1].params
    assert reply["replace_original"] is True and "I'll ask again on Thursday (26 November)" in reply["text"]

    due_at = PRESS + SNOOZE_FOR  # Thursday 10:30 in Tokyo
    for now in _hourly(PRESS + timedelta(hours=1), 71):  # until Thursday 09:30 in Tokyo
        _sweep(runtime, now)
    assert _to_mentee(fake_slack, NudgeKind.SNOOZE_REMINDER) == []

    dry = runtime.services.sweep.run(now=due_at, dry_run=True)
    assert [n.kind for n in dry.due if n.recipient == MENTEE] == [NudgeKind.SNOOZE_REMINDER]
    _sweep(runtime, due_at)
    # A restart (a new app on the same database) and a week of sweeps send it no second time.
    restarted = build_app(settings, engine=engine, process_before_response=True)
    for now in _hourly(due_at + timedelta(minutes=5), 24 * 7):
        _sweep(restarted, now)

    [reminder] = _to_mentee(fake_slack, NudgeKind.SNOOZE_REMINDER)
    assert "how is it going" in reminder["text"]
    labels = [e["text"]["text"] for b in reminder["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert "We met — log it" in labels
    with Session(engine) as session:
        [row] = session.exec(select(Nudge).where(Nudge.kind == NudgeKind.SNOOZE_REMINDER)).all()
    assert row.status == NudgeStatus.SENT and row.sent_at is not None
    assert row.sent_at.replace(tzinfo=UTC) == due_at


def test_no_reminder_when_the_pair_checks_in_first(slack, fake_slack, runtime, engine, quiet_pair):
    _press_not_yet(slack, fake_slack, runtime)
    met = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday in Tokyo and in Los Angeles' yesterday
    with time_machine.travel(met, tick=False):
        slack.command("checkin", user_id=MENTOR)
        [opened] = fake_slack.calls_to("views.open")
        response = slack.view_submission(user_id=MENTOR, callback_id=CHECKIN_VIEW,
                                         values=checkin_values(met_on="2026-11-23"),
                                         private_metadata=opened.params["view"]["private_metadata"])
    assert response.status == 200 and not response.body
    for now in _hourly(PRESS + SNOOZE_FOR - timedelta(hours=2), 24 * 3):
        _sweep(runtime, now)
    assert _to_mentee(fake_slack, NudgeKind.SNOOZE_REMINDER) == []


@pytest.mark.parametrize("command", ["pause", "end"])
def test_no_reminder_for_a_pair_paused_or_ended_meanwhile(slack, fake_slack, runtime, engine, quiet_pair, command):
    _press_not_yet(slack, fake_slack, runtime)
    with time_machine.travel(PRESS + timedelta(days=1), tick=False):
        slack.command(command, user_id=MENTEE)
        if command == "end":
            slack.command("end", user_id=MENTEE)
    with Session(engine) as session:
        pair = session.get(Pair, quiet_pair)
        assert pair is not None and pair.status == (PairStatus.PAUSED if command == "pause" else PairStatus.ENDED)
    for now in _hourly(PRESS + SNOOZE_FOR - timedelta(hours=2), 24 * 3):
        _sweep(runtime, now)
    assert _to_mentee(fake_slack, NudgeKind.SNOOZE_REMINDER) == []
    with Session(engine) as session:
        assert session.exec(select(MemberState).where(MemberState.person_id == MENTEE)).one().snoozed_until


def test_the_reminder_shows_in_a_dry_run(fake_slack, tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    migrate(engine)
    _seed(engine)
    runtime = build_app(make_settings(fake_slack, url), engine=engine, process_before_response=True)
    _press_not_yet(SlackDriver(runtime.app, fake_slack.response_url, fake=fake_slack), fake_slack, runtime)
    for name in ("SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "MENTORBOT_SUMMARY_CHANNEL", "MENTORBOT_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_API_URL", fake_slack.url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MENTORBOT_ENCRYPTION_KEY", TEST_ENCRYPTION_KEY)
    posted = len(fake_slack.posted())
    assert main(["sweep", "--dry-run", "--now", (PRESS + SNOOZE_FOR).isoformat()]) == 0
    out = capsys.readouterr().out
    [line] = [row for row in out.splitlines() if "snooze_reminder" in row]
    assert MENTEE in line and "Thu 2026-11-26 10:30 JST" in line
    assert len(fake_slack.posted()) == posted
    engine.dispose()
