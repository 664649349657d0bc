"""A verified ledger's records, parsed only when read: ``LazyRecords`` (by line) and
``NewestFirst`` (the records one top-level key selects, searched from the newest back).

A site build over thousands of records reads only the newest few of each ledger, so
neither a line's JSON nor its ``RunRecord`` is made before something reads it. The
lines themselves are found by ``verify.verify_ledger``, which fills ``spans``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import LedgerError
from ..model import RunRecord
from .lines import loads, only_string


def not_a_record(path: Path | None, line: int, exc: Exception) -> LedgerError:
    """The ``LedgerError`` for line ``line`` (1-based) of ``path`` that verified but is not a
    run record, naming ``path:N`` and the ``verify`` command."""
    return LedgerError(f"{path}:{line}: not a run record ({exc}); run 'runbook-checks verify {path}'")


class LazyRecords(Sequence[RunRecord]):
    """A ledger's verified lines, each turned into a ``RunRecord`` only when read: a site
    build over thousands of records reads just the newest few of each ledger.

    Indexes and slices as a sequence of ``RunRecord`` (oldest first); reading a line
    that is no run record raises ``LedgerError`` naming ``path:N``."""

    def __init__(self, path: Path | None = None) -> None:
        """Empty records of the ledger ``path`` (named in messages); ``verify_ledger`` fills them."""
        self.path = path
        self.buffer = b""  # the ledger file's bytes
        #: per line: where it starts and ends (without its newline) in ``buffer``, and
        #: whether it is in the form runbook-checks writes (compact canonical JSON)
        self.spans: list[tuple[int, int, bool]] = []
        self._made: dict[int, RunRecord] = {}
        self._data: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        """The number of verified lines."""
        return len(self.spans)

    def data(self, index: int) -> dict[str, Any]:
        """Line ``index`` (0-based) as JSON (raises ``LedgerError`` naming ``path:N``)."""
        if index not in self._data:
            try:
                start, end, _ = self.spans[index]
                value = loads(self.buffer[start:end])
                if not isinstance(value, dict):
                    raise TypeError(f"a JSON {type(value).__name__}, not an object")
            except (ValueError, TypeError) as exc:
                raise not_a_record(self.path, index + 1, exc) from exc
            self._data[index] = value
        return self._data[index]

    def __getitem__(self, index: Any) -> Any:
        """The ``RunRecord`` at ``index`` (negative counts from the newest), or a list for a
        slice. Raises ``IndexError``, or ``LedgerError`` for a line that is no run record."""
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
                raise not_a_record(self.path, index + 1, exc) from exc
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
                only_string(self.buffer, b'"environment":"', tail, end),
                only_string(self.buffer, b'"attempt_id":"', start, head_end),
                only_string(self.buffer, b'"mode":"', tail, end),
            ]
            if values[1] is None and self.buffer.find(b'"attempt_id":', start, head_end) < 0:  # version 1: the run is its own attempt
                values[1] = only_string(self.buffer, b'"run_id":"', tail, end)
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

    def __init__(self, base: LazyRecords, keep: Callable[[int], bool]) -> None:
        """The records of ``base`` whose index ``keep`` accepts; nothing searched yet."""
        self.base, self.keep = base, keep
        self.found: list[int] = []  # base indexes, newest first
        self.next = len(base) - 1  # the next base index to look at

    def _search(self, wanted: int | None) -> None:
        """Search back until ``wanted`` records are found (``None``: the whole ledger)."""
        while self.next >= 0 and (wanted is None or len(self.found) < wanted):
            if self.keep(self.next):
                self.found.append(self.next)
            self.next -= 1

    def __len__(self) -> int:
        """How many records ``keep`` selects (searches the whole ledger)."""
        self._search(None)
        return len(self.found)

    def __bool__(self) -> bool:
        """Whether any record is selected (searches back to the newest one)."""
        self._search(1)
        return bool(self.found)

    def __reversed__(self) -> Iterator[RunRecord]:
        """The selected records, newest first, searched as they are read."""
        n = 0
        while True:
            self._search(n + 1)
            if n >= len(self.found):
                return
            yield self.base[self.found[n]]
            n += 1

    def __iter__(self) -> Iterator[RunRecord]:
        """The selected records, oldest first (searches the whole ledger)."""
        self._search(None)
        return (self.base[i] for i in reversed(self.found))

    def __getitem__(self, index: Any) -> Any:
        """The selected record at ``index`` (oldest first; negative counts from the newest
        and searches only that far), or a list for a slice. Raises ``IndexError``."""
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
