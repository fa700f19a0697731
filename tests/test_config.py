"""Settings: defaults, `.env`, and one clear line for each missing or malformed setting."""

from __future__ import annotations

import pytest

from bot.config import Settings, SettingsError
from tests.conftest import TEST_ENCRYPTION_KEY

BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "secret"}


def load(**env: str) -> Settings:
    return Settings.load({**BASE, **env}, dotenv_path=None)


def test_defaults_follow_the_product_table():
    settings = load()
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_url == "sqlite:///mentorbot.db"
    assert settings.port == 3000
    assert settings.coordinators == ()
    assert settings.summary_channel is None
    assert settings.timezone == "UTC"
    assert settings.max_dms_per_week == 3
    assert settings.socket_mode is False


def test_api_url_gets_the_trailing_slash_slack_sdk_needs():
    assert load(SLACK_API_URL="http://127.0.0.1:9999/api").slack_api_url == "http://127.0.0.1:9999/api/"


def test_plain_postgresql_url_uses_the_psycopg_driver():
    settings = load(DATABASE_URL="postgresql://u@h/db", MENTORBOT_ENCRYPTION_KEY=TEST_ENCRYPTION_KEY)
    assert settings.database_url == "postgresql+psycopg://u@h/db"


def test_coordinators_are_split_and_trimmed():
    assert load(MENTORBOT_COORDINATORS=" U012AB3CD, W0ABC123 ,").coordinators == ("U012AB3CD", "W0ABC123")


def test_socket_mode_needs_no_signing_secret():
    settings = Settings.load({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, dotenv_path=None)
    assert settings.socket_mode


def test_the_metrics_port_is_off_unless_set():
    assert load().metrics_port is None
    assert load(MENTORBOT_METRICS_PORT="9102").metrics_port == 9102


def test_values_come_from_dotenv_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("SLACK_BOT_TOKEN=xoxb-from-file\nSLACK_SIGNING_SECRET=s\nPORT=4000\n")
    settings = Settings.load({"PORT": "5000"}, dotenv_path=env_file)
    assert settings.slack_bot_token == "xoxb-from-file"
    assert settings.port == 5000


@pytest.mark.parametrize(
    ("env", "name", "hint"),
    [
        ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN", "is not set"),
        ({"SLACK_BOT_TOKEN": "xoxp-user"}, "SLACK_BOT_TOKEN", "xoxb-"),
        ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET", "HTTP mode"),
        ({"SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN", "xapp-"),
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL", "http"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL", "unsupported"),
        ({"DATABASE_URL": "postgresql://u@h/db"}, "MENTORBOT_ENCRYPTION_KEY", "generate"),
        ({"PORT": "eighty"}, "PORT", "whole number"),
        ({"PORT": "70000"}, "PORT", "out of range"),
        ({"MENTORBOT_COORDINATORS": "alice"}, "MENTORBOT_COORDINATORS", "not a Slack user ID"),
        ({"MENTORBOT_SUMMARY_CHANNEL": "#general"}, "MENTORBOT_SUMMARY_CHANNEL", "channel ID"),
        ({"MENTORBOT_TIMEZONE": "Mars/Olympus"}, "MENTORBOT_TIMEZONE", "IANA"),
        ({"MENTORBOT_MAX_DMS_PER_WEEK": "0"}, "MENTORBOT_MAX_DMS_PER_WEEK", "out of range"),
        ({"MENTORBOT_ENCRYPTION_KEY": "not-a-key"}, "MENTORBOT_ENCRYPTION_KEY", "Fernet"),
        ({"MENTORBOT_SWEEP_MINUTES": "-1"}, "MENTORBOT_SWEEP_MINUTES", "out of range"),
        ({"MENTORBOT_METRICS_PORT": "metrics"}, "MENTORBOT_METRICS_PORT", "whole number"),
        ({"MENTORBOT_METRICS_PORT": "0"}, "MENTORBOT_METRICS_PORT", "out of range"),
        ({"SLACK_APP_TOKEN": "xoxp-user-token"}, "SLACK_APP_TOKEN", "holds a xoxp- token"),
    ],
)
def test_a_bad_setting_is_named_in_one_line_with_the_fix(env, name, hint):
    with pytest.raises(SettingsError) as caught:
        Settings.load({**BASE, **env}, dotenv_path=None)
    message = str(caught.value)
    assert caught.value.name == name
    assert message.startswith(name)
    assert hint.lower() in message.lower()
    assert "\n" not in message


def test_env_example_lists_every_setting():
    from pathlib import Path

    example = (Path(__file__).resolve().parent.parent / ".env.example").read_text()
    for name in ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "DATABASE_URL",
                 "PORT", "MENTORBOT_COORDINATORS", "MENTORBOT_SUMMARY_CHANNEL", "MENTORBOT_TIMEZONE",
                 "MENTORBOT_MAX_DMS_PER_WEEK", "MENTORBOT_ENCRYPTION_KEY", "MENTORBOT_SWEEP_MINUTES",
                 "MENTORBOT_DB_POOL_SIZE", "MENTORBOT_METRICS_PORT", "LOG_LEVEL"]:
        assert f"{name}=" in example, name
