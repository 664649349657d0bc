"""The staging rehearsal on PGlite, timed per phase, beside the runbook's estimates.

Run: .venv/bin/python bench/bench_rehearsal.py [--runs 3] [--db pglite|postgres]

Each run starts a throwaway database, runs every block of the staging runbook
(steps included) through the same library calls as `runbook-checks rehearse`, and
stops the database. Printed: wall time (database start-up included), each phase's
measured duration against its estimate, and the total as a ratio of the seed's
4-8 min. Target: <= 30 s wall with a warm pnpm store. Prints figures only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runbook_checks.execute import run_plan  # noqa: E402
from runbook_checks.lint import load_runbook  # noqa: E402
from runbook_checks.plan import plan_run  # noqa: E402
from runbook_checks.redact import Redactor  # noqa: E402
from runbook_checks.report import build_report  # noqa: E402
from runbook_checks.sandbox import throwaway  # noqa: E402
from runbook_checks.units import format_duration  # noqa: E402

SEED_ESTIMATE_S = (4 * 60, 8 * 60)


def rehearse_once(runbook, kind: str):
    start = time.perf_counter()
    with throwaway(kind, runbook.workdir) as db:
        environ = {**os.environ, **{s: db.url for s in runbook.secrets if s.startswith("DATABASE_URL")}}
        record = run_plan(
            runbook,
            plan_run(runbook, execute=True),
            environ=environ,
            redactor=Redactor.for_secrets(runbook.secrets, environ),
            mode="rehearsal",
            environment="rehearsal",
        )
    return time.perf_counter() - start, record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", choices=["pglite", "postgres"], default="pglite")
    parser.add_argument("--runbook", default=str(ROOT / "docs/OPS/RUNBOOKS/DB-MIGRATION-STAGING.md"))
    args = parser.parse_args()
    runbook = load_runbook(args.runbook)
    walls, records = [], []
    with tempfile.TemporaryDirectory():
        for i in range(args.runs):
            wall, record = rehearse_once(runbook, args.db)
            assert record.status == "passed", [(b.id, b.status, b.reason) for b in record.blocks]
            walls.append(wall)
            records.append(record)
            print(f"run {i + 1}: {wall:.1f} s wall ({record.duration_s:.1f} s in blocks)")
    reports = [build_report(runbook, [r]) for r in records]
    print(f"\n{'phase':<22} {'estimate':>10} {'measured (median)':>18}  verdict")
    for i, phase in enumerate(runbook.phases):
        measured = statistics.median(rep.timeline[i].measured_s or 0.0 for rep in reports)
        verdict = reports[-1].timeline[i].verdict
        print(f"{phase.name:<22} {phase.estimate:>10} {format_duration(measured):>18}  {verdict}")
    wall = statistics.median(walls)
    lo, hi = SEED_ESTIMATE_S
    print(
        f"\nwall (median of {args.runs}, {args.db} start-up included): {wall:.1f} s = "
        f"{wall / hi:.3f}-{wall / lo:.3f} of the seed's 4-8 min; target <= 30 s: {'met' if wall <= 30 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
