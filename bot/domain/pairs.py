"""A pair's life in one place: membership, a person's local today, and the state machine.

Every phase move and every ending goes through here, whoever makes it (a command, a check-in, the first goal
or the clock), so that each sets the same fields:

    rapport --first goal--> direction --check-in with goals--> progression --> winding up --> ended
    (any phase) --end--> ended;   active <--pause / resume--> paused

Functions change a `Pair` in memory; the caller's session writes it.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.models import Pair


def is_member(pair: Pair, user_id: str) -> bool:
    return user_id in (pair.mentor_id, pair.mentee_id)


def partner_of(pair: Pair, user_id: str) -> str:
    return pair.mentee_id if user_id == pair.mentor_id else pair.mentor_id


@lru_cache(maxsize=1024)
def zone_of(tz: str | None, default: str) -> ZoneInfo:
    """Return the zone for an IANA name, falling back to `default` (MENTORBOT_TIMEZONE) when unknown or invalid."""
    try:
        return ZoneInfo(tz) if tz else ZoneInfo(default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def local_today(tz: str | None, now: datetime, program_tz: str) -> date:
    """Return a person's calendar date at `now` in their own zone (the program's when unknown or unreadable)."""
    return now.astimezone(zone_of(tz, program_tz)).date()
