"""The records of a verified ledger that one top-level key selects, searched from the newest
back only as far as they are read (``NewestFirst``; ``LazyRecords.where`` makes them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..model import RunRecord

if TYPE_CHECKING:
    from .lazy import LazyRecords


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
