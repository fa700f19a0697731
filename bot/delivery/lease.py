"""The sweep lease: one sweep at a time over the whole deployment, and none held up by a sweep that died.

The ledger's unique key alone keeps every single nudge exactly-once, but the daily and weekly caps are
decided from a snapshot of the ledger: two sweeps planning from different moments could each give the same
person a different nudge on one day. So sweeps take turns (which is also why not `SKIP LOCKED`: it keeps two
sweeps off the same row, not off the same person).

- PostgreSQL: a session-level advisory lock, held on a connection of its own for the whole sweep. It lives
  exactly as long as that session: a killed holder frees it at once (its connection closes), one whose
  host vanished within a minute and a half (TCP keepalives on that session).
- SQLite: a lease row naming its holder's host and process, renewed as the sweep goes. A holder on this
  host whose process no longer runs is taken over at once; one we cannot see (another host, another PID
  namespace) only when the lease runs out.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cache
from typing import Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.store import flags

logger = logging.getLogger(__name__)

# Any fixed number, the same in every instance and not db.MIGRATION_LOCK_KEY.
SWEEP_LOCK_KEY = 0x6D656E746F7273  # "mentors"
# The lock's session is declared dead a minute and a half after its host went silent (60 s + 3 × 10 s).
KEEPALIVES = {"idle": "60", "interval": "10", "count": "3"}


class SweepLease(Protocol):
    """A lease held for one sweep."""

    def renew(self, now: datetime) -> bool:
        """Keep the lease; False when it was lost (the sweep must start nothing more)."""
        ...


@contextmanager
def sweep_lease(engine: Engine, *, now: datetime, lease: timedelta) -> Iterator[SweepLease | None]:
    """Hold the sweep lease for the block; yield None when another live sweep holds it.

    `lease` is how long an unrenewed SQLite lease stands when its holder cannot be seen to have died.
    """
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine) as held:
            yield held
    else:
        with _lease_row(engine, now=now, lease=lease) as row:
            yield row


# ---- PostgreSQL ---------------------------------------------------------------------------------------------


class _AdvisoryLease:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def renew(self, now: datetime) -> bool:
        """Ask the server whether this session still holds the lock (it cannot lapse while the session lives)."""
        try:
            held = self.connection.execute(text(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND pid = pg_backend_pid() AND classid = :high AND objid = :low AND objsubid = 1)"
            ), {"high": SWEEP_LOCK_KEY >> 32, "low": SWEEP_LOCK_KEY & 0xFFFFFFFF}).scalar()
        except SQLAlchemyError:
            return False  # the connection is gone, and the lock with it
        return bool(held)


@contextmanager
def _advisory_lock(engine: Engine) -> Iterator[_AdvisoryLease | None]:
    # Autocommit: the lock belongs to the session, and an open transaction held for a whole sweep would pin
    # a snapshot (and meet idle_in_transaction_session_timeout).
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": SWEEP_LOCK_KEY}).scalar()
        if got:
            # The server frees the lock only once it knows the session is gone; without keepalives of its own,
            # a holder whose host vanished would keep it for the system's default (two hours and more).
            connection.execute(text(
                "SELECT set_config('tcp_keepalives_idle', :idle, false),"
                " set_config('tcp_keepalives_interval', :interval, false),"
                " set_config('tcp_keepalives_count', :count, false)"
            ), KEEPALIVES)
    except BaseException:
        connection.close()
        raise
    if not got:
        connection.close()
        yield None
        return
    try:
        yield _AdvisoryLease(connection)
    finally:
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SWEEP_LOCK_KEY})
        except SQLAlchemyError:
            # Never hand a connection that may still hold the lock back to the pool: closing it frees the lock.
            if not connection.invalidated:
                connection.invalidate()
        connection.close()


# ---- SQLite -------------------------------------------------------------------------------------------------


@cache
def this_host() -> str:
    """Name where PIDs mean the same: the host name, and the PID namespace where there is one (a container
    on the host's network shares its name but not its PIDs)."""
    with contextlib.suppress(OSError):
        return f"{socket.gethostname()} {os.readlink('/proc/self/ns/pid')}"[:255]
    return socket.gethostname()[:255]


def is_running(pid: int) -> bool:
    """Return whether process `pid` exists on this host (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


class _RowLease:
    def __init__(self, engine: Engine, lease: timedelta) -> None:
        self.engine = engine
        self.lease = lease
        self.holder = uuid.uuid4().hex  # this sweep, not the process: threads of one process take turns too

    def take(self, now: datetime) -> bool:
        with Session(self.engine) as session:
            if self._take(session, now):
                return True
            held = flags.lease_holder(flags.SWEEP_LEASE, session=session)
            if held is None or held.host != this_host() or held.pid is None or is_running(held.pid):
                return False
            logger.info("taking over the sweep lease of process %s, which is no longer running", held.pid)
            return self._take(session, now, dead=held.holder)

    def renew(self, now: datetime) -> bool:
        with Session(self.engine) as session:
            return self._take(session, now)

    def release(self) -> None:
        with Session(self.engine) as session:
            flags.release_lease(flags.SWEEP_LEASE, session=session, holder=self.holder)

    def _take(self, session: Session, now: datetime, *, dead: str | None = None) -> bool:
        return flags.take_lease(flags.SWEEP_LEASE, session=session, holder=self.holder, now=now, lease=self.lease,
                                host=this_host(), pid=os.getpid(), dead=dead)


@contextmanager
def _lease_row(engine: Engine, *, now: datetime, lease: timedelta) -> Iterator[_RowLease | None]:
    row = _RowLease(engine, lease)
    if not row.take(now):
        yield None
        return
    try:
        yield row
    finally:
        row.release()
