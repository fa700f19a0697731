"""What a button or a submitted modal sends back, read strictly: the pair it points at, the fields' state.

Button values, private metadata and view state are ours when we render them, but they come back inside a
request, so they are read as untrusted: an id is ASCII digits that fit the database's 63-bit integer, a
field's state has the types Slack gives it, and anything else is refused or dropped here, before any query.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_PAIR_ID = 2**63 - 1  # the largest value of the BIGINT (and SQLite INTEGER) key
_MAX_DIGITS = len(str(MAX_PAIR_ID))
# Slack's limits: a button value is at most 2,000 characters, a view's private_metadata at most 3,000.
MAX_BUTTON_VALUE = 2000
MAX_PRIVATE_METADATA = 3000


class BadPairRef(ValueError):
    """The text names no pair; the caller words the refusal for where it came from."""


def id_from_text(text: str) -> int:
    """Return the row id (a pair's, a goal's) written as `text`: ASCII digits only, within the database's integer."""
    if not text or len(text) > _MAX_DIGITS or not text.isascii() or not text.isdigit():
        raise BadPairRef(text[:40])
    pair_id = int(text)
    if not 0 < pair_id <= MAX_PAIR_ID:
        raise BadPairRef(text)
    return pair_id


@dataclass(frozen=True)
class PairRef:
    """A pair, with what came after it in a button value ("12:kind") or the prompt a modal came from."""

    pair_id: int
    rest: str = ""
    channel: str | None = None
    ts: str | None = None

    @classmethod
    def from_value(cls, value: object) -> PairRef:
        """Read a button value: "12", or "12:rest"."""
        if not isinstance(value, str) or len(value) > MAX_BUTTON_VALUE:
            raise BadPairRef("not a button value")
        head, _, rest = value.strip().partition(":")
        return cls(pair_id=id_from_text(head), rest=rest)

    @classmethod
    def from_metadata(cls, metadata: object) -> PairRef:
        """Read a modal's private metadata: "12", or {"pair": 12, "channel": ..., "ts": ...}."""
        if not isinstance(metadata, str) or len(metadata) > MAX_PRIVATE_METADATA:
            raise BadPairRef("not private metadata")
        text = metadata.strip()
        if not text.startswith("{"):
            return cls(pair_id=id_from_text(text))
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise BadPairRef("metadata is not JSON") from None
        if not isinstance(data, dict):
            raise BadPairRef("metadata is not an object")
        pair, channel, ts = data.get("pair"), data.get("channel"), data.get("ts")
        if type(pair) is int:  # not bool, not float (1e23)
            pair = str(pair)
        if not isinstance(pair, str):
            raise BadPairRef("metadata names no pair")
        if channel is not None and not isinstance(channel, str) or ts is not None and not isinstance(ts, str):
            raise BadPairRef("metadata names no message")
        return cls(pair_id=id_from_text(pair), channel=channel or None, ts=ts or None)

    def encode(self) -> str:
        """Return the private metadata that `from_metadata` reads back."""
        if self.channel and self.ts:
            return json.dumps({"pair": self.pair_id, "channel": self.channel, "ts": self.ts})
        return str(self.pair_id)


# The state of one input as Slack sends it, by key: anything else in a submission is dropped.
_STATE_TYPES: dict[str, type] = {"type": str, "value": str, "selected_date": str, "selected_option": dict}


def submitted_values(view: object) -> dict[str, dict[str, dict[str, Any]]]:
    """Return a submitted view's `state.values` (block id -> action id -> state), keeping only what is typed
    as Slack types it, so a garbled submission reads as empty fields and gets the fields' own errors."""
    state = view.get("state") if isinstance(view, dict) else None
    values = state.get("values") if isinstance(state, dict) else None
    if not isinstance(values, dict):
        return {}
    clean: dict[str, dict[str, dict[str, Any]]] = {}
    for block_id, block in values.items():
        if not isinstance(block, dict):
            continue
        clean[block_id] = {action_id: {key: item for key, item in action.items()
                                       if isinstance(item, _STATE_TYPES.get(key, type(None)))}
                           for action_id, action in block.items() if isinstance(action, dict)}
    return clean


def submitted_metadata(view: object) -> str:
    """Return a submitted view's private metadata ("" when missing or not text)."""
    metadata = view.get("private_metadata") if isinstance(view, dict) else None
    return metadata if isinstance(metadata, str) else ""
