"""A ledger line's bytes: the canonical JSON a hash covers, the sealed line written, and the
check of a sealed line on its bytes (the record schema: ``record_schema``).

A sealed line is ``{"hash":"<64 hex>",`` followed by the rest of the record's canonical
JSON (sorted keys, no whitespace, UTF-8 kept as it is), then a newline; its hash is the
SHA-256 of the canonical JSON without ``hash``. A verifier can therefore hash the line's
bytes as they stand, without parsing them (``fast_check``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

#: how every sealed line starts
HEAD = b'{"hash":"'
#: the problem of a line nested too deeply to parse, re-encode or check
TOO_DEEP = "not a run record (nested too deeply)"
#: the problem of a line with a string no UTF-8 holds (a lone surrogate escape, ``"\\ud800"``):
#: JSON and the record schema allow it, but its canonical JSON cannot be written (``canonical``)
LONE_SURROGATE = "not a run record (a string holds a lone surrogate escape, which no run writes and no hash covers)"


def canonical(record: dict[str, Any]) -> bytes:
    """The bytes a record's hash covers: sorted keys, no whitespace, ``hash`` left out
    (``ensure_ascii=False``: UTF-8 as it is). Raises ``TypeError`` for a value JSON cannot hold,
    ``UnicodeEncodeError`` for a string UTF-8 cannot (``LONE_SURROGATE``)."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def record_hash(record: dict[str, Any]) -> str:
    """The SHA-256 (64 lowercase hex digits) of ``record``'s canonical JSON (``canonical``)."""
    return hashlib.sha256(canonical(record)).hexdigest()


def sealed_line(record: dict[str, Any]) -> bytes:
    """Sets ``record["hash"]`` and returns the ledger line: ``{"hash":"…",`` then the
    rest of the canonical JSON, byte for byte, and a newline, so a verifier can hash the
    line as it stands."""
    body = canonical(record)
    record["hash"] = hashlib.sha256(body).hexdigest()
    return HEAD + record["hash"].encode("ascii") + b'",' + body[1:] + b"\n"


def loads(raw: bytes) -> Any:
    """``json.loads``, with nesting too deep for the parser (``[[[…`` ten thousand levels
    down) reported as the ``ValueError`` it is, not a ``RecursionError``. Raises ``ValueError``."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply to be a run record") from None


def not_json(exc: ValueError) -> str:
    """The problem of a line ``loads`` refused with ``exc``."""
    return f"not valid JSON ({exc.args[0] if exc.args else exc})"


def fast_check(buffer: bytes, start: int, end: int) -> tuple[str, str | None] | None:
    """``(hash, prev)`` of the line ``buffer[start:end]`` when it is written as runbook-checks
    writes it — ``{"hash":"…",`` followed by the rest of the record's canonical JSON — and
    its hash holds over those bytes as they stand (no parsing, no re-encoding); ``None``
    for any other line.

    ``prev`` is the last ``"prev":`` of the line: every top-level key after it (``resumes``
    … ``status``) holds a plain value, and no string holds an unescaped quote."""
    if not buffer.startswith(HEAD, start) or buffer[start + 73 : start + 75] != b'",' or buffer[end - 1 : end] != b"}":
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


def only_string(buffer: bytes, key: bytes, start: int, end: int) -> str | None:
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
