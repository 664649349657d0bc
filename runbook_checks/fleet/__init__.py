"""Fleets: one runbook, many target databases — their ledgers found, merged (the fan-in) and viewed side by side.

A runbook that declares targets keeps one ledger per target,
``<results>/<runbook-id>/<target-name>.jsonl`` (docs/reference/fleets.md). One job per module:

- ``collect``: finding ledgers under a folder (flat and per target), and a runbook's target ledgers;
- ``merge``: the fan-in — many folders of ledgers verified and merged into one, all or nothing;
- ``labels``: a target's labels and the ``--label k=v`` filter;
- ``view``: one row per target (the evidence policy's verdict of its latest attempt), counts, the slowest;
- ``text``: the fleet view as Markdown and JSON.

The names below are the package's interface; import them from ``runbook_checks.fleet``.
"""

from __future__ import annotations

from .collect import Found, find_ledgers, target_ledgers
from .merge import MergePlan, apply_merge, plan_merge

__all__ = ["Found", "MergePlan", "apply_merge", "find_ledgers", "plan_merge", "target_ledgers"]
