"""One run of one runbook, block by block: the run engine both the CLI (``execute.run_plan``)
and the pytest plugin (one test item per block) drive.

``RunSession.decide`` holds every rule for a block that does not execute, written once;
``RunSession.run`` executes the others through ``runner.run_block`` and matches a failure
against the runbook's troubleshooting entries; ``RunSession.record`` makes the run's record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from . import evidence
from .lifecycle import RunStart, begin_run, finish_run
from .model import Block, BlockResult, Runbook, RunRecord
from .plan import BEFORE_FROM, PlannedBlock
from .redact import Redactor
from .resume import attempt_id
from .runner import Observer, run_block
from .status import EXECUTED, BlockStatus, Kind, Mode
from .troubleshoot import explain

#: how much of a ``pending-exit`` check's output a skipped check's reason quotes, in characters
PENDING_QUOTE_CHARS = 300


class RunObserver(Observer, Protocol):
    """Progress callbacks: the runner's ``output``/``retry`` plus start and finish."""

    def started(self, block: Block) -> None:
        """``block`` is about to execute (not called for a block that does not)."""
        ...

    def finished(self, result: BlockResult) -> None:
        """A block's result, executed or not (``execute.run_plan`` leaves out a planned skip)."""
        ...


def not_run(block: Block, status: BlockStatus, reason: str, after_failure: bool = False) -> BlockResult:
    """The result of a block that did not execute: ``status`` (``skipped``, ``not-run``,
    or ``interrupted`` while it started) and why; no exit code, output or duration."""
    return BlockResult(
        id=block.id,
        kind=block.kind,
        status=status,
        line=block.line,
        sha256=block.sha256,
        phase=block.phase,
        criterion=block.criterion,
        reason=reason,
        after_failure=after_failure,
    )


def needed_status(results: Mapping[str, BlockResult], block_id: str) -> str:
    """The status of a ``needs=`` block in this run's ``results`` (``skipped`` when it has none)."""
    found = results.get(block_id)
    return found.status if found is not None else BlockStatus.SKIPPED


class RunSession:
    """One run of one runbook, block by block: the run engine of the CLI and the pytest plugin.

    ``decide`` holds every rule for a block that does not execute, in this order:
    the run was interrupted (``not-run``); the plan leaves it out (``skipped``, the
    plan's reason); a step after a failed block (``not-run``); ``needs=`` a block that
    did not pass in this run (``skipped`` when that block was skipped, else
    ``not-run``); ``after=`` a step that has not run in this attempt while the
    latest ``pending-exit`` check of the attempt reported pending migrations
    (``skipped``; a failed deploy still gets its checks). ``run`` executes the others through ``runner.run_block``.

    ``prior``: the ledger's earlier runs (any attempt; only this attempt's are read).
    ``start``: the run's start when the caller took it (``begin_run``), else taken here.
    ``database``: for a rehearsal, the throwaway database's ``{"kind", "version"}``, kept in
    the record's ``options``. ``grace_s``: seconds between SIGTERM and SIGKILL when a
    block's processes are stopped.
    Raises ``UsageProblem`` for a bad ``attempt`` id (``resume.attempt_id``).
    """

    def __init__(
        self,
        runbook: Runbook,
        plan: Sequence[PlannedBlock],
        *,
        environ: Mapping[str, str],
        redactor: Redactor,
        mode: str = Mode.CHECK,
        environment: str | None = None,
        attempt: str | None = None,
        resumes: RunRecord | None = None,
        prior: Sequence[RunRecord] = (),
        grace_s: float = 2.0,
        runner: str = "cli",
        from_id: str | None = None,
        start: RunStart | None = None,
        database: dict[str, str] | None = None,
    ):
        self.runbook, self.environ, self.redactor, self.mode, self.grace_s = runbook, environ, redactor, mode, grace_s
        self.planned = {p.block.id: p for p in plan}
        self.options: dict[str, Any] = {"runner": runner, "execute": mode != Mode.CHECK, "from": from_id}
        if database is not None:  # a rehearsal's throwaway database: {"kind", "version"}
            self.options["database"] = database
        self.resumes = resumes.run_id if resumes else None
        self.not_rerun = tuple(p.block.id for p in plan if p.reason and p.reason.startswith(BEFORE_FROM))
        #: block id -> its result in this run, as ``run`` kept it
        self.results: dict[str, BlockResult] = {}
        #: the first block that failed or timed out in this run
        self.failed_at: str | None = None
        self.interrupted = False
        self.start = start or begin_run(runbook, environ, environment)
        self.attempt = attempt_id(attempt, environ, resumes, self.start.run_id)
        self.start.env["RUNBOOK_ATTEMPT_ID"] = self.attempt
        mine = evidence.Attempts(prior).find(self.start.environment, self.attempt)
        #: block id -> its latest executed result in this attempt's earlier runs (``evidence.Attempt.results``)
        self.prior: dict[str, tuple[BlockResult, RunRecord]] = mine.results if mine else {}

    def _latest(self, block_id: str) -> BlockResult | None:
        """The block's latest executed result in this attempt (this run first)."""
        if (mine := self.results.get(block_id)) is not None and mine.status in EXECUTED:
            return mine
        earlier = self.prior.get(block_id)
        return earlier[0] if earlier else None

    def _pending(self) -> BlockResult | None:
        """The latest result of a ``pending-exit`` check in this attempt, if it reported pending migrations."""
        for block in reversed(self.runbook.blocks):
            if block.pending_exit is not None and (r := self._latest(block.id)) is not None:
                return r if r.status == BlockStatus.PASSED and r.exit_code == block.pending_exit else None
        return None

    def decide(self, block: Block) -> BlockResult | None:
        """The result of ``block`` when it does not execute (by the rules in the class
        docstring, first match wins), else ``None``. Pure: reads the plan, this run's
        results and the attempt's earlier ones; changes nothing."""
        item = self.planned.get(block.id)
        after_failure = self.failed_at is not None
        if self.interrupted:
            return not_run(block, BlockStatus.NOT_RUN, "not run: the run was interrupted", after_failure)
        if item is None or not item.run:
            return not_run(block, BlockStatus.SKIPPED, (item.reason if item else None) or "skipped", after_failure)
        if block.kind == Kind.STEP and self.failed_at is not None:
            return not_run(block, BlockStatus.NOT_RUN, f"not run: block {self.failed_at!r} failed earlier", True)
        if block.needs is not None and (needed := needed_status(self.results, block.needs)) != BlockStatus.PASSED:
            return not_run(
                block,
                BlockStatus.SKIPPED if needed == BlockStatus.SKIPPED else BlockStatus.NOT_RUN,
                f"needs {block.needs!r}, which did not pass in this run",
                after_failure,
            )
        if block.after is not None and self._latest(block.after) is None and (pending := self._pending()):
            said = " ".join(line.strip() for line in pending.output.splitlines() if line.strip()) or "migrations are pending"
            said = said if len(said) <= PENDING_QUOTE_CHARS else said[: PENDING_QUOTE_CHARS - 1] + "…"
            return not_run(
                block,
                BlockStatus.SKIPPED,
                f"checks the result of step {block.after!r}, which has not run in this attempt, and "
                f"{pending.id!r} says: {said} — apply them with --execute",
                after_failure,
            )
        return None

    def run(self, block: Block, observer: RunObserver | None = None) -> BlockResult:
        """Decide and, if it is to run, execute ``block``; returns (and keeps) its result.
        ``KeyboardInterrupt`` while it starts is recorded as ``interrupted`` and re-raised."""
        result = self.decide(block)
        if result is None:
            try:
                if observer is not None:
                    observer.started(block)
                result = explain(
                    self.runbook,
                    run_block(
                        block,
                        cwd=self.runbook.workdir,
                        env={**self.start.env, "RUNBOOK_BLOCK_ID": block.id},
                        redactor=self.redactor,
                        observer=observer,
                        grace_s=self.grace_s,
                        after_failure=self.failed_at is not None,
                    ),
                )
            except KeyboardInterrupt:
                self.interrupted = True
                self.results[block.id] = not_run(block, BlockStatus.INTERRUPTED, "interrupted before the block finished starting")
                raise
            if result.status == BlockStatus.INTERRUPTED:
                self.interrupted = True
            elif result.status in (BlockStatus.FAILED, BlockStatus.TIMED_OUT) and self.failed_at is None:
                self.failed_at = block.id
        self.results[block.id] = result
        return result

    def record(self) -> RunRecord:
        """The run's record: every block of the runbook, in document order — but a recovery
        step (a ``.step`` of a troubleshooting entry) only when it executed: it is no part
        of a migration, and a step recorded as skipped would leave the attempt incomplete.
        A block with no result is ``not-run`` when the run was interrupted, else ``skipped``."""
        fill = (
            (BlockStatus.NOT_RUN, "not run: the run was interrupted")
            if self.interrupted
            else (BlockStatus.SKIPPED, "not selected in this run")
        )
        recovery = self.runbook.recovery_steps
        blocks = [
            r for b in self.runbook.blocks if (r := self.results.get(b.id) or not_run(b, *fill)).status in EXECUTED or b.id not in recovery
        ]
        options = {**self.options, "ran": [b.id for b in blocks if b.status in EXECUTED]}
        return finish_run(
            self.runbook,
            self.start,
            blocks,
            environ=self.environ,
            mode=self.mode,
            resumes=self.resumes,
            not_rerun=self.not_rerun,
            options=options,
            attempt=self.attempt,
        )


__all__ = ["RunObserver", "RunSession", "needed_status", "not_run"]
