"""`mentorbot run | check | sweep | export`: the only place that reads the real clock and the process env."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence

from bot.config import Settings, SettingsError

logger = logging.getLogger("mentorbot")


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )


def _load_settings(*, require_signing_secret: bool) -> Settings:
    try:
        return Settings.load(require_signing_secret=require_signing_secret)
    except SettingsError as problem:
        print(f"mentorbot: {problem}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_run(_args: argparse.Namespace) -> int:
    settings = _load_settings(require_signing_secret=True)
    _configure_logging(settings.log_level)
    from bot.app import build_app
    from bot.db import migrate
    from bot.gateway import SlackCallFailed

    runtime = build_app(settings)
    migrate(runtime.engine)
    try:
        identity = runtime.services.ctx.gateway.auth_test()
    except SlackCallFailed as problem:
        print(f"mentorbot: Slack refused SLACK_BOT_TOKEN ({problem.code}). Check the token and "
              "SLACK_API_URL, then run `mentorbot check`.", file=sys.stderr)
        return 2
    logger.info("connected to Slack team %s as %s", identity.get("team_id"), identity.get("user_id"))

    def _stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        if settings.socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            logger.info("starting in Socket Mode")
            SocketModeHandler(runtime.app, settings.slack_app_token).start()
        else:
            from bot.http import serve

            logger.info("serving POST /slack/events on port %s", settings.port)
            serve(runtime.app, runtime.engine, settings.port)
    except KeyboardInterrupt:
        logger.info("shutting down")
    return 0


def cmd_check(_args: argparse.Namespace) -> int:
    try:
        settings = Settings.load(require_signing_secret=True)
    except SettingsError as problem:
        print(f"✗ {problem}")
        return 2
    print(f"✓ settings: {'Socket Mode' if settings.socket_mode else f'HTTP mode on port {settings.port}'}")
    from sqlalchemy import text

    from bot.db import make_engine, pending_migrations
    from bot.gateway import SlackCallFailed, SlackGateway, make_web_client

    problems = 0
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        pending = pending_migrations(engine)
        note = f", {len(pending)} migration(s) pending (applied by `mentorbot run`)" if pending else ""
        print(f"✓ database: {engine.url.render_as_string(hide_password=True)}{note}")
    except Exception as error:  # noqa: BLE001  (report any database failure as one line)
        print(f"✗ database: cannot open {engine.url.render_as_string(hide_password=True)} "
              f"({type(error).__name__}: {str(error).splitlines()[0][:200]}). Check DATABASE_URL.")
        problems += 1
    gateway = SlackGateway(make_web_client(settings.slack_bot_token, settings.slack_api_url, rate_limit_retries=1))
    try:
        identity = gateway.auth_test()
        print(f"✓ slack: token works for team {identity.get('team')} ({identity.get('team_id')}) "
              f"as {identity.get('user_id')}")
    except SlackCallFailed as problem:
        print(f"✗ slack: auth.test at {settings.slack_api_url} failed ({problem.code}). Check SLACK_BOT_TOKEN "
              "and SLACK_API_URL.")
        problems += 1
    if problems:
        print(f"✗ {problems} problem(s) found; fix them and run `mentorbot check` again.")
        return 1
    print("✓ all well: mentorbot is ready to run.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mentorbot",
        description="A Slack bot that keeps mentoring pairs alive. Settings come from the environment and .env.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="run the bot (Socket Mode or HTTP mode) with its scheduler")
    run.set_defaults(func=cmd_run)
    check = sub.add_parser("check", help="check the settings, the database and the Slack token")
    check.set_defaults(func=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args))
