"""Problems the user can fix: the message is the sentence they read."""

from __future__ import annotations


class UserError(Exception):
    """A request we refuse; `text` is shown to the user (ephemeral), `usage` is the correct form."""

    def __init__(self, text: str, usage: str | None = None) -> None:
        self.text = text
        self.usage = usage
        super().__init__(text)
