"""The header of each line of a ledger — its environment, attempt and mode — in 20 bytes
a line, whatever the records hold: what attempts are grouped by (``evidence.Attempts``).

An attempt is keyed by its environment and id (docs/reference/evidence.md). Holding one
Python string per attempt costs more than a hundred bytes each; ``Headers`` keeps instead,
per line, a 16-byte ``attempt_key`` and the index of its (environment, mode) pair among
the few distinct ones. The attempt id itself is read again from the records an attempt is
made of, when a view reads it.
"""

from __future__ import annotations

import base64
import hashlib
import sys
from array import array
from collections.abc import Sequence
from typing import Any

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
        pair = (environment, mode)
        n = self._index.get(pair)
        if n is None:
            n = self._index[pair] = len(self.pairs)
            self.pairs.append(pair)
        self.pair_of.append(n)
        self.keys += attempt_key(environment, attempt)

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

    def to_json(self) -> list[Any]:
        """The headers as JSON values, which ``from_json`` takes back: ``[pairs, pair
        indexes, keys]``, the last two base64 (indexes little-endian ``uint32``)."""
        pair_of = array("I", self.pair_of)
        if sys.byteorder == "big":
            pair_of.byteswap()
        return [[list(p) for p in self.pairs], base64.b64encode(pair_of).decode(), base64.b64encode(self.keys).decode()]

    @classmethod
    def from_json(cls, value: Any, max_lines: int) -> Headers | None:
        """The headers ``to_json`` gave, when ``value`` is well formed and of at most
        ``max_lines`` lines; else ``None``."""
        if not (isinstance(value, list) and len(value) == 3 and isinstance(value[0], list)):
            return None
        pairs = value[0]
        if not all(isinstance(p, list) and len(p) == 2 and all(isinstance(v, str) for v in p) for p in pairs):
            return None
        try:
            pair_of, keys = array("I", base64.b64decode(value[1], validate=True)), base64.b64decode(value[2], validate=True)
        except (TypeError, ValueError):  # not base64 text, or not whole uint32s
            return None
        if sys.byteorder == "big":
            pair_of.byteswap()
        if len(pair_of) > max_lines or len(keys) != KEY_BYTES * len(pair_of) or (pair_of and max(pair_of) >= len(pairs)):
            return None
        headers = cls()
        headers.pairs = [(sys.intern(e), sys.intern(m)) for e, m in pairs]
        if len(set(headers.pairs)) != len(headers.pairs):
            return None
        headers._index = {p: n for n, p in enumerate(headers.pairs)}
        headers.pair_of, headers.keys = pair_of, bytearray(keys)
        return headers


__all__ = ["KEY_BYTES", "Headers", "attempt_key"]
