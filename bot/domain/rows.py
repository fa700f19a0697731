"""Reading several streams of rows side by side, each in ascending order of its first column."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class RowsByKey:
    """Rows in ascending order of their first column, taken one key at a time in ascending keys.

    Lets a reader walk a stream of things (pairs, by id) and take each one's rows from other streams as it
    goes, instead of holding every row in a dictionary first. Rows of a key never asked for are passed by.
    """

    def __init__(self, rows: Iterable[Any]) -> None:
        self._rows = iter(rows)
        self._next: Any = next(self._rows, None)

    def take(self, key: Any) -> list[Any]:
        """Return the rest of each row whose first column is `key` (asked in ascending order)."""
        while self._next is not None and self._next[0] < key:
            self._next = next(self._rows, None)
        taken = []
        while self._next is not None and self._next[0] == key:
            taken.append(self._next[1:])
            self._next = next(self._rows, None)
        return taken
