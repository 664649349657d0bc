"""Helpers shared by test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import re
from pathlib import Path

from runbook_checks.model import Block, BlockResult, Runbook, RunRecord
from runbook_checks.status import Kind, Mode, RunStatus


def tbody_rows(html: str, css: str) -> list[list[str]]:
    """The cells of each body row of the site table in the ``div`` of class ``css``."""
    [start] = [m.end() for m in re.finditer(r'<div class="[^"]*\b' + re.escape(css) + r'\b[^"]*">', html)]
    table = html[start : html.index("</table>", start)]
    return [re.findall(r"<td>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", table[table.index("<tbody>") :], re.S)]


# -- builders of model objects, for in-process tables ------------------------------------------

#: the hash every built block and result has unless told otherwise
SHA = "0" * 64


def block_result(
    block_id: str,
    status: str,
    kind: str = Kind.CHECK,
    criterion: str | None = None,
    phase: str | None = None,
    duration_s: float = 1.0,
    sha256: str = SHA,
) -> BlockResult:
    """A ``BlockResult`` of ``block_id`` with ``status`` (a ``status.BlockStatus`` value)."""
    return BlockResult(
        id=block_id, kind=kind, status=status, line=1, sha256=sha256, phase=phase, criterion=criterion, duration_s=duration_s
    )


def run_record(
    run_id: str,
    blocks: tuple[BlockResult, ...],
    *,
    attempt: str = "A",
    mode: str = Mode.EXECUTE,
    environment: str = "staging",
    status: str = RunStatus.PASSED,
    digest: str | None = "d" * 64,
    fingerprints: dict | None = None,
    ci: dict | None = None,
    finished_at: str = "2026-01-01T00:00:01Z",
) -> RunRecord:
    """A ``RunRecord`` of runbook ``rb`` holding ``blocks``, in attempt ``attempt``."""
    return RunRecord(
        run_id=run_id,
        runbook_id="rb",
        runbook_path="rb.md",
        runbook_sha256=SHA,
        environment=environment,
        mode=mode,
        status=status,
        exit_code=0,
        started_at="2026-01-01T00:00:00Z",
        finished_at=finished_at,
        duration_s=1.0,
        actor="a",
        host="h",
        git=None,
        ci=ci,
        blocks=blocks,
        fingerprints=fingerprints or {"m": "1" * 64},
        attempt_id=attempt,
        target={"from": "X", "digest": digest},
    )


def code_block(block_id: str, kind: str = Kind.CHECK, criterion: str | None = None, sha256: str = SHA) -> Block:
    """A ``Block`` of runbook ``rb.md`` whose current hash is ``sha256``."""
    return Block(id=block_id, kind=kind, lang="bash", code="true", path=Path("rb.md"), line=1, criterion=criterion, sha256=sha256)


def runbook_of(*blocks: Block, environment: str = "staging") -> Runbook:
    """A ``Runbook`` ``rb`` in ``environment`` holding ``blocks`` (no phases)."""
    return Runbook(
        path=Path("rb.md"),
        id="rb",
        title="RB",
        environment=environment,
        confirm=None,
        secrets=(),
        workdir=Path("."),
        phases=(),
        blocks=blocks,
        sha256=SHA,
        root=Path("."),
    )
