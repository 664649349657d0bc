"""A ledger line's bytes: the canonical JSON a hash covers, the sealed line written, the
check of a sealed line on its bytes, and the JSON Schema a record follows.

A sealed line is ``{"hash":"<64 hex>",`` followed by the rest of the record's canonical
JSON (sorted keys, no whitespace, UTF-8 kept as it is), then a newline; its hash is the
SHA-256 of the canonical JSON without ``hash``. A verifier can therefore hash the line's
bytes as they stand, without parsing them (``fast_check``).
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

#: how every sealed line starts
HEAD = b'{"hash":"'


def canonical(record: dict[str, Any]) -> bytes:
    """The bytes a record's hash covers: sorted keys, no whitespace, ``hash`` left out
    (``ensure_ascii=False``: UTF-8 as it is). Raises ``TypeError`` for a value JSON cannot hold."""
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


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a ledger record, shipped as
    ``runbook_checks/schema/run-record.schema.json``; read once."""
    text = resources.files("runbook_checks").joinpath("schema/run-record.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def loads(raw: bytes) -> Any:
    """``json.loads``, with nesting too deep for the parser (``[[[…`` ten thousand levels
    down) reported as the ``ValueError`` it is, not a ``RecursionError``. Raises ``ValueError``."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply to be a run record") from None


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


def _fast_form(node: Any) -> Any:
    """The shipped schema as the compiled validator reads it, with the same meaning: a
    ``oneOf`` of branches of disjoint JSON types becomes an ``anyOf`` (it stops at the
    first match instead of raising for every other branch), and a ``$ref`` with sibling
    keywords becomes an ``allOf`` (draft 2020-12 applies both; the compiler's draft 7
    would ignore the siblings). ``tests/test_ledger_schema.py`` proves the two agree."""
    if isinstance(node, list):
        return [_fast_form(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _fast_form(v) for k, v in node.items()}
    branches = out.get("oneOf")
    if branches is not None:
        types = [_types_of(b, out) for b in branches]
        if all(types) and sum(len(t) for t in types) == len(set().union(*types)):
            out["anyOf"] = out.pop("oneOf")
    siblings = {k: v for k, v in out.items() if k not in ("$ref", "description", "title")}
    if "$ref" in out and siblings:
        return {"allOf": [{"$ref": out["$ref"]}, siblings]}
    return out


def _types_of(branch: Any, root: dict[str, Any]) -> set[str]:
    """The JSON types a ``oneOf`` branch can accept (``set()``: unknown)."""
    if isinstance(branch, dict) and "$ref" in branch and branch["$ref"].startswith("#/$defs/") and len(branch) == 1:
        branch = schema()["$defs"].get(branch["$ref"][len("#/$defs/") :])
    if not isinstance(branch, dict) or "type" not in branch:
        return set()
    kinds = {branch["type"]} if isinstance(branch["type"], str) else set(branch["type"])
    return kinds if "number" not in kinds else set()  # number overlaps integer: left as it is


@lru_cache(maxsize=1)
def compiled_validator() -> Any:
    """The record schema compiled to Python (``fastjsonschema``): raises on a record that
    does not follow it. Made once, on first use."""
    import fastjsonschema

    # the generated code formats each array item's name for its error message even when
    # nothing fails; the message is never read (``schema_problem`` asks jsonschema), so not made
    code = fastjsonschema.compile_to_code(_fast_form(schema())).replace(".format(**locals())", "")
    space: dict[str, Any] = {}
    exec(compile(code, "<record schema>", "exec"), space)  # the code fastjsonschema generated from the shipped schema
    return space["validate_" + re.sub(r"\W", "_", schema()["$id"])]


@lru_cache(maxsize=1)
def _contract() -> Any:
    """The shipped schema interpreted by ``jsonschema`` (draft 2020-12): the contract, and
    the words of every schema problem reported."""
    from jsonschema import Draft202012Validator  # a tenth of a second to import: only when a record fails

    return Draft202012Validator(schema())


def schema_problem(record: Any) -> str | None:
    """What is wrong with ``record`` against the record schema, in ``jsonschema``'s words,
    or ``None``. The compiled validator decides; only a record it rejects is looked at
    again with ``jsonschema`` (the contract), for the message."""
    try:
        compiled_validator()(record)
        return None
    except RecursionError:
        raise
    except Exception:  # any refusal is settled by the contract below
        pass
    validator = _contract()
    if validator.is_valid(record):
        return None
    error = min(validator.iter_errors(record), key=lambda e: list(e.path))
    where = "/".join(str(p) for p in error.absolute_path) or "record"
    message = error.message if len(error.message) <= 200 else error.message[:199] + "…"
    return f"does not match the record schema at {where}: {message}"
