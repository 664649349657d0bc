"""A fleet target's labels as the fleet view shows them, and the ``--label KEY=VALUE`` filter over them.

Labels come from the runbook's targets declaration (``runbook.targets``, see
docs/reference/runbook-format.md, "Fleets"); the rule that matches them is
``targets.has_labels``, the one the ``targets`` command uses. Every target also answers
to ``target=<its name>``, so a ledger whose target is no longer declared can still be
picked by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..model import Runbook
from ..targets import has_labels


def target_labels(runbook: Runbook, name: str) -> dict[str, str]:
    """The declared labels of target ``name`` of ``runbook`` (key -> value as text, sorted
    by key; ``wave`` when written); ``{}`` for a target the runbook does not declare."""
    for target in runbook.targets:
        if target.name == name:
            return {str(k): str(v) for k, v in sorted(target.labels)}
    return {}


def matches(name: str, labels: Mapping[str, str], wanted: Sequence[tuple[str, str]]) -> bool:
    """Whether the target ``name`` with ``labels`` has every ``(key, value)`` of ``wanted``
    (``targets.has_labels``; ``target=NAME`` matches the name)."""
    return has_labels({**labels, "target": name}, wanted)
