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
from collections.abc import Sequence
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
        data["hash"] = record_hash(data)
        line = json.dumps(data, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"
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
                raise LedgerError(f"{path}:{n}: not a run record ({exc}); run 'runbook-checks verify {path}'") from exc
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
    """Ledger lines parsed as JSON, turned into ``RunRecord`` only when read (a site build
    of thousands of records reads just the newest few of each ledger)."""

    def __init__(self) -> None:
        self.raw: list[dict[str, Any]] = []
        self._made: dict[int, RunRecord] = {}

    def __len__(self) -> int:
        return len(self.raw)

    def where(self, key: str, value: Any) -> "LazyRecords":
        """The records whose JSON ``key`` equals ``value`` (still lazy)."""
        subset = LazyRecords()
        subset.raw = [r for r in self.raw if r.get(key) == value]
        return subset

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self.raw)))]
        if index < 0:
            index += len(self.raw)
        if index not in self._made:
            self._made[index] = RunRecord.from_dict(self.raw[index])
        return self._made[index]


def verify_ledger(path: Path, validate_schema: bool = True, records: LazyRecords | None = None) -> Verification:
    """Validate schema, hashes and chain of a ledger; stops at the first bad line.

    ``validate_schema=False`` checks only that every line is a JSON object whose hash
    and ``prev`` link hold (the site build uses this: it is ~50x faster). When
    ``records`` is given, the records verified so far are added to it (one pass).
    """
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema()) if validate_schema else None
    path = Path(path)
    prev = None
    count = 0
    hashes: list[str] = []
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if not raw.endswith(b"\n"):
                return Verification(path, count, n, "the last line is cut or half-written (no newline at its end)")
            try:
                record = json.loads(raw)
            except ValueError as exc:
                return Verification(path, count, n, f"not valid JSON ({exc.args[0] if exc.args else exc})")
            if validator is not None and not validator.is_valid(record):
                error = min(validator.iter_errors(record), key=lambda e: list(e.path))
                where = "/".join(str(p) for p in error.absolute_path) or "record"
                return Verification(path, count, n, f"does not match the record schema at {where}: {error.message}")
            if not isinstance(record, dict) or "hash" not in record or "prev" not in record:
                return Verification(path, count, n, "not a run record (no 'hash' and 'prev')")
            if record["prev"] != prev:
                return Verification(path, count, n, "chain broken: 'prev' is not the hash of the previous record (a record was removed, reordered or edited)")
            if record_hash(record) != record["hash"]:
                return Verification(path, count, n, "hash mismatch: the record was edited after it was written")
            if records is not None:
                records.raw.append(record)
            prev = record["hash"]
            hashes.append(prev)
            count += 1
    return Verification(path, count, hashes=tuple(hashes))
