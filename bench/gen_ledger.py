"""Write a ledger of N valid, chained, staging-like records (the issue's 10k / 100k / 1M).

Run: .venv/bin/python bench/gen_ledger.py OUT.jsonl [--records 100000]

One real record is made from the staging runbook (docs/OPS/RUNBOOKS/DB-MIGRATION-STAGING.md):
every block with a few hundred bytes of output, as a run records them (about 6.4 KB a
line). Copies are re-sealed with ``ledger.lines.sealed_line`` (as runbook-checks writes a
record): mostly read-only checks in staging, a rehearsal every 50th run, a migration every
200th, a resumed run every 25th joining the attempt before it; every record and block
starts at a time of its own. The first record is
checked against the shipped JSON Schema.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runbook_checks.ledger import sealed_line  # noqa: E402
from runbook_checks.lint import load_runbook  # noqa: E402

STAGING = ROOT / "docs" / "OPS" / "RUNBOOKS" / "DB-MIGRATION-STAGING.md"
#: the first run's start
START = datetime(2026, 11, 24, 8, 0, 0)
OUTPUT = (
    'Prisma schema loaded from prisma/schema.prisma\nDatasource "db": PostgreSQL database "dixis", schema "public" at "127.0.0.1:5432"\n'
)


def passed_blocks(runbook: Any, output: str) -> list[dict[str, Any]]:
    """Every block of ``runbook`` as a recorded pass, its output ``output.format(block_id)``
    (the shape ``BlockResult.to_dict`` writes). Also used by ``bench_site.py``."""
    return [
        {
            "id": b.id,
            "kind": b.kind,
            "status": "passed",
            "line": b.line,
            "sha256": b.sha256,
            "phase": b.phase,
            "criterion": b.criterion,
            "exit_code": 0,
            "started_at": "2026-11-24T08:00:00.000Z",
            "duration_s": 0.2,
            "attempts": 1,
            "expectations": [{"name": "exit", "expected": "0", "met": True, "actual": "0"}],
            "output": output.format(b.id),
            "output_bytes": len(output.format(b.id)),
            "output_truncated": False,
            "reason": None,
            "after_failure": False,
        }
        for b in runbook.blocks
    ]


def template() -> dict[str, Any]:
    """One staging run record (schema version 2), unsealed."""
    runbook = load_runbook(STAGING)
    output = OUTPUT + "{}: done\n"
    return {
        "schema_version": 2,
        "run_id": "r0",
        "attempt_id": "r0",
        "runbook_id": runbook.id,
        "runbook_path": "docs/OPS/RUNBOOKS/DB-MIGRATION-STAGING.md",
        "runbook_sha256": runbook.sha256,
        "environment": "staging",
        "mode": "check",
        "status": "passed",
        "exit_code": 0,
        "started_at": "2026-11-24T08:00:00.000Z",
        "finished_at": "2026-11-24T08:00:00.000Z",
        "duration_s": 1.0,
        "actor": "bench",
        "host": "h",
        "git": {"commit": "0" * 40, "dirty": False},
        "ci": None,
        "target": None,
        "resumes": None,
        "not_rerun": [],
        "options": {},
        "fingerprints": {},
        "blocks": passed_blocks(runbook, output),
        "prev": None,
    }


def _stamp(at: datetime) -> str:
    """``at`` as a record writes a time: ``2026-11-24T08:00:00.123Z``."""
    return f"{at:%Y-%m-%dT%H:%M:%S}.{at.microsecond // 1000:03d}Z"


def generate(path: Path, records: int) -> None:
    """Write ``records`` chained records to ``path``."""
    base = template()
    from jsonschema import Draft202012Validator

    from runbook_checks.ledger import schema

    first = copy.deepcopy(base)
    sealed_line(first)
    Draft202012Validator(schema()).validate(first)
    prev, attempt = None, "r0"
    part = path.with_name(path.name + ".part")  # renamed when whole: a ledger at ``path`` is never half-written
    with open(part, "wb") as out:
        for n in range(records):
            record = dict(base)
            record["run_id"] = f"r{n}"
            attempt = attempt if n % 25 == 24 else f"r{n}"  # a resume joins the attempt before it
            record["attempt_id"] = attempt
            record["mode"] = "execute" if n % 200 == 199 else "rehearsal" if n % 50 == 49 else "check"
            record["environment"] = "rehearsal" if record["mode"] == "rehearsal" else "staging"
            # every time distinct, as in real runs (a reader remembers nothing of one record for the next)
            start = START + timedelta(seconds=7 * n)
            record["started_at"], record["finished_at"] = _stamp(start), _stamp(start + timedelta(seconds=6, milliseconds=n % 1000))
            record["blocks"] = [
                dict(b, started_at=_stamp(start + timedelta(milliseconds=300 * j + n % 300))) for j, b in enumerate(base["blocks"])
            ]
            record["prev"] = prev
            out.write(sealed_line(record))
            prev = record["hash"]
    os.replace(part, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--records", type=int, default=10_000)
    args = ap.parse_args()
    t = time.perf_counter()
    generate(args.out, args.records)
    print(f"{args.out}: {args.records} records, {args.out.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
