"""The nudge ledger: one row per nudge key, claimed before it is sent, so each goes out once. Never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.domain.models import Nudge, NudgeStatus


def claim_nudge(
    *, session: Session, key: str, pair_id: int | None, recipient: str, kind: str, period: str,
    now: datetime, claimed_by: str,
) -> bool:
    """Insert the ledger row for `key`; return False when another sweep already holds it.

    Runs in its own transaction (flush + the caller's commit); on a duplicate the session is rolled back.
    """
    session.add(Nudge(key=key, pair_id=pair_id, recipient=recipient, kind=kind, period=period,
                      status=NudgeStatus.CLAIMED, claimed_at=now, claimed_by=claimed_by, attempts=1))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return False
    return True


def mark_sent(*, session: Session, key: str, now: datetime, channel: str, ts: str) -> None:
    session.execute(
        update(Nudge).where(Nudge.key == key).values(status=NudgeStatus.SENT, sent_at=now, channel=channel, ts=ts)
    )


def mark_undeliverable(*, session: Session, key: str, reason: str) -> None:
    session.execute(
        update(Nudge).where(Nudge.key == key).values(status=NudgeStatus.UNDELIVERABLE, error=reason[:255])
    )


def release_claim(*, session: Session, key: str) -> None:
    """Forget a claim whose send failed for a passing reason, so a later sweep retries it."""
    session.execute(delete(Nudge).where(Nudge.key == key, Nudge.status == NudgeStatus.CLAIMED))


def stale_claims(*, session: Session, before: datetime, limit: int = 500) -> list[Nudge]:
    """Return claims still open since before `before`: their process died between claiming and recording."""
    query = select(Nudge).where(Nudge.status == NudgeStatus.CLAIMED, Nudge.claimed_at < before)
    return list(session.exec(query.order_by(Nudge.id).limit(limit)))  # type: ignore[arg-type]


def mark_recovered(*, session: Session, claim: Nudge, now: datetime, channel: str, ts: str) -> bool:
    """Record a dead process's claim as sent (Slack has it); False when another sweep got there first."""
    result = session.execute(
        update(Nudge)
        .where(Nudge.key == claim.key, Nudge.status == NudgeStatus.CLAIMED, Nudge.claimed_by == claim.claimed_by,
               Nudge.claimed_at == claim.claimed_at)
        .values(status=NudgeStatus.SENT, sent_at=now, channel=channel, ts=ts)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def drop_stale_claim(*, session: Session, claim: Nudge) -> bool:
    """Forget a dead process's claim Slack never saw, so the policy may send it again.

    Compare-and-set on (claimed_by, claimed_at): of two sweeps recovering the same claim, one wins.
    """
    result = session.execute(
        delete(Nudge).where(Nudge.key == claim.key, Nudge.status == NudgeStatus.CLAIMED,
                            Nudge.claimed_by == claim.claimed_by, Nudge.claimed_at == claim.claimed_at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def list_undeliverable(*, session: Session, limit: int = 200) -> list[Nudge]:
    query = select(Nudge).where(Nudge.status == NudgeStatus.UNDELIVERABLE)
    return list(session.exec(query.order_by(Nudge.claimed_at.desc()).limit(limit)))  # type: ignore[attr-defined]
