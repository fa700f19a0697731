"""`mentorbot run | check | sweep | export`: the only place that reads the real clock and the process env."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.config import Settings, SettingsError

if TYPE_CHECKING:
    from sqlalchemy import Engine

logger = logging.getLogger("mentorbot")


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    if level != "DEBUG":
        # Alembic narrates its own machinery at INFO ("Context impl", "Will assume ..."); `migrate` says what
        # changed in one line of ours instead.
        logging.getLogger("alembic").setLevel(logging.WARNING)


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
        # A second SIGTERM must not interrupt the shutdown that finishes the nudge in flight.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    from scheduler import build_scheduler

    clock = build_scheduler(runtime.services, settings)
    try:
        # The first sweep begins at once, so a SIGTERM from here on may land during it.
        clock.start()
        logger.info("scheduler started: nudge sweep now and every %s minute(s)", settings.sweep_minutes)
        if settings.socket_mode:
            from bot.socket_mode import AppTokenRefused, SocketModeUnavailable

            try:
                _run_socket_mode(runtime, settings)
            except AppTokenRefused as problem:
                print(f"mentorbot: {problem}", file=sys.stderr)
                return 2
            except SocketModeUnavailable as problem:
                print(f"mentorbot: {problem}", file=sys.stderr)
                return 1
        else:
            from bot.http import serve

            logger.info("serving POST /slack/events on port %s", settings.port)
            serve(runtime.app, runtime.engine, settings.port, signing_secret=settings.slack_signing_secret or "")
    except KeyboardInterrupt:
        logger.info("shutting down")
    finally:
        # Finish the nudge in flight (its ledger row must say sent), skip the rest of the sweep, then exit.
        runtime.services.sweep.stopping.set()
        if clock.running:
            clock.shutdown(wait=True)
        # Replies already accepted (the user saw Slack acknowledge) are still sent.
        runtime.after_ack.shutdown()
        logger.info("stopped")
    return 0


def _run_socket_mode(runtime, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """Hold the Socket Mode connection (and the health server, when asked for) until interrupted."""
    import threading

    from bot.socket_mode import SocketModeRunner, build_ops_app, serve_ops

    assert settings.slack_app_token is not None
    runner = SocketModeRunner(runtime.app, settings.slack_app_token)
    ops = None
    try:
        runner.connect()
        logger.info("connected in Socket Mode")
        if settings.metrics_port:
            try:
                ops = serve_ops(build_ops_app(runtime.engine, runner.watch), settings.metrics_port)
            except OSError as error:
                print(f"mentorbot: MENTORBOT_METRICS_PORT {settings.metrics_port} cannot be served "
                      f"({error.strerror}). Choose a free port, or unset it.", file=sys.stderr)
                raise SystemExit(2) from None
            logger.info("serving GET /healthz and /metrics on port %s", settings.metrics_port)
        threading.Event().wait()
    finally:
        if ops is not None:
            ops.close()
        runner.close()


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
        if not pending:
            _print_quiet_switch(engine)
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
    if settings.slack_app_token is not None:
        problems += _check_app_token(settings.slack_app_token, settings.slack_api_url)
    if problems:
        print(f"✗ {problems} problem(s) found; fix them and run `mentorbot check` again.")
        return 1
    print("✓ all well: mentorbot is ready to run.")
    return 0


def _check_app_token(app_token: str, api_url: str) -> int:
    """One apps.connections.open call with the app-level token; return the number of problems (0 or 1)."""
    from slack_sdk.errors import SlackApiError, SlackRequestError

    from bot.socket_mode import AppTokenRefused, open_connection_url

    try:
        open_connection_url(app_token, api_url)
    except AppTokenRefused as problem:
        print(f"✗ socket mode: {problem}")
        return 1
    except SlackApiError as error:
        print(f"✗ socket mode: apps.connections.open at {api_url} failed ({error.response.get('error')}). "
              "Check SLACK_API_URL.")
        return 1
    except (SlackRequestError, OSError) as error:
        print(f"✗ socket mode: cannot reach {api_url} ({type(error).__name__}). Check SLACK_API_URL.")
        return 1
    print("✓ socket mode: SLACK_APP_TOKEN opens a connection")
    return 0


def _print_quiet_switch(engine: Engine) -> None:
    """Say so when the kill switch is on: it is not a fault, but nobody should be surprised by silence."""
    from sqlmodel import Session

    from bot.domain.models import WorkspaceFlag
    from bot.store.flags import QUIET

    with Session(engine) as session:
        flag = session.get(WorkspaceFlag, QUIET)
    if flag is not None and flag.value == "on":
        print(f"! quiet: the kill switch is ON since {flag.updated_at:%Y-%m-%d %H:%M} UTC (by {flag.updated_by}): "
              "no scheduled DM or summary goes out until a coordinator runs `/mentoring quiet off`.")


def _parse_now(raw: str | None) -> datetime:
    """Return --now as aware UTC (a time without a zone is taken as UTC), or the real clock."""
    if raw is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        print(f"mentorbot: --now {raw!r} is not an ISO-8601 time; use e.g. 2026-03-09T16:30:00Z.", file=sys.stderr)
        raise SystemExit(2) from None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def _build_services(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.app import build_services
    from bot.db import migrate

    services = build_services(settings)
    migrate(services.ctx.engine)
    return services


def cmd_sweep(args: argparse.Namespace) -> int:
    """One scheduler pass as of --now; with --dry-run, print what is due and send nothing."""
    now = _parse_now(args.now)
    settings = _load_settings(require_signing_secret=False)
    _configure_logging(settings.log_level)
    services = _build_services(settings)

    def _finish_in_flight(_signum: int, _frame: object) -> None:
        services.sweep.stopping.set()  # the sweep records the nudge in flight, then stops

    signal.signal(signal.SIGTERM, _finish_in_flight)
    result = services.sweep.run(now=now, dry_run=args.dry_run)
    if args.dry_run:
        from bot.domain.policy import GROUP

        print(f"Due at {now.isoformat(timespec='minutes')} (dry run: nothing sent)")
        rows = [("RECIPIENT", "PAIR", "KIND", "LOCAL TIME")]
        for nudge in result.due:
            recipient = f"group DM of pair {nudge.pair_id}" if nudge.recipient == GROUP else nudge.recipient
            rows.append((recipient, str(nudge.pair_id or "—"), nudge.kind.value,
                         nudge.local_at.strftime("%a %Y-%m-%d %H:%M %Z")))
        if len(rows) == 1:
            print("Nothing is due.")
        else:
            widths = [max(len(row[i]) for row in rows) for i in range(4)]
            for row in rows:
                print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        failed = services.reports.list_undeliverable()
        if failed:
            print(f"\nUndeliverable ({len(failed)}):")
            for when, recipient, kind, reason in failed:
                print(f"  {when}  {recipient}  {kind}: {reason}")
        return 0
    if result.busy:
        print("Another instance is sweeping right now, so this one did nothing; the next sweep sees what is left.")
        return 0
    print(f"Sent {len(result.sent)}, undeliverable {len(result.undeliverable)}, skipped {len(result.skipped)} "
          f"(already claimed, or no longer due), to retry {len(result.retry_later)}.")
    if result.stopped and services.sweep.stopping.is_set():
        print("Stopped early on SIGTERM after the nudge in flight; the next sweep sends the rest.")
        return 0
    if result.stopped:
        print(f"mentorbot: sweep stopped: {result.stopped}. Run `mentorbot check`.", file=sys.stderr)
        return 1
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the CSV of pairs (no note text) to --out or standard output."""
    settings = _load_settings(require_signing_secret=False)
    _configure_logging(settings.log_level)
    data = _build_services(settings).reports.export_csv(datetime.now(UTC))
    if args.out in (None, "-"):
        sys.stdout.write(data)
        return 0
    try:
        with open(args.out, "w", encoding="utf-8", newline="") as handle:
            handle.write(data)
    except OSError as problem:
        print(f"mentorbot: cannot write {args.out} ({problem.strerror}).", file=sys.stderr)
        return 2
    print(f"Wrote {data.count(chr(10)) - 1} pair(s) to {args.out}.")
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
    sweep = sub.add_parser("sweep", help="one scheduler pass: send due nudges, or --dry-run to list them")
    sweep.add_argument("--now", metavar="ISO-8601", help="pretend it is this time (default: now)")
    sweep.add_argument("--dry-run", action="store_true", help="print the due nudges as a table; send nothing")
    sweep.set_defaults(func=cmd_sweep)
    export = sub.add_parser("export", help="CSV of pairs: phase, dates, check-ins, ratings, goals (no note text)")
    export.add_argument("--out", metavar="FILE", help="write to FILE (default: standard output)")
    export.set_defaults(func=cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args))
