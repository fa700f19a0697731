"""Delivery through the ledger against the fake Slack: exactly once, retried, reported, silenced."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from bot.blocks.ids import CHECKIN_OPEN_ACTION, HELP_ACTION, SNOOZE_ACTION, STOP_KIND_ACTION
from bot.domain.models import (
    ClosureReason,
    MemberState,
    Nudge,
    NudgeKind,
    NudgeStatus,
    Pair,
    PairStatus,
    Phase,
    WorkspaceFlag,
)
from bot.domain.policy import GROUP
from bot.store.snapshot import claimed_keys
from tests.conftest import COORDINATOR, MENTEE, MENTOR
from tests.factories import make_agreement, make_checkin, make_goal, make_pair, make_person

NOW = datetime(2026, 1, 27, 10, tzinfo=UTC)  # a Tuesday; 15 days after the last meeting


def seed_pair(session: Session, cipher, *, mentor: str = MENTOR, mentee: str = MENTEE, **fields) -> Pair:  # type: ignore[no-untyped-def]
    make_person(session, mentor, tz="UTC", info_fetched_at=NOW)
    make_person(session, mentee, tz="UTC", info_fetched_at=NOW)
    pair = make_pair(session, mentor_id=mentor, mentee_id=mentee, phase=fields.pop("phase", Phase.PROGRESSION),
                     channel_id=f"G{mentor[1:]}{mentee[1:]}"[:20], **fields)
    make_agreement(session, pair)
    make_goal(session, pair, due_on=date(2026, 12, 1))
    make_checkin(session, pair, cipher, met_on=date(2026, 1, 12), private_note="secret worry")
    return pair


@pytest.fixture
def services(runtime):  # type: ignore[no-untyped-def]
    return runtime.services


@pytest.fixture
def one_pair(engine, services):  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        pair = seed_pair(session, services.ctx.cipher)
        session.commit()
        return pair.id


def dms(fake_slack, user_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [m for m in fake_slack.posted() if m["channel"] == "D" + user_id.lstrip("U")]


def ledger(engine) -> list[Nudge]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return list(session.exec(select(Nudge).order_by(Nudge.key)))


def test_a_due_prompt_is_sent_once_with_buttons_and_its_key_as_metadata(services, fake_slack, engine, one_pair):
    result = services.sweep.run(now=NOW)
    assert len(result.sent) == 2
    for user in (MENTOR, MENTEE):
        [message] = dms(fake_slack, user)
        key = f"{one_pair}:{user}:how_is_it_going:since2026-01-12-1"
        assert message["metadata"] == {"event_type": "mentorbot_nudge", "event_payload": {"key": key}}
        action_ids = [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert action_ids == [CHECKIN_OPEN_ACTION, SNOOZE_ACTION, HELP_ACTION, STOP_KIND_ACTION]
        stop = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]][-1]
        assert stop["value"] == f"{one_pair}:how_is_it_going"
    rows = ledger(engine)
    assert [(r.status, r.channel is not None, r.ts is not None) for r in rows] == [(NudgeStatus.SENT, True, True)] * 2
    with Session(engine) as session:
        states = session.exec(select(MemberState)).all()
        assert sorted((s.person_id, s.unanswered_prompts) for s in states) == [(MENTEE, 1), (MENTOR, 1)]
    assert "secret worry" not in fake_slack.all_text()


def test_the_same_sweep_twice_sends_each_nudge_once(services, fake_slack, engine, one_pair):
    services.sweep.run(now=NOW)
    again = services.sweep.run(now=NOW)
    assert again.due == [] and again.sent == []
    assert len(fake_slack.posted()) == 2
    assert len(ledger(engine)) == 2


def test_two_sweeps_in_parallel_send_each_nudge_once(services, fake_slack, engine):
    with Session(engine) as session:
        for i in range(6):
            seed_pair(session, services.ctx.cipher, mentor=f"UMR{i:03d}", mentee=f"UME{i:03d}")
        session.commit()
    for i in range(6):
        fake_slack.add_user(f"UMR{i:03d}")
        fake_slack.add_user(f"UME{i:03d}")
    barrier = threading.Barrier(2)
    results = []

    def run() -> None:
        barrier.wait()
        results.append(services.sweep.run(now=NOW))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    posted = fake_slack.posted()
    keys = [m["metadata"]["event_payload"]["key"] for m in posted]
    assert len(keys) == 12 and len(set(keys)) == 12
    assert sum(len(r.sent) for r in results) == 12
    assert sum(len(r.skipped) for r in results) == sum(len(r.due) for r in results) - 12


def test_rate_limits_and_server_errors_are_waited_out_and_each_nudge_arrives_once(
    services, fake_slack, engine, one_pair
):
    fake_slack.fail("chat.postMessage", status=429, retry_after=1)
    fake_slack.fail("chat.postMessage", status=500)
    result = services.sweep.run(now=NOW)
    assert len(result.sent) == 2
    assert len(fake_slack.calls_to("chat.postMessage")) == 4
    assert sorted(m["channel"] for m in fake_slack.posted()) == ["DMENTEE1", "DMENTOR1"]


def test_a_passing_failure_releases_the_claim_and_a_later_sweep_sends_it(services, fake_slack, engine, one_pair):
    fake_slack.fail("chat.postMessage", status=500, times=3)  # more than the client's own retries
    first = services.sweep.run(now=NOW)
    assert len(first.retry_later) == 1 and len(first.sent) == 1
    assert len(ledger(engine)) == 1
    second = services.sweep.run(now=NOW.replace(minute=5))
    assert len(second.sent) == 1
    assert len(fake_slack.posted()) == 2


def test_an_undeliverable_nudge_is_recorded_and_the_coordinator_told_once(services, fake_slack, engine):
    fake_slack.add_user("UNOBODY9", "No DMs", tz="UTC")
    fake_slack.users["UNOBODY9"]["dm_error"] = "messages_tab_disabled"
    with Session(engine) as session:
        seed_pair(session, services.ctx.cipher, mentee="UNOBODY9")
        session.commit()
    first = services.sweep.run(now=NOW)
    assert len(first.undeliverable) == 1
    [row] = [r for r in ledger(engine) if r.recipient == "UNOBODY9"]
    assert (row.status, row.error) == (NudgeStatus.UNDELIVERABLE, "messages_tab_disabled")
    notices = dms(fake_slack, COORDINATOR)
    assert len(notices) == 1
    assert "couldn't deliver" in notices[0]["text"] and "messages_tab_disabled" in notices[0]["text"]
    assert f"<@{MENTOR}>" in notices[0]["text"]
    # A later nudge to the same person fails too, and is recorded, but nobody is told twice.
    later = [services.sweep.run(now=datetime(2026, 2, day, 10, tzinfo=UTC)) for day in (9, 10)]
    assert sum(len(r.undeliverable) for r in later) == 1
    assert len(dms(fake_slack, COORDINATOR)) == 1


def test_slack_refusing_the_token_stops_the_sweep_with_one_clear_line(services, fake_slack, engine, one_pair, caplog):
    fake_slack.fail("chat.postMessage", error="invalid_auth")
    with caplog.at_level(logging.ERROR):
        result = services.sweep.run(now=NOW)
    assert result.stopped
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert ledger(engine) == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "invalid_auth" in errors[0].getMessage()


def test_the_quiet_switch_holds_every_scheduled_nudge(services, fake_slack, engine, one_pair):
    with Session(engine) as session:
        session.add(WorkspaceFlag(name="quiet", value="on"))
        session.commit()
    assert services.sweep.run(now=NOW).sent == []
    assert fake_slack.posted() == []
    with Session(engine) as session:
        session.get(WorkspaceFlag, "quiet").value = "off"
        session.commit()
    assert len(services.sweep.run(now=NOW).sent) == 2


def test_a_dry_run_sends_and_records_nothing(services, fake_slack, engine, one_pair):
    result = services.sweep.run(now=NOW, dry_run=True)
    assert len(result.due) == 2
    assert fake_slack.posted() == [] and ledger(engine) == []


def test_group_nudges_go_to_the_pairs_group_dm_with_a_stop_button(services, fake_slack, engine, one_pair):
    services.sweep.run(now=datetime(2026, 2, 10, 1, tzinfo=UTC))  # Tokyo 10:00, 29 days silent: drift
    [message] = fake_slack.posted()
    assert message["channel"] == "GMENTOR1MENTEE1"
    assert "29 days" in message["text"]
    assert message["blocks"][-1]["elements"][0]["value"] == f"{one_pair}:{NudgeKind.DRIFT}"


def test_only_stale_people_are_asked_about_again(services, fake_slack, engine):
    with Session(engine) as session:
        seed_pair(session, services.ctx.cipher)
        make_person(session, "UMR000", tz="UTC", info_fetched_at=None)
        make_pair(session, mentor_id="UMR000", mentee_id=MENTEE, channel_id="GX")
        session.commit()
    fake_slack.add_user("UMR000", tz="Asia/Tokyo")
    services.sweep.run(now=NOW)
    asked = [c.params["user"] for c in fake_slack.calls_to("users.info")]
    assert asked == ["UMR000", COORDINATOR]  # stale, and never met
    services.sweep.run(now=NOW.replace(minute=5))
    assert len(fake_slack.calls_to("users.info")) == 2
    with Session(engine) as session:
        from bot.domain.models import Person

        assert session.get(Person, "UMR000").tz == "Asia/Tokyo"


def test_a_winding_up_pair_past_its_end_date_is_ended_by_the_sweep(services, engine):
    with Session(engine) as session:
        pair_id = seed_pair(session, services.ctx.cipher, phase=Phase.WINDING_UP, ends_on=date(2026, 1, 20)).id
        session.commit()
    services.sweep.run(now=NOW)
    with Session(engine) as session:
        ended = session.get(Pair, pair_id)
        assert (ended.status, ended.phase, ended.closure_reason) == (
            PairStatus.ENDED, Phase.ENDED, ClosureReason.COMPLETED)


def test_loading_the_program_takes_the_same_number_of_statements_for_2_or_20_pairs(services, engine):
    def statements_for(pairs: int) -> int:
        with Session(engine) as session:
            for i in range(pairs):
                seed_pair(session, services.ctx.cipher, mentor=f"UMR{pairs}{i:03d}", mentee=f"UME{pairs}{i:03d}")
            session.commit()
        count = 0

        def counter(*_args) -> None:  # type: ignore[no-untyped-def]
            nonlocal count
            count += 1

        event.listen(engine, "before_cursor_execute", counter)
        try:
            with services.ctx.session() as session:
                services.sweep.load_state(session, NOW)
        finally:
            event.remove(engine, "before_cursor_execute", counter)
        return count

    assert statements_for(2) == statements_for(20)


def test_stop_reminding_me_pressed_in_slack_stops_that_kind_for_that_person(services, fake_slack, engine, slack):
    fake_slack.add_user(MENTOR, tz="UTC")
    fake_slack.add_user(MENTEE, tz="UTC")
    with Session(engine) as session:
        seed_pair(session, services.ctx.cipher, cadence_days=10)
        session.commit()
    services.sweep.run(now=datetime(2026, 1, 22, 10, tzinfo=UTC))  # 10 days silent: both asked
    [prompt] = dms(fake_slack, MENTOR)
    stop = [e for b in prompt["blocks"] if b["type"] == "actions" for e in b["elements"]
            if e["action_id"] == STOP_KIND_ACTION][0]
    assert slack.block_action(user_id=MENTOR, action_id=STOP_KIND_ACTION, value=stop["value"],
                              channel_id=prompt["channel"], message_ts=prompt["ts"]).status == 200
    services.sweep.run(now=datetime(2026, 2, 2, 10, tzinfo=UTC))  # 21 days: the drift nudge to the pair
    services.sweep.run(now=datetime(2026, 2, 3, 10, tzinfo=UTC))  # the next prompt, to the mentee only
    assert len(dms(fake_slack, MENTOR)) == 1
    assert [m["metadata"]["event_payload"]["key"].split(":")[2] for m in dms(fake_slack, MENTEE)] == [
        "how_is_it_going", "how_is_it_going"]


def _due(kind: NudgeKind, recipient: str, role: str, goal_id: int | None = None):  # type: ignore[no-untyped-def]
    from bot.domain.policy import DueNudge

    return DueNudge(f"1:{recipient}:{kind}:x", 1, recipient, kind, role, NOW, goal_id)


def test_meeting_preparation_asks_the_mentor_and_the_mentee_different_things():
    from bot.blocks.nudges import NudgeFacts, build_nudge_message
    from bot.domain.policy import GoalFacts

    pair = Pair(id=1, mentor_id=MENTOR, mentee_id=MENTEE, started_on=date(2026, 1, 5), ends_on=date(2026, 7, 5),
                created_by=COORDINATOR)
    facts = NudgeFacts(pair=pair, open_goals=(GoalFacts(1, "Give a *talk* <here>", date(2026, 3, 1)),),
                       next_meeting_on=date(2026, 1, 28))
    mentor = build_nudge_message(_due(NudgeKind.MEETING_PREP, MENTOR, "mentor"), facts).text
    mentee = build_nudge_message(_due(NudgeKind.MEETING_PREP, MENTEE, "mentee"), facts).text
    assert "facts" in mentor and "what do you want from this conversation" in mentor
    assert "progress" in mentee and "items from last time" in mentee
    assert "Wednesday, Jan 28" in mentor and "Wednesday, Jan 28" in mentee
    assert "&lt;here&gt;" in mentee and "<here>" not in mentee  # goal text is escaped


def test_the_prompts_paused_message_offers_resume_and_every_member_dm_offers_stop():
    from bot.blocks.ids import RESUME_PROMPTS_ACTION
    from bot.blocks.nudges import NudgeFacts, build_nudge_message

    pair = Pair(id=1, mentor_id=MENTOR, mentee_id=MENTEE, started_on=date(2026, 1, 5), ends_on=date(2026, 7, 5),
                created_by=COORDINATOR)
    for kind in set(NudgeKind) - {NudgeKind.WEEKLY_SUMMARY, NudgeKind.AT_RISK}:
        reply = build_nudge_message(_due(kind, MENTEE, "mentee"), NudgeFacts(pair=pair))
        ids = [e["action_id"] for b in reply.blocks if b["type"] == "actions" for e in b["elements"]]
        assert STOP_KIND_ACTION in ids, kind
        if kind == NudgeKind.PROMPTS_PAUSED:
            assert ids[0] == RESUME_PROMPTS_ACTION


def test_a_meeting_reminder_lists_every_open_goal_not_only_those_near_their_date(services, fake_slack, engine):
    with Session(engine) as session:
        for user in (MENTOR, MENTEE):
            make_person(session, user, tz="UTC", info_fetched_at=NOW)
        pair = make_pair(session, phase=Phase.PROGRESSION, channel_id="GMEET1")
        make_agreement(session, pair)
        make_goal(session, pair, text="Give the conference talk", due_on=date(2026, 12, 1))
        make_goal(session, pair, text="Read the design book", due_on=None)
        make_goal(session, pair, text="Ship the first demo", status="achieved", achieved_on=date(2026, 1, 19))
        # Met last Tuesday; they meet again tomorrow: today is the working day before. (They first met weeks
        # ago, so no fit check is due.)
        make_checkin(session, pair, services.ctx.cipher, met_on=date(2026, 1, 5))
        make_checkin(session, pair, services.ctx.cipher, met_on=date(2026, 1, 20), next_meeting_on=date(2026, 1, 28))
        session.commit()
    result = services.sweep.run(now=NOW)
    assert sorted(n.kind for n in result.due) == [NudgeKind.MEETING_PREP, NudgeKind.MEETING_PREP]
    [to_mentee] = dms(fake_slack, MENTEE)
    assert "Your open goals:" in to_mentee["text"]
    assert "Give the conference talk" in to_mentee["text"] and "Read the design book" in to_mentee["text"]
    assert "Ship the first demo" not in to_mentee["text"], "an achieved goal is not listed as open"


def test_a_goal_far_from_its_date_still_counts_as_direction_set(services, engine):
    """The sweep reads only goals near their date; whether a pair set any goal comes from the database."""
    started = date(2025, 12, 22)  # five weeks before NOW: time to set direction
    with Session(engine) as session:
        pairs = {}
        for mentor, mentee, with_goal in (("UMGOAL", "UEGOAL", True), ("UMNONE", "UENONE", False)):
            for user in (mentor, mentee):
                make_person(session, user, tz="UTC", info_fetched_at=NOW)
            pair = make_pair(session, mentor_id=mentor, mentee_id=mentee, phase=Phase.DIRECTION, started_on=started,
                             channel_id=f"G{mentor}")
            make_agreement(session, pair)
            make_checkin(session, pair, services.ctx.cipher, met_on=date(2026, 1, 5))  # long past its fit check
            make_checkin(session, pair, services.ctx.cipher, met_on=date(2026, 1, 20))
            if with_goal:
                make_goal(session, pair, text="Lead a project", due_on=date(2026, 11, 30))
            pairs[with_goal] = pair.id
        session.commit()
    due = services.sweep.run(now=NOW, dry_run=True).due
    prompted = {n.pair_id for n in due if n.kind == NudgeKind.DIRECTION_PROMPT}
    assert prompted == {pairs[False]}


def _sent(engine, *, key: str, recipient: str, at: datetime, pair_id: int | None = None) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        session.add(Nudge(key=key, pair_id=pair_id, recipient=recipient, kind="how_is_it_going", period="p",
                          status=NudgeStatus.SENT, claimed_at=at, claimed_by="earlier", sent_at=at, attempts=1))
        session.commit()


@pytest.mark.parametrize(("days_ago", "capped"), [((3, 4, 5), True), ((4, 5), False), ((1, 9, 10), False)])
def test_the_weekly_cap_counts_what_the_ledger_sent_in_the_past_seven_days(
        services, engine, one_pair, days_ago, capped):
    # The sweep reads the far days as counts and the near ones one by one; both count towards the week.
    for n, days in enumerate(days_ago):
        _sent(engine, key=f"earlier:{n}", recipient=MENTEE, at=NOW.replace(day=NOW.day - days, hour=14))
    due = services.sweep.run(now=NOW, dry_run=True).due
    assert sorted(n.recipient for n in due) == ([MENTOR] if capped else [MENTEE, MENTOR])


@pytest.mark.parametrize(("sent_at", "count", "capped"), [
    (NOW.replace(hour=9), 1, True),  # earlier today: both members' day is used up
    (NOW.replace(day=NOW.day - 4, hour=14), 3, True),  # three this week: both members' week is
    (NOW.replace(day=NOW.day - 4, hour=14), 2, False),
])
def test_a_group_dm_in_the_ledger_counts_towards_both_members_caps(services, engine, one_pair, sent_at, count, capped):
    # The ledger names the pair, not its members: the sweep finds them through the pair.
    for n in range(count):
        _sent(engine, key=f"{one_pair}:group:drift:{n}", recipient=GROUP, at=sent_at, pair_id=one_pair)
    due = services.sweep.run(now=NOW, dry_run=True).due
    assert sorted(n.recipient for n in due) == ([] if capped else [MENTEE, MENTOR])


def test_a_nudge_whose_pair_was_paused_after_the_decision_is_not_sent(services, fake_slack, engine, one_pair):
    # The mentor left: their prompt (first, by pair order) fails and pauses the pair; the mentee's prompt, decided
    # in the same sweep, reads its pair again before it goes and stays unsent and unclaimed.
    del fake_slack.users[MENTOR]
    fake_slack.fail("chat.postMessage", error="user_not_found", times=1)
    result = services.sweep.run(now=NOW)
    assert sorted(n.recipient for n in result.due) == [MENTEE, MENTOR]
    assert dms(fake_slack, MENTEE) == []
    assert [k.split(":")[1] for k in result.skipped] == [MENTEE]
    with Session(engine) as session:
        assert session.get(Pair, one_pair).status == PairStatus.PAUSED
    assert [r.recipient for r in ledger(engine) if r.kind == NudgeKind.HOW_IS_IT_GOING] == [MENTOR]


def test_the_ledger_answers_for_many_candidate_keys_in_a_fixed_number_of_statements(engine):
    # A big program's candidates are looked up in a few statements however many there are: claimed keys
    # first and last are found, unclaimed ones in between are not, and a second lookup on the same
    # connection finds only its own keys.
    keys = [f"1:U{n:06d}:how_is_it_going:p" for n in range(25_001)]
    for key in (keys[0], keys[-1], "9:UOTHER:how_is_it_going:p"):
        _sent(engine, key=key, recipient=MENTEE, at=NOW)
    issued: list[str] = []

    def count(*args: object) -> None:
        issued.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        with Session(engine) as session:
            assert claimed_keys(keys, session=session) == {keys[0], keys[-1]}
            assert len(issued) <= 3
            assert claimed_keys(keys[1:-1], session=session) == frozenset()
            assert claimed_keys(keys[-1:], session=session) == {keys[-1]}
    finally:
        event.remove(engine, "before_cursor_execute", count)
    with Session(engine) as session:
        assert claimed_keys([], session=session) == frozenset()
