"""Reading a ledger that must verify: hashes, chain and (when asked) the record schema,
stopping at the first bad line, which is named as ``path:N``.

Every reader verifies before it trusts a record (``verified_records``, ``read_records``;
``append.last_hash`` before a run). The pass over the lines is ``scan``'s; this module
decides what it may leave out (``checked``) and when a large file is checked in parts on
several cores (``parts``).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from pathlib import Path

from ..errors import LedgerError
from ..model import RunRecord
from . import checked, parts
from .lazy import LazyRecords
from .scan import Verification, scan


def verify_ledger(
    path: Path,
    validate_schema: bool = True,
    records: LazyRecords | None = None,
    data: bytes | None = None,
    keep_hashes: bool = True,
    anchors: Collection[str] = (),
    fd: int | None = None,
    file_sha256: bool = False,
) -> Verification:
    """Validate schema, hashes and chain of a ledger; stops at the first bad line.

    Checking the record schema costs five times hashing, so the records whose schema
    was checked are remembered in the user's cache (``cachedir``, kind
    ``verified-prefix``): per ledger path, the number of records and the hash of the
    newest. A later verification checks hashes and chain of every line as always, and
    leaves out the schema of the records up to that one when its line carries that same
    hash: the chain then proves those records are the ones checked before (SHA-256). When
    the file no longer holds that record there, the whole file is verified again with
    every schema. A streamed ``records`` also takes the headers the cache keeps for those
    lines (``LazyRecords.preset``) and leaves its own for the next time. What is trusted:
    that only the user writes the cache folder; the key holds the schema and the code that
    reads and checks records (``checked``), so another version checks everything again.

    The file is streamed in 1 MB chunks, line by line (memory does not grow with the
    ledger), unless ``data`` (the file's bytes, when the caller has read them already)
    or ``records`` in memory (``LazyRecords(path)``, which keep the bytes) is given. A line
    as runbook-checks writes it is checked on its bytes (``lines.fast_check``); any other
    line is parsed and its canonical JSON re-encoded, so a reformatted but unchanged
    ledger still verifies. ``fd``: the file open for reading, streamed with ``pread``
    (its offset is left alone) instead of opening ``path``. The record schema is checked
    by the types made from it (``record_schema.line_problem``); ``validate_schema=False``
    leaves it out (the site build: it then parses only the records it shows). A file of at
    least two ``parts.PART_BYTES`` whose every schema is to be checked (nothing remembered;
    neither ``data`` nor ``fd`` given) is checked in parts, one per core (``parts``), with
    the one-pass answer, the parts adding their lines to ``records``; ``keep_hashes`` or
    ``file_sha256`` then take one more pass, of hashes and chain, the schema of the records
    the parts checked left out (as that of remembered ones). When ``records`` is given, the
    lines verified are added to it. ``keep_hashes=False`` keeps only the newest hash
    (``head``) instead of every one; ``anchors``: hashes to look for (``found``).
    ``file_sha256``: also hash every byte read, the file's whole content, into
    ``Verification.file_sha256`` (the site publishes a streamed ledger and proves the copy
    holds the bytes verified).

    A file that is empty, or of which no line is a run record, is not a ledger: its
    ``Verification`` says so at line 1 (``ledger`` false) rather than reporting tampering.
    No content, however deeply nested, raises: a bad line is a ``path:N: problem``.
    Raises ``OSError`` when ``data`` is not given and the file cannot be read.
    """
    path = Path(path)
    entry = checked.entry(path) if validate_schema else None
    remembered = trusted = checked.trusted(entry)
    streamed = records is not None and records.streamed
    kept = checked.headers(entry, trusted) if trusted is not None and streamed else None
    if kept is not None:
        records.preset(kept)  # type: ignore[union-attr]
    had_headers, kept = kept is not None, None  # held by the records now, not twice
    one_pass = functools.partial(
        scan,
        path,
        validate_schema=validate_schema,
        records=records,
        data=data,
        keep_hashes=keep_hashes,
        anchors=anchors,
        fd=fd,
        file_sha256=file_sha256,
    )
    result = None
    if trusted is None and validate_schema and data is None and fd is None and (records is None or streamed):
        alone = not keep_hashes and not file_sha256  # all that is asked, the parts answer (the records too)
        whole = parts.verify_in_parts(path, anchors, records=records if alone else None)  # a large file: on every core
        if whole is not None and alone:
            result = whole
        elif whole is not None and whole.records:  # what else is asked comes of one more pass, on the bytes
            trusted = (whole.records, whole.head)  # type: ignore[assignment]
    if trusted is not None:
        result = one_pass(trusted=trusted)
    if result is None:  # nothing remembered, or the remembered record is not there: verify every schema
        if records is not None and trusted is not None:
            records.clear()
        remembered, had_headers = None, False
        result = one_pass()
    if result.ok and result.head is not None and (remembered is None or result.records > remembered[0] or (streamed and not had_headers)):
        checked.remember(entry, result.records, result.head, records.headers() if streamed else None)  # type: ignore[union-attr]
    return result


def verified_records(path: Path, validate_schema: bool = False) -> tuple[Sequence[RunRecord], Verification | None]:
    """A ledger's records that verify (hashes and chain, and the record schema when
    ``validate_schema``; those before its first bad line), read lazily, and the
    verification (``None`` for a missing ledger: no records; its ``hashes`` hold only the
    newest). The file is streamed once; only the records read later are read again
    (``LazyRecords(streamed=True)``), so memory does not grow with the ledger."""
    path = Path(path)
    if not path.exists():
        return [], None
    records = LazyRecords(path, streamed=True)
    return records, verify_ledger(path, validate_schema=validate_schema, records=records, keep_hashes=False)


def read_records(path: Path) -> list[RunRecord]:
    """Every record of a ledger, oldest first (a missing ledger has none), once the whole
    ledger verifies (hashes and chain).

    Raises ``LedgerError`` naming ``path:N`` for the first bad line.
    """
    records, verification = verified_records(path)
    if verification is not None and not verification.ok:
        raise LedgerError(f"{verification}; run 'runbook-checks verify {path}'")
    return list(records)
