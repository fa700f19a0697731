"""Note text at rest: Fernet with key rotation (the first key encrypts, every key decrypts)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class NoteCipher:
    def __init__(self, keys: list[str] | tuple[str, ...]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def encrypt(self, text: str) -> str:
        if not text:
            return ""
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str | None) -> str:
        if not token:
            return ""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            # Unreadable with every configured key: show a marker rather than fail a whole view.
            return "[unreadable: encryption key missing]"

    def rotate(self, token: str) -> str:
        """Re-encrypt `token` under the first key."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii") if token else token


def key_file_for(database_url: str) -> Path:
    """Return where the SQLite key file lives: beside the database file."""
    path = database_url.split("///", 1)[1] if "///" in database_url else ""
    if not path or path == ":memory:":
        return Path("mentorbot.key").resolve()
    return Path(path).resolve().with_suffix(".key")


def load_or_create_key_file(path: Path) -> tuple[str, bool]:
    """Return the key in `path`, creating it (mode 0600) if absent; the flag says it was created."""
    if path.exists():
        return path.read_text().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key, True
