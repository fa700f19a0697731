"""The pacer: at most one post a second per conversation, the most urgent first, no conversation waiting
for another's limit, and a 429 resting only the conversation Slack refused."""

from __future__ import annotations

import math

from bot.delivery.pacing import Pacer


def drain(pacer: Pacer[str], *, post_takes: float = 0.0) -> list[tuple[float, str, str]]:
    """Send everything, on a clock that only moves by waiting or posting; return (when, conversation, item)."""
    now = 0.0
    sent = []
    while (step := pacer.take(now)) is not None:
        if isinstance(step, float):
            now += step
            continue
        conversation, item = step
        sent.append((now, conversation, item))
        now += post_takes
        pacer.posted(conversation, now)
    return sent


def test_consecutive_nudges_to_one_conversation_are_a_second_apart():
    sent = drain(Pacer([("C1", "a"), ("C1", "b"), ("C1", "c")]))
    assert [(when, item) for when, _c, item in sent] == [(0.0, "a"), (1.0, "b"), (2.0, "c")]


def test_other_conversations_go_while_one_rests():
    sent = drain(Pacer([("C1", "a1"), ("C1", "a2"), ("C1", "a3"), ("C2", "b1"), ("C3", "c1")]))
    assert [(when, item) for when, _c, item in sent] == [
        (0.0, "a1"), (0.0, "b1"), (0.0, "c1"), (1.0, "a2"), (2.0, "a3")]


def test_priority_order_is_kept_within_each_conversation_and_among_those_ready():
    items = [("C2", "1"), ("C1", "2"), ("C2", "3"), ("C1", "4"), ("C3", "5")]
    sent = drain(Pacer(items))
    assert [item for _when, _c, item in sent] == ["1", "2", "5", "3", "4"]
    for conversation in ("C1", "C2"):
        mine = [int(item) for _when, c, item in sent if c == conversation]
        assert mine == sorted(mine)


def test_the_second_counts_from_when_the_post_was_answered():
    sent = drain(Pacer([("C1", "a"), ("C1", "b")]), post_takes=0.25)
    assert [when for when, _c, _item in sent] == [0.0, 1.25]


def test_a_refused_nudge_goes_first_again_after_retry_after_and_only_its_conversation_waits():
    pacer = Pacer([("C1", "a1"), ("C1", "a2"), ("C2", "b1"), ("C2", "b2")])
    assert pacer.take(0.0) == ("C1", "a1")
    pacer.refused("C1", 0.0, retry_after=5)
    assert pacer.take(0.0) == ("C2", "b1"), "C2 does not wait for C1's limit"
    pacer.posted("C2", 0.0)
    assert pacer.take(0.0) == 1.0
    assert pacer.take(1.0) == ("C2", "b2")
    pacer.posted("C2", 1.0)
    assert pacer.take(1.0) == 4.0, "C1 rests the whole Retry-After"
    assert pacer.take(5.0) == ("C1", "a1"), "the refused nudge keeps its place at the head"
    pacer.posted("C1", 5.0)
    assert pacer.take(5.0) == 1.0
    assert pacer.take(6.0) == ("C1", "a2")
    pacer.posted("C1", 6.0)
    assert pacer.take(6.0) is None


def test_a_429_without_retry_after_rests_the_conversation_one_interval():
    pacer = Pacer([("C1", "a")])
    pacer.take(0.0)
    pacer.refused("C1", 0.0, retry_after=None)
    assert pacer.take(0.0) == 1.0


def test_a_nudge_that_needed_no_post_lets_its_conversation_go_on_at_once():
    pacer = Pacer([("C1", "a"), ("C1", "b")])
    pacer.take(0.0)
    pacer.untouched("C1")
    assert pacer.take(0.0) == ("C1", "b")


def test_an_empty_pacer_is_done():
    assert Pacer([]).take(0.0) is None


def test_several_conversations_can_be_out_at_once_but_never_one_twice():
    pacer = Pacer([("C1", "a1"), ("C1", "a2"), ("C2", "b1")])
    assert pacer.take(0.0) == ("C1", "a1")
    assert pacer.take(0.0) == ("C2", "b1"), "another conversation goes while C1's post is out"
    assert pacer.take(0.0) == math.inf, "a2 waits until C1's post is reported"
    pacer.posted("C2", 0.1)
    assert pacer.take(0.1) == math.inf
    pacer.posted("C1", 0.2)
    assert pacer.take(0.2) == 1.0
    assert pacer.take(1.2) == ("C1", "a2")
