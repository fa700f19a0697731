"""Note text at rest: the SQLite key file, PostgreSQL's required key, and key rotation."""

from __future__ import annotations

import logging
import stat

import pytest
from cryptography.fernet import Fernet

from bot.app import build_cipher
from bot.config import Settings, SettingsError
from bot.crypto import NoteCipher, key_file_for


def sqlite_settings(tmp_path, **extra: object) -> Settings:
    return Settings(slack_bot_token="xoxb-1", slack_signing_secret="s",
                    database_url=f"sqlite:///{tmp_path / 'program.db'}", **extra)  # type: ignore[arg-type]


def test_first_start_on_sqlite_creates_a_private_key_file_beside_the_database(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        cipher = build_cipher(sqlite_settings(tmp_path))
    key_file = tmp_path / "program.key"
    assert key_file == key_file_for(f"sqlite:///{tmp_path / 'program.db'}")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    created = [r.getMessage() for r in caplog.records if "key file" in r.getMessage()]
    assert len(created) == 1 and str(key_file) in created[0]
    token = cipher.encrypt("we talked about burnout")
    assert "burnout" not in token


def test_a_restart_reuses_the_key_file_and_reads_old_notes(tmp_path, caplog):
    token = build_cipher(sqlite_settings(tmp_path)).encrypt("a private worry")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        again = build_cipher(sqlite_settings(tmp_path))
    assert again.decrypt(token) == "a private worry"
    assert not [r for r in caplog.records if "key file" in r.getMessage()]


def test_postgresql_without_a_key_stops_with_one_line_saying_how_to_make_one():
    with pytest.raises(SettingsError) as caught:
        Settings.load({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s",
                       "DATABASE_URL": "postgresql+psycopg://u@h/db"}, dotenv_path=None)
    assert caught.value.name == "MENTORBOT_ENCRYPTION_KEY"
    assert "Fernet.generate_key()" in str(caught.value)


def test_rotation_new_key_first_encrypts_and_old_key_still_decrypts():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = NoteCipher([old]).encrypt("written last year")
    rotated = NoteCipher([new, old])
    assert rotated.decrypt(before) == "written last year"
    after = rotated.encrypt("written today")
    assert NoteCipher([new]).decrypt(after) == "written today"
    assert NoteCipher([old]).decrypt(after).startswith("[unreadable")
    assert NoteCipher([new]).decrypt(rotated.rotate(before)) == "written last year"


def test_a_comma_separated_key_list_is_accepted_for_rotation():
    keys = [Fernet.generate_key().decode() for _ in range(2)]
    settings = Settings.load({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s",
                              "MENTORBOT_ENCRYPTION_KEY": " , ".join(keys)}, dotenv_path=None)
    assert settings.encryption_keys == tuple(keys)
