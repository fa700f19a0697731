"""Settings: every knob of mentorbot, read from the environment and `.env`, validated once."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///mentorbot.db"

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it and the fix."""

    def __init__(self, name: str, problem: str, fix: str) -> None:
        self.name = name
        super().__init__(f"{name} {problem}. {fix}")


MATCHING_MODES = ("coordinator", "mentee-choice")


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    port: int = 3000
    coordinators: tuple[str, ...] = ()
    summary_channel: str | None = None
    timezone: str = "UTC"
    max_dms_per_week: int = 3
    encryption_keys: tuple[str, ...] = ()
    sweep_minutes: int = 5
    db_pool_size: int = 5
    metrics_port: int | None = None  # Socket Mode's /healthz and /metrics (HTTP mode serves them on `port`)
    log_level: str = "INFO"
    matching: str = "coordinator"  # MATCHING_MODES: who approves a proposed match
    extra: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        dotenv_path: str | Path | None = ".env",
        require_signing_secret: bool = True,
    ) -> Settings:
        """Build settings from `environ` (default: the process environment) over `.env`.

        Raises SettingsError naming the first setting that is wrong.
        """
        values: dict[str, str] = {}
        if dotenv_path is not None and Path(dotenv_path).is_file():
            values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        return _parse(values, require_signing_secret=require_signing_secret)


def _get(values: Mapping[str, str], name: str) -> str | None:
    raw = values.get(name)
    if raw is None:
        return None
    raw = raw.strip()
    return raw or None


def _int(values: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _get(values, name)
    if raw is None:
        return default
    try:
        number = int(raw)
    except ValueError:
        raise SettingsError(
            name, f"is {raw!r}, not a whole number", f"Set it to a number from {low} to {high}."
        ) from None
    if not low <= number <= high:
        raise SettingsError(name, f"is {number}, out of range", f"Set it to a number from {low} to {high}.")
    return number


def _parse(values: Mapping[str, str], *, require_signing_secret: bool) -> Settings:
    token = _get(values, "SLACK_BOT_TOKEN")
    if token is None:
        raise SettingsError(
            "SLACK_BOT_TOKEN",
            "is not set",
            "Copy the Bot User OAuth Token (xoxb-…) from your Slack app's OAuth & Permissions page into .env.",
        )
    if not token.startswith("xoxb-"):
        raise SettingsError(
            "SLACK_BOT_TOKEN", "does not start with xoxb-", "Use the Bot User OAuth Token, not a user or app token."
        )

    app_token = _get(values, "SLACK_APP_TOKEN")
    if app_token is not None and not app_token.startswith("xapp-"):
        raise SettingsError(
            "SLACK_APP_TOKEN",
            f"does not start with xapp-{' (it holds a ' + app_token[:4] + '- token)' if app_token[4:5] == '-' else ''}",
            "Create an app-level token with connections:write (Basic Information page), or unset it for HTTP mode.",
        )

    secret = _get(values, "SLACK_SIGNING_SECRET")
    if secret is None and app_token is None and require_signing_secret:
        raise SettingsError(
            "SLACK_SIGNING_SECRET",
            "is not set (needed in HTTP mode)",
            "Copy the Signing Secret from your Slack app's Basic Information page, or set SLACK_APP_TOKEN for "
            "Socket Mode.",
        )

    api_url = _get(values, "SLACK_API_URL") or DEFAULT_SLACK_API_URL
    if not re.match(r"^https?://[^/\s]+", api_url):
        raise SettingsError("SLACK_API_URL", f"is {api_url!r}, not an http(s) URL", "Use e.g. https://slack.com/api/.")
    if not api_url.endswith("/"):
        api_url += "/"  # slack-sdk joins method names onto base_url verbatim

    database_url = _get(values, "DATABASE_URL") or DEFAULT_DATABASE_URL
    if not (database_url.startswith("sqlite") or database_url.startswith("postgresql")):
        raise SettingsError(
            "DATABASE_URL",
            f"uses an unsupported database ({database_url.split(':', 1)[0]})",
            "Use sqlite:///path.db or postgresql+psycopg://user@host/db.",
        )
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]

    coordinators_raw = _get(values, "MENTORBOT_COORDINATORS") or ""
    coordinators = tuple(c.strip() for c in coordinators_raw.split(",") if c.strip())
    for coordinator in coordinators:
        if not _USER_ID.match(coordinator):
            raise SettingsError(
                "MENTORBOT_COORDINATORS",
                f"contains {coordinator!r}, not a Slack user ID",
                "List member IDs like U012AB3CD, comma-separated (profile → ⋮ → Copy member ID).",
            )

    summary_channel = _get(values, "MENTORBOT_SUMMARY_CHANNEL")
    if summary_channel is not None and not _CHANNEL_ID.match(summary_channel):
        raise SettingsError(
            "MENTORBOT_SUMMARY_CHANNEL",
            f"is {summary_channel!r}, not a channel ID",
            "Use the channel ID (C…), found under the channel name → About, and invite the bot there.",
        )

    timezone = _get(values, "MENTORBOT_TIMEZONE") or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            "MENTORBOT_TIMEZONE", f"is {timezone!r}, not an IANA time zone", "Use a name like Europe/Berlin or UTC."
        ) from None

    keys_raw = _get(values, "MENTORBOT_ENCRYPTION_KEY") or ""
    keys = tuple(k.strip() for k in keys_raw.split(",") if k.strip())
    for key in keys:
        if not _is_fernet_key(key):
            raise SettingsError(
                "MENTORBOT_ENCRYPTION_KEY",
                "holds a key that is not a Fernet key",
                "Generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'",
            )
    if not keys and database_url.startswith("postgresql"):
        raise SettingsError(
            "MENTORBOT_ENCRYPTION_KEY",
            "is not set (required with PostgreSQL, so that every instance shares it)",
            "Generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'",
        )

    log_level = (_get(values, "LOG_LEVEL") or "INFO").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingsError("LOG_LEVEL", f"is {log_level!r}", "Use DEBUG, INFO, WARNING or ERROR.")

    matching = (_get(values, "MENTORBOT_MATCHING") or "coordinator").strip().lower()
    if matching not in MATCHING_MODES:
        raise SettingsError("MENTORBOT_MATCHING", f"is {matching!r}", "Use coordinator or mentee-choice.")

    return Settings(
        matching=matching,
        slack_bot_token=token,
        slack_app_token=app_token,
        slack_signing_secret=secret,
        slack_api_url=api_url,
        database_url=database_url,
        port=_int(values, "PORT", 3000, 1, 65535),
        coordinators=coordinators,
        summary_channel=summary_channel,
        timezone=timezone,
        max_dms_per_week=_int(values, "MENTORBOT_MAX_DMS_PER_WEEK", 3, 1, 50),
        encryption_keys=keys,
        sweep_minutes=_int(values, "MENTORBOT_SWEEP_MINUTES", 5, 1, 60),
        db_pool_size=_int(values, "MENTORBOT_DB_POOL_SIZE", 5, 1, 100),
        metrics_port=_int(values, "MENTORBOT_METRICS_PORT", 0, 1, 65535) or None,
        log_level=log_level,
    )


def _is_fernet_key(key: str) -> bool:
    import base64
    import binascii

    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (binascii.Error, ValueError):
        return False
