"""Big reads as the database driver gives their rows: the sweep's snapshot and the outcome streams."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection

BATCH = 2_000


def driver_rows(connection: Connection, statement: Any, parameters: dict[str, Any] | None = None
                ) -> Iterator[Any]:
    """Yield the rows of `statement` as plain tuples of the driver's own values, fetched a batch at a time.

    SQLite's dates and times come as ISO text (`Days`, `moment` read them), its booleans as 0 or 1. At a
    hundred thousand rows SQLAlchemy's result rows cost more than the query on SQLite, so its rows are read
    from the driver's cursor. PostgreSQL streams through a server-side cursor, whose result SQLAlchemy must
    read (it takes the first row ahead), and gives dates and times as such. Batches, because a big query's
    whole result held at once costs more memory than everything built from it, and a row at a time costs a
    call per row. The statement runs through SQLAlchemy either way: its parameters are bound, never rendered.
    """
    if connection.dialect.name != "sqlite":
        for batch in connection.execute(statement.execution_options(yield_per=BATCH), parameters or {}).partitions():
            yield from batch
        return
    result = connection.execute(statement, parameters or {})
    cursor = result.cursor
    try:
        while batch := cursor.fetchmany(BATCH):
            yield from batch
    finally:
        result.close()


class Days(dict[Any, "date | None"]):
    """Dates as `driver_rows` gives them (ISO text on SQLite, dates on PostgreSQL, or None), each distinct one
    read once and shared: `days[value]`. A program's rows share a few hundred dates."""

    def __init__(self) -> None:
        super().__init__({None: None})

    def __missing__(self, value: str | date) -> date:
        day = self[value] = value if isinstance(value, date) else date.fromisoformat(value)
        return day


def moment(value: str | datetime | None) -> datetime | None:
    """Return a stored time as `driver_rows` gives it as aware UTC: SQLite gives naive UTC text."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
