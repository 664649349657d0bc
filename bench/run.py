"""One command for every row of issue 17's "Where it stands" table, each a ratio to a floor measured in the same run.

Run (the product's venv; PYTHONPATH=<checkout> to bench a worktree):

    python bench/run.py                 # the issue's sizes, 5 interleaved repetitions: about 10 min
    python bench/run.py --quick         # small sizes, 3 repetitions: about a minute
    python bench/run.py --sections blocks,lint --no-peers

Sections (``--sections``): ``blocks`` (`run` / `run` on a pty / `pytest --runbooks` / the peers vs
a bare ``bash -euo pipefail -c`` spawn loop, no tty), ``busy`` (`run` and the peers again while
``--busy`` spinning processes keep the cores busy, as on a loaded CI runner), ``lint`` (vs a
markdown-it parse of the same file), ``site`` (`mkdocs build` with the plugin vs ``enabled: false``,
wall and peak RSS, and the reading it must do), ``ledger`` (verify/report rows from
`bench/bench_ledger.py` when that file exists).

Every figure is a whole process (`measure.run_process`), repetitions interleaved, medians of
per-repetition ratios. Prints a Markdown table on stdout; progress, the load average and the logs'
location on stderr. Never fails on a timing: exit 1 only when a measured command did not run as expected.
"""

from __future__ import annotations

import argparse
import compileall
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sections
from measure import FAILURES, loadavg
from peers import PINS, ensure_venv
from sections import bench_blocks, bench_ledger, bench_lint, bench_site

SECTIONS = ["blocks", "busy", "lint", "site", "ledger"]
FULL = {"n": 1000, "busy_n": 300, "lint": 10_000, "pages": 100, "records": 10_000, "reps": 5}
QUICK = {"n": 50, "busy_n": 30, "lint": 1000, "pages": 5, "records": 100, "reps": 3}
HEADERS = ["work", "measured (median)", "floor (same run)", "ratio", "over the floor", "target"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; sizes default to the issue's (or the quick ones with --quick)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and 3 repetitions")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated, of {','.join(SECTIONS)}")
    parser.add_argument("--reps", type=int, help="interleaved repetitions (default 5, quick 3)")
    parser.add_argument("--n", type=int, help="blocks per runbook for the block rows (default 1000)")
    parser.add_argument("--busy-n", type=int, help="blocks per runbook with the cores busy (default 300)")
    parser.add_argument(
        "--busy", type=int, default=os.cpu_count() or 2, help="spinning processes for the busy rows (default: one per core)"
    )
    parser.add_argument("--lint-blocks", type=int, help="blocks of the lint runbook (default 10,000)")
    parser.add_argument("--pages", type=int, help="runbook pages of the site (default 100)")
    parser.add_argument("--records", type=int, help="ledger records spread over the pages (default 10,000)")
    parser.add_argument("--no-peers", action="store_true", help="leave out pytest-codeblocks, sybil and markdown-exec")
    parser.add_argument("--peers-venv", type=Path, default=Path(os.environ.get("TMPDIR") or "/tmp") / "rbc-bench-peers")
    parser.add_argument("--ledger-args", default="", help="extra arguments for bench/bench_ledger.py")
    parser.add_argument("--bin", type=Path, help="where runbook-checks, pytest and mkdocs are (default: this python's bin)")
    parser.add_argument("--work", type=Path, help="where inputs and logs go (default: a new temporary directory, kept)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    for key, attr in (
        ("n", "n"),
        ("busy_n", "busy_n"),
        ("lint", "lint_blocks"),
        ("pages", "pages"),
        ("records", "records"),
        ("reps", "reps"),
    ):
        if getattr(args, attr) is None:
            setattr(args, attr, sizes[key])
    args.sections = [s for s in args.sections.split(",") if s]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    return args


def cell(value: object) -> str:
    """A table cell: ratios with two decimals, NaN as n/a, pipes escaped."""
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.2f}"
    return str(value).replace("|", "\\|")


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table."""
    keys = ["work", "measured", "floor", "ratio", "over", "target"]
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "|".join("---" for _ in HEADERS) + "|"]
    lines += ["| " + " | ".join(cell(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def commit() -> str:
    """The checkout's commit (and whether it has changes), for the header."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True).stdout
    except OSError:
        return "unknown"
    return f"{head}{' (with changes)' if dirty.strip() else ''}"


def compiled() -> None:
    """Compile the measured package to bytecode, as an installed one is: otherwise, with
    PYTHONDONTWRITEBYTECODE set or a tree it cannot write, every measured process would
    compile each changed module again and its start-up would count that. The measured
    processes also run without PYTHONDONTWRITEBYTECODE (``main``): pytest rewrites the
    asserts of every module of a distribution that declares a pytest plugin (runbook-checks,
    pytest-xdist, platformdirs) and keeps the result beside the module's bytecode; with it
    set, every `pytest` process would rewrite and compile them all again (about 90 ms)."""
    import runbook_checks

    compileall.compile_dir(str(Path(runbook_checks.__file__).parent), quiet=1)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections and print the table; 1 when a measured command failed."""
    args = parse_args(argv)
    if args.bin:
        sections.BIN = args.bin
    work = args.work or Path(tempfile.mkdtemp(prefix="rbc-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    for key in [k for k in os.environ if k.startswith(("GITHUB_", "PYTEST_", "RUNBOOK_CHECKS_"))] + ["CI"]:
        os.environ.pop(key, None)  # a CI's step summary or a pytest worker's id must not change what is measured
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # measured as installed: see compiled()
    print(f"bench: inputs and logs in {work}", file=sys.stderr)
    compiled()
    started, load_before = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), loadavg()
    peers_venv, peers_why = None, "left out (--no-peers)"
    if not args.no_peers and {"blocks", "busy"} & set(args.sections):
        peers_why = ensure_venv(args.peers_venv)
        peers_venv = None if peers_why else args.peers_venv
        if peers_why:
            print(f"bench: peers not available: {peers_why}", file=sys.stderr)
    rows, notes = [], []
    if "lint" in args.sections:
        rows += bench_lint(work, args.lint_blocks, args.reps)
    if "blocks" in args.sections:
        rows += bench_blocks(work, args.n, args.reps, peers_venv, peers_why, busy=0)
    if "busy" in args.sections:
        rows += bench_blocks(work, args.busy_n, args.reps, peers_venv, peers_why, busy=args.busy)
    if "site" in args.sections:
        rows += bench_site(work, args.pages, args.records, args.reps)
    if "ledger" in args.sections:
        ledger_rows, ledger_out = bench_ledger(args.quick, args.ledger_args.split())
        rows += ledger_rows
        if ledger_out:
            notes.append("## bench/bench_ledger.py\n\n" + ledger_out)
    print(f"# runbook-checks benchmarks ({'quick' if args.quick else 'the issue sizes'})\n")
    print(
        f"{started}, commit {commit()}, {os.cpu_count()} cores, load {load_before} before / {loadavg()} after; "
        f"medians of {args.reps} interleaved repetitions, whole processes; ratio = the work / its floor, per repetition."
    )
    if peers_venv is not None:
        print(f"Peers: {', '.join(PINS)} in {peers_venv}.")
    print("\n" + table(rows))
    for note in notes:
        print("\n" + note)
    if FAILURES:
        print("\nCommands that did not run as expected (their rows are not figures):\n")
        print("\n".join(f"- {f}" for f in sorted(set(FAILURES))))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
