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

from bot.domain.models import ClosureReason, Pair, PairStatus, Phase


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


# ---- the state machine ---------------------------------------------------------------------------------


def _move(pair: Pair, phase: Phase, now: datetime) -> None:
    pair.phase = phase
    pair.phase_changed_at = now


def begin_direction(pair: Pair, now: datetime) -> bool:
    """Move a pair in rapport to direction (its first goal is set); return whether it moved."""
    if pair.phase != Phase.RAPPORT:
        return False
    _move(pair, Phase.DIRECTION, now)
    return True


def begin_progression(pair: Pair, now: datetime, *, has_goals: bool) -> bool:
    """Move a pair setting direction to progression once it meets with goals set; return whether it moved."""
    if pair.phase != Phase.DIRECTION or not has_goals:
        return False
    _move(pair, Phase.PROGRESSION, now)
    return True


def wind_up(pair: Pair, now: datetime) -> None:
    """Move `pair` to winding up: the closing reflections begin."""
    _move(pair, Phase.WINDING_UP, now)
    pair.winding_up_at = now


def closure_reason_for(pair: Pair, today: date) -> ClosureReason:
    """Return why a pair ended when nobody recorded a reason: it ran its course, or it stopped short."""
    return ClosureReason.COMPLETED if today >= pair.ends_on else ClosureReason.ENDED_EARLY


def end(pair: Pair, now: datetime, today: date) -> None:
    """End `pair`, by command or by the clock alike; a reason a coordinator already recorded stands."""
    _move(pair, Phase.ENDED, now)
    pair.status = PairStatus.ENDED
    pair.ended_at = now
    pair.paused_until = None
    pair.closure_reason = pair.closure_reason or closure_reason_for(pair, today)


def advance(pair: Pair, now: datetime, today: date) -> Phase | None:
    """Move `pair` one phase on (a coordinator or member asked); return the phase it reached, None at the end."""
    target = Phase(pair.phase).next()
    if target == Phase.WINDING_UP:
        wind_up(pair, now)
    elif target == Phase.ENDED:
        end(pair, now, today)
    elif target is not None:
        _move(pair, target, now)
    return target


def pause(pair: Pair, until: date | None) -> None:
    """Hold a pair's reminders until `until`, or until someone resumes it (None: its member left)."""
    pair.status = PairStatus.PAUSED
    pair.paused_until = until


def resume(pair: Pair) -> None:
    pair.status = PairStatus.ACTIVE
    pair.paused_until = None


def follow_clock(pair: Pair, status: str, now: datetime, today: date) -> bool:
    """Make the move the clock decided (`policy` ends pairs after their end date, resumes expired pauses), if
    the pair still needs it; return whether it moved."""
    if status == PairStatus.ENDED and pair.status != PairStatus.ENDED:
        end(pair, now, today)
        return True
    if status == PairStatus.ACTIVE and pair.status == PairStatus.PAUSED:
        resume(pair)
        return True
    return False
