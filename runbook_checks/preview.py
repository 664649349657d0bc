"""A dry run (``run --dry-run``): what it can tell about the plan, the target and the
secrets, and the ``preview=yes`` checks it runs (read-only). Nothing is recorded: no lock,
no ledger, no JUnit file, no step summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .attempt import Progress, Watched
from .errors import InterruptedUnrecorded
from .execute import run_plan
from .gates import missing_secrets, target_named
from .model import Runbook, RunRecord
from .plan import PlannedBlock
from .redact import Redactor, redact_record
from .session import RunObserver
from .status import BlockStatus, Mode, RunStatus
from .target import variable


@dataclass(frozen=True)
class DryRun:
    """What a dry run knows before anything runs."""

    runbook: Runbook
    plan: list[PlannedBlock]
    #: the target database named as ``host:port/database`` (``None``: not named)
    target: str | None
    #: the secret the runbook's ``target`` reads (``None``: the runbook names no target)
    source: str | None
    #: whether that secret is set at all
    source_set: bool
    #: declared secrets that are not set (a real run would refuse)
    missing: list[str]
    #: ids of the planned ``preview=yes`` checks
    previews: list[str]
    #: the previews were asked for (no ``--no-preview``)
    wanted: bool

    @property
    def runs_previews(self) -> bool:
        """The previews run now: there are some, they were asked for, and every secret is set."""
        return bool(self.previews) and not self.missing and self.wanted


def dry_run(runbook: Runbook, plan: list[PlannedBlock], environ: Mapping[str, str], *, previews: bool = True) -> DryRun:
    """The facts of a dry run of ``plan`` in ``environ``; ``previews=False`` for ``--no-preview``."""
    source = variable(runbook.target) if runbook.target else None
    return DryRun(
        runbook=runbook,
        plan=plan,
        target=target_named(runbook, environ),
        source=source,
        source_set=bool(environ.get(source or "")),
        missing=missing_secrets(runbook, environ),
        previews=[p.block.id for p in plan if p.run and p.block.preview],
        wanted=previews,
    )


def run_previews(
    dry: DryRun, *, environ: Mapping[str, str], redact: Redactor, observer: RunObserver, grace_s: float, progress: Progress | None = None
) -> RunRecord:
    """Run the planned ``preview=yes`` checks (every other block is planned as ``dry run: not
    executed``) and return the redacted record, which is not written anywhere.

    ``progress`` learns that blocks started and the outcome.
    Raises ``InterruptedUnrecorded`` (exit 130) when the checks were stopped.
    """
    if progress is not None:
        observer = Watched(observer, progress)
    only = [
        PlannedBlock(p.block, p.run and p.block.preview, None if p.run and p.block.preview else "dry run: not executed") for p in dry.plan
    ]
    record = redact_record(
        run_plan(dry.runbook, only, environ=environ, redactor=redact, observer=observer, mode=Mode.CHECK, grace_s=grace_s), redact
    )
    if progress is not None:
        progress.record = record
    if record.status == RunStatus.INTERRUPTED:
        raise InterruptedUnrecorded("interrupted: the preview checks were stopped; nothing was recorded")
    return record


def preview_results(dry: DryRun, record: RunRecord | None) -> list[Any]:
    """The results of the preview checks that ran (none when ``record`` is ``None``)."""
    return [b for b in record.blocks if b.id in dry.previews] if record else []


def failed_previews(ran: list[Any]) -> list[str]:
    """Ids of the preview checks that did not pass."""
    return [b.id for b in ran if b.status != BlockStatus.PASSED]


def dry_run_dict(dry: DryRun, ran: list[Any], redact: Redactor) -> dict[str, Any]:
    """``run --dry-run --format json``: the plan (commands redacted), the target, the missing
    secrets and the preview results."""
    return {
        "runbook": dry.runbook.id,
        "environment": dry.runbook.environment,
        "target": dry.target,
        "target_from": dry.source,
        "missing_secrets": dry.missing,
        "plan": [
            {
                "id": p.block.id,
                "kind": p.block.kind,
                "line": p.block.line,
                "run": p.run,
                "reason": p.reason,
                "preview": p.block.preview,
                "command": redact(p.block.code),
            }
            for p in dry.plan
        ],
        "previews": [{"id": b.id, "status": b.status, "exit_code": b.exit_code, "reason": b.reason, "output": b.output} for b in ran],
    }


__all__ = ["DryRun", "dry_run", "dry_run_dict", "failed_previews", "preview_results", "run_previews"]
