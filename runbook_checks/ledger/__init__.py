"""The ledger: one append-only, hash-chained JSONL file per runbook.

Each line is one run record with ``prev`` (the previous line's hash, ``null`` on the
first line) and ``hash`` (SHA-256 of the record's canonical JSON without ``hash``).
A record is appended whole or not at all: under a lock, in a single write, then
fsync; a failed write is truncated away. ``verify_ledger`` streams the file line by
line (memory does not grow with it), recomputes every hash and link, validates each
record against the shipped JSON Schema (as msgspec types; ``jsonschema`` stays the contract),
and names the first bad line as ``path:N``. Every reader verifies before it trusts a record (``last_hash``,
``verified_records``, ``read_records``), and no ledger is written through a symbolic link.

One job per module:

- ``paths``: where ledgers live (the results folder, ``<runbook id>.jsonl``);
- ``lines``: a line's bytes (canonical JSON, the sealed line, its check on bytes);
- ``record_schema``: the record schema (the contract) and the msgspec types that check a line against it;
- ``scan``: one pass over a ledger's lines (``Verification``);
- ``parts``: a large ledger's schema checked in parts on every core;
- ``verify``: reading a ledger that must verify (``verify_ledger``, ``verified_records``);
- ``lazy``: verified records parsed only when read (``LazyRecords``);
- ``newest``: the records one key selects, searched from the newest back (``NewestFirst``);
- ``append``: appending under the lock, with its roll-back (``append_record``, ``last_hash``).

The names below are the package's interface; import them from ``runbook_checks.ledger``.
"""

from __future__ import annotations

from typing import Any

from .append import append_record, last_hash
from .lazy import LazyRecords
from .lines import canonical, record_hash, sealed_line
from .newest import NewestFirst
from .paths import LEDGER_SUFFIX, RESULTS_DIR, ledger_path, results_dir
from .scan import EMPTY, NOT_A_LEDGER, Verification
from .verify import read_records, verified_records, verify_ledger

__all__ = [
    "EMPTY",
    "LEDGER_SUFFIX",
    "NOT_A_LEDGER",
    "RESULTS_DIR",
    "LazyRecords",
    "NewestFirst",
    "Verification",
    "append_record",
    "canonical",
    "last_hash",
    "ledger_path",
    "read_records",
    "record_hash",
    "results_dir",
    "schema",
    "sealed_line",
    "verified_records",
    "verify_ledger",
]


def __getattr__(name: str) -> Any:
    """``schema``, imported when first asked for: the record schema's module (and msgspec's
    types) is loaded only by what checks a record's schema, not by every run."""
    if name == "schema":
        from .record_schema import schema

        return schema
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
