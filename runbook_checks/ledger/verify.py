"""Reading a ledger that must verify: hashes, chain and (when asked) the record schema,
stopping at the first bad line, which is named as ``path:N``.

Every reader verifies before it trusts a record (``verified_records``, ``read_records``;
``append.last_hash`` before a run). A line as runbook-checks writes it is checked on its
bytes (``lines.fast_check``); any other line is parsed and its canonical JSON re-encoded,
so a reformatted but unchanged ledger still verifies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import LedgerError
from ..model import RunRecord
from .lazy import LazyRecords
from .lines import HEAD, fast_check, loads, record_hash, schema

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
    #: the hashes of the records verified, oldest first
    hashes: tuple[str, ...] = ()
    #: false when the file is no ledger at all: empty, or no line of it is a run record
    ledger: bool = True

    @property
    def ok(self) -> bool:
        """Whether every line verified."""
        return self.bad_line is None

    def __str__(self) -> str:
        if self.ok:
            return f"{self.path}: ok, {self.records} record(s), chain intact"
        return f"{self.path}:{self.bad_line}: {self.problem}"


def verify_ledger(path: Path, validate_schema: bool = True, records: LazyRecords | None = None, data: bytes | None = None) -> Verification:
    """Validate schema, hashes and chain of a ledger; stops at the first bad line.

    A line as runbook-checks writes it is checked on its bytes (``lines.fast_check``); any
    other line is parsed and its canonical JSON re-encoded, so a reformatted but
    unchanged ledger still verifies. ``validate_schema=False`` leaves out the JSON
    Schema (the site build: it then parses only the records it shows). When
    ``records`` is given, the lines verified are added to it (one pass). ``data``: the
    file's bytes, when the caller has read them already.

    A file that is empty, or of which no line is a run record, is not a ledger: its
    ``Verification`` says so at line 1 (``ledger`` false) rather than reporting tampering.
    No content, however deeply nested, raises: a bad line is a ``path:N: problem``.
    Raises ``OSError`` when ``data`` is not given and the file cannot be read.
    """
    validator = None
    if validate_schema:
        from jsonschema import Draft202012Validator  # a tenth of a second to import: only when asked

        validator = Draft202012Validator(schema())
    path = Path(path)
    buffer = path.read_bytes() if data is None else data
    if records is not None:
        records.buffer = buffer
    if not buffer:
        return Verification(path, 0, 1, EMPTY, ledger=False)
    prev = None
    hashes: list[str] = []
    start, size = 0, len(buffer)

    def bad(n: int, problem: str, cut: bool = False) -> Verification:
        if n == 1 and not cut and not _holds_a_record(buffer):
            return Verification(path, 0, 1, f"{NOT_A_LEDGER} (line 1: {problem})", ledger=False)
        return Verification(path, n - 1, n, problem)

    while start < size:
        n = len(hashes) + 1
        end = buffer.find(b"\n", start)
        if end < 0:
            return bad(n, "the last line is cut or half-written (no newline at its end)", cut=True)
        fast = fast_check(buffer, start, end) if validator is None else None
        if fast is not None:
            digest, linked = fast
        else:
            try:
                checked = _check_line(buffer[start:end], prev, validator)
            except RecursionError:  # parsed, but too deep to re-encode or validate
                checked = "not a run record (nested too deeply)"
            if isinstance(checked, str):
                return bad(n, checked)
            digest, linked = checked
        if linked != prev:
            return bad(n, "chain broken: 'prev' is not the hash of the previous record (a record was removed, reordered or edited)")
        if records is not None:
            records.spans.append((start, end, fast is not None))
        prev = digest
        hashes.append(digest)
        start = end + 1
    return Verification(path, len(hashes), hashes=tuple(hashes))


def _check_line(raw: bytes, prev: str | None, validator: Any) -> tuple[Any, Any] | str:
    """``(hash, prev)`` of a line that is parsed to be checked, or what is wrong with it."""
    try:
        record = loads(raw)
    except ValueError as exc:
        return f"not valid JSON ({exc.args[0] if exc.args else exc})"
    if validator is not None and not validator.is_valid(record):
        error = min(validator.iter_errors(record), key=lambda e: list(e.path))
        where = "/".join(str(p) for p in error.absolute_path) or "record"
        message = error.message if len(error.message) <= 200 else error.message[:199] + "…"
        return f"does not match the record schema at {where}: {message}"
    if not isinstance(record, dict) or "hash" not in record or "prev" not in record:
        return "not a run record (no 'hash' and 'prev')"
    if record["prev"] == prev and record_hash(record) != record["hash"]:
        return "hash mismatch: the record was edited after it was written"
    return record["hash"], record["prev"]


def _holds_a_record(buffer: bytes) -> bool:
    """Whether any line of ``buffer`` is (or was written as) a run record: a line in the
    sealed form, or a JSON object with ``hash`` and ``prev``. Asked only of a file whose
    first line is bad, to tell a damaged ledger from a file that never was one."""
    for raw in buffer.split(b"\n"):
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
    verification (``None`` for a missing ledger: no records)."""
    path = Path(path)
    if not path.exists():
        return [], None
    records = LazyRecords(path)
    return records, verify_ledger(path, validate_schema=validate_schema, records=records)


def read_records(path: Path) -> list[RunRecord]:
    """Every record of a ledger, oldest first (a missing ledger has none), once the whole
    ledger verifies (hashes and chain).

    Raises ``LedgerError`` naming ``path:N`` for the first bad line.
    """
    records, verification = verified_records(path)
    if verification is not None and not verification.ok:
        raise LedgerError(f"{verification}; run 'runbook-checks verify {path}'")
    return list(records)
