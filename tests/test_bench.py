"""bench/run.py runs at tiny sizes and prints a well-formed table (no timing is asserted, the peers are left out)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = "| work | measured (median) | floor (same run) | ratio | over the floor | target |"


def run_bench(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """bench/run.py at tiny sizes, one repetition, its work directory under TMP_PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    cmd = [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--no-peers", "--reps", "1", "--work", str(tmp_path / "work"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)


def table_rows(out: str) -> list[list[str]]:
    """The cells of every row of the Markdown table in OUT, after checking its header."""
    lines = out.splitlines()
    start = lines.index(HEADER)
    assert lines[start + 1] == "|---|---|---|---|---|---|"
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        assert len(cells) == 6, line
        rows.append(cells)
    return rows


def test_every_section_runs_at_tiny_sizes(tmp_path: Path) -> None:
    """Every section measures what it names: each product row has a figure and a ratio, the peers and the
    ledger bench (when absent) say why they are not there."""
    proc = run_bench(tmp_path, "--n", "3", "--busy-n", "3", "--busy", "1", "--lint-blocks", "20", "--pages", "2", "--records", "4")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {r[0]: r for r in table_rows(proc.stdout)}
    for work in (
        "`lint` of a 20-block runbook, cold",
        "`lint` of a 20-block runbook, warm",
        "`run`, N = 3, no tty",
        "`pytest --runbooks`, N = 3, no tty",
        "`run`, N = 3, 1 busy loop",
        "`mkdocs build`, 2 staging-like pages, 4 records: wall",
        "`mkdocs build`, 2 staging-like pages, 4 records: peak RSS",
    ):
        measured, ratio = rows[work][1], rows[work][3]
        assert re.match(r"\d+(\.\d+)? (s|MB)", measured), rows[work]
        assert re.fullmatch(r"\d+\.\d\d", ratio), rows[work]
    assert rows["spawn loop (floor), N = 3, no tty"][3] == "1.00"
    assert rows["pytest-codeblocks, N = 3, no tty"][1:3] == ["not available", "left out (--no-peers)"]
    ledger = [r for work, r in rows.items() if work.startswith(("`verify` of", "`report` of"))]
    assert len(ledger) == 4, rows  # verify and report, cold and warm
    for r in ledger:
        assert re.match(r"\d+\.\d\d s, \d+ MB/s, \d+ MB", r[1]) and re.fullmatch(r"\d+\.\d\d", r[3]), r
    assert "Commands that did not run as expected" not in proc.stdout


def test_a_failing_command_is_reported_not_hidden(tmp_path: Path) -> None:
    """A measured command that fails gives "failed" in its row, a list of the failures and exit 1."""
    (tmp_path / "bin").mkdir()
    fake = tmp_path / "bin" / "runbook-checks"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    proc = run_bench(tmp_path, "--sections", "lint", "--lint-blocks", "5", "--bin", str(tmp_path / "bin"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rows = table_rows(proc.stdout)
    assert len(rows) == 2, rows  # cold and warm
    for lint in rows:
        assert lint[1].startswith("failed"), lint
    assert "cold: exit 3" in proc.stdout and "warm: exit 3" in proc.stdout
