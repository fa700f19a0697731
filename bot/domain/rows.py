"""Reading several streams of rows side by side, each in ascending order of its first column."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

NONE: tuple[()] = ()


class RowsByKey:
    """Rows in ascending order of their first column, taken one key at a time in ascending keys.

    Lets a reader walk a stream of things (pairs, by id) and take each one's rows from other streams as it
    goes, instead of holding every row in a dictionary first. Rows of a key never asked for are passed by.
    """

    def __init__(self, rows: Iterable[Any]) -> None:
        self._rows = iter(rows)
        self._next: Any = next(self._rows, None)

    def take(self, key: Any) -> list[Any] | tuple[()]:
        """Return the rest of each row whose first column is `key` (asked in ascending order)."""
        row = self._next
        while row is not None and row[0] < key:
            row = next(self._rows, None)
        if row is None or row[0] != key:
            self._next = row
            return NONE  # most keys have no rows: nothing made for them
        taken = []
        while row is not None and row[0] == key:
            taken.append(row[1:])
            row = next(self._rows, None)
        self._next = row
        return taken
