"""Mentee-choice mode's rules: which match offers may go out now, how each is keyed so that it goes out once,
and when a mentor's silence declines a request. Pure: the clock is a parameter.

An offer belongs to no pair yet, so it is not one of the policy's pair nudges; it still obeys the nudge rules:
working hours in the recipient's zone here, the ledger's exactly-once and the daily and weekly caps in the sweep.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.models import NudgeKind
from bot.domain.policy import DueNudge, is_within_working_hours, next_working_day, nudge_key, rank_of, zone_of

REQUEST_WORKING_DAYS = 3  # a mentor's silence this long declines a mentee's request
# How long the news that a request closed (with the mentee's next choices) may wait for the mentee's working
# hours and a free day before it lapses; the choices themselves stay open.
NEXT_OFFER_WINDOW_DAYS = 14
MATCH = "match"  # the "pair" part of a match offer's ledger key: it belongs to no pair yet


class OfferStep(StrEnum):
    """What a match offer carries; its letter starts the ledger key's period."""

    CHOICES = "o"  # a mentee's choices from `/mentoring match` (the round's first proposal id)
    NEXT = "p"  # a request closed (declined, expired): why, and the mentee's next choices (the closed id)
    REQUEST = "r"  # a mentor asked to take the mentee on (the chosen proposal's id)


@dataclass(frozen=True, slots=True)
class WaitingOffer:
    """A match offer that may not have reached its recipient yet (the ledger says whether it did)."""

    step: OfferStep
    proposal_id: int
    recipient: str
    zone: str | None


@dataclass(frozen=True, slots=True)
class OpenRequest:
    """A mentor's request still unanswered, and when it reached them (None while it waits to be sent)."""

    proposal_id: int
    mentor_id: str
    mentor_zone: str | None
    sent_at: datetime | None


def offer_key(step: OfferStep, proposal_id: int, recipient: str) -> str:
    return nudge_key(MATCH, recipient, NudgeKind.MATCH_OFFER, f"{step.value}{proposal_id}")


def request_key(request: OpenRequest) -> str:
    return offer_key(OfferStep.REQUEST, request.proposal_id, request.mentor_id)


def parse_offer_period(period: str) -> tuple[OfferStep, int] | None:
    """Return the step and proposal id an offer's period names, or None when it names none."""
    try:
        step = OfferStep(period[:1])
    except ValueError:
        return None
    number = period[1:]
    return (step, int(number)) if number.isascii() and number.isdigit() else None


def offer_nudges(waiting: Iterable[WaitingOffer], now: datetime, program_tz: str) -> list[DueNudge]:
    """Return the match offers that may go out now: each in its recipient's working hours (their zone, else the
    program's), keyed by what it carries so that it goes out once; the ledger and the caps choose among them."""
    rank = rank_of(NudgeKind.MATCH_OFFER)
    due = []
    for offer in waiting:
        local = now.astimezone(zone_of(offer.zone, program_tz))
        if not is_within_working_hours(local):
            continue
        key = offer_key(offer.step, offer.proposal_id, offer.recipient)
        role = "mentor" if offer.step == OfferStep.REQUEST else "mentee"
        due.append(DueNudge(key, None, offer.recipient, NudgeKind.MATCH_OFFER, role, local,
                            audience=(offer.recipient,), rank=rank))
    return due


def is_request_expired(sent_at: datetime, mentor_zone: str | None, now: datetime, *, default_zone: str = "UTC"
                       ) -> bool:
    """Return True once REQUEST_WORKING_DAYS working days (in the mentor's zone) passed since the request
    reached the mentor: the same time of day, that many working days later."""
    zone = zone_of(mentor_zone, default_zone)
    sent = sent_at.astimezone(zone)
    day = sent.date()
    for _ in range(REQUEST_WORKING_DAYS):
        day = next_working_day(day)
    return now.astimezone(zone) >= datetime.combine(day, sent.timetz())


def expired_requests(requests: Iterable[OpenRequest], now: datetime, program_tz: str) -> list[int]:
    """Return the ids of the requests whose mentor's silence now counts as a decline; a request not yet
    delivered has not started counting."""
    return [r.proposal_id for r in requests
            if r.sent_at is not None and is_request_expired(r.sent_at, r.mentor_zone, now, default_zone=program_tz)]
