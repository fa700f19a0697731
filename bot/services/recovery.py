"""Settling doubt about a nudge's message: every one carries its ledger key as Slack message metadata,
so the conversation's history says whether Slack kept it when a send's outcome is unknown."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.blocks import Reply
from bot.blocks.nudges import NUDGE_EVENT_TYPE, nudge_metadata
from bot.gateway import SlackCallFailed, SlackGateway

logger = logging.getLogger(__name__)

# How far before the send (or claim) to look for the message: Slack stamps it with its own clock, and this
# host's may run ahead of it. Wide on purpose: the key, not the time, says which message it is.
HISTORY_MARGIN = timedelta(minutes=10)
# A post whose outcome is unknown (dropped connection, timeout, 5xx) is tried this often in all, with these
# pauses before the 2nd and 3rd try; then it waits for the next sweep.
SEND_ATTEMPTS = 3
BACKOFF_SECONDS = (0.5, 1.5)


class DeliveryInDoubt(Exception):
    """Slack may have the message and its history could not be read: only a later recovery can tell."""

    def __init__(self, key: str, code: str) -> None:
        self.key = key
        self.code = code
        super().__init__(f"nudge {key}: outcome unknown ({code})")


def find_in_history(gateway: SlackGateway, channel: str, key: str, *, since: datetime) -> str | None:
    """Return the ts of the message carrying `key` in `channel` since `since` (less a margin), or None."""
    oldest = f"{(since - HISTORY_MARGIN).timestamp():.6f}"
    for message in gateway.recent_messages(channel, oldest=oldest):
        metadata: dict[str, Any] = message.get("metadata") or {}
        if metadata.get("event_type") == NUDGE_EVENT_TYPE and (metadata.get("event_payload") or {}).get("key") == key:
            return str(message.get("ts"))
    return None


def post_keyed(gateway: SlackGateway, channel: str, reply: Reply, key: str, *, paced: bool = False) -> str:
    """Post `reply` carrying `key` and return its ts, never twice: after a doubtful failure, look first.

    Raises SlackCallFailed when Slack refused it (nothing was kept; a 429 was already waited out by the
    client, or with `paced` comes straight back as code "ratelimited" with its `retry_after`), or
    DeliveryInDoubt when the history could not be read after a doubtful failure.
    """
    # Slack stamps messages with its own wall clock, so the window is real time, not the sweep's `now`.
    started = datetime.now(UTC)
    last: SlackCallFailed | None = None
    for attempt in range(SEND_ATTEMPTS):
        if attempt:
            time.sleep(BACKOFF_SECONDS[attempt - 1])
        try:
            return gateway.post_message(channel, reply.text, reply.blocks, metadata=nudge_metadata(key), once=True,
                                        paced=paced)
        except SlackCallFailed as problem:
            if not problem.unsure:
                raise
            last = problem
        try:
            found = find_in_history(gateway, channel, key, since=started)
        except SlackCallFailed as problem:
            raise DeliveryInDoubt(key, f"{last.code}; history: {problem.code}") from problem
        if found is not None:
            logger.info("nudge key=%s reached Slack despite %s (ts=%s)", key, last.code, found)
            return found
        logger.warning("nudge key=%s not sent (%s), attempt %d of %d", key, last.code, attempt + 1, SEND_ATTEMPTS)
    assert last is not None
    raise last
