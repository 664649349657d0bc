"""Tagged fences -> ``Block``s: the fence's info string read as the site reads it, attributes by their rows.

A fence is tagged when its attribute block names a kind (``.check`` or ``.step``); its
other attributes are read by their rows of ``spec.BLOCK_ROWS`` and checked against the
blocks before it (``Row.relate``). Problems are reported at the fence's line.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..context import sha256_text
from ..model import Block
from ..status import Kind
from .source import closes_fence, read_attributes
from .spec import BLOCK_ATTRIBUTES, BLOCK_ROWS
from .values import ID_RE, Given, Invalid, shown, suggest

#: the languages a tagged block may have (every block runs with ``bash -euo pipefail``)
SHELLS = ("bash", "sh", "shell")
_KINDS = tuple(k.value for k in Kind)
#: each row's field and default, for the rows that have one (every block starts with them)
_DEFAULTS = {row.attr: row.default for row in BLOCK_ROWS if row.default is not None}
#: the rows' checks of a block against the blocks before it, in the rows' order
_RELATIONS = tuple(row.relate for row in BLOCK_ROWS if row.relate is not None)
#: the text a block's ``sha256`` covers: its kind, language, code and attributes as JSON, keys sorted
_DIGEST_JSON = json.JSONEncoder(sort_keys=True)
#: the blank lines that end a block's code (the page never shows them)
_TRAILING_BLANK_RE = re.compile(r"\n\n+\Z")
_TAGGED_RE = re.compile(r"\.(check|step)\b")
#: a fence's info string as the site's pymdownx.superfences reads it: an optional language (a
#: leading dot allowed) followed by a space or the attributes' ``{``, then one attribute block
#: that runs to the line's last ``}``
_FENCE_INFO_RE = re.compile(r"^[ \t]*+(?:\.?(?P<lang>[\w#.+-]++)(?=[\t ]|$)[ \t]*+)?\{(?P<attrs>.*)\}[ \t]*+$")

#: where problems go: ``(line, message)``, the line 1-based in the file
Report = Callable[[int, str], None]


def read_blocks(
    tokens: list[Any], lines: list[str], path: Path, phase_ids: tuple[str, ...], default_timeout_s: float, report: Report
) -> tuple[Block, ...]:
    """The tagged blocks among markdown-it ``tokens`` of the page ``lines`` (front matter
    blanked), in document order. ``phase_ids`` are the phases the front matter declares;
    ``default_timeout_s`` is a block's time limit when it gives none. A duplicate id, an
    attribute its row refuses or a relation to the blocks before it that does not hold is
    reported; a block with a duplicate id, no id or no kind is left out."""
    blocks: list[Block] = []
    seen: dict[str, int] = {}
    for tok in tokens:
        if tok.type != "fence" or tok.map is None:
            continue
        line = tok.map[0] + 1
        start, end = tok.map
        if not (end - 1 > start and closes_fence(lines[end - 1], tok.markup)):
            report(start + 1, f"unterminated code fence: add a closing {tok.markup} line")
        block = _block(tok, line, lines, path, phase_ids, default_timeout_s, report)
        if block is None:
            continue
        if block.id in seen:
            report(line, f"duplicate block id {block.id!r} (first used at line {seen[block.id]})")
            continue
        for relate in _RELATIONS:
            if (message := relate(block, blocks)) is not None:
                report(line, f"block {block.id!r}: {message}")
        seen[block.id] = line
        blocks.append(block)
    return tuple(blocks)


def _block(
    tok: Any, line: int, lines: list[str], path: Path, phase_ids: tuple[str, ...], default_timeout_s: float, report: Report
) -> Block | None:
    """The block a fence token holds, ``None`` when it is untagged or cannot be one (reported)."""
    opening = lines[line - 1]
    info = opening[opening.index(tok.markup) + len(tok.markup) :]  # as written: no CommonMark unescaping
    m = _FENCE_INFO_RE.match(info)
    if m is None:
        if "{" in info and _TAGGED_RE.search(info):
            after = info[info.rfind("}") + 1 :].strip() if "}" in info else ""
            if "}" not in info:
                report(line, "the attribute block is not closed: add '}' at the end of the line")
                return None
            report(
                line,
                f"unexpected text after the attributes: {shown(after)}; the page then shows no tagged block"
                if after
                else f"the site does not read {info.strip()!r} as a language and attributes, so the page shows "
                "no tagged block: write ```bash {#id .check}, with a space before '{'",
            )
        return None
    attrs, classes, unread = read_attributes(m.group("attrs"))
    lang = m.group("lang")
    if lang is None:  # the site takes the first class as the language
        if classes and classes[0] in _KINDS:
            report(
                line,
                f"the fence has no language, so the site takes '.{classes[0]}' as its language and shows no "
                f"{classes[0]}: write ```bash {{{m.group('attrs').strip()}}}",
            )
            return None
        lang = classes.pop(0) if classes else ""
    if unread and _TAGGED_RE.search(info):
        report(line, f"attribute text the site does not read: {shown(unread)} (write key=value, key=\"a b\" or key='a b')")
    kinds = [c for c in classes if c in _KINDS]
    others = [c for c in classes if c not in _KINDS]
    kind_like = [c for c in others if difflib.get_close_matches(c, _KINDS, n=1, cutoff=0.6)]
    if not kinds:
        if set(attrs) & set(BLOCK_ATTRIBUTES) or kind_like:
            bad = kind_like[0] if kind_like else None
            hint = f"unknown kind '.{bad}'" + suggest(bad, _KINDS) if bad else "tagged block has no kind"
            report(line, f"{hint}: use .check (read-only) or .step (mutating)")
        return None
    if len(kinds) > 1:
        report(line, "a block is either .check or .step, not both")
    for c in others:
        report(line, f"unknown class '.{c}': the kind is .check or .step")
    block_id = attrs.pop("id", None)
    if not block_id:
        report(line, "tagged block has no id: add {#some-id ...}")
        return None
    if not ID_RE.match(block_id):
        report(line, f"block id {block_id!r} may hold only letters, digits, '.', '_' and '-'")
    if lang not in SHELLS:
        report(line, f"block {block_id!r}: language {lang or '(none)'!r} cannot run; tagged blocks are {', '.join(SHELLS)}")
    for key, raw in attrs.items():
        if key not in BLOCK_ATTRIBUTES:
            report(line, f"block {block_id!r}: unknown attribute {shown(key)}" + suggest(key, BLOCK_ATTRIBUTES))
        elif raw is None:
            report(line, f"block {block_id!r}: {key} needs a value ({key}=...)")
    fields: dict[str, Any] = {"timeout_s": default_timeout_s, **_DEFAULTS}
    for row in BLOCK_ROWS if attrs else ():  # in the rows' order: their problems too
        raw = attrs.get(row.name)
        if raw is None:
            continue
        try:
            fields[row.attr] = row.convert(Given(row.name, raw, phase_ids))
        except Invalid as exc:
            report(line, f"block {block_id!r}: {exc}")
    code = _TRAILING_BLANK_RE.sub("\n", tok.content)  # the page never shows trailing blank lines, so they do not run
    kind = kinds[0]  # a Kind value kept a plain str: blocks travel to pytest-xdist workers, which cannot send enums
    digest_src = _DIGEST_JSON.encode({"kind": kind, "lang": lang, "code": code, "attrs": attrs})
    return Block(id=block_id, kind=kind, lang=lang, code=code, path=path, line=line, sha256=sha256_text(digest_src), **fields)
