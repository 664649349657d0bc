"""Building target ledgers for the fleet tests: real sealed, chained records written as
``<results>/<runbook-id>/<target>.jsonl`` (the layout of docs/reference/fleets.md)."""

from __future__ import annotations

from pathlib import Path

from runbook_checks.ledger import sealed_line
from runbook_checks.model import RunRecord


def chain_lines(records: list[RunRecord], prev: str | None = None) -> tuple[list[bytes], str | None]:
    """The sealed ledger lines of ``records``, chained after ``prev``; and the last hash."""
    lines = []
    for r in records:
        data = r.to_dict()
        data["prev"] = prev
        lines.append(sealed_line(data))
        prev = data["hash"]
    return lines, prev


def write_ledger(path: Path, records: list[RunRecord]) -> Path:
    """Write ``records`` as a fresh, verifying ledger at ``path`` (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(chain_lines(records)[0]))
    return path
