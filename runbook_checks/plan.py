"""The plan of a run: which blocks run, in document order, and why the others do not.

Pure: it reads the runbook and the command's selection (``--execute``, ``--only``,
``--skip``, ``--from``), nothing else. The CLI and the pytest plugin plan alike; what a
planned block's result then is, in the run, is ``session.RunSession.decide``'s.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from .errors import UsageProblem
from .model import Block, Runbook
from .status import Kind

#: the start of a planned reason that marks a block before ``--from`` (the record's ``not_rerun``)
BEFORE_FROM = "before --from"


@dataclass(frozen=True)
class PlannedBlock:
    """One block of the plan: whether it is to run, and why not when it is not."""

    block: Block
    run: bool
    #: why the block will not run (``None`` when it will)
    reason: str | None = None


def _known(runbook: Runbook, block_id: str, option: str) -> None:
    """Raise ``UsageProblem`` (exit 2) when ``block_id``, given to ``option``, names no
    block of the runbook; the message suggests the closest id (``difflib``) or lists them."""
    ids = [b.id for b in runbook.blocks]
    if block_id not in ids:
        close = difflib.get_close_matches(block_id, ids, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f"; blocks are: {', '.join(ids)}"
        raise UsageProblem(f"{option} {block_id}: no block with that id in {runbook.path}{hint}")


def plan_run(
    runbook: Runbook,
    *,
    execute: bool = False,
    only: tuple[str, ...] = (),
    skip: tuple[str, ...] = (),
    from_id: str | None = None,
) -> list[PlannedBlock]:
    """Decide, in document order, which blocks run and why the others do not; one
    ``PlannedBlock`` per block of the runbook. The first rule that applies wins:

    1. a recovery step (a ``.step`` of a troubleshooting entry) runs only when named in ``only``;
    2. a block before ``from_id`` is not re-run (a resume);
    3. with ``only``, a block not named there does not run;
    4. a block named in ``skip`` does not run;
    5. a step runs only with ``execute`` (the confirmation gate is the caller's: ``gates``).

    Raises ``UsageProblem`` (exit 2) when ``only``, ``skip`` or ``from_id`` names an unknown block.
    """
    for option, ids in (("--only", only), ("--skip", skip), ("--from", (from_id,) if from_id else ())):
        for block_id in ids:
            _known(runbook, block_id, option)
    plan = []
    before_from = from_id is not None
    recovery = runbook.recovery_steps
    for block in runbook.blocks:
        if block.id == from_id:
            before_from = False
        if block.id in recovery and block.id not in only:
            plan.append(
                PlannedBlock(
                    block,
                    False,
                    f"recovery step of troubleshooting entry {recovery[block.id].id!r}: runs only when named with --only {block.id}",
                )
            )
        elif before_from:
            plan.append(PlannedBlock(block, False, f"{BEFORE_FROM} {from_id}: not re-run"))
        elif only and block.id not in only:
            plan.append(PlannedBlock(block, False, "not selected by --only"))
        elif block.id in skip:
            plan.append(PlannedBlock(block, False, "skipped by --skip"))
        elif block.kind == Kind.STEP and not execute:
            plan.append(
                PlannedBlock(
                    block,
                    False,
                    "mutating step: runs only with the confirmation token "
                    "(run --execute --confirm TOKEN; pytest --runbooks-execute --runbooks-confirm TOKEN)",
                )
            )
        else:
            plan.append(PlannedBlock(block, True))
    return plan


__all__ = ["PlannedBlock", "plan_run"]
