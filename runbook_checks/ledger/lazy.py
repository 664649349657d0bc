"""A verified ledger's records, parsed only when read: ``LazyRecords`` (by line; the
records one top-level key selects, ``where``, are a ``newest.NewestFirst``).

A site build over thousands of records reads only the newest few of each ledger, so
neither a line's JSON nor its ``RunRecord`` is made before something reads it. The
lines themselves are found by ``verify.verify_ledger``, which fills ``spans`` (``add``, or
``take`` for a part a worker process checked).
"""

from __future__ import annotations

import hashlib
import json
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import LedgerError
from ..model import RunRecord, decode_record
from ..model.headers import KEY_BYTES, Headers
from .lines import LONE_SURROGATE, canonical, fast_check, loads, only_string
from .newest import NewestFirst


def not_a_record(path: Path | None, line: int, exc: Exception | str) -> LedgerError:
    """The ``LedgerError`` for line ``line`` (1-based) of ``path`` that verified but is not a
    run record, naming ``path:N`` and the ``verify`` command: ``not a run record (exc)``, or
    ``exc`` when it is the problem's whole text already (``lines.LONE_SURROGATE``)."""
    problem = exc if isinstance(exc, str) else f"not a run record ({exc})"
    return LedgerError(f"{path}:{line}: {problem}; run 'runbook-checks verify {path}'")


class LazyRecords(Sequence[RunRecord]):
    """A ledger's verified lines, each turned into a ``RunRecord`` only when read: a site
    build over thousands of records reads just the newest few of each ledger.

    Indexes and slices as a sequence of ``RunRecord`` (oldest first); reading a line
    that is no run record raises ``LedgerError`` naming ``path:N``."""

    def __init__(self, path: Path | None = None, streamed: bool = False) -> None:
        """Empty records of the ledger ``path`` (named in messages); ``verify_ledger`` fills them.

        ``streamed``: the file is not kept in memory; a line read is read again from the
        file, and must be the bytes verified (its SHA-256, kept per line, is compared):
        memory grows by some 50 bytes a line, whatever the records hold."""
        self.path, self.streamed = path, streamed
        self.buffer = b""  # the ledger file's bytes (not kept when ``streamed``)
        #: per line: where it starts and ends (without its newline) in ``buffer`` (in the
        #: file, when ``streamed``), and whether it is in the form runbook-checks writes
        #: (compact canonical JSON)
        self.spans = _Spans()
        self._digests = bytearray()  # when ``streamed``: the first 16 bytes of each line's SHA-256
        self._headers: Headers | None = Headers() if streamed else None  # streamed: filled by ``add``
        self._made: dict[int, RunRecord] = {}
        self._data: dict[int, dict[str, Any]] = {}

    def clear(self) -> None:
        """Forget every line taken (before the file is verified again from its start)."""
        self.__init__(self.path, self.streamed)

    def add(self, buffer: bytes, start: int, end: int, at: int, sealed: str | None) -> None:
        """Take the verified line ``buffer[start:end]``, which starts at byte ``at`` of the
        file. ``sealed``: the record's hash when the line is in the form runbook-checks
        writes (``lines.fast_check`` verified it over these bytes), else ``None``."""
        if not self.streamed:
            self.spans.append((start, end, sealed is not None))
            return
        self.spans.append((at, at + end - start, sealed is not None))
        # a sealed line is its hash and the canonical JSON that hash is of: the hash alone tells it again
        self._digests += bytes.fromhex(sealed[:32]) if sealed is not None else hashlib.sha256(memoryview(buffer)[start:end]).digest()[:16]
        if len(self.spans) <= len(self._headers):  # type: ignore[arg-type]  # known already (``preset``)
            return
        header = _header(buffer, start, end, sealed is not None)
        if header is None:
            header = _parsed_header(_record(self.path, len(self.spans) - 1, buffer[start:end]))
        self._headers.append(*header)  # type: ignore[union-attr]

    def preset(self, headers: Headers) -> None:
        """Before any line is taken (``streamed`` only): the headers of the first lines, as
        ``headers()`` gave them on an earlier pass over the same lines (the verified-prefix
        cache, which ``verify.verify_ledger`` proves still holds them); ``add`` then does
        not read those off the bytes."""
        self._headers = headers

    def to_bytes(self) -> list[bytes | bytearray | memoryview]:
        """The lines taken of a ``streamed`` ledger, as bytes in parts, which ``take`` reads
        back in another process on this machine (native byte order): each line's start, its
        end, whether it is sealed and its digest, then the headers (``Headers.to_bytes``)."""
        assert self._headers is not None, "only a streamed ledger's lines"
        starts, ends = memoryview(self.spans.starts).cast("B"), memoryview(self.spans.ends).cast("B")
        return [starts, ends, self.spans.sealed, self._digests, *self._headers.to_bytes()]

    def take(self, stream: BinaryIO, lines: int) -> None:
        """Add, after the lines taken, the ``lines`` lines another ``LazyRecords`` of this
        ``streamed`` ledger wrote to ``stream`` (``to_bytes``): what ``add`` of each would
        have made. Raises ``ValueError`` when ``stream`` holds less or other (what was added
        of it then stays: ``clear``)."""
        assert self._headers is not None, "only a streamed ledger's lines"
        try:
            self.spans.starts.fromfile(stream, lines)
            self.spans.ends.fromfile(stream, lines)
        except EOFError as exc:
            raise ValueError(f"the lines' places are cut short ({exc})") from None
        sealed, digests = stream.read(lines), stream.read(16 * lines)
        data = bytearray(stream.readline())
        data += stream.read((KEY_BYTES + 4) * lines)
        headers = Headers.from_bytes(data, 0, lines)
        if len(sealed) != lines or len(digests) != 16 * lines or headers is None or len(headers) != lines:
            raise ValueError(f"{lines} lines were announced, fewer or other were written")
        self.spans.sealed += sealed
        self._digests += digests
        self._headers.extend(headers)

    def line(self, index: int) -> tuple[bytes, int, int]:
        """``(buffer, start, end)``: where line ``index`` (0-based) is. Raises ``LedgerError``
        when a streamed ledger's line no longer holds the bytes verified."""
        start, end, _ = self.spans[index]
        if not self.streamed:
            return self.buffer, start, end
        try:
            with open(self.path, "rb") as f:  # type: ignore[arg-type]
                f.seek(start)
                raw = f.read(end - start)
        except OSError as exc:
            raise LedgerError(f"{self.path}: cannot be read again ({exc.strerror or exc})") from None
        if _digest(raw, self.spans.sealed[index]) != self._digests[16 * index : 16 * index + 16]:
            raise LedgerError(f"{self.path}:{index + 1}: changed since it was verified; run 'runbook-checks verify {self.path}'")
        return raw, 0, len(raw)

    def __len__(self) -> int:
        """The number of verified lines."""
        return len(self.spans)

    def data(self, index: int) -> dict[str, Any]:
        """Line ``index`` (0-based) as JSON (raises ``LedgerError`` naming ``path:N``)."""
        if index not in self._data:
            buffer, start, end = self.line(index)
            self._data[index] = _record(self.path, index, buffer[start:end])
        return self._data[index]

    def __getitem__(self, index: Any) -> Any:
        """The ``RunRecord`` at ``index`` (negative counts from the newest), or a list for a
        slice. Raises ``IndexError``, or ``LedgerError`` for a line that is no run record."""
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self.spans)))]
        index = self._position(index)
        if index not in self._made:
            self._made[index] = self._decoded(index)
        return self._made[index]

    def fresh(self, index: int) -> RunRecord:
        """The ``RunRecord`` at ``index`` (negative counts from the newest), parsed from its
        verified line now and kept nowhere (a reader that must not hold what it has read:
        the site). Raises ``IndexError``, or ``LedgerError`` for a line that is no run record."""
        return self._decoded(self._position(index))

    def _decoded(self, index: int) -> RunRecord:
        """The ``RunRecord`` of line ``index`` (0-based): from its JSON when that was read
        (``data``), else decoded off its bytes (``model.decode_record``), else, for a line
        that refuses, from its JSON read now (``RunRecord.from_dict``, which names the problem)."""
        if index in self._data:
            return self._made_from(index, self._data[index])
        buffer, start, end = self.line(index)
        raw = buffer[start:end]
        record = decode_record(raw)
        return record if record is not None else self._made_from(index, _record(self.path, index, raw))

    def _position(self, index: int) -> int:
        """``index`` as a line's 0-based position (negative counts from the newest); raises ``IndexError``."""
        position = index + len(self.spans) if index < 0 else index
        if not 0 <= position < len(self.spans):
            raise IndexError(index)
        return position

    def _made_from(self, index: int, data: dict[str, Any]) -> RunRecord:
        """``RunRecord.from_dict(data)`` of line ``index``, its failure a ``LedgerError`` naming
        ``path:N``: also a string no run writes (``lines.LONE_SURROGATE``), which a reader that
        leaves the schema out (the site) would otherwise show where ``report`` refuses it."""
        try:
            canonical(data)  # only here, where msgspec refused the line: it refuses a lone surrogate
            return RunRecord.from_dict(data)
        except UnicodeEncodeError:
            raise not_a_record(self.path, index + 1, LONE_SURROGATE) from None
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            raise not_a_record(self.path, index + 1, exc) from exc

    def headers(self) -> Headers:
        """Each line's environment, attempt and mode (``model.headers.Headers``), what
        ``evidence.Attempts`` groups by: kept as lines are taken when ``streamed``, else
        read now. A sealed line's are read off its bytes without parsing it.

        A key inside a JSON string has its quotes escaped. A sealed line's keys are sorted:
        ``attempt_id`` sits in the head before ``"blocks":``, the others in the tail after
        the blocks' closing ``],"ci":``, so only those short stretches are searched, and a
        key found there exactly once is the record's own. A key that occurs more than once
        there (``run_id`` in ``ci``, a fingerprinted path named ``mode``), a value that
        holds an escape, or a line in another form is parsed instead. The attempt of a
        version-1 record is its run id."""
        if self._headers is None:
            self._headers = Headers()
        for i in range(len(self._headers), len(self.spans)):  # not streamed: the lines taken since
            start, end, sealed = self.spans[i]
            header = _header(self.buffer, start, end, sealed)
            self._headers.append(*(header if header is not None else _parsed_header(self.data(i))))
        return self._headers

    def where(self, key: str, value: str) -> NewestFirst:
        """The records whose top-level ``key`` is ``value``, found newest first and only as
        far back as they are read. Sealed lines without the key's compact JSON text are
        passed over unparsed."""
        needle = json.dumps({key: value}, separators=(",", ":"), ensure_ascii=False)[1:-1].encode("utf-8")

        def keep(i: int) -> bool:
            sealed = self.spans[i][2]
            if sealed:
                buffer, start, end = self.line(i)
                if buffer.find(needle, start, end) < 0:
                    return False
            return self.data(i).get(key) == value

        return NewestFirst(self, keep)


def _record(path: Path | None, index: int, raw: bytes) -> dict[str, Any]:
    """Line ``index`` (0-based), the bytes ``raw``, as a JSON object (raises ``LedgerError``
    naming ``path:N``)."""
    try:
        value = loads(raw)
        if not isinstance(value, dict):
            raise TypeError(f"a JSON {type(value).__name__}, not an object")
    except (ValueError, TypeError) as exc:
        raise not_a_record(path, index + 1, exc) from exc
    return value


def _digest(raw: bytes, sealed: int) -> bytes | None:
    """What ``LazyRecords.add`` kept of the line ``raw``: the first half of its record's
    hash when it is ``sealed`` (``None`` when that hash no longer holds), else of its SHA-256."""
    if not sealed:
        return hashlib.sha256(raw).digest()[:16]
    checked = fast_check(raw, 0, len(raw))
    return bytes.fromhex(checked[0][:32]) if checked is not None else None


def _header(buffer: bytes, start: int, end: int, sealed: bool) -> tuple[str, str, str] | None:
    """``(environment, attempt, mode)`` (``LazyRecords.headers``) read off the bytes of a sealed line; ``None`` when it must be parsed."""
    head_end, tail = buffer.find(b'"blocks":[', start, end), buffer.rfind(b'],"ci":', start, end)
    if not sealed or head_end < 0 or tail < 0:
        return None
    values = [
        only_string(buffer, b'"environment":"', tail, end),
        only_string(buffer, b'"attempt_id":"', start, head_end),
        only_string(buffer, b'"mode":"', tail, end),
    ]
    if values[1] is None and buffer.find(b'"attempt_id":', start, head_end) < 0:  # version 1: the run is its own attempt
        values[1] = only_string(buffer, b'"run_id":"', tail, end)
    if any(v is None for v in values):
        return None
    return values[0], values[1], values[2]  # type: ignore[return-value]


def _parsed_header(data: dict[str, Any]) -> tuple[str, str, str]:
    """``(environment, attempt, mode)`` of a parsed record (``LazyRecords.headers``)."""
    return str(data.get("environment")), str(data.get("attempt_id") or data.get("run_id")), str(data.get("mode"))


class _Spans(Sequence[tuple[int, int, bool]]):
    """``LazyRecords.spans`` in 17 bytes a line: two arrays of offsets and one of flags."""

    def __init__(self) -> None:
        """No lines yet."""
        self.starts, self.ends, self.sealed = array("q"), array("q"), bytearray()

    def append(self, span: tuple[int, int, bool]) -> None:
        """Add a line's ``(start, end, sealed)``."""
        self.starts.append(span[0])
        self.ends.append(span[1])
        self.sealed.append(span[2])

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self.starts[index], self.ends[index], bool(self.sealed[index])
