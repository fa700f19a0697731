"""Storage: migrations from empty match the models, SQLite is tuned, times stay aware UTC."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from bot.db import make_engine, migrate, pending_migrations
from bot.domain.models import Nudge, Pair, Person
from tests.conftest import TEST_DATABASE_URL, is_postgres


@pytest.fixture
def empty_engine(tmp_path) -> Iterator[Engine]:
    """An engine on a database with no tables at all."""
    if not is_postgres():
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    admin = make_engine(TEST_DATABASE_URL)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("DROP DATABASE IF EXISTS mentorbot_migrations"))
        connection.execute(text("CREATE DATABASE mentorbot_migrations"))
    url = TEST_DATABASE_URL.rsplit("/", 1)[0] + "/mentorbot_migrations"
    engine = make_engine(url)
    yield engine
    engine.dispose()
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("DROP DATABASE IF EXISTS mentorbot_migrations"))
    admin.dispose()


def test_migrations_from_empty_build_exactly_the_models(empty_engine):
    assert pending_migrations(empty_engine), "an empty database should have migrations pending"
    migrate(empty_engine)
    assert pending_migrations(empty_engine) == []
    with empty_engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                SQLModel.metadata)
    assert diff == [], f"models and migrations disagree; generate a revision: {diff}"
    assert "nudge" in inspect(empty_engine).get_table_names()


def test_migrating_twice_is_harmless(empty_engine):
    migrate(empty_engine)
    migrate(empty_engine)
    assert pending_migrations(empty_engine) == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_foreign_keys_are_enforced(engine):
    with Session(engine) as session:
        session.add(Pair(mentor_id="UNOBODY", mentee_id="UNOBODY2", started_on=date(2026, 1, 1),
                         ends_on=date(2026, 7, 1), created_by="UCOORD1"))
        with pytest.raises(IntegrityError):
            session.commit()


def test_a_non_utc_time_is_stored_as_the_same_instant_in_utc(engine):
    tokyo_noon = datetime(2026, 3, 8, 12, 0, tzinfo=timezone(timedelta(hours=9)))
    with Session(engine) as session:
        session.add(Person(slack_user_id="UTOKYO1", info_fetched_at=tokyo_noon))
        session.commit()
    with Session(engine) as session:
        stored = session.get(Person, "UTOKYO1").info_fetched_at
    assert stored == datetime(2026, 3, 8, 3, 0, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)


def test_the_ledger_key_is_unique(engine):
    with Session(engine) as session:
        session.add(Nudge(key="1:U1:drift:3", recipient="U1", kind="drift", period="3"))
        session.commit()
        session.add(Nudge(key="1:U1:drift:3", recipient="U1", kind="drift", period="3"))
        with pytest.raises(IntegrityError):
            session.commit()


def _revisions() -> list[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from bot.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return [r.revision for r in ScriptDirectory.from_config(config).walk_revisions()]


@pytest.mark.parametrize("start", _revisions())
def test_every_earlier_revision_upgrades_to_head(empty_engine, start):
    migrate(empty_engine, start)
    migrate(empty_engine)
    assert pending_migrations(empty_engine) == []


def test_a_connection_the_server_dropped_is_replaced_not_fatal(engine):
    if not is_postgres():
        pytest.skip("the server dropping connections is a PostgreSQL concern")
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    # Kill every other session's backend: the pooled connection above is now dead.
    killer = make_engine(TEST_DATABASE_URL)
    with killer.connect() as connection:
        connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ))
        connection.commit()
    killer.dispose()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
