"""One pass over a ledger's lines: hashes, chain and (when asked) the record schema, stopping
at the first bad line (``scan``), and what it found (``Verification``).

``verify.verify_ledger`` decides what a pass leaves out (the schema of records checked
before) and runs it; ``parts`` runs passes over parts of one file in worker processes. A
line as runbook-checks writes it is checked on its bytes (``lines.fast_check``); any other
line is parsed and its canonical JSON re-encoded, so a reformatted but unchanged ledger
still verifies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import reading
from .lazy import LazyRecords
from .lines import HEAD, LONE_SURROGATE, TOO_DEEP, fast_check, loads, not_json, record_hash

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


@dataclass
class Part:
    """The part of a file one pass reads (``scan(part=...)``): the lines that start at byte
    ``start`` or after it, up to and including the line that starts at ``stop`` (``None``:
    to the end). ``seeded``: the first line is the last of the part before, which checks it;
    this pass takes only its hash, as ``prev`` of the line after it (``seed``). ``reached``:
    set when the line at ``stop`` was read (a file cut short while it is read never gets there)."""

    start: int
    stop: int | None = None
    seeded: bool = False
    seed: str | None = None
    reached: bool = False


def scan(
    path: Path,
    *,
    validate_schema: bool = True,
    records: LazyRecords | None = None,
    data: bytes | None = None,
    keep_hashes: bool = True,
    anchors: Collection[str] = (),
    fd: int | None = None,
    trusted: tuple[int, str] | None = None,
    file_sha256: bool = False,
    part: Part | None = None,
) -> Verification | None:
    """``verify_ledger``'s pass over the file (its arguments: see there). ``trusted``:
    ``(N, hash)`` of a record whose schema, and that of every record before it, was checked;
    their schema is left out when line N carries that hash. ``None`` when it does not (or the
    file fails or ends before it): the caller verifies again without ``trusted``.
    ``file_sha256``: hash every byte read. ``part``: read only that part of the file (not
    with ``data``, ``file_sha256`` or ``records`` that are not ``streamed``); its line
    numbers, counts and ``None`` (a seed line that is no record) are the part's own, its
    seed line the first (not added to ``records``)."""
    if validate_schema:
        from .record_schema import line_problem  # msgspec and the types: only when a schema is checked
    if data is None and records is not None and not records.streamed:
        data = path.read_bytes() if fd is None else b"".join(reading.chunks(path, fd))
    if records is not None and data is not None:
        records.buffer = data
    offset = part.start if part is not None else 0  # where the pass starts in the file
    chunks: Iterable[bytes] = (data,) if data is not None else reading.chunks(path, fd, offset)
    whole = hashlib.sha256() if file_sha256 else None
    stream = iter(chunks if whole is None else reading.hashed(chunks, whole))
    prev: str | None = None
    hashes: list[str] = []
    wanted, found = set(anchors), set()
    n = 0

    def bad(problem: str, cut: bool = False) -> Verification | None:
        if trusted is not None and n <= trusted[0]:
            return None  # lines before it were not schema-checked: the caller verifies again
        if whole is not None:
            for _ in stream:  # the rest of the file, into ``whole``
                pass
        digest = whole.hexdigest() if whole is not None else None
        if n == 1 and not cut and not _holds_a_record(data.split(b"\n") if data is not None else reading.raw_lines(path, fd)):
            return Verification(path, 0, 1, f"{NOT_A_LEDGER} (line 1: {problem})", ledger=False, file_sha256=digest)
        return Verification(path, n - 1, n, problem, hashes=tuple(hashes), head=prev, file_sha256=digest)

    for buffer, start, end, at in reading.lines(stream):
        n += 1
        if part is not None and part.seeded and n == 1:
            part.seed = prev = _seed(buffer[start:end] if end >= 0 else b"")
            if prev is None:
                return None
            continue
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
            records.add(buffer, start, end, offset + at, digest if fast is not None else None)
        if keep_hashes:
            hashes.append(digest)
        if digest in wanted:
            found.add(digest)
        prev = digest
        if part is not None and part.stop is not None and offset + at >= part.stop:
            part.reached = True
            break
    if trusted is not None and n < trusted[0]:
        return None
    digest = whole.hexdigest() if whole is not None else None
    if not n:
        return Verification(path, 0, 1, EMPTY, ledger=False, file_sha256=digest)
    return Verification(path, n, hashes=tuple(hashes), head=prev, found=frozenset(found), file_sha256=digest)


def _check_line(raw: bytes, prev: str | None, validate_schema: bool) -> tuple[Any, Any] | str:
    """``(hash, prev)`` of a line that is parsed to be checked, or what is wrong with it."""
    if validate_schema:
        from .record_schema import line_problem

        if (problem := line_problem(raw)) is not None:
            return problem  # the types first, then the contract: a line they refuse is parsed here, and once more below
    try:
        record = loads(raw)
    except ValueError as exc:
        return not_json(exc)
    if not isinstance(record, dict) or "hash" not in record or "prev" not in record:
        return "not a run record (no 'hash' and 'prev')"
    try:
        edited = record["prev"] == prev and record_hash(record) != record["hash"]
    except UnicodeEncodeError:
        return LONE_SURROGATE
    if edited:
        return "hash mismatch: the record was edited after it was written"
    return record["hash"], record["prev"]


def _seed(raw: bytes) -> str | None:
    """The hash a seed line (``Part``) says it has: checked on its bytes when it is sealed as
    runbook-checks writes it, else only read (the part before checks it); ``None`` when it is
    no record."""
    fast = fast_check(raw, 0, len(raw))
    if fast is not None:
        return fast[0]
    try:
        checked = _check_line(raw, None, False)
    except RecursionError:
        return None
    return None if isinstance(checked, str) or not isinstance(checked[0], str) else checked[0]


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
