"""Inserts that skip a row already there: another request, or another instance, stored it first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session


def insert_if_absent(table: Table, values: dict[str, Any], key: str | Sequence[str], *,
                     on: Connection | Session) -> bool:
    """Insert one row unless a row with the same `key` (a column, or the columns of a composite key) exists;
    True when this call inserted it.

    One statement that cannot fail on the duplicate, so the caller's transaction stays usable. RETURNING tells
    what happened: psycopg gives no rowcount for it.
    """
    keys = [key] if isinstance(key, str) else list(key)
    bind = on.get_bind() if isinstance(on, Session) else on
    dialect = postgresql if bind.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing(index_elements=keys) \
        .returning(table.c[keys[0]])
    return on.execute(statement).first() is not None
