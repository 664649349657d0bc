"""The user's cache folder: derived results that are expensive to compute, each stored under
the SHA-256 of everything it depends on, so an entry is either exactly right or never found.

Where: ``$RUNBOOK_CHECKS_CACHE_DIR`` when set, else the platform's user cache folder
(``platformdirs.user_cache_dir``: ``$XDG_CACHE_HOME/runbook-checks``, by default
``~/.cache/runbook-checks`` on Linux). ``RUNBOOK_CHECKS_CACHE_DIR=off`` turns caching off.
Each entry is one file, ``<kind>/<key>.json`` (a JSON value) or ``<kind>/<key>.bin``
(bytes), written to a temporary file and renamed, so a reader never sees half an entry; a file that cannot be read or decoded is treated as
missing, and a cache folder that cannot be written is used as if empty. At most
``MAX_ENTRIES`` entries of a kind are kept (the least recently written go first).

What is trusted: that nobody but the user writes into the folder (as for any per-user
cache); everything else is in the key. Documented in docs/reference/cli.md ("The cache").
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: the environment variable naming the cache folder (``off``: no cache)
ENV = "RUNBOOK_CHECKS_CACHE_DIR"
#: entries kept per kind
MAX_ENTRIES = 256


def folder() -> Path | None:
    """The cache folder (``ENV``, else the platform's user cache folder); ``None`` when
    caching is off."""
    given = os.environ.get(ENV, "")
    if given == "off":
        return None
    if given:
        return Path(given)
    import platformdirs

    return Path(platformdirs.user_cache_dir("runbook-checks", appauthor=False))


def key(*parts: str | bytes) -> str:
    """The SHA-256 (hex) of ``parts``, each length-prefixed so no two lists of parts share a key."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def load(kind: str, entry: str) -> Any | None:
    """The JSON value stored as ``entry`` (a ``key``) of ``kind``; ``None`` when caching is
    off or there is no readable entry. Never raises."""
    data = load_bytes(kind, entry, ".json")
    try:
        return json.loads(data) if data is not None else None
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to read
        return None


def load_bytes(kind: str, entry: str, suffix: str = ".bin") -> bytearray | None:
    """The bytes stored as ``entry`` of ``kind`` (``store_bytes``), read into one buffer the
    caller may cut up in place; ``None`` when caching is off or there is no readable entry.
    Never raises."""
    base = folder()
    if base is None:
        return None
    try:
        with open(base / kind / f"{entry}{suffix}", "rb") as fh:
            data = bytearray(os.fstat(fh.fileno()).st_size)
            return data if fh.readinto(data) == len(data) and not fh.read(1) else None
    except OSError:
        return None


def store(kind: str, entry: str, value: Any) -> None:
    """Store the JSON-serialisable ``value`` as ``entry`` of ``kind``, atomically, then keep
    the newest ``MAX_ENTRIES`` of that kind. A folder that cannot be written is skipped
    silently (the next read computes again). Never raises ``OSError``."""
    store_bytes(kind, entry, [json.dumps(value, separators=(",", ":")).encode()], ".json")


def store_bytes(kind: str, entry: str, parts: Iterable[bytes | bytearray | memoryview], suffix: str = ".bin") -> None:
    """Store ``parts``, one after the other, as ``entry`` of ``kind`` (``load_bytes`` reads
    them back whole), atomically, then keep the newest ``MAX_ENTRIES`` entries of that kind.
    A folder that cannot be written is skipped silently. Never raises ``OSError``."""
    base = folder()
    if base is None:
        return
    where = base / kind
    try:
        where.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                for part in parts:
                    fh.write(part)
            os.replace(tmp, where / f"{entry}{suffix}")
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _prune(where)
    except OSError:
        return


def _prune(where: Path) -> None:
    """Delete all but the ``MAX_ENTRIES`` most recently written entries in ``where``."""
    entries = list(where.glob("[!.]*"))  # not the temporary files being written
    if len(entries) <= MAX_ENTRIES:
        return
    dated = []
    for path in entries:
        with contextlib.suppress(OSError):
            dated.append((path.stat().st_mtime_ns, path))
    for _, path in sorted(dated)[: len(dated) - MAX_ENTRIES]:
        with contextlib.suppress(OSError):
            path.unlink()


__all__ = ["ENV", "MAX_ENTRIES", "folder", "key", "load", "load_bytes", "store", "store_bytes"]
