"""Settling doubt about a nudge's message: every one carries its ledger key as Slack message metadata,
so the conversation's history says whether Slack kept it when a send's outcome is unknown. Keyed posting,
and the recovery of claims a dead process left open, both read it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.blocks import Reply
from bot.blocks.nudges import NUDGE_EVENT_TYPE, nudge_metadata
from bot.domain.models import Nudge, NudgeKind, Pair
from bot.domain.policy import GROUP
from bot.gateway import SlackCallFailed, SlackGateway
from bot.store import checkins as members
from bot.store import ledger

logger = logging.getLogger(__name__)

# A sweep lease not renewed for this long is free even when its holder cannot be seen to have died (on SQLite,
# a holder on another host); a live sweep renews it every LEASE_RENEWAL (bot/delivery/worker.py).
CLAIM_LEASE = timedelta(minutes=10)
# An open claim older than this, met by a sweep holding the lease, was left by a sweep that died, finished in
# doubt, or lost the lease: it is settled from Slack's history. Younger ones may still be in flight at a sweep
# that lost the lease a moment ago (it starts nothing more once it notices, within LEASE_RENEWAL, and a send
# ends within about two minutes: three attempts of ten seconds, each followed by a history read and retries).
CLAIM_SETTLE_AFTER = timedelta(minutes=3)

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


def recover_stale_claims(session: Callable[[], Session], gateway: SlackGateway, now: datetime) -> list[str]:
    """Settle claims left open by a dead process: found in Slack → sent; not found → free to send again."""
    with session() as own:
        claims = ledger.stale_claims(session=own, before=now - CLAIM_SETTLE_AFTER)
    recovered = []
    for claim in claims:
        try:
            channel = channel_of_claim(session, gateway, claim)
            found_ts = find_in_history(gateway, channel, claim.key, since=claim.claimed_at)
        except SlackCallFailed as problem:
            logger.warning("cannot check Slack's history for stale claim %s (%s); trying next sweep",
                           claim.key, problem.code)
            continue
        with session() as own:
            if found_ts is not None:
                won = ledger.mark_recovered(session=own, claim=claim, now=now, channel=channel, ts=found_ts)
            else:
                won = ledger.drop_stale_claim(session=own, claim=claim)
            own.commit()
        if not won:
            continue
        if found_ts is not None:
            recovered.append(claim.key)
            logger.info("nudge recovered key=%s pair=%s: Slack had it (ts=%s)", claim.key, claim.pair_id, found_ts)
            if claim.pair_id is not None and claim.kind in (NudgeKind.HOW_IS_IT_GOING, NudgeKind.PROMPTS_PAUSED):
                record_prompt(session, claim.kind, claim.recipient, claim.pair_id, now)
        else:
            logger.info("nudge key=%s was claimed by dead %s and never reached Slack; it will be sent again",
                        claim.key, claim.claimed_by)
    return recovered


def channel_of_claim(session: Callable[[], Session], gateway: SlackGateway, claim: Nudge) -> str:
    """Return the conversation a claimed nudge went to, for its history (a DM's id is asked of Slack)."""
    if claim.recipient == GROUP and claim.pair_id is not None:
        with session() as own:
            pair = own.get(Pair, claim.pair_id)
            if pair is not None and pair.channel_id:
                return pair.channel_id
            if pair is not None:
                return gateway.open_conversation([pair.mentor_id, pair.mentee_id])
    if claim.recipient[:1] in ("U", "W"):
        return gateway.open_conversation([claim.recipient])  # the DM channel's id, for its history
    return claim.recipient


def record_prompt(session: Callable[[], Session], kind: str, recipient: str, pair_id: int, now: datetime) -> None:
    """Count an unanswered prompt, or note that prompts are paused (retried once if a handler raced us)."""
    for _attempt in range(2):
        with session() as own:
            try:
                if kind == NudgeKind.HOW_IS_IT_GOING:
                    members.count_unanswered_prompt(session=own, pair_id=pair_id, person_id=recipient)
                else:
                    members.mark_prompts_paused(session=own, pair_id=pair_id, person_id=recipient, now=now)
                own.commit()
                return
            except IntegrityError:
                own.rollback()
