"""The header of each line of a ledger — its environment, attempt and mode — in 20 bytes
a line, whatever the records hold: what attempts are grouped by (``evidence.Attempts``).

An attempt is keyed by its environment and id (docs/reference/evidence.md). Holding one
Python string per attempt costs more than a hundred bytes each; ``Headers`` keeps instead,
per line, a 16-byte ``attempt_key`` and the index of its (environment, mode) pair among
the few distinct ones. The attempt id itself is read again from the records an attempt is
made of, when a view reads it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from array import array
from collections.abc import Sequence

from .record import RunRecord

#: bytes in an ``attempt_key``
KEY_BYTES = 16


def attempt_key(environment: str, attempt: str) -> bytes:
    """The 16-byte BLAKE2b of ``environment`` and ``attempt`` (UTF-8, each length-prefixed):
    two lines belong to one attempt exactly when their keys are equal. 128 bits: no two
    attempts of a ledger share a key by chance, and making two share one on purpose takes
    some 2**64 hashings."""
    h = hashlib.blake2b(digest_size=KEY_BYTES)
    for part in (environment, attempt):
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.digest()


class Headers:
    """Per line of a ledger (0-based, oldest first): its attempt key and its (environment,
    mode), in 20 bytes a line plus each distinct pair once."""

    def __init__(self) -> None:
        """No lines yet."""
        #: the distinct (environment, mode) pairs, and each line's index among them
        self.pairs: list[tuple[str, str]] = []
        self.pair_of = array("I")
        #: each line's ``attempt_key``, concatenated
        self.keys = bytearray()
        self._index: dict[tuple[str, str], int] = {}

    @classmethod
    def of(cls, records: Sequence[RunRecord]) -> Headers:
        """The headers of ``records`` (any sequence of ``RunRecord``: each one is read)."""
        headers = cls()
        for r in records:
            headers.append(r.environment, r.attempt, r.mode)
        return headers

    def append(self, environment: str, attempt: str, mode: str) -> None:
        """Add the next line's header."""
        self.pair_of.append(self._number((environment, mode)))
        self.keys += attempt_key(environment, attempt)

    def extend(self, other: Headers) -> None:
        """Add the lines of ``other`` (the headers of the lines after these), its pairs
        numbered as these number them: the result is what ``append`` of each of its lines
        makes."""
        numbers = [self._number(pair) for pair in other.pairs]
        if numbers == list(range(len(numbers))):
            self.pair_of.extend(other.pair_of)
        else:
            self.pair_of.extend(numbers[n] for n in other.pair_of)
        self.keys += other.keys

    def _number(self, pair: tuple[str, str]) -> int:
        """The index of ``pair`` among the distinct pairs, added when new."""
        n = self._index.get(pair)
        if n is None:
            n = self._index[pair] = len(self.pairs)
            self.pairs.append(pair)
        return n

    def __len__(self) -> int:
        """The number of lines."""
        return len(self.pair_of)

    def environment(self, line: int) -> str:
        """The environment of ``line``."""
        return self.pairs[self.pair_of[line]][0]

    def mode(self, line: int) -> str:
        """The mode of ``line``."""
        return self.pairs[self.pair_of[line]][1]

    def key(self, line: int) -> bytes:
        """The ``attempt_key`` of ``line``."""
        return bytes(self.keys[KEY_BYTES * line : KEY_BYTES * (line + 1)])

    def first_line(self, key: bytes) -> int | None:
        """The first line whose attempt key is ``key`` (``None``: none), found by one scan of the keys."""
        at = self.keys.find(key)
        while at >= 0 and at % KEY_BYTES:  # a match across two keys: look on
            at = self.keys.find(key, at + 1)
        return None if at < 0 else at // KEY_BYTES

    def to_bytes(self) -> list[bytes | bytearray | memoryview]:
        """The headers as bytes, in parts, which ``from_bytes`` takes back: the pairs as one
        line of JSON, then every key, then each line's pair index (little-endian ``uint32``)."""
        pair_of = self.pair_of
        if sys.byteorder == "big":
            pair_of = array("I", pair_of)
            pair_of.byteswap()
        return [json.dumps(self.pairs, separators=(",", ":")).encode() + b"\n", self.keys, memoryview(pair_of).cast("B")]

    @classmethod
    def from_bytes(cls, data: bytearray, at: int, max_lines: int) -> Headers | None:
        """The headers ``to_bytes`` gave, written from ``data[at:]``, when well formed and of
        at most ``max_lines`` lines; else ``None``. ``data`` is cut up in place: its keys
        become the headers' own, without a copy."""
        newline = data.find(b"\n", at)
        try:
            pairs = json.loads(data[at:newline]) if newline >= 0 else None
        except (ValueError, RecursionError):
            return None
        lines, odd = divmod(len(data) - newline - 1, KEY_BYTES + 4)
        if not isinstance(pairs, list) or odd or lines > max_lines:
            return None
        if not all(isinstance(p, list) and len(p) == 2 and all(isinstance(v, str) for v in p) for p in pairs):
            return None
        headers = cls()
        headers.pairs = [(sys.intern(e), sys.intern(m)) for e, m in pairs]
        headers._index = {p: n for n, p in enumerate(headers.pairs)}
        del data[: newline + 1]
        headers.pair_of.frombytes(memoryview(data)[KEY_BYTES * lines :])
        del data[KEY_BYTES * lines :]
        if sys.byteorder == "big":
            headers.pair_of.byteswap()
        if len(headers._index) != len(headers.pairs) or (lines and max(headers.pair_of) >= len(headers.pairs)):
            return None
        headers.keys = data
        return headers


__all__ = ["KEY_BYTES", "Headers", "attempt_key"]
