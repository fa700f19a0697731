"""Parsing the sign-up and matching commands: each parses, or is refused with the reason and the right form."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.commands import (
    LeavePool,
    ManageTopics,
    OpenProfile,
    ProposeMatches,
    ShowProfile,
    UsageError,
    parse_command,
)

TODAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("join", OpenProfile(joining=True)),
        ("JOIN", OpenProfile(joining=True)),
        ("profile", OpenProfile(joining=False)),
        ("profile <@U123ABC|theo>", ShowProfile(person_id="U123ABC")),
        ("leave", LeavePool()),
        ("match", ProposeMatches()),
        ("topics", ManageTopics()),
        ("topics add   Public   Speaking ", ManageTopics(verb="add", name="Public Speaking")),
        ('topics remove "data engineering"', ManageTopics(verb="remove", name="data engineering")),
    ],
)
def test_sign_up_and_matching_commands_parse(text, command):
    assert parse_command(text, today=TODAY) == command


@pytest.mark.parametrize(
    ("text", "says", "usage"),
    [
        ("join me", "takes nothing after it", "/mentoring join"),
        ("leave now", "takes nothing after it", "/mentoring leave"),
        ("match all", "takes nothing after it", "/mentoring match"),
        ("profile theo", "To name a person, type @", "/mentoring profile [@person]"),
        ("profile <@U1AAA> <@U2BBB>", "one partner at most", "/mentoring profile [@person]"),
        ("topics delete x", "topics add <name>", "/mentoring topics [add|remove <name>]"),
        ("topics add", "Name the topic to add", "/mentoring topics [add|remove <name>]"),
        ("topics add " + "a" * 76, "keep it to 75", "/mentoring topics [add|remove <name>]"),
        ("topics add under_score", "plain words", "/mentoring topics [add|remove <name>]"),
        # & too: a topic is shown inside *bold* in the matcher's reasons
        ("topics add C&amp;C", "plain words", "/mentoring topics [add|remove <name>]"),
        ("topics add <@U1AAA>", "not a person", "/mentoring topics [add|remove <name>]"),
    ],
)
def test_bad_sign_up_and_matching_commands_say_why(text, says, usage):
    with pytest.raises(UsageError) as raised:
        parse_command(text, today=TODAY)
    assert says in raised.value.message
    assert raised.value.usage == usage
