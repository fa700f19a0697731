"""The benchmarks keep working: each runs at a tiny size (no timing is asserted, only that it reports)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_bench(script: str, *args: str) -> list[str]:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], capture_output=True, text=True,
                            timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()


def test_sweep_bench_reports_a_row_per_size():
    lines = run_bench("sweep.py", "--sizes", "20,60", "--databases", "sqlite")
    assert lines[0].split()[:5] == ["database", "pairs", "seconds", "worst", "statements"]
    rows = [line.split() for line in lines[1:]]
    assert [row[1] for row in rows] == ["20", "60"]
    assert float(rows[0][2]) <= float(rows[0][3]), "the best of three runs is no slower than the worst"
    assert rows[0][4] == rows[1][4], "the statement count must not grow with the program"


def test_ack_bench_reports_mentorbot_beside_a_bare_bolt_app_and_socket_mode():
    lines = run_bench("ack.py", "--levels", "2", "--requests", "10", "--pairs", "3")
    table = [line.split() for line in lines]
    rows = [row for row in table if len(row) == 10 and row[0] in ("mentorbot", "bare-bolt", "socket")]
    assert [row[0] for row in rows] == ["mentorbot", "bare-bolt", "socket"]
    assert all(row[7] == "0" for row in rows), "every request should have been answered (200, or an ack)"
    assert float(rows[0][9]) > 0, "every mentorbot request should have been replied to"
    assert float(rows[2][9]) > 0, "every Socket Mode envelope should have been replied to"


def test_delivery_bench_reports_the_production_sweep():
    lines = run_bench("delivery.py", "--nudges", "6", "--channels", "3", "--burst", "1", "--max-seconds", "60")
    header = next(index for index, line in enumerate(lines) if line.startswith("slack"))
    assert lines[header].split()[:9] == ["slack", "rtt", "ms", "layout", "nudges", "chans", "sent", "calls", "429s"]
    [row] = [line.split() for line in lines[header + 1:]]
    assert row[0] == "process"
    assert row[3] == "6" and row[4] == "3", "six nudges over three channels were due"
    assert row[5] == "6" and row[10] == "yes", "every nudge should have been delivered"
    assert row[7] == "0", "a paced sweep is never answered 429, even with no burst allowed"


def test_memory_bench_reports_resident_memory_of_a_running_bot():
    lines = run_bench("memory.py", "--pairs", "30", "--seconds", "2")
    assert len(lines) == 1 and lines[0].startswith("pairs: 30 "), lines
    assert "resident at start:" in lines[0] and "MB" in lines[0]


def test_matching_bench_reports_proposals_for_the_pool():
    lines = run_bench("matching.py", "--mentors", "20", "--mentees", "25", "--topics", "5", "--runs", "1")
    assert lines[0].split() == ["people", "topics", "places", "proposed", "unmatched", "score", "seconds", "worst",
                                "imports"]
    [row] = [line.split() for line in lines[1:]]
    assert row[:2] == ["45", "5"]
    assert 0 < int(row[3]) <= 25, "some mentees should have been proposed a mentor"
def test_outcomes_bench_reports_the_report_and_the_chart():
    lines = run_bench("outcomes.py", "--pairs", "40", "--runs", "1")
    rows = {line[:34].strip(): line[34:].split() for line in lines[2:6]}
    assert list(rows) == ["report (reads + aggregation)", "chart data (reads)", "chart drawn, in process (warm)",
                          "chart drawn, child process"]
    assert all(float(best) <= float(worst) for best, worst in rows.values())
    assert "png" in lines[6] and "report over 40 pairs" in lines[6]
