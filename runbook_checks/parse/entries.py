"""Tagged headings -> ``TroubleshootingEntry``s: the heading's attributes by their rows, the section under it.

A heading tagged ``{#id .troubleshoot ...}`` (attr_list's heading attributes) opens an
entry that runs to the next heading of the same or a higher level; its attributes are
read by their rows of ``spec.ENTRY_ROWS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..model import Block, TroubleshootingEntry
from ..status import Kind
from .source import read_attributes
from .spec import ENTRY_ATTRIBUTES, ENTRY_ROWS
from .values import ID_RE, Given, Invalid, suggest

#: the class that makes a heading a troubleshooting entry
ENTRY_CLASS = "troubleshoot"

#: where problems go: ``(line, message)``, the line 1-based in the file
Report = Callable[[int, str], None]


def read_entries(tokens: list[Any], blocks: tuple[Block, ...], report: Report) -> tuple[TroubleshootingEntry, ...]:
    """The troubleshooting entries among markdown-it ``tokens``, in document order, with the
    runbook's ``blocks`` (for ``blocks=`` and the checks and steps inside each section). An
    entry without an id is left out; an id used twice, two entries with one pattern, an
    entry that explains nothing and each attribute its row refuses are reported."""
    headings = [(i, t) for i, t in enumerate(tokens) if t.type == "heading_open" and t.map]
    ids = tuple(b.id for b in blocks)
    out: list[TroubleshootingEntry] = []
    for n, (i, tok) in enumerate(headings):
        content = tokens[i + 1].content.rstrip()
        if not content.endswith("}") or "{" not in content:
            continue
        brace = content.rindex("{")
        attrs, classes, _ = read_attributes(content[brace + 1 : -1], heading=True)
        if ENTRY_CLASS not in classes:
            continue
        line, level = tok.map[0] + 1, int(tok.tag[1])
        entry_id = attrs.pop("id", None)
        if not entry_id or not ID_RE.match(entry_id):
            report(line, "troubleshooting entry needs an id: {#some-id .troubleshoot ...}")
            continue
        fields = _fields(attrs, entry_id, line, ids, report)
        if not fields:
            report(line, f"entry {entry_id!r} explains nothing: give it match=, exit= and/or blocks=")
        end_line = next((t.map[0] + 1 for _, t in headings[n + 1 :] if int(t.tag[1]) <= level), 10**9)
        advice = next(
            (
                tokens[j + 1].content
                for j in range(i + 3, len(tokens))
                if tokens[j].type == "paragraph_open" and tokens[j].map and tokens[j].map[0] + 1 < end_line
            ),
            "",
        )
        inside = [b for b in blocks if line < b.line < end_line]
        out.append(
            TroubleshootingEntry(
                id=entry_id,
                title=content[:brace].strip(),
                line=line,
                level=level,
                advice=" ".join(advice.split()),
                diagnostics=tuple(b.id for b in inside if b.kind == Kind.CHECK),
                recovery=tuple(b.id for b in inside if b.kind == Kind.STEP),
                **fields,
            )
        )
    _check_unique(out, blocks, report)
    return tuple(out)


def _fields(attrs: dict[str, str | None], entry_id: str, line: int, ids: tuple[str, ...], report: Report) -> dict[str, Any]:
    """The entry's model fields its written attributes give (``{field: value}``); an unknown
    attribute, one without a value and each value a row refuses are reported at ``line``."""
    for key, raw in attrs.items():
        if key not in ENTRY_ATTRIBUTES:
            report(line, f"entry {entry_id!r}: unknown attribute {key!r}" + suggest(key, ENTRY_ATTRIBUTES))
        elif raw is None:
            report(line, f"entry {entry_id!r}: {key} needs a value ({key}=...)")
    fields: dict[str, Any] = {}
    for row in ENTRY_ROWS:
        raw = attrs.get(row.name)
        if raw is None:
            continue
        given = Given(row.name, raw, block_ids=ids)
        try:
            fields[row.attr] = row.convert(given)
        except Invalid as exc:
            report(line, f"entry {entry_id!r}: {exc}")
        for message in given.also:
            report(line, f"entry {entry_id!r}: {message}")
    return fields


def _check_unique(entries: list[TroubleshootingEntry], blocks: tuple[Block, ...], report: Report) -> None:
    """Report an entry id that a block or an earlier entry uses, and an entry with the same
    ``match=`` pattern as an earlier one."""
    seen: dict[str, int] = {b.id: b.line for b in blocks}
    patterns: dict[str, str] = {}
    for entry in entries:
        if entry.id in seen:
            report(entry.line, f"duplicate id {entry.id!r} (also used at line {seen[entry.id]})")
        seen[entry.id] = entry.line
        if entry.match and entry.match in patterns:
            report(entry.line, f"entry {entry.id!r} has the same match= pattern as entry {patterns[entry.match]!r}")
        elif entry.match:
            patterns[entry.match] = entry.id
