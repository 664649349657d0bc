"""Markdown runbook -> ``Runbook``: front matter, tagged fenced blocks, troubleshooting entries.

Parsing knows nothing about processes. Every problem it finds is a ``Problem``
(``path:line: message``); ``parse_runbook`` collects them all, and
``lint.load_runbook`` refuses a runbook that has any (or any whole-runbook problem).

The package, by job: ``source`` (bytes -> lines, front-matter bounds, containers, fences,
markdown-it), ``frontmatter`` (the YAML and its ``runbook:`` keys), ``blocks`` (tagged
fences), ``entries`` (troubleshooting headings), ``fleet`` (``runbook.targets``), ``spec`` (one row per attribute and key),
``values`` and ``keys`` (the rows' converters). The names below are the package's API.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..context import find_root, sha256_text
from ..errors import Problem
from ..model import Runbook
from .blocks import SHELLS, read_blocks
from .entries import ENTRY_CLASS, read_entries
from .fleet import TARGET_NAME_RE, read_targets_file
from .frontmatter import MAX_FRONT_MATTER_VALUES, is_runbook, read_front_matter, read_runbook_keys, title
from .keys import ACKNOWLEDGE_KEYS, PHASE_KEYS, REQUIRE_KEYS
from .source import (
    body_start,
    closes_fence,
    code_lines,
    code_lines_of,
    fence_opening,
    front_matter_end,
    mentions_fence,
    opens_front_matter,
    page_body,
    parse_markdown,
    read_attributes,
    read_lines,
    split_lines,
    unwrap_containers,
)
from .spec import BLOCK_ATTRIBUTES, BLOCK_ROWS, ENTRY_ATTRIBUTES, ENTRY_ROWS, KEY_ROWS, RUNBOOK_KEYS, Row
from .values import DEFAULT_TIMEOUT_S, REHEARSE_DBS

__all__ = [
    "ACKNOWLEDGE_KEYS",
    "BLOCK_ATTRIBUTES",
    "BLOCK_ROWS",
    "DEFAULT_TIMEOUT_S",
    "ENTRY_ATTRIBUTES",
    "ENTRY_CLASS",
    "ENTRY_ROWS",
    "KEY_ROWS",
    "MAX_FRONT_MATTER_VALUES",
    "PHASE_KEYS",
    "REHEARSE_DBS",
    "REQUIRE_KEYS",
    "RUNBOOK_KEYS",
    "SHELLS",
    "TARGET_NAME_RE",
    "Row",
    "body_start",
    "closes_fence",
    "code_lines",
    "fence_opening",
    "front_matter_end",
    "is_runbook",
    "mentions_fence",
    "opens_front_matter",
    "page_body",
    "parse_markdown",
    "parse_runbook",
    "read_attributes",
    "read_lines",
    "split_lines",
    "unwrap_containers",
]


def parse_runbook(path: str | Path, display: str | None = None, data: bytes | None = None) -> tuple[Runbook | None, list[Problem]]:
    """Parse the runbook file at ``path`` (``data``: its bytes, already read; ``display``: the
    path problems name, default ``path``). Returns the runbook (``None`` when the file cannot
    be read) and every problem found, sorted by line. Never raises for a runbook's content."""
    path = Path(path)
    display = display or str(path)
    problems: list[Problem] = []

    def report(line: int, message: str) -> None:
        problems.append(Problem(display, line, message))

    try:
        raw = path.read_bytes() if data is None else data
        lines = split_lines(raw)
    except FileNotFoundError:
        return None, [Problem(display, 0, "no such file")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(display, 0, f"cannot read runbook: {exc}")]
    front, key_lines = read_front_matter(lines, report)
    meta = read_runbook_keys(front, key_lines, report)
    body = page_body(lines)
    tokens = parse_markdown(body)
    phases = meta.get("phases", ())
    blocks = read_blocks(tokens, body, path, tuple(p.id for p in phases), meta.get("timeout", DEFAULT_TIMEOUT_S), report)
    entries = read_entries(tokens, blocks, report)
    root = find_root(path.parent)
    fields = {row.attr: meta.get(row.name, row.default) for row in KEY_ROWS if row.field.startswith("Runbook.")}
    fields["id"] = meta.get("id") or re.sub(r"[^a-z0-9_.-]+", "-", path.stem.lower()).strip("-.") or "runbook"
    fields["workdir"] = ((root / meta["workdir"]) if "workdir" in meta else path.parent).resolve()
    if isinstance(fields["targets"], str):  # a targets file, relative to the runbook's folder
        fields["targets_file"] = path.parent / fields["targets"]
        fields["targets"] = read_targets_file(fields["targets_file"], str(Path(display).parent / meta["targets"]), problems.append)
    if fields["targets"] and meta.get("target"):
        report(
            key_lines.get("runbook.target", 1),
            "'runbook.target' and 'runbook.targets' exclude each other: a fleet run's target is the selected target's secret",
        )
    runbook = Runbook(
        path=path,
        title=title(front, body, path),
        blocks=blocks,
        sha256=sha256_text(raw),
        root=root,
        entries=entries,
        key_lines=key_lines,
        code_lines=code_lines_of(tokens),
        **fields,
    )
    return runbook, sorted(problems)
