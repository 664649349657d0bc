"""The ledger: one append-only, hash-chained JSONL file per runbook.

Each line is one run record with ``prev`` (the previous line's hash, ``null`` on the
first line) and ``hash`` (SHA-256 of the record's canonical JSON without ``hash``).
A record is appended whole or not at all: under a lock, in a single write, then
fsync. ``verify_ledger`` recomputes every hash and link, validates each record
against the shipped JSON Schema, and names the first bad line as ``path:N``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from filelock import FileLock

from .errors import LedgerError
from .model import RunRecord

LEDGER_SUFFIX = ".jsonl"


def ledger_path(results_dir: Path, runbook_id: str) -> Path:
    return Path(results_dir) / f"{runbook_id}{LEDGER_SUFFIX}"


def canonical(record: dict[str, Any]) -> bytes:
    """The bytes a record's hash covers: sorted keys, no whitespace, ``hash`` left out."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(record)).hexdigest()


def sealed_line(record: dict[str, Any]) -> bytes:
    """Sets ``record["hash"]`` and returns the ledger line: ``{"hash":"…",`` then the
    rest of the canonical JSON, byte for byte, so a verifier can hash the line as it
    stands."""
    body = canonical(record)
    record["hash"] = hashlib.sha256(body).hexdigest()
    return b'{"hash":"' + record["hash"].encode("ascii") + b'",' + body[1:] + b"\n"


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema of a ledger record (shipped as ``schema/run-record.schema.json``)."""
    text = resources.files("runbook_checks").joinpath("schema/run-record.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def _last_line(path: Path) -> tuple[bytes, int]:
    """The last line of a file (without its newline) and whether the file ends with one."""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            return b"", 1
        pos, chunk = size, b""
        while pos > 0:
            step = min(65536, pos)
            pos -= step
            fh.seek(pos)
            chunk = fh.read(step) + chunk
            if chunk.count(b"\n") >= 2 or pos == 0:
                break
    ends_with_newline = chunk.endswith(b"\n")
    lines = chunk.rstrip(b"\n").split(b"\n")
    return lines[-1], int(ends_with_newline)


def last_hash(path: Path) -> str | None:
    """The hash a new record must chain to (``None`` for an empty or missing ledger).

    Raises ``LedgerError`` when the last line is cut or unreadable: nothing may be
    appended (or run, since its record could not be kept) until the ledger is repaired.
    """
    if not path.exists() or not path.stat().st_size:
        return None
    last, complete = _last_line(path)
    if not complete:
        raise LedgerError(f"{path}: the last line is cut or half-written; run 'runbook-checks verify {path}' and repair the ledger before recording more runs")
    try:
        return json.loads(last)["hash"]
    except (ValueError, KeyError, TypeError) as exc:
        raise LedgerError(f"{path}: the last record is unreadable ({exc}); run 'runbook-checks verify {path}'") from exc


def _redact_free_text(data: dict[str, Any], redact: Any) -> dict[str, Any]:
    """Redact what a block printed or a message quotes; ids, hashes and times stay as they are."""
    for block in data["blocks"]:
        block["output"] = redact(block["output"])
        if block.get("reason"):
            block["reason"] = redact(block["reason"])
        for e in block["expectations"]:
            if e.get("actual"):
                e["actual"] = redact(e["actual"])
    return data


def append_record(results_dir: Path, record: RunRecord, redact: Any = None) -> dict[str, Any]:
    """Append ``record`` to its runbook's ledger; returns the sealed dict as written."""
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    path = ledger_path(results_dir, record.runbook_id)
    data = record.to_dict()
    if redact is not None:
        data = _redact_free_text(data, redact)
    with FileLock(str(path) + ".lock", timeout=60):
        prev = last_hash(path)
        data["prev"] = prev
        line = sealed_line(data)
        created = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = 0
            while written < len(line):
                written += os.write(fd, line[written:])
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            dir_fd = os.open(results_dir, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    return data


def _not_a_record(path: Path | None, line: int, exc: Exception) -> LedgerError:
    return LedgerError(f"{path}:{line}: not a run record ({exc}); run 'runbook-checks verify {path}'")


def read_records(path: Path) -> list[RunRecord]:
    """Every record of a ledger, oldest first (a missing ledger has none).

    Raises ``LedgerError`` naming ``path:N`` for a line that is not a record.
    """
    path = Path(path)
    if not path.exists():
        return []
    records = []
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, start=1):
            try:
                data = json.loads(raw)
                if not isinstance(data, dict):
                    raise TypeError(f"a JSON {type(data).__name__}, not an object")
                records.append(RunRecord.from_dict(data))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise _not_a_record(path, n, exc) from exc
    return records


@dataclass(frozen=True)
class Verification:
    path: Path
    records: int
    #: 1-based line of the first problem, and what it is (``None`` when intact)
    bad_line: int | None = None
    problem: str | None = None
    #: the hashes of the records verified, oldest first
    hashes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.bad_line is None

    def __str__(self) -> str:
        if self.ok:
            return f"{self.path}: ok, {self.records} record(s), chain intact"
        return f"{self.path}:{self.bad_line}: {self.problem}"


class LazyRecords(Sequence[RunRecord]):
    """A ledger's verified lines, each turned into a ``RunRecord`` only when read: a site
    build over thousands of records reads just the newest few of each ledger."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.buffer = b""  # the ledger file's bytes
        #: per line: where it starts and ends (without its newline) in ``buffer``, and
        #: whether it is in the form runbook-checks writes (compact canonical JSON)
        self.spans: list[tuple[int, int, bool]] = []
        self._made: dict[int, RunRecord] = {}
        self._data: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self.spans)

    def data(self, index: int) -> dict[str, Any]:
        """Line ``index`` as JSON (raises ``LedgerError`` naming ``path:N``)."""
        if index not in self._data:
            try:
                start, end, _ = self.spans[index]
                value = json.loads(self.buffer[start:end])
                if not isinstance(value, dict):
                    raise TypeError(f"a JSON {type(value).__name__}, not an object")
            except (ValueError, TypeError) as exc:
                raise _not_a_record(self.path, index + 1, exc) from exc
            self._data[index] = value
        return self._data[index]

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self.spans)))]
        if index < 0:
            index += len(self.spans)
        if not 0 <= index < len(self.spans):
            raise IndexError(index)
        if index not in self._made:
            try:
                self._made[index] = RunRecord.from_dict(self.data(index))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise _not_a_record(self.path, index + 1, exc) from exc
        return self._made[index]

    def header(self, index: int) -> tuple[str, str, str]:
        """``(environment, attempt, mode)`` of line ``index`` — the attempt id, or the run
        id of a version-1 record — read off the bytes of a sealed line without parsing it.

        A key inside a JSON string has its quotes escaped. A sealed line's keys are sorted:
        ``attempt_id`` sits in the head before ``"blocks":``, the others in the tail after
        the blocks' closing ``],"ci":``, so only those short stretches are searched, and a
        key found there exactly once is the record's own. A key that occurs more than once
        there (``run_id`` in ``ci``, a fingerprinted path named ``mode``), a value that
        holds an escape, or a line in another form is parsed instead."""
        start, end, sealed = self.spans[index]
        head_end, tail = self.buffer.find(b'"blocks":[', start, end), self.buffer.rfind(b'],"ci":', start, end)
        if sealed and head_end >= 0 and tail >= 0:
            values = [_only_string(self.buffer, b'"environment":"', tail, end), _only_string(self.buffer, b'"attempt_id":"', start, head_end),
                      _only_string(self.buffer, b'"mode":"', tail, end)]
            if values[1] is None and self.buffer.find(b'"attempt_id":', start, head_end) < 0:  # version 1: the run is its own attempt
                values[1] = _only_string(self.buffer, b'"run_id":"', tail, end)
            if all(v is not None for v in values):
                return values[0], values[1], values[2]  # type: ignore[return-value]
        data = self.data(index)
        return str(data.get("environment")), str(data.get("attempt_id") or data.get("run_id")), str(data.get("mode"))

    def where(self, key: str, value: str) -> "NewestFirst":
        """The records whose top-level ``key`` is ``value``, found newest first and only as
        far back as they are read. Sealed lines without the key's compact JSON text are
        passed over unparsed."""
        needle = json.dumps({key: value}, separators=(",", ":"), ensure_ascii=False)[1:-1].encode("utf-8")

        def keep(i: int) -> bool:
            start, end, sealed = self.spans[i]
            return (not sealed or self.buffer.find(needle, start, end) >= 0) and self.data(i).get(key) == value

        return NewestFirst(self, keep)


class NewestFirst(Sequence[RunRecord]):
    """The records of a ``LazyRecords`` that ``keep`` selects, searched from the newest
    back only as far as a read needs (negative indexes, ``[-n:]``, ``reversed``, truth);
    ``len`` and other reads search the whole ledger."""

    def __init__(self, base: LazyRecords, keep: Any) -> None:
        self.base, self.keep = base, keep
        self.found: list[int] = []  # base indexes, newest first
        self.next = len(base) - 1  # the next base index to look at

    def _search(self, wanted: int | None) -> None:
        while self.next >= 0 and (wanted is None or len(self.found) < wanted):
            if self.keep(self.next):
                self.found.append(self.next)
            self.next -= 1

    def __len__(self) -> int:
        self._search(None)
        return len(self.found)

    def __bool__(self) -> bool:
        self._search(1)
        return bool(self.found)

    def __reversed__(self) -> Iterator[RunRecord]:
        n = 0
        while True:
            self._search(n + 1)
            if n >= len(self.found):
                return
            yield self.base[self.found[n]]
            n += 1

    def __iter__(self) -> Iterator[RunRecord]:
        self._search(None)
        return (self.base[i] for i in reversed(self.found))

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            if index.start is not None and index.start < 0 and index.stop is None and index.step is None:
                self._search(-index.start)
                return [self.base[i] for i in reversed(self.found[:-index.start])]
            return list(self)[index]
        if index >= 0:
            self._search(None)
            if index >= len(self.found):
                raise IndexError(index)
            return self.base[self.found[len(self.found) - 1 - index]]
        self._search(-index)
        if -index > len(self.found):
            raise IndexError(index)
        return self.base[self.found[-index - 1]]


_HEAD = b'{"hash":"'


def _fast_check(buffer: bytes, start: int, end: int) -> tuple[str, str | None] | None:
    """``(hash, prev)`` of the line ``buffer[start:end]`` when it is written as runbook-checks
    writes it — ``{"hash":"…",`` followed by the rest of the record's canonical JSON — and
    its hash holds over those bytes as they stand (no parsing, no re-encoding); ``None``
    for any other line.

    ``prev`` is the last ``"prev":`` of the line: every top-level key after it (``resumes``
    … ``status``) holds a plain value, and no string holds an unescaped quote."""
    if not buffer.startswith(_HEAD, start) or buffer[start + 73 : start + 75] != b'",' or buffer[end - 1 : end] != b"}":
        return None
    digest = buffer[start + 9 : start + 73].decode("ascii", "replace")
    sha = hashlib.sha256(b"{")
    sha.update(memoryview(buffer)[start + 75 : end])
    if sha.hexdigest() != digest:
        return None
    at = buffer.rfind(b'"prev":', start + 75, end)
    if at < 0:
        return None
    value = buffer[at + 7 : at + 73]
    if value.startswith(b"null"):
        return digest, None
    if len(value) == 66 and value[0] == value[65] == 0x22:
        return digest, value[1:65].decode("ascii", "replace")
    return None


def verify_ledger(path: Path, validate_schema: bool = True, records: LazyRecords | None = None, data: bytes | None = None) -> Verification:
    """Validate schema, hashes and chain of a ledger; stops at the first bad line.

    A line as runbook-checks writes it is checked on its bytes (``_fast_check``); any
    other line is parsed and its canonical JSON re-encoded, so a reformatted but
    unchanged ledger still verifies. ``validate_schema=False`` leaves out the JSON
    Schema (the site build: it then parses only the records it shows). When
    ``records`` is given, the lines verified are added to it (one pass). ``data``: the
    file's bytes, when the caller has read them already.
    """
    validator = None
    if validate_schema:
        from jsonschema import Draft202012Validator  # a tenth of a second to import: only when asked

        validator = Draft202012Validator(schema())
    path = Path(path)
    buffer = path.read_bytes() if data is None else data
    if records is not None:
        records.buffer = buffer
    prev = None
    hashes: list[str] = []
    start, size = 0, len(buffer)
    while start < size:
        n = len(hashes) + 1
        end = buffer.find(b"\n", start)
        if end < 0:
            return Verification(path, n - 1, n, "the last line is cut or half-written (no newline at its end)")
        fast = _fast_check(buffer, start, end) if validator is None else None
        if fast is not None:
            digest, linked = fast
        else:
            try:
                record = json.loads(buffer[start:end])
            except ValueError as exc:
                return Verification(path, n - 1, n, f"not valid JSON ({exc.args[0] if exc.args else exc})")
            if validator is not None and not validator.is_valid(record):
                error = min(validator.iter_errors(record), key=lambda e: list(e.path))
                where = "/".join(str(p) for p in error.absolute_path) or "record"
                return Verification(path, n - 1, n, f"does not match the record schema at {where}: {error.message}")
            if not isinstance(record, dict) or "hash" not in record or "prev" not in record:
                return Verification(path, n - 1, n, "not a run record (no 'hash' and 'prev')")
            if record["prev"] == prev and record_hash(record) != record["hash"]:
                return Verification(path, n - 1, n, "hash mismatch: the record was edited after it was written")
            digest, linked = record["hash"], record["prev"]
        if linked != prev:
            return Verification(path, n - 1, n, "chain broken: 'prev' is not the hash of the previous record (a record was removed, reordered or edited)")
        if records is not None:
            records.spans.append((start, end, fast is not None))
        prev = digest
        hashes.append(digest)
        start = end + 1
    return Verification(path, len(hashes), hashes=tuple(hashes))


def verified_records(path: Path, validate_schema: bool = False) -> tuple[Sequence[RunRecord], Verification | None]:
    """A ledger's records that verify (hashes and chain, and the record schema when
    ``validate_schema``; those before its first bad line), read lazily, and the
    verification (``None`` for a missing ledger)."""
    path = Path(path)
    if not path.exists():
        return [], None
    records = LazyRecords(path)
    return records, verify_ledger(path, validate_schema=validate_schema, records=records)


def _only_string(buffer: bytes, key: bytes, start: int, end: int) -> str | None:
    """The JSON string after ``key`` (``b'"name":"'``) in ``buffer[start:end]`` when the key
    occurs there exactly once; ``None`` otherwise, or when the value holds an escape (the
    caller then parses the line)."""
    at = buffer.find(key, start, end)
    if at < 0 or buffer.find(key, at + 1, end) >= 0:
        return None
    begin = at + len(key)
    close = buffer.find(b'"', begin, end)
    if close < 0 or buffer.find(b"\\", begin, close) >= 0:
        return None
    return buffer[begin:close].decode("utf-8", "replace")
