"""Which records of a ledger had their schema checked: the verified-prefix cache of ``verify``.

Kept in the user's cache folder (``cachedir``, kind ``verified-prefix``): per ledger path,
the number of records whose schema was checked and the hash of the newest of them; and,
apart (kind ``verified-headers``, a binary entry: ``model.headers.Headers.to_bytes`` after
a line naming the prefix), the headers (environment, attempt key, mode) of those records,
which ``report`` and the gates group attempts by (``LazyRecords.preset``: not read off
every line again). The key holds the record schema and the code that checks it, so another version of
runbook-checks checks everything again. ``verify.verify_ledger`` leaves out the schema of
those records only when the file's line at that place carries that hash (the chain then
proves they are the records checked); see docs/reference/ledger.md, "Readers verify".
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from .. import cachedir
from ..model.headers import Headers

#: the cache's kinds (their folders in the cache): the verified prefix, and its headers
KIND = "verified-prefix"
HEADERS_KIND = "verified-headers"


def entry(path: Path) -> str | None:
    """The cache key of the ledger at ``path``: its absolute path, the record schema and the
    code (and msgspec's version) that checks it; ``None`` when the path cannot be resolved."""
    try:
        where = str(Path(path).resolve())
    except (OSError, RuntimeError):
        return None
    return cachedir.key("verified-prefix 3", _checker_source(), where)


def trusted(key: str | None) -> tuple[int, str] | None:
    """``(N, hash)`` remembered under ``key``: the schema of the first N records was checked,
    the newest of them has that hash; ``None`` when nothing (readable) is remembered."""
    known = cachedir.load(KIND, key) if key is not None else None
    if isinstance(known, list) and len(known) == 2 and isinstance(known[0], int) and isinstance(known[1], str):
        return known[0], known[1]
    return None


def headers(key: str | None, prefix: tuple[int, str]) -> Headers | None:
    """The headers (``LazyRecords.headers``) remembered under ``key`` with the same
    ``prefix`` (``(N, hash)``, as ``trusted`` gives it), when well formed and of at most N
    lines (``Headers.from_bytes``); else ``None``. Kept apart from the prefix, so that only
    a reader that takes them (a streamed one) loads them: ``verify`` of a long ledger does not."""
    data = cachedir.load_bytes(HEADERS_KIND, key) if key is not None else None
    newline = data.find(b"\n") if data is not None else -1
    if data is None or newline < 0 or data[:newline] != _prefix_line(prefix):
        return None
    return Headers.from_bytes(data, newline + 1, prefix[0])


def remember(key: str | None, records: int, head: str, lines: Headers | None = None) -> None:
    """Remember under ``key`` that the schema of the first ``records`` records, the newest
    with hash ``head``, was checked, and, when given, ``lines``: the headers of those records
    (nothing when ``key`` is ``None``). Headers remembered for another prefix are not used
    again (``headers``)."""
    if key is not None:
        cachedir.store(KIND, key, [records, head])
        if lines is not None:
            cachedir.store_bytes(HEADERS_KIND, key, [_prefix_line((records, head)) + b"\n", *lines.to_bytes()])


def _prefix_line(prefix: tuple[int, str]) -> bytes:
    """The first line of a ``verified-headers`` entry: the prefix ``(N, hash)`` it was kept for, as JSON."""
    return json.dumps(list(prefix)).encode()


@functools.cache
def _checker_source() -> bytes:
    """The record schema, the source of the code that checks records against it, and the
    version of msgspec, which decodes and checks them (``record_schema``)."""
    from importlib import metadata  # a tenth of a run's start-up: only when a schema is checked

    here = Path(__file__).parent
    # what reads the lines, checks them, and keeps and reads back their headers (a cache entry's layout and key function)
    read = ("verify.py", "scan.py", "parts.py", "lines.py", "record_schema.py", "reading.py", "lazy.py")
    return metadata.version("msgspec").encode() + b"".join(
        p.read_bytes()
        for p in (*(here / f for f in read), here.parent / "model" / "headers.py", here.parent / "schema" / "run-record.schema.json")
    )


__all__ = ["HEADERS_KIND", "KIND", "entry", "headers", "remember", "trusted"]
