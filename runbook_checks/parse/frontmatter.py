"""Front matter -> values: the YAML read safely, its source map, and the ``runbook:`` keys read by their rows.

The YAML is read as MkDocs reads it (libyaml when PyYAML has it); what only the
pure-Python loader reads is a problem, since the site would show it as text. Each key of
``runbook:`` is read by its row in ``spec.KEY_ROWS``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from .keys import At
from .source import front_matter_end, opens_front_matter
from .spec import KEY_ROWS, RUNBOOK_KEYS
from .values import Invalid, suggest

# libyaml's loader when PyYAML has it: a site build parses every runbook's front matter
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: the most values YAML aliases may add to what front matter (or a targets file) writes out:
#: an alias counts each time it is used, so an alias bomb is refused, and a long plain
#: list (a fleet of 1,000 targets) is not
MAX_FRONT_MATTER_VALUES = 10_000

#: where problems go: ``(line, message)``, the line 1-based in the file
Report = Callable[[int, str], None]


class _FrontMatterProblem(Exception):
    """Front matter refused before anything is built from it, at a 1-based line."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message


def _check_node(node: Any) -> None:
    """Refuse, before anything is built from it, front matter whose aliases would add more
    than ``MAX_FRONT_MATTER_VALUES`` values to the nodes it writes (an alias bomb), that refers to itself, or repeats a
    key in one mapping (YAML would keep the last value silently). Lines are 1-based in
    the file (the ``---`` line is line 1). Raises ``_FrontMatterProblem``."""
    sizes: dict[int, int] = {}
    busy: set[int] = set()

    def size(n: Any) -> int:
        if id(n) in sizes:
            return sizes[id(n)]
        if id(n) in busy:
            raise _FrontMatterProblem(n.start_mark.line + 2, "front matter refers to itself (a recursive YAML alias)")
        busy.add(id(n))
        total = 1
        if isinstance(n, yaml.MappingNode):
            seen: dict[str, int] = {}
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    if k.value in seen:
                        raise _FrontMatterProblem(
                            k.start_mark.line + 2,
                            f"duplicate key {k.value!r} (first at line {seen[k.value]}): "
                            "YAML would keep only the last one; remove one of them",
                        )
                    seen[k.value] = k.start_mark.line + 2
                total += size(k) + size(v)
        elif isinstance(n, yaml.SequenceNode):
            total += sum(size(item) for item in n.value)
        busy.discard(id(n))
        sizes[id(n)] = total
        if total > MAX_FRONT_MATTER_VALUES + len(sizes):  # ``sizes``: every node written, seen so far
            raise _FrontMatterProblem(
                n.start_mark.line + 2,
                f"YAML aliases expand this to more than {MAX_FRONT_MATTER_VALUES:,} values beyond what is written "
                "(aliases used over and over?); write it out plainly",
            )
        return total

    size(node)


def _load_yaml(text: str, loader_class: Any) -> tuple[Any, Any]:
    """The document's node (for key lines) and its data; raises ``_FrontMatterProblem``
    for front matter ``_check_node`` refuses, or that nests too deeply to read."""
    loader = loader_class(text)
    try:
        try:
            node = loader.get_single_node()
            if node is None:
                return None, {}
            _check_node(node)
            return node, loader.construct_document(node)
        except RecursionError:
            raise _FrontMatterProblem(2, "front matter nests too deeply to read") from None
    finally:
        loader.dispose()


def _key_lines(node: Any, prefix: str, out: dict[str, int]) -> None:
    """Fill ``out`` with the source map of ``node``: dotted key path -> 1-based line. A list
    item's path is its index (``runbook.secrets.0``); a scalar item is also found by its
    value (``runbook.secrets.DATABASE_URL``) unless that path is taken."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = f"{prefix}{k.value}"
            out[key] = k.start_mark.line + 2
            _key_lines(v, key + ".", out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[f"{prefix}{i}"] = item.start_mark.line + 2
            if isinstance(item, yaml.ScalarNode):
                out.setdefault(f"{prefix}{item.value}", item.start_mark.line + 2)
            _key_lines(item, f"{prefix}{i}.", out)


def read_front_matter(lines: list[str], report: Report) -> tuple[dict[str, Any], dict[str, int]]:
    """The front matter of a page's ``lines``: ``(data, key_lines)``, empty when there is none
    or it cannot be read (each reason reported at its line). ``key_lines`` maps dotted key
    paths (``runbook.workdir``, ``runbook.secrets.0``) to 1-based lines of the file."""
    if not opens_front_matter(lines):
        return {}, {}
    end = front_matter_end(lines)
    if end is None:
        report(1, "front matter is not closed: add a '---' line after it")
        return {}, {}
    text = "\n".join(lines[1:end])
    try:
        try:
            node, data = _load_yaml(text, _YAML_LOADER)
        except yaml.YAMLError as exc:  # the pure-Python loader words the problem and its line better
            _load_yaml(text, yaml.SafeLoader)
            # MkDocs reads front matter with libyaml too: what only PyYAML reads, the site shows as text
            mark = getattr(exc, "problem_mark", None)
            raise _FrontMatterProblem(
                mark.line + 2 if mark is not None else 1,
                "front matter is not valid YAML for the site "
                f"(libyaml), so the page would show it as text: {getattr(exc, 'problem', None) or exc}",
            ) from None
        except ValueError as exc:  # a value YAML's types refuse (date: 2024-02-30)
            raise _FrontMatterProblem(1, f"front matter is not valid YAML: a value cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        report(mark.line + 2 if mark is not None else 1, f"front matter is not valid YAML: {reason}")
        return {}, {}
    except _FrontMatterProblem as exc:
        report(exc.line, exc.message)
        return {}, {}
    if not isinstance(data, dict):
        report(2, "front matter must be a mapping of keys to values")
        return {}, {}
    key_lines: dict[str, int] = {}
    _key_lines(node, "", key_lines)
    return data, key_lines


def read_runbook_keys(data: dict[str, Any], key_lines: dict[str, int], report: Report) -> dict[str, Any]:
    """The ``runbook:`` mapping's keys that are written, each read by its row of
    ``spec.KEY_ROWS``: ``{row name: value}``. An unknown key, a ``runbook`` that is not a
    mapping and each value a row refuses are reported at their lines (and left out)."""
    meta = data.get("runbook")
    where = key_lines.get("runbook", 1)
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        report(where, "'runbook' must be a mapping (id, environment, confirm, secrets, workdir, phases)")
        return {}
    for key in meta:
        if key not in RUNBOOK_KEYS:
            report(key_lines.get(f"runbook.{key}", where), f"unknown front-matter key 'runbook.{key}'" + suggest(str(key), RUNBOOK_KEYS))
    out: dict[str, Any] = {}
    for row in KEY_ROWS:
        if row.name not in meta:
            continue
        at = At(f"runbook.{row.name}", key_lines, where)
        try:
            out[row.name] = row.convert(meta[row.name], at)
        except Invalid as exc:
            report(at.line(), str(exc))
        for line, message in at.problems:
            report(line, message)
    return out


def title(data: dict[str, Any], lines: list[str], path: Path) -> str:
    """The page's title: ``title`` in the front matter, else its first ``# `` heading line,
    else the file name without its suffix (as MkDocs titles a page)."""
    if isinstance(data.get("title"), str):
        return data["title"]
    for line in lines:
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem


def is_runbook(path: Path) -> bool:
    """Whether a Markdown file is a runbook: front matter with a ``runbook:`` key (read from
    its first 64 KiB; an unclosed front matter still counts, so that it is reported)."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            lines = fh.read(65536).splitlines()
    except OSError:
        return False
    if not opens_front_matter(lines):
        return False
    end = front_matter_end(lines) or len(lines)  # an unclosed front matter is still a runbook, to be reported
    return any(line.startswith("runbook:") for line in lines[1:end])
