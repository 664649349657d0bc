"""verify and report on generated ledgers, as ratios to the floor measured in the same run.

Run: .venv/bin/python bench/bench_ledger.py [--records 10000 100000] [--repeat 3] [--before /path/to/old/tree]
     [--warm-only] [--ledgers DIR]

At 1,000,000 records (9.8 GB) a cold run takes minutes and writing the ledger more than
two: ``--records 1000000 --warm-only --ledgers DIR`` leaves the cold runs out and keeps the
ledger in DIR for the next time (in a folder named by the size and a digest of
``gen_ledger.py`` and the staging runbook, so a ledger they would now write otherwise is not taken).

For each size, a ledger of staging-like records is written (``bench/gen_ledger.py``) as
``runbook-results/<id>.jsonl`` of the staging runbook, then measured as whole processes
(wall time and peak RSS from ``os.wait4``), median of REPEAT interleaved runs:

- floor: SHA-256 of the file in 1 MB chunks (a Python process, like the others);
- ``runbook-checks verify FILE`` (hashes, chain, record schema);
- ``runbook-checks report RUNBOOK --results DIR``;
- each of them ``cold`` (``RUNBOOK_CHECKS_CACHE_DIR=off``: every schema checked) and
  ``warm`` (a cache folder filled by one run before the measured ones: the records'
  schema checked before is left out, hashes and chain are checked; docs/reference/ledger.md);
- with ``--before TREE``, the same two commands with the package of TREE (e.g. the main
  checkout at an older commit) on ``PYTHONPATH``.

Prints MB/s, seconds, the ratio to the floor and peak RSS. The machine's load average
is printed too: figures taken on a busy machine are only comparable within one run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gen_ledger import STAGING, generate  # noqa: E402

FLOOR = "import hashlib,sys\nh=hashlib.sha256()\nwith open(sys.argv[1],'rb') as f:\n    while c:=f.read(1<<20): h.update(c)\n"


#: the issue's targets per command
TARGETS = {"verify": "≥ 500 MB/s (1,000,000: ≤ 15 s), RSS ≤ 100 MB", "report": "100,000: ≤ 2 s; 1,000,000: ≤ 15 s; RSS ≤ 150 MB"}


def measure(argv: list[str], tree: Path, cache: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one process with the cache folder ``cache``
    (``off``: none); its output is dropped."""
    env = dict(os.environ, PYTHONPATH=str(tree), RUNBOOK_CHECKS_CACHE_DIR=cache)
    start = time.perf_counter()
    # run in the tree: ``python -m`` puts the working folder first on sys.path, before PYTHONPATH
    proc = subprocess.Popen(argv, env=env, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, nargs="+", help="ledger sizes (default 10000 100000; quick: 300)")
    ap.add_argument("--repeat", type=int, help="interleaved repetitions (default 3; quick: 1)")
    ap.add_argument("--quick", action="store_true", help="one small ledger, one repetition")
    ap.add_argument("--before", type=Path, help="a tree whose runbook_checks is measured too (the code before)")
    ap.add_argument("--warm-only", action="store_true", help="leave out the cold runs (every schema checked: minutes at 1,000,000 records)")
    ap.add_argument(
        "--ledgers",
        type=Path,
        help="keep the generated ledgers in this folder, and take them from it when there (default: a temporary one)",
    )
    args = ap.parse_args()
    args.records = args.records or ([300] if args.quick else [10_000, 100_000])
    # absolute: the measured processes run in the measured tree
    args.ledgers, args.before = (p.resolve() if p is not None else None for p in (args.ledgers, args.before))
    args.repeat = args.repeat or (1 if args.quick else 3)
    print("| work | measured (median) | floor (same run) | ratio | over the floor | target |")
    print("|---|---|---|---|---|---|")
    py = sys.executable
    trees = {"after": ROOT} | ({"before": args.before} if args.before else {})
    for n in args.records:
        with tempfile.TemporaryDirectory() as tmp:
            results = (args.ledgers / f"{n}-{_generator_digest()}" if args.ledgers else Path(tmp)) / "runbook-results"
            results.mkdir(parents=True, exist_ok=True)
            from runbook_checks.lint import load_runbook

            ledger = results / f"{load_runbook(STAGING).id}.jsonl"
            if not ledger.exists():  # gen_ledger writes to a temporary name and renames: a ledger there is whole
                generate(ledger, n)
            size = ledger.stat().st_size / 1e6
            warm = str(Path(tmp) / "cache")
            jobs = {"floor sha256": ([py, "-c", FLOOR, str(ledger)], ROOT, "off")}
            for name, tree in trees.items():
                for cache in (warm,) if args.warm_only else ("off", warm):
                    how = "cold" if cache == "off" else "warm"
                    jobs[f"verify {how} ({name})"] = ([py, "-m", "runbook_checks", "verify", str(ledger)], tree, cache)
                    jobs[f"report {how} ({name})"] = (
                        [py, "-m", "runbook_checks", "report", str(STAGING), "--results", str(results)],
                        tree,
                        cache,
                    )
            for argv, tree, cache in jobs.values():
                if cache != "off":
                    measure(argv, tree, cache)  # fills the cache
            got: dict[str, list[tuple[float, float]]] = {k: [] for k in jobs}
            for _ in range(args.repeat):  # interleaved
                for name, (argv, tree, cache) in jobs.items():
                    got[name].append(measure(argv, tree, cache))
            load = os.getloadavg()[0]
            print(
                f"{n} records, {size:.0f} MB: load average {load:.1f} on {os.cpu_count()} cores, median of {args.repeat}", file=sys.stderr
            )
            floor = statistics.median(w for w, _ in got["floor sha256"])
            for name, runs in got.items():
                if name == "floor sha256":
                    continue
                wall, rss = statistics.median(w for w, _ in runs), max(r for _, r in runs)
                target = TARGETS[name.split()[0]]
                print(
                    f"| `{name.split()[0]}` of {n:,} records ({size:.0f} MB), {' '.join(name.split()[1:])} "
                    f"| {wall:.2f} s, {size / wall:.0f} MB/s, {rss:.0f} MB | SHA-256 {floor:.2f} s ({size / floor:.0f} MB/s) "
                    f"| {wall / floor:.2f} | {wall - floor:+.2f} s | {target} |"
                )


def _generator_digest() -> str:
    """The first 12 hex digits of the SHA-256 of what a generated ledger is made from
    (``gen_ledger.py`` and the staging runbook): a kept ledger is taken again only when both are unchanged."""
    h = hashlib.sha256()
    for path in (Path(__file__).with_name("gen_ledger.py"), STAGING):
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


if __name__ == "__main__":
    main()
