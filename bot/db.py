"""Engines and migrations: SQLite tuned for a threaded bot, PostgreSQL with a pool."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event, text
from sqlalchemy.pool import StaticPool
from sqlmodel import create_engine

import bot.domain.models  # noqa: F401  (registers the tables on SQLModel.metadata)

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
CANDIDATE_KEYS = "candidate_key"  # a temporary table on each SQLite connection


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """Create an engine: SQLite with WAL, foreign keys and cross-thread use; PostgreSQL pooled."""
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if in_memory else None,
        )

        @event.listens_for(engine, "connect")
        def _configure_sqlite(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Each connection's own, for the sweep's ledger lookup (bot/store/snapshot.py, `claimed_keys`).
            cursor.execute(f"CREATE TEMP TABLE {CANDIDATE_KEYS} (key TEXT NOT NULL)")
            cursor.close()

        return engine
    # pre_ping replaces a connection the server dropped instead of failing the request
    return create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=1800
    )


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


# Any fixed number, the same in every instance: the key of the PostgreSQL lock that serialises migrations.
MIGRATION_LOCK_KEY = 0x6D656E746F72  # "mentor"


def migrate(engine: Engine, revision: str = "head") -> None:
    """Apply pending migrations up to `revision`."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        # Instances started together would each create the tables and all but one would crash; with the lock
        # (held until this transaction ends) one migrates and the others then find nothing to do.
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        elif connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, waited for up to the busy timeout
        config.attributes["connection"] = connection
        before = MigrationContext.configure(connection).get_current_heads()
        command.upgrade(config, revision)
        after = MigrationContext.configure(connection).get_current_heads()
    if before != after:
        logger.info("database migrated from %s to %s", ", ".join(before) or "empty", ", ".join(after))


def pending_migrations(engine: Engine) -> list[str]:
    """Return the revisions not yet applied, oldest first."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    head = script.get_current_head()
    if head in current:
        return []
    pending = []
    for revision in script.walk_revisions():
        if revision.revision in current:
            break
        pending.append(revision.revision)
    return list(reversed(pending))


def database_status(engine: Engine) -> str:
    """Return "ok" when the database answers a query, else the name of the error (for health checks)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001  (any database failure means unhealthy)
        return type(error).__name__
    return "ok"
