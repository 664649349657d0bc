"""A target's labels, and the ``--label KEY=VALUE`` filter over them.

Where labels come from is this module's one decision (``target_labels``): the runbook's
targets declaration (``runbook.targets``) once the model carries it, else the newest
record's ``target.labels`` when a record holds them. Every target also answers to
``target=<its name>``, so a fleet can be filtered by name before any label is declared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import UsageProblem
from ..model import Runbook, RunRecord

#: the label every target has: its name
NAME_LABEL = "target"


def _text(value: Any) -> str | None:
    """A label value as text (``str`` or ``int``, as the targets declaration allows); ``None`` for any other value."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value)


def target_labels(runbook: Runbook, name: str, newest: RunRecord | None) -> dict[str, str]:
    """The labels of target ``name`` of ``runbook`` (key -> value, as text), sorted by key.

    Read from the runbook's declaration when its model has ``targets`` (entries with
    ``name`` and ``labels``: the shape docs/reference/fleets.md gives), else from
    ``newest.target["labels"]`` (the newest record of the target's ledger) when it is a
    mapping; values that are neither text nor integers are left out. Never raises.
    """
    found: Mapping[str, Any] | None = None
    for entry in getattr(runbook, "targets", None) or ():
        entry_name = entry.get("name") if isinstance(entry, Mapping) else getattr(entry, "name", None)
        if entry_name == name:
            found = entry.get("labels") if isinstance(entry, Mapping) else getattr(entry, "labels", None)
            break
    if found is None and newest is not None and isinstance(newest.target, dict):
        found = newest.target.get("labels")
    if not isinstance(found, Mapping):
        return {}
    return {str(k): v for k, raw in sorted(found.items()) if (v := _text(raw)) is not None}


def parse_labels(given: Sequence[str]) -> list[tuple[str, str]]:
    """``--label`` values (``KEY=VALUE``) as pairs. Raises ``UsageProblem`` (exit 2) for one without ``=`` or with an empty key."""
    pairs = []
    for text in given:
        key, eq, value = text.partition("=")
        if not eq or not key.strip():
            raise UsageProblem(f"--label {text!r}: write KEY=VALUE (e.g. region=eu, wave=0, {NAME_LABEL}=acme)")
        pairs.append((key.strip(), value.strip()))
    return pairs


def matches(name: str, labels: Mapping[str, str], wanted: Sequence[tuple[str, str]]) -> bool:
    """Whether a target named ``name`` with ``labels`` has every ``(key, value)`` of
    ``wanted`` (all must hold; a key given twice must hold both, so never does unless equal).
    ``target=NAME`` matches the name."""
    return all((name if key == NAME_LABEL else labels.get(key)) == value for key, value in wanted)
