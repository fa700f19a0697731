"""Pacing a sweep's posts to Slack's limit for chat.postMessage: about one message a second per conversation.

A sweep's nudges come in priority order. Sent strictly in that order, everyone queues behind the busiest
conversation (a coordinator's DM full of at-risk alerts, a cohort's shared channel), and posting faster
than Slack allows only earns 429s. The pacer hands out, among the conversations that may be posted to now,
the one whose next nudge comes first in the priority order, and says how long to wait when none may.
Within a conversation the priority order is kept, and a conversation has at most one item out at a time
(handed out and not yet reported back), so several conversations can be posted to at once. It holds no
clock and no lock: one thread drives it and passes the time in.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")

# Slack documents one message a second per conversation and tolerates short bursts without promising
# them; spacing every post by the full second means a sweep never provokes a 429 of its own.
SLACK_INTERVAL = 1.0


class Pacer(Generic[T]):
    """Items keyed by conversation, handed out no faster than one per `interval` per conversation."""

    def __init__(self, items: Iterable[tuple[str, T]], *, interval: float = SLACK_INTERVAL) -> None:
        self.interval = interval
        # Each conversation's items with their place in the overall priority order, the next one LAST: a
        # list per conversation, as most hold one or two items and a deque costs several times a short list
        # even empty (bench/README.md has what it came to on a big program's Monday).
        self._queues: dict[str, list[tuple[int, T]]] = {}
        for order, (conversation, item) in enumerate(items):
            self._queues.setdefault(conversation, []).append((order, item))
        for queue in self._queues.values():
            queue.reverse()
        # Conversations that may be posted to now, by the priority of their next item.
        self._ready: list[tuple[int, str]] = [(queue[-1][0], c) for c, queue in self._queues.items()]
        heapq.heapify(self._ready)
        # Conversations resting until their next slot: (slot, priority of their next item, conversation).
        self._resting: list[tuple[float, int, str]] = []
        # Items handed out and not yet reported back (posted / untouched / refused), by conversation.
        self._out: dict[str, tuple[int, T]] = {}

    def take(self, now: float) -> tuple[str, T] | float | None:
        """Return (conversation, item) to send now, else the seconds until one may go, or None when done.

        The seconds are infinite when only items out remain: the next one can go once one is reported.
        """
        while self._resting and self._resting[0][0] <= now:
            _slot, order, conversation = heapq.heappop(self._resting)
            heapq.heappush(self._ready, (order, conversation))
        if self._ready:
            _order, conversation = heapq.heappop(self._ready)
            self._out[conversation] = self._queues[conversation].pop()
            return conversation, self._out[conversation][1]
        if self._resting:
            return self._resting[0][0] - now
        return math.inf if self._out else None

    def posted(self, conversation: str, at: float) -> None:
        """The conversation's item out reached Slack's limit counter (sent, or answered an error) at `at`."""
        del self._out[conversation]
        self._rest(conversation, at + self.interval)

    def untouched(self, conversation: str) -> None:
        """The conversation's item out needed no post (another sweep had it): it may go on at once."""
        del self._out[conversation]
        self._rest(conversation, -math.inf)

    def refused(self, conversation: str, at: float, retry_after: float | None) -> None:
        """Slack answered 429 at `at`: the item goes first again once Retry-After (at least a second) passed."""
        self._queues[conversation].append(self._out.pop(conversation))
        self._rest(conversation, at + max(retry_after or 0.0, self.interval))

    def _rest(self, conversation: str, slot: float) -> None:
        queue = self._queues[conversation]
        if not queue:
            del self._queues[conversation]
        else:
            heapq.heappush(self._resting, (slot, queue[-1][0], conversation))
