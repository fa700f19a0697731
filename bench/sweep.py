"""How long one sweep decision takes on big programs, how many SQL statements it issues, vs. the floor.

Usage: python bench/sweep.py [--sizes 1000,10000,100000] [--databases sqlite,postgresql]
For each size and database it builds a program with realistic histories, then times a `--dry-run` sweep
decision (read the program + the pure policy; best and worst of three) and, in the same run, the floor:
the decision's own SQL statements replayed on a raw DB-API cursor, fetching the same rows.
PostgreSQL uses its own database `mentorbot_bench` on MENTORBOT_BENCH_POSTGRES
(default postgresql+psycopg://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, event, text  # noqa: E402

from bench.dataset import NOW, build_program  # noqa: E402
from bot.app import build_services  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.crypto import NoteCipher  # noqa: E402
from bot.db import make_engine  # noqa: E402
from tests.conftest import TEST_ENCRYPTION_KEY  # noqa: E402

ADMIN_URL = os.environ.get("MENTORBOT_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BENCH_DB = "mentorbot_bench"

def fresh_engine(database: str, workdir: Path, pairs: int) -> Engine:
    if database == "sqlite":
        return make_engine(f"sqlite:///{workdir / f'sweep-{pairs}.db'}")
    admin = make_engine(ADMIN_URL)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DB}"))
        connection.execute(text(f"CREATE DATABASE {BENCH_DB}"))
    admin.dispose()
    return make_engine(ADMIN_URL.rsplit("/", 1)[0] + "/" + BENCH_DB)


def drop_postgres() -> None:
    admin = make_engine(ADMIN_URL)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DB}"))
    admin.dispose()


def floor_seconds(engine: Engine, statements: list[tuple[str, Any, bool]]) -> float:
    """Replay the decision's own SQL on a raw DB-API cursor and fetch every row: the floor no loader beats.

    Same statements, same parameters, same rows; only the driver's own conversion, no SQLAlchemy, no ORM.
    """
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        for statement, parameters, many in statements:
            (cursor.executemany if many else cursor.execute)(statement, parameters)
            if cursor.description is not None:
                cursor.fetchall()
        elapsed = time.perf_counter() - started
        raw.rollback()
    finally:
        raw.close()
    return elapsed


def measure(database: str, pairs: int, workdir: Path) -> dict[str, float]:
    engine = fresh_engine(database, workdir, pairs)
    settings = Settings(slack_bot_token="xoxb-bench", slack_signing_secret="bench", slack_api_url="http://127.0.0.1:9/",
                        database_url=str(engine.url), coordinators=("UCOORD1",), summary_channel="CSUMMARY1",
                        encryption_keys=(TEST_ENCRYPTION_KEY,))
    build_program(engine, pairs, NoteCipher([TEST_ENCRYPTION_KEY]))
    services = build_services(settings, engine=engine)
    services.sweep.run(now=NOW, dry_run=True)  # warm caches (statement compilation), as a running bot has
    issued: list[tuple[str, Any, bool]] = []

    def count(_conn: object, _cursor: object, statement: str, parameters: Any, _context: object, many: bool) -> None:
        # A statement run once per parameter set (executemany) is one statement, prepared once.
        issued.append((statement, parameters, many))

    event.listen(engine, "before_cursor_execute", count)
    result = services.sweep.run(now=NOW, dry_run=True)
    event.remove(engine, "before_cursor_execute", count)
    # Best and worst of three: on a shared virtual machine one run can take half as long again as the next.
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        services.sweep.run(now=NOW, dry_run=True)
        runs.append(time.perf_counter() - started)
    seconds = min(runs)
    # Memory in a second, separate run: tracemalloc slows Python down several times.
    tracemalloc.start()
    services.sweep.run(now=NOW, dry_run=True)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    floor = min(floor_seconds(engine, issued) for _ in range(3))
    engine.dispose()
    if database == "postgresql":
        drop_postgres()
    return {"pairs": pairs, "seconds": seconds, "worst": max(runs), "statements": len(issued), "floor": floor,
            "ratio": seconds / floor if floor else float("nan"), "peak_mb": peak / 1e6, "due": len(result.due)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="mentorbot-sweep-"))
    print(f"{'database':<11} {'pairs':>7} {'seconds':>8} {'worst':>8} {'statements':>10} {'floor s':>8} "
          f"{'ratio':>6} {'peak MB':>8} {'due':>6}")
    try:
        for database in args.databases.split(","):
            for pairs in sizes:
                row = measure(database, pairs, workdir)
                print(f"{database:<11} {row['pairs']:>7} {row['seconds']:>8.3f} {row['worst']:>8.3f} "
                      f"{row['statements']:>10} {row['floor']:>8.3f} {row['ratio']:>6.1f} {row['peak_mb']:>8.1f} "
                      f"{row['due']:>6}", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
