"""Where ledgers live: the results folder and the ledger file of a runbook in it (of a fleet
runbook: one per target, ``<results>/<runbook-id>/<target>.jsonl``)."""

from __future__ import annotations

from pathlib import Path

from ..context import find_root
from ..model import Runbook, RunRecord

#: a ledger's file name is the runbook id with this suffix
LEDGER_SUFFIX = ".jsonl"

#: the ledgers' folder, in the project root unless ``--results`` says otherwise
RESULTS_DIR = "runbook-results"


def results_dir(runbook: Runbook | None, given: str | Path | None = None) -> Path:
    """Where ``runbook``'s ledger and run lock live: ``given`` (``--results``, relative to the
    current directory), else ``runbook-results`` in the runbook's project root
    (``context.find_root``; with no runbook, the current directory's) — the same folder, so
    the same lock, from whatever directory a run is started. Relative to the current
    directory when it is below it, as messages show it."""
    if given:
        return Path(given)
    found = (runbook.root if runbook is not None else find_root(Path.cwd())) / RESULTS_DIR
    try:
        return found.relative_to(Path.cwd())
    except ValueError:
        return found


def ledger_path(results_dir: Path, runbook_id: str) -> Path:
    """The ledger of ``runbook_id`` in ``results_dir``: ``<results_dir>/<runbook_id>.jsonl``
    (the file may not exist yet; nothing is checked)."""
    return Path(results_dir) / f"{runbook_id}{LEDGER_SUFFIX}"


def target_ledger_path(results_dir: Path, runbook_id: str, target_name: str) -> Path:
    """The ledger of target ``target_name`` of fleet runbook ``runbook_id``:
    ``<results_dir>/<runbook_id>/<target_name>.jsonl`` — one file per target, so parallel
    jobs of a matrix never append to the same file (nothing is checked)."""
    return Path(results_dir) / runbook_id / f"{target_name}{LEDGER_SUFFIX}"


def runbook_ledger(results_dir: Path, runbook: Runbook) -> Path:
    """The ledger a run of ``runbook`` appends to: its selected target's
    (``target_ledger_path``) when ``targets.select`` chose one, else ``ledger_path``."""
    if runbook.selected is not None:
        return target_ledger_path(results_dir, runbook.id, runbook.selected.name)
    return ledger_path(results_dir, runbook.id)


def record_ledger_path(results_dir: Path, record: RunRecord) -> Path:
    """The ledger ``record`` belongs in: its target's (the record's ``target.name``) or its
    runbook's — the same file ``runbook_ledger`` names for the run that made it."""
    name = record.target.get("name") if isinstance(record.target, dict) else None
    return target_ledger_path(results_dir, record.runbook_id, name) if name else ledger_path(results_dir, record.runbook_id)
