"""The ledger: one append-only, hash-chained JSONL file per runbook.

Each line is one run record with ``prev`` (the previous line's hash, ``null`` on the
first line) and ``hash`` (SHA-256 of the record's canonical JSON without ``hash``).
A record is appended whole or not at all: under a lock, in a single write, then
fsync; a failed write is truncated away. ``verify_ledger`` recomputes every hash and
link, validates each record against the shipped JSON Schema, and names the first bad
line as ``path:N``. Every reader verifies before it trusts a record (``last_hash``,
``verified_records``, ``read_records``), and no ledger is written through a symbolic link.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from .context import find_root
from .errors import LedgerError, LedgerRefused, NotRecorded
from .model import Runbook, RunRecord

LEDGER_SUFFIX = ".jsonl"


#: the ledgers' folder, in the project root unless ``--results`` says otherwise
RESULTS_DIR = "runbook-results"


def results_dir(runbook: Runbook | None, given: str | Path | None = None) -> Path:
    """Where ``runbook``'s ledger and run lock live: ``given`` (``--results``, relative to the
    current directory), else ``runbook-results`` in the runbook's project root
    (``context.find_root``; with no runbook, the current directory's) — the same folder, so
    the same lock, from whatever directory a run is started. Relative to the current
    directory when it is below it, as messages show it."""
    if given:
        return Path(given)
    found = (runbook.root if runbook is not None else find_root(Path.cwd())) / RESULTS_DIR
    try:
        return found.relative_to(Path.cwd())
    except ValueError:
        return found


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


def _loads(raw: bytes) -> Any:
    """``json.loads``, with nesting too deep for the parser (``[[[…`` ten thousand levels
    down) reported as the ``ValueError`` it is, not a ``RecursionError``."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply to be a run record") from None


#: what ``O_NOFOLLOW`` makes ``open`` fail with when the last component is a symbolic link
_LINK_ERRNOS = (errno.ELOOP, errno.EMLINK)


def _link_refusal(path: Path) -> str:
    return (
        f"{path}: is a symbolic link; runbook-checks does not write a ledger through a link (a planted link could send "
        f"the record anywhere). Remove the link and put the ledger file itself there"
    )


def _open_ledger(path: Path, create: bool) -> tuple[int | None, bool]:
    """The ledger opened for reading and appending, never through a symbolic link, and
    whether this call created it; ``(None, False)`` when it does not exist and ``create``
    is false. Raises ``_Unusable`` saying why the ledger cannot take a record."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise _Unusable(_link_refusal(path))
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise _Unusable(f"{path}: is not a regular file, so it cannot be a ledger; move it away")
    if st is None and not create:
        return None, False
    flags = os.O_RDWR | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_CREAT | os.O_EXCL if st is None else 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno in _LINK_ERRNOS:
            raise _Unusable(_link_refusal(path)) from None
        raise _Unusable(f"{path}: the ledger cannot be written ({exc.strerror or exc})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _Unusable(f"{path}: is not a regular file, so it cannot be a ledger; move it away")
    return fd, st is None


class _Unusable(Exception):
    """Why a ledger cannot take a record (a sentence starting with the path)."""


@contextmanager
def _ledger_lock(path: Path) -> Iterator[None]:
    """The lock every append holds (``<ledger>.lock``, never followed through a link)."""
    lock_path = Path(f"{path}.lock")
    if lock_path.is_symlink():
        raise _Unusable(f"{lock_path}: is a symbolic link; runbook-checks does not open the ledger's lock file through a link. Remove it")
    lock = FileLock(str(lock_path), timeout=60)
    try:
        lock.acquire()
    except Timeout:
        raise _Unusable(f"{lock_path}: another process has held the ledger's lock for 60 s") from None
    except OSError as exc:
        if exc.errno in _LINK_ERRNOS:
            raise _Unusable(
                f"{lock_path}: is a symbolic link; runbook-checks does not open the ledger's lock file through a link. Remove it"
            ) from None
        raise _Unusable(f"{lock_path}: the ledger's lock file cannot be opened ({exc.strerror or exc})") from None
    try:
        yield
    finally:
        lock.release()


def _read_fd(fd: int) -> bytes:
    chunks, offset = [], 0
    while chunk := os.pread(fd, 1 << 20, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _repair_hint(path: Path, v: Verification) -> str:
    if v.bad_line is not None and v.problem and v.problem.startswith("the last line is cut"):
        return (
            f"a cut last line is what an append interrupted by a crash or a full disk leaves behind: check with "
            f"'runbook-checks verify {path}', then remove that line (or restore the ledger from its published copy)"
        )
    if not v.ledger:
        return f"move that file away (or restore the ledger from its published copy); 'runbook-checks verify {path}' says the same"
    return f"run 'runbook-checks verify {path}' and restore the ledger from its published copy before recording more runs"


def last_hash(path: Path) -> str | None:
    """The hash a new record must chain to (``None`` when the ledger does not exist yet),
    once the ledger is known to be able to take one: it is not a symbolic link (nor is
    its lock file), it verifies (hashes and chain, checked on its bytes as the site
    does), and it can be opened for writing. Callers ask before anything runs.

    Raises ``LedgerRefused`` (exit 2), naming ``path:N`` for the first bad line or the
    path that cannot be used, and what to do; nothing may run, since its record could
    not be kept.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return None  # the first append makes the directory and the ledger
    try:
        with _ledger_lock(path):
            fd, _ = _open_ledger(path, create=False)
            if fd is None:
                if not os.access(path.parent, os.W_OK | os.X_OK):
                    raise _Unusable(f"{path.parent}: the results directory cannot be written, so the ledger {path.name} cannot be created")
                return None
            try:
                v = verify_ledger(path, validate_schema=False, data=_read_fd(fd))
            finally:
                os.close(fd)
    except _Unusable as exc:
        raise LedgerRefused(f"{exc}. This run's record could not be kept, so nothing was executed.") from None
    if not v.ok:
        raise LedgerRefused(
            f"{v} — this run's record could not be chained to it, so nothing was executed. To go on: {_repair_hint(path, v)}."
        )
    return v.hashes[-1]


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
    """Append ``record`` to its runbook's ledger, whole or not at all; returns the sealed
    dict as written.

    Under the ledger's lock: the ledger (never followed through a symbolic link) is read
    and verified, the record chained to its last hash and written in one ``write`` loop,
    then fsync'd. When anything fails (a full disk, a read-only or vanished file, an I/O
    error on fsync), the ledger is truncated back to its length before the write (a
    ledger this append created is removed) and ``NotRecorded`` (exit 4) says so: the
    ledger still verifies and the next run can be recorded.
    """
    results_dir = Path(results_dir)
    path = ledger_path(results_dir, record.runbook_id)
    run = f"run {record.run_id} ({record.status}, exit {record.exit_code})"

    def not_recorded(why: str) -> NotRecorded:
        return NotRecorded(f"{why}. The {run} executed but is NOT recorded: fix the cause and run it again")

    data = record.to_dict()
    if redact is not None:
        data = _redact_free_text(data, redact)
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
        with _ledger_lock(path):
            fd, created = _open_ledger(path, create=True)
            assert fd is not None
            try:
                records = 0
                data["prev"] = None
                if not created:
                    v = verify_ledger(path, validate_schema=False, data=_read_fd(fd))
                    if not v.ok:
                        raise _Unusable(
                            f"{v} — the record cannot be chained to a ledger that fails verification; the ledger was left as it was"
                        )
                    data["prev"], records = v.hashes[-1], v.records
                line = sealed_line(data)
                size = os.fstat(fd).st_size
                try:
                    written = 0
                    while written < len(line):
                        written += os.write(fd, line[written:])
                    os.fsync(fd)
                    if created:
                        _fsync_dir(results_dir)
                except BaseException as exc:  # a full disk, EIO on fsync, Ctrl-C in the middle: all or nothing
                    undone = _roll_back(path, fd, size, created, records, exc)
                    if isinstance(exc, OSError):
                        raise _Unusable(undone) from None
                    raise
            except BaseException:
                if created and path.exists() and not path.stat().st_size:
                    path.unlink()  # nothing of this append may stay behind, not even an empty file
                raise
            finally:
                os.close(fd)
    except _Unusable as exc:
        raise not_recorded(str(exc)) from None
    except OSError as exc:  # the results directory cannot be made
        raise not_recorded(f"{exc.filename or results_dir}: {exc.strerror or exc}") from None
    return data


def _fsync_dir(directory: Path) -> None:
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _roll_back(path: Path, fd: int, size: int, created: bool, records: int, exc: BaseException) -> str:
    """Undo a failed append: truncate the ledger to ``size`` (remove it when this append
    created it); returns what happened, for the message."""
    why = f"{path}: writing the record failed ({getattr(exc, 'strerror', None) or exc or type(exc).__name__})"
    try:
        if created:
            os.unlink(path)
            return f"{why}; the ledger this run would have created was removed again"
        os.ftruncate(fd, size)
        os.fsync(fd)
    except OSError as undo:
        return (
            f"{why}, and rolling the ledger back to its {size} bytes failed too ({undo.strerror or undo}): its last line may be cut. "
            f"Run 'runbook-checks verify {path}' and remove what follows byte {size}"
        )
    return f"{why}; the ledger was rolled back to its {records} record(s) ({size} bytes) and still verifies"


def _not_a_record(path: Path | None, line: int, exc: Exception) -> LedgerError:
    return LedgerError(f"{path}:{line}: not a run record ({exc}); run 'runbook-checks verify {path}'")


def read_records(path: Path) -> list[RunRecord]:
    """Every record of a ledger, oldest first (a missing ledger has none), once the whole
    ledger verifies (hashes and chain).

    Raises ``LedgerError`` naming ``path:N`` for the first bad line.
    """
    records, verification = verified_records(path)
    if verification is not None and not verification.ok:
        raise LedgerError(f"{verification}; run 'runbook-checks verify {path}'")
    return list(records)


@dataclass(frozen=True)
class Verification:
    path: Path
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
                value = _loads(self.buffer[start:end])
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
            except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
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
            values = [
                _only_string(self.buffer, b'"environment":"', tail, end),
                _only_string(self.buffer, b'"attempt_id":"', start, head_end),
                _only_string(self.buffer, b'"mode":"', tail, end),
            ]
            if values[1] is None and self.buffer.find(b'"attempt_id":', start, head_end) < 0:  # version 1: the run is its own attempt
                values[1] = _only_string(self.buffer, b'"run_id":"', tail, end)
            if all(v is not None for v in values):
                return values[0], values[1], values[2]  # type: ignore[return-value]
        data = self.data(index)
        return str(data.get("environment")), str(data.get("attempt_id") or data.get("run_id")), str(data.get("mode"))

    def where(self, key: str, value: str) -> NewestFirst:
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
                return [self.base[i] for i in reversed(self.found[: -index.start])]
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


EMPTY = (
    "empty file: no records. runbook-checks creates a ledger with its first record and never empties one, so this file "
    "was emptied or made by something else"
)
NOT_A_LEDGER = "not a runbook-checks ledger: no line of it is a run record"


def verify_ledger(path: Path, validate_schema: bool = True, records: LazyRecords | None = None, data: bytes | None = None) -> Verification:
    """Validate schema, hashes and chain of a ledger; stops at the first bad line.

    A line as runbook-checks writes it is checked on its bytes (``_fast_check``); any
    other line is parsed and its canonical JSON re-encoded, so a reformatted but
    unchanged ledger still verifies. ``validate_schema=False`` leaves out the JSON
    Schema (the site build: it then parses only the records it shows). When
    ``records`` is given, the lines verified are added to it (one pass). ``data``: the
    file's bytes, when the caller has read them already.

    A file that is empty, or of which no line is a run record, is not a ledger: its
    ``Verification`` says so at line 1 (``ledger`` false) rather than reporting tampering.
    No content, however deeply nested, raises: a bad line is a ``path:N: problem``.
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
        fast = _fast_check(buffer, start, end) if validator is None else None
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
        record = _loads(raw)
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
        if raw.startswith(_HEAD):
            return True
        try:
            value = _loads(raw)
        except ValueError:
            continue
        if isinstance(value, dict) and "hash" in value and "prev" in value:
            return True
    return False


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
