"""Fixtures: a fake Slack per test, a fresh database per test (SQLite, or PostgreSQL when
MENTORBOT_TEST_DATABASE_URL says so), and the real App wired to both."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text
from sqlmodel import SQLModel

from bot.app import Runtime, build_app
from bot.config import Settings
from bot.db import make_engine, migrate
from tests.fake_slack import FakeSlack
from tests.slack_requests import SIGNING_SECRET, SlackDriver

TEST_DATABASE_URL = os.environ.get("MENTORBOT_TEST_DATABASE_URL", "").strip()
# A fixed test key: tests must be repeatable, and it never protects anything real.
TEST_ENCRYPTION_KEY = "Tn1U2bqOaD1xX3w5J9a1wq7vYw2q2lQ0kP7oR6c0s8E="

COORDINATOR = "UCOORD1"
ADMIN = "UADMIN1"
MENTOR = "UMENTOR1"
MENTEE = "UMENTEE1"
OTHER = "UOTHER1"
SECOND_MENTEE = "UMENTEE2"
BOT_USER = "UROBOT1"
GONE_USER = "UGONE01"


# pg_locks lists the whole server's locks; advisory locks of other databases (other suites) are not ours.
THIS_DATABASE = " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"


def is_postgres() -> bool:
    return TEST_DATABASE_URL.startswith("postgresql")


def reset_postgres(engine: Engine) -> None:
    """Empty every table, keeping the migrated schema, and start every id sequence again from its start.

    DELETE, not TRUNCATE: TRUNCATE gives each table new files, which on tables of a test's size costs many
    times what deleting the rows does, and it is done before every test.
    """
    with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):  # rows that refer to others go first
            connection.execute(table.delete())
        # setval, not ALTER SEQUENCE ... RESTART, which also gives each sequence a new file.
        connection.execute(text(
            "SELECT setval(seqrelid, seqstart, false) FROM pg_sequence JOIN pg_class ON pg_class.oid = seqrelid "
            "WHERE relnamespace = current_schema()::regnamespace"))


def stamp_head(engine: Engine) -> None:
    """Mark tables built from the models as migrated, so a `mentorbot` process started by a test agrees."""
    from alembic import command

    from bot.db import alembic_config

    command.stamp(alembic_config(engine), "head")


@pytest.fixture(scope="session")
def _postgres_engine() -> Iterator[Engine | None]:
    if not is_postgres():
        yield None
        return
    engine = make_engine(TEST_DATABASE_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the tables built from the models, built once: each test's database is a copy of it,
    a file copy being far cheaper than building the tables again."""
    path = tmp_path_factory.mktemp("template") / "mentorbot.db"
    engine = make_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    with engine.connect() as connection:
        # Everything into the main file, so that copying the file alone copies the tables.
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return TEST_DATABASE_URL if is_postgres() else f"sqlite:///{tmp_path / 'mentorbot.db'}"


@pytest.fixture
def engine(_postgres_engine: Engine | None, database_url: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    if _postgres_engine is not None:
        reset_postgres(_postgres_engine)
        yield _postgres_engine
        return
    path = Path(make_url(database_url).database or "")
    assert not path.exists(), f"{path} exists before the test's database is made"
    shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    fake.add_user(COORDINATOR, "Cora Coordinator", tz="Europe/London")
    fake.add_user(ADMIN, "Ada Admin", tz="UTC", is_admin=True)
    fake.add_user(MENTOR, "Maya Mentor", tz="America/Los_Angeles")
    fake.add_user(MENTEE, "Theo Mentee", tz="Asia/Tokyo")
    fake.add_user(SECOND_MENTEE, "Sam Second", tz="Europe/Berlin")
    fake.add_user(OTHER, "Olli Outsider", tz="UTC")
    fake.add_user(BOT_USER, "Some Bot", is_bot=True)
    fake.add_user(GONE_USER, "Gone Person", deleted=True)
    yield fake
    fake.stop()
    fail_if_refused(fake)


def fail_if_refused(fake: FakeSlack) -> None:
    """Fail the test if the fake refused a call's blocks or view: real Slack would have, even if the product
    swallowed the error."""
    refusals = fake.take_refusals()
    if refusals:
        pytest.fail("Slack would refuse: " + "; ".join(f"{r.method} {r.error}: {r.errors}" for r in refusals))


def make_settings(fake: FakeSlack, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "slack_bot_token": "xoxb-test-token",
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake.url,
        "database_url": database_url,
        "coordinators": (COORDINATOR,),
        "summary_channel": "CSUMMARY1",
        "timezone": "UTC",
        "encryption_keys": (TEST_ENCRYPTION_KEY,),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(fake_slack: FakeSlack, database_url: str) -> Settings:
    return make_settings(fake_slack, database_url)


@pytest.fixture
def runtime(settings: Settings, engine: Engine) -> Runtime:
    return build_app(settings, engine=engine, process_before_response=True)


@pytest.fixture
def slack(runtime: Runtime, fake_slack: FakeSlack) -> SlackDriver:
    return SlackDriver(runtime.app, fake_slack.response_url, fake=fake_slack)
