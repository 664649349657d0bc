"""Reading a ledger that must verify: hashes, chain and (when asked) the record schema,
stopping at the first bad line, which is named as ``path:N``.

Every reader verifies before it trusts a record (``verified_records``, ``read_records``;
``append.last_hash`` before a run). A line as runbook-checks writes it is checked on its
bytes (``lines.fast_check``); any other line is parsed and its canonical JSON re-encoded,
so a reformatted but unchanged ledger still verifies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import LedgerError
from ..model import RunRecord
from . import checked, reading
from .lazy import LazyRecords
from .lines import HEAD, TOO_DEEP, fast_check, loads, not_json, record_hash
from .record_schema import line_problem

#: the problem of an empty file (it is no ledger: runbook-checks never empties one)
EMPTY = (
    "empty file: no records. runbook-checks creates a ledger with its first record and never empties one, so this file "
    "was emptied or made by something else"
)
#: the problem of a file of which no line is a run record
NOT_A_LEDGER = "not a runbook-checks ledger: no line of it is a run record"


@dataclass(frozen=True)
class Verification:
    """The outcome of verifying one ledger file; ``str()`` is the line ``verify`` prints
    (``path: ok, N record(s), chain intact`` or ``path:N: problem``)."""

    #: the ledger file
    path: Path
    #: how many records verified (those before the first bad line)
    records: int
    #: 1-based line of the first problem, and what it is (``None`` when intact)
    bad_line: int | None = None
    problem: str | None = None
    #: the hashes of the records verified, oldest first (only the newest, ``head``, when
    #: verified with ``keep_hashes=False``)
    hashes: tuple[str, ...] = ()
    #: false when the file is no ledger at all: empty, or no line of it is a run record
    ledger: bool = True
    #: the hash of the newest record verified, before any bad line (``None``: none), and which of the anchors
    #: asked for (``verify_ledger(anchors=...)``) are hashes of records verified
    head: str | None = None
    found: frozenset[str] = frozenset()
    #: with ``verify_ledger(file_sha256=True)``: the SHA-256 (hex) of every byte of the file
    #: as this verification read it, bad lines and all
    file_sha256: str | None = None

    @property
    def ok(self) -> bool:
        """Whether every line verified."""
        return self.bad_line is None

    def __str__(self) -> str:
        if self.ok:
            return f"{self.path}: ok, {self.records} record(s), chain intact"
        return f"{self.path}:{self.bad_line}: {self.problem}"


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

    Checking the record schema costs twenty times hashing, so the records whose schema
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
    leaves it out (the site build: it then parses only the records it shows). When ``records`` is given, the lines
    verified are added to it (one pass). ``keep_hashes=False`` keeps only the newest hash
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
    trusted = checked.trusted(entry)
    streamed = records is not None and records.streamed
    kept = checked.headers(entry, trusted) if trusted is not None and streamed else None
    if kept is not None:
        records.preset(kept)  # type: ignore[union-attr]
    had_headers, kept = kept is not None, None  # held by the records now, not twice
    result = _verify(path, validate_schema, records, data, keep_hashes, anchors, fd, trusted, file_sha256)
    if result is None:  # the remembered record is not there: verify every schema
        if records is not None:
            records.clear()
        trusted, had_headers = None, False
        result = _verify(path, validate_schema, records, data, keep_hashes, anchors, fd, None, file_sha256)
    assert result is not None
    if result.ok and result.head is not None and (trusted is None or result.records > trusted[0] or (streamed and not had_headers)):
        checked.remember(entry, result.records, result.head, records.headers() if streamed else None)  # type: ignore[union-attr]
    return result


def _verify(
    path: Path,
    validate_schema: bool,
    records: LazyRecords | None,
    data: bytes | None,
    keep_hashes: bool,
    anchors: Collection[str],
    fd: int | None,
    trusted: tuple[int, str] | None,
    file_sha256: bool,
) -> Verification | None:
    """``verify_ledger``'s pass over the file. ``trusted``: ``(N, hash)`` of a record whose
    schema, and that of every record before it, was checked; their schema is left out when
    line N carries that hash. ``None`` when it does not (or the file fails or ends before
    it): the caller verifies again without ``trusted``. ``file_sha256``: hash every byte read."""
    if data is None and records is not None and not records.streamed:
        data = path.read_bytes() if fd is None else b"".join(reading.chunks(path, fd))
    if records is not None and data is not None:
        records.buffer = data
    chunks: Iterable[bytes] = (data,) if data is not None else reading.chunks(path, fd)
    whole = hashlib.sha256() if file_sha256 else None
    stream = iter(chunks if whole is None else reading.hashed(chunks, whole))
    prev: str | None = None
    hashes: list[str] = []
    wanted, found = set(anchors), set()
    n = 0

    def bad(problem: str, cut: bool = False) -> Verification | None:
        if trusted is not None and n <= trusted[0]:
            return None  # lines before it were not schema-checked: the caller verifies again
        for _ in stream:  # the rest of the file, into ``whole``
            pass
        digest = whole.hexdigest() if whole is not None else None
        if n == 1 and not cut and not _holds_a_record(data.split(b"\n") if data is not None else reading.raw_lines(path, fd)):
            return Verification(path, 0, 1, f"{NOT_A_LEDGER} (line 1: {problem})", ledger=False, file_sha256=digest)
        return Verification(path, n - 1, n, problem, hashes=tuple(hashes), head=prev, file_sha256=digest)

    for buffer, start, end, at in reading.lines(stream):
        n += 1
        if end < 0:
            return bad("the last line is cut or half-written (no newline at its end)", cut=True)
        schema = validate_schema and (trusted is None or n > trusted[0])
        fast = fast_check(buffer, start, end)
        if fast is not None:
            digest, linked = fast
            if schema:
                problem = line_problem(buffer[start:end])
                if problem is not None:
                    return bad(problem)
        else:
            try:
                checked = _check_line(buffer[start:end], prev, schema)
            except RecursionError:  # parsed, but too deep to re-encode or validate
                checked = TOO_DEEP
            if isinstance(checked, str):
                return bad(checked)
            digest, linked = checked
        if linked != prev:
            return bad("chain broken: 'prev' is not the hash of the previous record (a record was removed, reordered or edited)")
        if trusted is not None and n == trusted[0] and digest != trusted[1]:
            return None
        if records is not None:
            records.add(buffer, start, end, at, digest if fast is not None else None)
        if keep_hashes:
            hashes.append(digest)
        if digest in wanted:
            found.add(digest)
        prev = digest
    if trusted is not None and n < trusted[0]:
        return None
    digest = whole.hexdigest() if whole is not None else None
    if not n:
        return Verification(path, 0, 1, EMPTY, ledger=False, file_sha256=digest)
    return Verification(path, n, hashes=tuple(hashes), head=prev, found=frozenset(found), file_sha256=digest)


def _check_line(raw: bytes, prev: str | None, validate_schema: bool) -> tuple[Any, Any] | str:
    """``(hash, prev)`` of a line that is parsed to be checked, or what is wrong with it."""
    if validate_schema and (problem := line_problem(raw)) is not None:
        return problem  # the types first, then the contract: a line they refuse is parsed here, and once more below
    try:
        record = loads(raw)
    except ValueError as exc:
        return not_json(exc)
    if not isinstance(record, dict) or "hash" not in record or "prev" not in record:
        return "not a run record (no 'hash' and 'prev')"
    if record["prev"] == prev and record_hash(record) != record["hash"]:
        return "hash mismatch: the record was edited after it was written"
    return record["hash"], record["prev"]


def _holds_a_record(lines: Iterable[bytes]) -> bool:
    """Whether any of a file's ``lines`` is (or was written as) a run record: a line in the
    sealed form, or a JSON object with ``hash`` and ``prev``. Asked only of a file whose
    first line is bad, to tell a damaged ledger from a file that never was one."""
    for raw in lines:
        if raw.startswith(HEAD):
            return True
        try:
            value = loads(raw)
        except ValueError:
            continue
        if isinstance(value, dict) and "hash" in value and "prev" in value:
            return True
    return False


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
