"""What every use case needs: the engine, the gateway, the settings and the note cipher."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.crypto import NoteCipher
from bot.gateway import SlackGateway


@dataclass
class ServiceContext:
    engine: Engine
    gateway: SlackGateway
    settings: Settings
    cipher: NoteCipher

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def now(self) -> datetime:
        """Return the real clock; only request handling uses it (sweeps receive `now`)."""
        return datetime.now(UTC)
