"""The record schema's string patterns, checked on a decoded record by one function made
from its types (``Patterns``), instead of by msgspec string by string.

msgspec calls Python's ``re`` for every string a ``Meta(pattern=...)`` constrains: some
forty a staging-like record (the SHA-256 of each block, each block's start), half of a
record's decoding (``docs/reference/benchmarks.md``). The types that decode a ledger line
(``record_schema``) therefore carry no pattern; ``Patterns`` reads the same types with
their patterns (``msgspec.inspect``), writes a function that gathers, from a decoded
record, every string found where a pattern applies, and matches each with ``re.search``,
as msgspec and ``jsonschema`` do. A string that matched is remembered (``MEMO_SIZE`` per
pattern): a block's hash recurs in every run of its runbook, and is matched once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

#: how many strings known to match each pattern are remembered (then forgotten at once, and gathered again)
MEMO_SIZE = 4096


class Patterns:
    """The string patterns of the msgspec type ``record`` (a struct type, as ``record_schema``
    makes it with its patterns), checked on a record decoded by the same type made without
    them (the same fields and attribute names). ``holds(record)``: whether every string
    where a pattern applies matches it."""

    def __init__(self, record: Any) -> None:
        """Read ``record``'s type (``msgspec.inspect.type_info``) and write the gathering function."""
        import msgspec

        self._patterns: list[str] = []
        body: list[str] = []
        _emit(msgspec.inspect.type_info(record), "r", 1, body, self._patterns)
        count = len(self._patterns)
        start = [f"    s{i} = []; add{i} = s{i}.append" for i in range(count)]
        source = "\n".join(["def gather(r):", *start, *body, f"    return ({''.join(f's{i}, ' for i in range(count))})"])
        scope: dict[str, Any] = {"Struct": msgspec.Struct}
        exec(compile(source, "<record_schema patterns>", "exec"), scope)  # written above from the types alone
        self._gather: Callable[..., None] = scope["gather"]
        self._checks = [(re.compile(p).search, set[str]()) for p in self._patterns]

    def holds(self, record: Any) -> bool:
        """Whether every string of ``record`` (decoded by the pattern-free type) that a
        pattern applies to matches it (``re.search``, as the JSON Schema's ``pattern`` is read)."""
        for (search, memo), strings in zip(self._checks, self._gather(record), strict=True):
            new = set(strings).difference(memo)
            if new:
                if not all(map(search, new)):
                    return False
                if len(memo) + len(new) > MEMO_SIZE:
                    memo.clear()
                memo |= new
        return True


def _emit(info: Any, expr: str, depth: int, out: list[str], patterns: list[str], sure: bool = True) -> None:
    """Append to ``out`` the lines (indented ``depth`` levels) that hand each string under
    the value ``expr`` of type ``info`` (``msgspec.inspect``) to ``add<i>``, ``i`` the index
    of its pattern in ``patterns`` (added when new). ``sure``: the decoder made ``expr`` of
    that type; when not (a member of a union, a field that may be left out: ``UNSET``), a
    value of another Python type is skipped, as its type has no such string."""
    from msgspec import inspect as mi

    pad = "    " * depth
    if isinstance(info, mi.StrType) and info.pattern is not None:
        if info.pattern not in patterns:
            patterns.append(info.pattern)
        add = f"add{patterns.index(info.pattern)}({expr})"
        out.append(f"{pad}{add}" if sure else f"{pad}if {expr}.__class__ is str: {add}")
    elif isinstance(info, mi.StructType):
        body: list[str] = []
        for field in info.fields:
            inner: list[str] = []
            _emit(field.type, f"v{depth}", depth + 1, inner, patterns, field.required)
            if inner:
                body += [f"{pad}    v{depth} = {expr}.{field.name}", *inner]
        if body:
            out += [f"{pad}if True:" if sure else f"{pad}if isinstance({expr}, Struct):", *body]
    elif isinstance(info, mi.ListType | mi.DictType):
        inner = []
        _emit(info.item_type if isinstance(info, mi.ListType) else info.value_type, f"x{depth}", depth + 2, inner, patterns)
        kind, items = ("list", expr) if isinstance(info, mi.ListType) else ("dict", f"{expr}.values()")
        if inner:
            out += [f"{pad}if True:" if sure else f"{pad}if {expr}.__class__ is {kind}:", f"{pad}    for x{depth} in {items}:", *inner]
    elif isinstance(info, mi.UnionType):  # its members hold values of distinct Python types: each guards its own
        for member in info.types:
            _emit(member, expr, depth, out, patterns, sure=False)


__all__ = ["MEMO_SIZE", "Patterns"]
