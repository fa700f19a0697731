"""The `/mentoring` parser: pure text → command, or a UsageError with the right usage."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.commands import (
    USAGE,
    AddGoal,
    CompleteGoal,
    EndPair,
    Help,
    LeavePool,
    ListGoals,
    ListPairs,
    ManageTopics,
    OpenAgreement,
    OpenCheckin,
    OpenProfile,
    PausePair,
    PostSummary,
    ProposeMatches,
    RegisterPair,
    ResumePair,
    SetQuiet,
    ShowPhase,
    ShowProfile,
    UnknownCommand,
    UsageError,
    cadence_label,
    default_end_date,
    parse_cadence,
    parse_command,
)

TODAY = date(2026, 11, 22)
COMMAND_TYPES = (Help, RegisterPair, ListPairs, OpenCheckin, OpenAgreement, AddGoal, ListGoals, CompleteGoal,
                 ShowPhase, PausePair, ResumePair, EndPair, PostSummary, SetQuiet,
                 OpenProfile, ShowProfile, LeavePool, ManageTopics, ProposeMatches)
MAYA = "<@UMAYA01|maya>"
THEO = "<@UTHEO01>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Help()),
        ("   ", Help()),
        ("help", Help()),
        ("HELP", Help()),
        (f"pair {MAYA} {THEO}", RegisterPair("UMAYA01", "UTHEO01")),
        (f"PAIR {MAYA} {THEO} Every 3 Weeks", RegisterPair("UMAYA01", "UTHEO01", cadence_days=21)),
        (f"pair {MAYA} {THEO} every 10 days until 2027-03-01",
         RegisterPair("UMAYA01", "UTHEO01", cadence_days=10, ends_on=date(2027, 3, 1))),
        (f"pair {MAYA} {THEO} until 2027-03-01 every week",
         RegisterPair("UMAYA01", "UTHEO01", cadence_days=7, ends_on=date(2027, 3, 1))),
        (f"pair {MAYA} {THEO} every 1 day", RegisterPair("UMAYA01", "UTHEO01", cadence_days=1)),
        (f"pair {MAYA} {THEO} every 26 weeks", RegisterPair("UMAYA01", "UTHEO01", cadence_days=182)),
        ("pairs", ListPairs()),
        ("pairs 3", ListPairs(page=3)),
        ("pairs page 2", ListPairs(page=2)),
        ("checkin", OpenCheckin()),
        (f"checkin {THEO}", OpenCheckin(partner_id="UTHEO01")),
        (f"agreement {MAYA}", OpenAgreement(partner_id="UMAYA01")),
        ("agreement", OpenAgreement()),
        ("goals", ListGoals()),
        (f"Goals {THEO}", ListGoals(partner_id="UTHEO01")),
        ("goal done 2", CompleteGoal(2)),
        (f"goal DONE 1 {MAYA}", CompleteGoal(1, partner_id="UMAYA01")),
        ("phase", ShowPhase()),
        ("phase next", ShowPhase(advance=True)),
        (f"phase NEXT {THEO}", ShowPhase(advance=True, partner_id="UTHEO01")),
        (f"phase {THEO}", ShowPhase(partner_id="UTHEO01")),
        ("pause", PausePair(days=14)),
        ("pause 3 days", PausePair(days=3)),
        (f"pause 2 Weeks {MAYA}", PausePair(days=14, partner_id="UMAYA01")),
        ("pause for 1 week", PausePair(days=7)),
        ("resume", ResumePair()),
        (f"resume {THEO}", ResumePair(partner_id="UTHEO01")),
        ("end", EndPair()),
        (f"end {MAYA}", EndPair(partner_id="UMAYA01")),
        ("summary", PostSummary()),
        ("quiet on", SetQuiet(on=True)),
        ("QUIET Off", SetQuiet(on=False)),
    ],
)
def test_each_command_parses_to_its_typed_form(text, expected):
    assert parse_command(text, today=TODAY) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('goal add "Ship the thing" by 2027-01-31 measure "3 demos"',
         AddGoal("Ship the thing", date(2027, 1, 31), "3 demos")),
        ("goal add Ship the thing by 2027-01-31 measure 3 demos",
         AddGoal("Ship the thing", date(2027, 1, 31), "3 demos")),
        ("goal add Ship the thing measure 3 demos by 2027-01-31",
         AddGoal("Ship the thing", date(2027, 1, 31), "3 demos")),
        ("goal add Learn to stand by my decisions", AddGoal("Learn to stand by my decisions")),
        ("GOAL ADD Ship it BY 2026-11-22", AddGoal("Ship it", date(2026, 11, 22))),
        ("goal add “Smart quotes work” measure “a demo”", AddGoal("Smart quotes work", None, "a demo")),
        (f"goal add Ship it {THEO}", AddGoal("Ship it", partner_id="UTHEO01")),
        ("goal add '); DROP TABLE pair;--", AddGoal("'); DROP TABLE pair;--")),
        ("goal add *bold* _it_ ~s~ `c` :tada: 🎉 &lt;b&gt; &amp;", AddGoal("*bold* _it_ ~s~ `c` :tada: 🎉 <b> &")),
        ("goal add Read <https://example.com|the guide>", AddGoal("Read the guide")),
    ],
)
def test_goal_add_takes_quoted_and_unquoted_text(text, expected):
    assert parse_command(text, today=TODAY) == expected


@pytest.mark.parametrize(
    ("text", "usage", "says"),
    [
        ("dance", "help", "don't know the command"),
        ("pair", "pair", "exactly two"),
        (f"pair {MAYA}", "pair", "exactly two"),
        (f"pair {MAYA} {THEO} <@UOTHER1>", "pair", "exactly two"),
        (f"pair {MAYA} {MAYA}", "pair", "two different people"),
        (f"pair @maya {THEO}", "pair", "not a Slack mention"),
        (f"pair maya {THEO}", "pair", "don't understand"),
        (f"pair {MAYA} {THEO} every 0 days", "pair", "at least 1 day"),
        (f"pair {MAYA} {THEO} every 400 weeks", "pair", "at most 26 weeks"),
        (f"pair {MAYA} {THEO} every 27 weeks", "pair", "at most 26 weeks"),
        (f"pair {MAYA} {THEO} every two weeks", "pair", "not a whole number"),
        (f"pair {MAYA} {THEO} every 2 months", "pair", "days or weeks"),
        (f"pair {MAYA} {THEO} every 2", "pair", "every N days"),
        (f"pair {MAYA} {THEO} every -1 days", "pair", "not a whole number"),
        (f"pair {MAYA} {THEO} until 2026-11-22", "pair", "not in the future"),
        (f"pair {MAYA} {THEO} until 2020-01-01", "pair", "not in the future"),
        (f"pair {MAYA} {THEO} until 2029-01-01", "pair", "more than 2 years"),
        (f"pair {MAYA} {THEO} until 2027-02-30", "pair", "not a real calendar date"),
        (f"pair {MAYA} {THEO} until 31/01/2027", "pair", "not a date"),
        (f"pair {MAYA} {THEO} until", "pair", "needs a date"),
        (f"pair {MAYA} {THEO} until 2027-01-01 until 2027-02-01", "pair", "one end date"),
        (f"checkin {MAYA} {THEO}", "checkin", "one partner"),
        ("checkin @theo", "checkin", "not a Slack mention"),
        ("goals theo", "goals", "don't understand"),
        ("goal", "goal", "goal add"),
        ("goal remove 1", "goal", "goal add"),
        ("goal add", "goal add", "what the goal is"),
        ("goal add Ship it by 2020-01-01", "goal add", "in the past"),
        ("goal add Ship it by 2027-13-01", "goal add", "not a real calendar date"),
        ("goal add Ship it by 31.01.2027", "goal add", "not a date"),
        ("goal add Ship it by 2027-01-01 and more", "goal add", "goal text first"),
        ("goal add Ship it measure", "goal add", "needs the success measure"),
        ("goal add Ship it measure a measure b", "goal add", "one success measure"),
        ('goal add "Ship it', "goal add", "not closed"),
        ("goal add " + "x" * 4000, "goal add", "keep it to 500"),
        ("goal add Ship it measure " + "y" * 501, "goal add", "keep it to 500"),
        ("goal done", "goal done", "which goal"),
        ("goal done 0", "goal done", "not a goal number"),
        ("goal done -1", "goal done", "not a goal number"),
        ("goal done x", "goal done", "not a goal number"),
        ("goal done 1000", "goal done", "not a goal number"),
        ("goal done 1 2", "goal done", "don't understand"),
        ("phase later", "phase", "don't understand"),
        ("pause 0 days", "pause", "at least 1 day"),
        ("pause 400 weeks", "pause", "at most 26 weeks"),
        ("pause 3", "pause", "N days"),
        ("pause 3 fortnights", "pause", "days or weeks"),
        ("resume now", "resume", "don't understand"),
        ("end it", "end", "don't understand"),
        ("summary please", "summary", "don't understand"),
        ("quiet", "quiet", "quiet on"),
        ("quiet maybe", "quiet", "quiet on"),
        ("pairs x", "pairs", "page number"),
        ("pairs 0", "pairs", "page number"),
    ],
)
def test_bad_input_is_a_usage_error_with_the_right_usage(text, usage, says):
    with pytest.raises(UsageError) as raised:
        parse_command(text, today=TODAY)
    assert raised.value.usage == USAGE[usage]
    assert says in raised.value.message


def test_an_unknown_word_is_an_unknown_command():
    with pytest.raises(UnknownCommand):
        parse_command("dance with me", today=TODAY)


def test_end_date_may_be_exactly_two_years_away_on_a_leap_day():
    parsed = parse_command(f"pair {MAYA} {THEO} until 2030-02-28", today=date(2028, 2, 29))
    assert parsed == RegisterPair("UMAYA01", "UTHEO01", ends_on=date(2030, 2, 28))


def test_the_last_representable_day_does_not_crash_the_end_date_check():
    parsed = parse_command(f"pair {MAYA} {THEO} until 9999-12-31", today=date(9999, 12, 30))
    assert parsed.ends_on == date(9999, 12, 31)


@pytest.mark.parametrize(("text", "days"), [("every 2 weeks", 14), ("3 days", 3), ("every week", 7), ("Every Day", 1)])
def test_cadence_text_from_the_agreement_modal(text, days):
    assert parse_cadence(text) == days


@pytest.mark.parametrize(("days", "label"), [(1, "every day"), (7, "every week"), (14, "every 2 weeks"),
                                             (10, "every 10 days")])
def test_cadence_label_reads_naturally(days, label):
    assert cadence_label(days) == label


@pytest.mark.parametrize(("today", "end"), [(date(2026, 11, 22), date(2027, 5, 22)),
                                            (date(2026, 8, 31), date(2027, 2, 28)),
                                            (date(2026, 3, 31), date(2026, 9, 30))])
def test_default_end_is_six_months_on(today, end):
    assert default_end_date(today) == end


_WORDS = st.sampled_from([
    "pair", "pairs", "goal", "goals", "add", "done", "by", "measure", "every", "until", "days", "weeks", "week",
    "pause", "resume", "end", "phase", "next", "quiet", "on", "off", "summary", "checkin", "agreement", "help",
    "2027-01-31", "2020-01-01", "2027-02-30", "0", "1", "-1", "400", "99", '"', "“", "<@U1|x>", "<@W2>", "<@",
    ">", "<http://x|y>", "@maya", "&lt;", "'); DROP TABLE pair;--", "🎉", "*", "\n",
])


def _parses_or_explains(text: str, today: date) -> None:
    try:
        parsed = parse_command(text, today=today)
    except UsageError as problem:
        assert problem.message and problem.usage in USAGE.values()
    else:
        assert isinstance(parsed, COMMAND_TYPES)


@settings(max_examples=400, deadline=None)
@given(st.lists(_WORDS, max_size=12).map(" ".join))
def test_command_like_text_only_ever_raises_usage_error(text):
    _parses_or_explains(text, TODAY)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300), st.dates())
def test_random_text_only_ever_raises_usage_error(text, today):
    _parses_or_explains(text, today)


@pytest.mark.parametrize("text", ["*dance* <!channel>", "pair &lt;!here&gt; <@U1>", "goal done `1`",
                                  "pair <@U1> <@U2> until <!everyone>"])
def test_errors_never_echo_slack_markup_back(text):
    with pytest.raises(UsageError) as raised:
        parse_command(text, today=TODAY)
    assert not set("<>*`") & set(raised.value.message.replace("`/mentoring goals`", ""))
