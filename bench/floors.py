"""The floors `bench/run.py` measures each row against, each run as a whole process of its own.

Usage: python bench/floors.py spawn N | markdown FILE | sha256 FILE | site-reading ROOT

- ``spawn N``: N spawns of ``bash -euo pipefail -c 'echo x'``, each in its own session, stdin from
  /dev/null, output captured: what any per-block runner must do at least.
- ``markdown FILE``: read FILE and parse it with markdown-it-py (the parser the product uses):
  the reading any lint must do.
- ``sha256 FILE``: SHA-256 of FILE in 1 MB chunks: the reading any verification must do.
- ``site-reading ROOT``: parse every runbook page of a bench site and verify every ledger line's
  hash and chain (no schema): the reading the site plugin must do (see bench_site.required_work).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path


def spawn(n: int) -> None:
    """Spawn bash N times, as a runner does for N trivial blocks."""
    for _ in range(n):
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", "echo x"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if proc.returncode != 0 or proc.stdout != b"x\n":
            sys.exit(f"floor: bash exited {proc.returncode} with {proc.stdout!r}")


def markdown(path: Path) -> None:
    """Parse PATH with markdown-it-py, nothing else."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8"))
    print(f"{len(tokens)} tokens")


def sha256(path: Path) -> None:
    """Hash PATH in 1 MB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    print(digest.hexdigest())


def site_reading(root: Path) -> None:
    """Parse the bench site's runbook pages and verify their ledgers (hash and chain only), as
    bench_site.required_work does, without importing MkDocs."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from runbook_checks.ledger import LazyRecords, verify_ledger
    from runbook_checks.parse import parse_runbook

    for page in sorted((root / "docs").glob("rb*.md")):
        runbook, _ = parse_runbook(page)
        verify_ledger(root / "runbook-results" / f"{runbook.id}.jsonl", validate_schema=False, records=LazyRecords())


def main(argv: list[str]) -> None:
    """Dispatch on the first argument."""
    kind, arg = argv[0], argv[1]
    if kind == "spawn":
        spawn(int(arg))
    elif kind == "markdown":
        markdown(Path(arg))
    elif kind == "sha256":
        sha256(Path(arg))
    elif kind == "site-reading":
        site_reading(Path(arg))
    else:
        sys.exit(f"floors: unknown floor {kind!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
