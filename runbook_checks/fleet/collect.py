"""Finding ledgers on disk: every ledger under a folder (flat and per target), and a runbook's target ledgers.

A folder of ledgers holds ``<runbook-id>.jsonl`` (a runbook without targets) and
``<runbook-id>/<target-name>.jsonl`` (one per target of a runbook that declares targets;
docs/reference/fleets.md). Nothing deeper is a ledger; nothing is read here, only listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..ledger import LEDGER_SUFFIX


@dataclass(frozen=True)
class Found:
    """One ledger file found under a folder."""

    #: where it is relative to the folder searched: ``<id>.jsonl`` or ``<id>/<target>.jsonl``
    rel: PurePosixPath
    #: the file itself
    path: Path


def find_ledgers(folder: Path) -> list[Found]:
    """Every ledger under ``folder``, sorted by relative path: its ``*.jsonl`` files and
    those one folder down (``<id>/*.jsonl``). Hidden files and folders (``.name``) and
    symbolic links are left out (a ledger is never written through a link, so none is
    read through one). Raises ``OSError`` when ``folder`` cannot be listed."""
    folder = Path(folder)
    found = [Found(PurePosixPath(p.name), p) for p in _ledger_files(folder)]
    for entry in sorted(folder.iterdir()):
        if entry.is_dir() and not entry.name.startswith(".") and not entry.is_symlink():
            found += [Found(PurePosixPath(entry.name, p.name), p) for p in _ledger_files(entry)]
    return sorted(found, key=lambda f: str(f.rel))


def target_ledgers(results_dir: Path, runbook_id: str) -> list[tuple[str, Path]]:
    """The target ledgers of ``runbook_id``: ``(file stem, path)`` of each
    ``<results_dir>/<runbook_id>/*.jsonl``, sorted by stem (none when the folder does not
    exist). The stem is the target's name as the ledger's path gives it."""
    folder = Path(results_dir) / runbook_id
    if not folder.is_dir():
        return []
    return [(p.name[: -len(LEDGER_SUFFIX)], p) for p in _ledger_files(folder)]


def _ledger_files(folder: Path) -> list[Path]:
    """The ledger files directly in ``folder``, sorted by name: ``*.jsonl`` regular files,
    neither hidden nor symbolic links (the one rule of what counts as a ledger here)."""
    return sorted(
        p for p in folder.iterdir() if p.name.endswith(LEDGER_SUFFIX) and not p.name.startswith(".") and not p.is_symlink() and p.is_file()
    )
