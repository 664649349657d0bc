"""``runbook.targets`` -> ``Target``s: the fleet's entries, written inline or in a targets file.

An entry is ``{name, secret, labels}``: ``name`` matches ``TARGET_NAME_RE`` and is unique,
``secret`` is an environment variable name, ``labels`` an optional mapping of names to
strings or integers, where ``wave`` is an integer ≥ 0 (lower waves go first; 1 when
absent; wave 0 is the canary wave). A targets file (``targets: fleet.yml``, relative to
the runbook's folder) holds such a list as YAML. Each problem is reported at its line,
in the runbook or in the targets file, and the entry is left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from ..errors import Problem
from ..model import Target
from .keys import At, mappings
from .values import ENV_NAME_RE, Invalid

#: a target's name: it names a ledger file and a GitHub matrix entry
TARGET_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
#: a label's name (a key of the GitHub matrix entry)
LABEL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
#: the keys of one entry
TARGET_KEYS = ("name", "secret", "labels")
#: label names the matrix entry uses for itself
RESERVED_LABELS = ("target", "name", "secret")
#: the largest targets file read, in bytes
MAX_TARGETS_FILE_BYTES = 4 * 1024 * 1024


def targets(raw: Any, at: At) -> tuple[Target, ...] | str:
    """The ``runbook.targets`` row: a list of entries read by ``read_entries`` (problems at
    their lines in the runbook), or a string — the targets file's path, relative to the
    runbook's folder, which ``parse_runbook`` reads with ``read_targets_file``. Raises
    ``Invalid`` for anything else, or an empty list."""
    if isinstance(raw, str) and raw.strip():
        if Path(raw).is_absolute() or ".." in Path(raw).parts:
            raise Invalid(f"'{at.key}' {raw!r}: a targets file is named relative to the runbook's folder, inside it")
        return raw
    if not isinstance(raw, list) or not raw:
        raise Invalid(f"'{at.key}' must be a non-empty list of {{name, secret, labels}} or the name of a targets file")
    return read_entries(raw, at)


def read_entries(raw: list[Any], at: At) -> tuple[Target, ...]:
    """The entries of ``raw`` (a list as YAML gave it; ``at``: its place, lines of items at
    ``at.key.<i>``). An entry that is not a mapping, has an unknown key, a bad or repeated
    name, a missing or bad secret, or bad labels is a problem at its line and is left out."""
    out: list[Target] = []
    seen: dict[str, int] = {}
    for i, line, item, bad in mappings(raw, at, "a target", TARGET_KEYS):
        name, secret = item.get("name"), item.get("secret")
        if not isinstance(name, str) or not TARGET_NAME_RE.match(name):
            what = "missing" if name is None else f"{name!r}"
            at.problem(
                at.line(f"{i}.name", line), f"target name {what}: a name is lower-case letters, digits, '.', '_', '-' (e.g. tenant-acme)"
            )
            continue
        if name in seen:
            at.problem(at.line(f"{i}.name", line), f"target {name!r} is declared twice (first at line {seen[name]})")
            continue
        seen[name] = line
        if secret is None:
            at.problem(line, f"target {name!r} needs 'secret': the environment variable holding its database URL")
            bad = True
        elif not isinstance(secret, str) or not ENV_NAME_RE.match(secret):
            at.problem(at.line(f"{i}.secret", line), f"target {name!r}: secret {secret!r} is not an environment variable name")
            bad = True
        labels = _labels(item.get("labels", {}), name, At(f"{at.key}.{i}.labels", at.key_lines, line, at.problems))
        if bad or labels is None:
            continue
        out.append(Target(name, secret, labels, line))
    return tuple(out)


def _labels(raw: Any, name: str, at: At) -> tuple[tuple[str, str | int], ...] | None:
    """A target's labels as ``(label, value)`` pairs; ``None`` (problems reported) when any is bad."""
    if not isinstance(raw, dict):
        at.problem(at.line(), f"target {name!r}: 'labels' must be a mapping of names to strings or integers")
        return None
    out: list[tuple[str, str | int]] = []
    ok = True
    for key, value in raw.items():
        line = at.line(str(key))
        if not isinstance(key, str) or not LABEL_RE.match(key) or key in RESERVED_LABELS:
            at.problem(
                line, f"target {name!r}: label {key!r} is not a label name (letters, digits, '_', '-'; not {', '.join(RESERVED_LABELS)})"
            )
            ok = False
        elif key == "wave" and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            at.problem(line, f"target {name!r}: wave {value!r} must be an integer ≥ 0 (0 is the canary wave)")
            ok = False
        elif isinstance(value, bool) or not isinstance(value, (str, int)):
            at.problem(line, f"target {name!r}: label {key!r} must be a string or an integer, not {value!r}")
            ok = False
        else:
            out.append((key, value))
    return tuple(out) if ok else None


def read_targets_file(path: Path, display: str, report: Callable[[Problem], None]) -> tuple[Target, ...]:
    """The entries of the targets file at ``path`` (named ``display`` in problems): a YAML
    list of ``{name, secret, labels}``. Each problem — a file that cannot be read, YAML that
    is not valid, a value that is not a list, each bad entry — goes to ``report`` as a
    ``Problem`` at its line in that file. Never raises for the file's content."""
    from .frontmatter import _check_node, _FrontMatterProblem, _key_lines  # frontmatter reads the rows, which name ``targets``

    try:
        if path.stat().st_size > MAX_TARGETS_FILE_BYTES:
            report(Problem(display, 0, f"targets file is larger than {MAX_TARGETS_FILE_BYTES:,} bytes"))
            return ()
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        report(Problem(display, 0, f"cannot read the targets file: {getattr(exc, 'strerror', None) or exc}"))
        return ()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_node(node)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        report(Problem(display, mark.line + 1 if mark else 1, f"targets file is not valid YAML: {getattr(exc, 'problem', None) or exc}"))
        return ()
    except (_FrontMatterProblem, ValueError, RecursionError) as exc:
        report(Problem(display, max(getattr(exc, "line", 2) - 1, 1), f"targets file cannot be read: {getattr(exc, 'message', exc)}"))
        return ()
    finally:
        loader.dispose()
    if not isinstance(data, list) or not data:
        report(Problem(display, 1, "a targets file must hold a non-empty YAML list of {name, secret, labels}"))
        return ()
    lines: dict[str, int] = {}
    _key_lines(node, "targets.", lines)
    at = At("targets", {k: v - 1 for k, v in lines.items()}, 1)  # _key_lines counts from the front matter's second line
    found = read_entries(data, at)
    for line, message in at.problems:
        report(Problem(display, line, message))
    return found


__all__ = ["LABEL_RE", "RESERVED_LABELS", "TARGET_KEYS", "TARGET_NAME_RE", "read_entries", "read_targets_file", "targets"]
