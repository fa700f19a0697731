"""The nudge policy, table-driven, with `now` given: no database, no clock, no Slack."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.models import GoalStatus, NudgeKind, Pair, PairStatus, Phase
from bot.domain.policy import (
    GROUP,
    Delivery,
    GoalFacts,
    MemberFacts,
    PairFacts,
    ProgramState,
    StateChange,
    due_nudges,
    is_within_working_hours,
    nudge_key,
    plan,
)

MENTOR, MENTEE, COORD = "UMENTOR1", "UMENTEE1", "UCOORD1"
STARTED = date(2026, 1, 5)  # a Monday


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def make_pair(pair_id: int = 1, **fields: object) -> Pair:
    values: dict[str, object] = dict(
        id=pair_id, mentor_id=MENTOR, mentee_id=MENTEE, phase=Phase.PROGRESSION, status=PairStatus.ACTIVE,
        cadence_days=14, started_on=STARTED, ends_on=date(2026, 12, 31), created_by=COORD, channel_id="GPAIR",
    )
    values.update(fields)
    return Pair(**values)


def facts(pair: Pair | None = None, *, agreement: bool = True, goals: tuple[GoalFacts, ...] | None = None,
          met_on: date | None = None, next_meeting_on: date | None = None,
          members: dict[str, MemberFacts] | None = None) -> PairFacts:
    pair = pair or make_pair()
    if goals is None:
        goals = (GoalFacts(id=1, text="Lead a review", due_on=date(2026, 12, 1)),)
    return PairFacts(pair.id, pair.mentor_id, pair.mentee_id, pair.phase, pair.status, pair.cadence_days,
                     pair.started_on, pair.ends_on, pair.channel_id, pair.paused_until, has_agreement=agreement,
                     goals=goals, last_met_on=met_on, next_meeting_on=next_meeting_on if met_on else None,
                     members=members or {})


def state(*pairs: PairFacts, zones: dict[str, str | None] | None = None, **fields: object) -> ProgramState:
    values: dict[str, object] = dict(zones=zones or {MENTOR: "UTC", MENTEE: "UTC", COORD: "UTC"},
                                     coordinators=(COORD,), summary_channel=None)
    values.update(fields)
    return ProgramState(pairs=pairs, **values)  # type: ignore[arg-type]


def kinds_to(nudges: list, recipient: str) -> list[str]:
    return [n.kind for n in nudges if n.recipient == recipient]


# ---- working hours ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 1, 12, 8, 59), False),  # Monday, before nine
        (datetime(2026, 1, 12, 9, 0), True),
        (datetime(2026, 1, 16, 16, 59), True),  # Friday, last minute
        (datetime(2026, 1, 16, 17, 0), False),  # Friday, five o'clock is out
        (datetime(2026, 1, 17, 11, 0), False),  # Saturday
        (datetime(2026, 1, 18, 11, 0), False),  # Sunday
    ],
)
def test_working_hours_are_monday_to_friday_nine_to_five(local, expected):
    assert is_within_working_hours(local.replace(tzinfo=ZoneInfo("Europe/Berlin"))) is expected


# ---- how is it going? -------------------------------------------------------------------------------------


def test_each_member_is_asked_how_it_is_going_after_one_silent_cadence():
    due = due_nudges(state(facts(met_on=date(2026, 1, 12))), utc(2026, 1, 26, 10))
    assert kinds_to(due, MENTOR) == [NudgeKind.HOW_IS_IT_GOING]
    assert kinds_to(due, MENTEE) == [NudgeKind.HOW_IS_IT_GOING]
    assert due[0].key == nudge_key(1, due[0].recipient, NudgeKind.HOW_IS_IT_GOING, "since2026-01-12-1")


def test_nobody_is_asked_before_a_cadence_has_passed_without_a_meeting():
    assert due_nudges(state(facts(met_on=date(2026, 1, 12))), utc(2026, 1, 23, 10)) == []


def test_a_prompt_already_in_the_ledger_is_not_chosen_again():
    key = nudge_key(1, MENTOR, NudgeKind.HOW_IS_IT_GOING, "since2026-01-12-1")
    due = due_nudges(state(facts(met_on=date(2026, 1, 12)), ledger_keys=frozenset({key})), utc(2026, 1, 27, 10))
    assert kinds_to(due, MENTOR) == []
    assert kinds_to(due, MENTEE) == [NudgeKind.HOW_IS_IT_GOING]


# ---- zones, daylight saving, the Friday edge --------------------------------------------------------------

TOKYO_LA = {MENTOR: "America/Los_Angeles", MENTEE: "Asia/Tokyo", COORD: "UTC"}


@pytest.mark.parametrize(
    ("now", "mentor_hears", "mentee_hears"),
    [
        (utc(2026, 1, 27, 1), False, True),  # Tokyo Tue 10:00; Los Angeles Mon 17:00
        (utc(2026, 1, 27, 17, 30), True, False),  # Los Angeles Tue 09:30; Tokyo Wed 02:30
        (utc(2026, 1, 26, 12), False, False),  # Tokyo Mon 21:00; Los Angeles Mon 04:00
    ],
)
def test_tokyo_and_los_angeles_are_each_nudged_in_their_own_hours(now, mentor_hears, mentee_hears):
    due = due_nudges(state(facts(met_on=date(2026, 1, 12)), zones=TOKYO_LA), now)
    assert bool(kinds_to(due, MENTOR)) is mentor_hears
    assert bool(kinds_to(due, MENTEE)) is mentee_hears
    for nudge in due:
        assert is_within_working_hours(nudge.local_at)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 3, 6, 16, 30), False),  # Fri before DST: 08:30 PST
        (utc(2026, 3, 9, 16, 30), True),  # Mon after 2026-03-08: 09:30 PDT
        (utc(2026, 3, 9, 15, 59), False),  # 08:59 PDT
        (utc(2026, 10, 30, 16, 30), True),  # Fri before 2026-11-01: 09:30 PDT
        (utc(2026, 11, 2, 16, 30), False),  # Mon after: 08:30 PST
        (utc(2026, 11, 2, 17, 0), True),  # 09:00 PST
        (utc(2026, 11, 3, 0, 59), True),  # Mon 16:59 PST
        (utc(2026, 11, 3, 1, 0), False),  # Mon 17:00 PST
    ],
)
def test_los_angeles_working_hours_follow_daylight_saving(now, expected):
    pair = make_pair(started_on=now.date() - timedelta(days=40))
    due = due_nudges(state(facts(pair, met_on=now.date() - timedelta(days=15)), zones=TOKYO_LA), now)
    assert bool(kinds_to(due, MENTOR)) is expected


@pytest.mark.parametrize(("minute_of_hour", "hour", "expected"), [(59, 16, True), (0, 17, False)])
def test_friday_five_pm_is_the_edge(minute_of_hour, hour, expected):
    due = due_nudges(state(facts(met_on=date(2026, 1, 16))), utc(2026, 1, 30, hour, minute_of_hour))
    assert bool(kinds_to(due, MENTEE)) is expected


def test_a_person_with_no_zone_gets_the_program_zone():
    zones = {MENTOR: None, MENTEE: "UTC", COORD: "UTC"}
    now = utc(2026, 1, 26, 8, 30)  # 09:30 in Berlin, 08:30 UTC
    due = due_nudges(state(facts(met_on=date(2026, 1, 12)), zones=zones, program_tz="Europe/Berlin"), now)
    assert kinds_to(due, MENTOR) == [NudgeKind.HOW_IS_IT_GOING]
    assert kinds_to(due, MENTEE) == []


# ---- meeting preparation, reflection, goals ---------------------------------------------------------------


def test_both_prepare_on_the_working_day_before_the_meeting_in_their_own_role():
    pair_facts = facts(met_on=date(2026, 1, 12), next_meeting_on=date(2026, 1, 16))
    due = due_nudges(state(pair_facts), utc(2026, 1, 15, 10))
    prep = {n.recipient: n.role for n in due if n.kind == NudgeKind.MEETING_PREP}
    assert prep == {MENTOR: "mentor", MENTEE: "mentee"}
    assert [n for n in due_nudges(state(pair_facts), utc(2026, 1, 14, 10)) if n.kind == NudgeKind.MEETING_PREP] == []


def test_a_monday_meeting_is_prepared_for_on_friday_not_at_the_weekend():
    pair_facts = facts(met_on=date(2026, 1, 12), next_meeting_on=date(2026, 1, 19))
    assert NudgeKind.MEETING_PREP in kinds_to(due_nudges(state(pair_facts), utc(2026, 1, 16, 10)), MENTOR)
    assert due_nudges(state(pair_facts), utc(2026, 1, 17, 10)) == []


def test_the_mentee_reflects_on_the_working_day_after_a_meeting():
    pair_facts = facts(met_on=date(2026, 1, 9))  # a Friday
    assert kinds_to(due_nudges(state(pair_facts), utc(2026, 1, 10, 10)), MENTEE) == []
    due = due_nudges(state(pair_facts), utc(2026, 1, 12, 10))
    assert kinds_to(due, MENTEE) == [NudgeKind.REFLECTION]
    assert kinds_to(due, MENTOR) == []


@pytest.mark.parametrize(
    ("now", "status", "expected"),
    [
        (utc(2026, 3, 2, 10), GoalStatus.OPEN, []),  # 8 days before
        (utc(2026, 3, 3, 10), GoalStatus.OPEN, [NudgeKind.GOAL_DUE_SOON]),  # 7 days before
        (utc(2026, 3, 11, 10), GoalStatus.OPEN, [NudgeKind.GOAL_OVERDUE]),  # passed unmet
        (utc(2026, 3, 11, 10), GoalStatus.ACHIEVED, []),
        (utc(2026, 3, 27, 10), GoalStatus.OPEN, []),  # two weeks on, the reminder has lapsed
    ],
)
def test_goal_reminders_come_a_week_before_and_when_the_date_passes_unmet(now, status, expected):
    goal = GoalFacts(id=7, text="Lead a review", due_on=date(2026, 3, 10), status=status)
    pair_facts = facts(goals=(goal,), met_on=now.date() - timedelta(days=7))  # reflection done, not silent
    due = due_nudges(state(pair_facts), now)
    assert kinds_to(due, MENTEE) == expected
    assert all(n.goal_id == 7 for n in due)


# ---- the pair's group DM ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "agreement", "expected"),
    [(utc(2026, 1, 9, 10), False, False), (utc(2026, 1, 12, 10), False, True), (utc(2026, 1, 12, 10), True, False)],
)
def test_a_pair_without_an_agreement_after_a_week_is_prompted(now, agreement, expected):
    pair_facts = facts(make_pair(phase=Phase.RAPPORT), agreement=agreement, goals=())
    due = due_nudges(state(pair_facts), now)
    assert (NudgeKind.AGREEMENT_PROMPT in kinds_to(due, GROUP)) is expected


@pytest.mark.parametrize(
    ("phase", "goals", "expected"),
    [
        (Phase.RAPPORT, None, True),  # still in rapport after 21 days
        (Phase.PROGRESSION, (), True),  # no goals by then
        (Phase.PROGRESSION, None, False),
    ],
)
def test_direction_prompt_after_three_weeks_in_rapport_or_without_goals(phase, goals, expected):
    pair_facts = facts(make_pair(phase=phase), goals=goals, met_on=date(2026, 1, 22))
    due = due_nudges(state(pair_facts), utc(2026, 1, 26, 10))
    assert (NudgeKind.DIRECTION_PROMPT in kinds_to(due, GROUP)) is expected


def test_group_nudges_follow_the_mentees_zone():
    pair_facts = facts(make_pair(phase=Phase.RAPPORT), agreement=False, goals=())
    tokyo_morning = due_nudges(state(pair_facts, zones=TOKYO_LA), utc(2026, 1, 13, 1))
    la_morning = due_nudges(state(pair_facts, zones=TOKYO_LA), utc(2026, 1, 13, 17, 30))
    assert kinds_to(tokyo_morning, GROUP) == [NudgeKind.AGREEMENT_PROMPT]
    assert kinds_to(la_morning, GROUP) == []


def test_two_silent_cadences_bring_a_drift_nudge_and_three_an_at_risk_alert():
    pair_facts = facts(met_on=date(2026, 1, 12))
    at_two = due_nudges(state(pair_facts), utc(2026, 2, 9, 10))  # 28 days
    assert kinds_to(at_two, GROUP) == [NudgeKind.DRIFT]
    assert kinds_to(at_two, COORD) == []
    at_three = due_nudges(state(pair_facts), utc(2026, 2, 23, 10))  # 42 days
    assert kinds_to(at_three, COORD) == [NudgeKind.AT_RISK]


def test_winding_up_prompt_two_weeks_before_the_end():
    pair_facts = facts(make_pair(ends_on=date(2026, 6, 30)), met_on=date(2026, 6, 10))
    assert kinds_to(due_nudges(state(pair_facts), utc(2026, 6, 15, 10)), GROUP) == []
    assert kinds_to(due_nudges(state(pair_facts), utc(2026, 6, 16, 10)), GROUP) == [NudgeKind.WINDING_UP]


# ---- the weekly summary -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 1, 12, 7, 59), False),  # Monday 08:59 in Berlin
        (utc(2026, 1, 12, 8, 0), True),  # Monday 09:00 in Berlin
        (utc(2026, 1, 13, 8, 0), False),  # Tuesday
    ],
)
def test_weekly_summary_goes_out_monday_at_nine_program_time(now, expected):
    due = due_nudges(state(summary_channel="CSUMMARY1", program_tz="Europe/Berlin"), now)
    assert bool(kinds_to(due, "CSUMMARY1")) is expected
    if expected:
        assert due[0].key == "program:CSUMMARY1:weekly_summary:2026-W03"


def test_no_summary_channel_means_no_summary():
    assert due_nudges(state(), utc(2026, 1, 12, 10)) == []


# ---- limits and attention --------------------------------------------------------------------------------


def test_one_nudge_per_person_per_day_and_the_most_important_wins():
    pair_facts = facts(met_on=date(2026, 1, 5), next_meeting_on=date(2026, 1, 23))  # silent 17 days
    due = due_nudges(state(pair_facts), utc(2026, 1, 22, 10))
    assert kinds_to(due, MENTOR) == [NudgeKind.MEETING_PREP]
    assert kinds_to(due, MENTEE) == [NudgeKind.MEETING_PREP]


def test_a_nudge_earlier_today_blocks_the_next_until_tomorrow():
    pair_facts = facts(met_on=date(2026, 1, 12))
    earlier = (Delivery(MENTOR, utc(2026, 1, 26, 9, 5)),)
    due = due_nudges(state(pair_facts, deliveries=earlier), utc(2026, 1, 26, 15))
    assert kinds_to(due, MENTOR) == []
    assert kinds_to(due, MENTEE) == [NudgeKind.HOW_IS_IT_GOING]
    tomorrow = due_nudges(state(pair_facts, deliveries=earlier), utc(2026, 1, 27, 9))
    assert kinds_to(tomorrow, MENTOR) == [NudgeKind.HOW_IS_IT_GOING]


def test_a_group_nudge_counts_for_both_members_that_day():
    pair_facts = facts(met_on=date(2026, 1, 12))
    due = due_nudges(state(pair_facts), utc(2026, 2, 9, 10))
    assert kinds_to(due, GROUP) == [NudgeKind.DRIFT]
    assert kinds_to(due, MENTOR) == kinds_to(due, MENTEE) == []


@pytest.mark.parametrize(("days_ago", "blocked"), [(6, True), (8, False)])
def test_the_weekly_cap_is_a_rolling_seven_days(days_ago, blocked):
    now = utc(2026, 1, 26, 10)
    sent = tuple(Delivery(MENTOR, now - timedelta(days=days_ago, hours=h)) for h in range(3))
    due = due_nudges(state(facts(met_on=date(2026, 1, 12)), deliveries=sent, max_dms_per_week=3), now)
    assert (kinds_to(due, MENTOR) == []) is blocked


def test_paused_and_ended_pairs_get_nothing():
    paused = facts(make_pair(1, status=PairStatus.PAUSED, paused_until=date(2026, 3, 1)), met_on=date(2026, 1, 5))
    ended = facts(make_pair(2, status=PairStatus.ENDED, phase=Phase.ENDED), met_on=date(2026, 1, 5))
    assert due_nudges(state(paused, ended), utc(2026, 2, 23, 10)) == []


def test_a_pause_that_has_run_out_resumes_the_pair_and_its_nudges():
    paused = facts(make_pair(status=PairStatus.PAUSED, paused_until=date(2026, 2, 23)), met_on=date(2026, 1, 5))
    decided = plan(state(paused), utc(2026, 2, 23, 10))
    assert decided.changes == [StateChange(1, PairStatus.ACTIVE)]
    assert decided.nudges


def test_a_winding_up_pair_past_its_end_date_ends():
    pair = make_pair(phase=Phase.WINDING_UP, ends_on=date(2026, 6, 30))
    assert plan(state(facts(pair)), utc(2026, 6, 30, 23)).changes == []
    decided = plan(state(facts(pair)), utc(2026, 7, 1, 10))
    assert decided.changes == [StateChange(1, PairStatus.ENDED, Phase.ENDED)]
    assert decided.nudges == []


def test_a_snoozed_member_and_their_pairs_group_dm_wait():
    snoozed = {MENTOR: MemberFacts(snoozed_until=utc(2026, 2, 10, 10))}
    pair_facts = facts(met_on=date(2026, 1, 12), members=snoozed)
    due = due_nudges(state(pair_facts), utc(2026, 2, 9, 10))
    assert kinds_to(due, MENTOR) == [] and kinds_to(due, GROUP) == []
    assert kinds_to(due, MENTEE) == [NudgeKind.HOW_IS_IT_GOING]
    later = due_nudges(state(pair_facts), utc(2026, 2, 10, 10, 1))
    assert kinds_to(later, GROUP) == [NudgeKind.DRIFT]


def test_a_stopped_kind_is_not_sent_to_that_person():
    stopped = {MENTOR: MemberFacts(stopped_kinds=frozenset({NudgeKind.HOW_IS_IT_GOING.value}))}
    due = due_nudges(state(facts(met_on=date(2026, 1, 12), members=stopped)), utc(2026, 1, 26, 10))
    assert kinds_to(due, MENTOR) == []
    assert kinds_to(due, MENTEE) == [NudgeKind.HOW_IS_IT_GOING]


def test_after_three_unanswered_prompts_the_fourth_is_one_prompts_paused_message():
    quiet_one = {MENTEE: MemberFacts(unanswered_prompts=3)}
    due = due_nudges(state(facts(met_on=date(2026, 1, 12), members=quiet_one)), utc(2026, 1, 26, 10))
    assert kinds_to(due, MENTEE) == [NudgeKind.PROMPTS_PAUSED]
    paused = {MENTEE: MemberFacts(unanswered_prompts=3, prompts_paused_at=utc(2026, 1, 26, 10))}
    pair_facts = facts(met_on=date(2026, 1, 12), next_meeting_on=date(2026, 1, 28), members=paused)
    later = due_nudges(state(pair_facts), utc(2026, 1, 27, 10))
    assert kinds_to(later, MENTEE) == []
    assert kinds_to(later, MENTOR) == [NudgeKind.MEETING_PREP]


def test_the_quiet_switch_stops_everything_scheduled_but_not_the_calendar():
    pair = make_pair(phase=Phase.WINDING_UP, ends_on=date(2026, 1, 23))
    quiet = state(facts(pair, met_on=date(2026, 1, 5)), summary_channel="CSUMMARY1", quiet=True)
    decided = plan(quiet, utc(2026, 1, 26, 10))
    assert decided.nudges == []
    assert decided.changes == [StateChange(1, PairStatus.ENDED, Phase.ENDED)]
    loud = state(facts(make_pair(), met_on=date(2026, 1, 5)), summary_channel="CSUMMARY1")
    assert due_nudges(loud, utc(2026, 1, 26, 10))


def test_coordinator_alerts_are_not_held_back_by_the_member_caps():
    pairs = [facts(make_pair(i, mentor_id=f"UMR{i}", mentee_id=f"UME{i}"), met_on=date(2026, 1, 5))
             for i in range(1, 5)]
    due = due_nudges(state(*pairs), utc(2026, 2, 16, 10))  # 42 days silent each
    assert kinds_to(due, COORD) == [NudgeKind.AT_RISK] * 4
    assert len({n.key for n in due}) == len(due)
