"""Which records of a ledger had their schema checked: the verified-prefix cache of ``verify``.

Kept in the user's cache folder (``cachedir``, kind ``verified-prefix``): per ledger path,
the number of records whose schema was checked and the hash of the newest of them, and
the headers (environment, attempt, mode) of the first records, which ``report`` and the
gates group attempts by (``LazyRecords.preset``: not read off every line again). The
key holds the record schema and the code that checks it, so another version of
runbook-checks checks everything again. ``verify.verify_ledger`` leaves out the schema of
those records only when the file's line at that place carries that hash (the chain then
proves they are the records checked); see docs/reference/ledger.md, "Readers verify".
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from .. import cachedir

#: the cache's kind (its folder in the cache)
KIND = "verified-prefix"


def entry(path: Path) -> str | None:
    """The cache key of the ledger at ``path``: its absolute path, the record schema and the
    code that checks it; ``None`` when the path cannot be resolved."""
    try:
        where = str(Path(path).resolve())
    except (OSError, RuntimeError):
        return None
    return cachedir.key("verified-prefix 2", _checker_source(), where)


def trusted(key: str | None) -> tuple[int, str, list[list[Any]] | None] | None:
    """``(N, hash, runs)`` remembered under ``key``: the schema of the first N records was
    checked, the newest of them has that hash; ``runs``: the headers of the first records
    (``LazyRecords.header_runs``, at most N lines), or ``None``. ``None`` when nothing
    (readable, well formed) is remembered."""
    known = cachedir.load(KIND, key) if key is not None else None
    if not (isinstance(known, list) and len(known) == 3 and isinstance(known[0], int) and isinstance(known[1], str)):
        return None
    return known[0], known[1], _runs(known[2], known[0])


def _runs(value: Any, limit: int) -> list[list[Any]] | None:
    """``value`` when it is a well-formed ``header_runs`` of at most ``limit`` lines, else ``None``."""
    if not isinstance(value, list):
        return None
    lines = 0
    for run in value:
        if not (
            isinstance(run, list) and len(run) == 4 and type(run[0]) is int and run[0] > 0 and all(isinstance(v, str) for v in run[1:])
        ):
            return None
        lines += run[0]
    return value if lines <= limit else None


def remember(key: str | None, records: int, head: str, runs: list[list[Any]] | None = None) -> None:
    """Remember under ``key`` that the schema of the first ``records`` records, the newest
    with hash ``head``, was checked, and ``runs``, the headers of the first of them
    (nothing when ``key`` is ``None``)."""
    if key is not None:
        cachedir.store(KIND, key, [records, head, runs])


@functools.cache
def _checker_source() -> bytes:
    """The record schema and the source of the code that checks records against it."""
    here = Path(__file__).parent
    return b"".join(p.read_bytes() for p in (here / "verify.py", here / "lines.py", here.parent / "schema" / "run-record.schema.json"))


__all__ = ["KIND", "entry", "remember", "trusted"]
