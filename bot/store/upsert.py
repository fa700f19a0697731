"""Inserts that skip a row already there: another request, or another instance, stored it first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session


def insert_if_absent(table: Table, values: dict[str, Any], key: str, *, on: Connection | Session) -> bool:
    """Insert one row unless a row with the same `key` exists; True when this call inserted it.

    One statement that cannot fail on the duplicate, so the caller's transaction stays usable. RETURNING tells
    what happened: psycopg gives no rowcount for it.
    """
    bind = on.get_bind() if isinstance(on, Session) else on
    dialect = postgresql if bind.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing(index_elements=[key]) \
        .returning(table.c[key])
    return on.execute(statement).first() is not None
