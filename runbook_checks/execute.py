"""Plan and run a runbook: which blocks run, in document order, and the run record.

``plan_run`` is pure (selection, gating of steps, ``--from``); ``run_plan`` runs the
planned blocks through ``runner.run_block`` and returns a ``RunRecord``. Neither
checks confirmation, secrets or locks: callers apply ``gates`` first.
"""

from __future__ import annotations

import difflib
import re
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from . import evidence
from .context import actor, ci_context, fingerprints, git_info, new_run_id, runbook_env, utc_now
from .errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, UsageProblem
from .model import (
    EXECUTED,
    FAILED,
    INTERRUPTED,
    MODE_CHECK,
    MODE_EXECUTE,
    NOT_RUN,
    PASSED,
    RUN_FAILED,
    RUN_INTERRUPTED,
    RUN_PASSED,
    SKIPPED,
    STEP,
    TIMED_OUT,
    Block,
    BlockResult,
    Runbook,
    RunRecord,
)
from .redact import Redactor
from .runner import Observer, run_block
from .target import resolve as resolve_target
from .troubleshoot import explain


@dataclass(frozen=True)
class PlannedBlock:
    block: Block
    run: bool
    #: why the block will not run (``None`` when it will)
    reason: str | None = None


class RunObserver(Observer, Protocol):
    """Progress callbacks: the runner's ``output``/``retry`` plus start and finish."""

    def started(self, block: Block) -> None: ...

    def finished(self, result: BlockResult) -> None: ...


def _known(runbook: Runbook, block_id: str, option: str) -> None:
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
    """Decide, in document order, which blocks run and why the others do not."""
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
            plan.append(PlannedBlock(block, False, f"before --from {from_id}: not re-run"))
        elif only and block.id not in only:
            plan.append(PlannedBlock(block, False, "not selected by --only"))
        elif block.id in skip:
            plan.append(PlannedBlock(block, False, "skipped by --skip"))
        elif block.kind == STEP and not execute:
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


@dataclass
class RunStart:
    """What a run knows before its first block: identity, context, environment."""

    run_id: str
    started_at: str
    monotonic: float
    environment: str
    git: dict[str, Any] | None
    ci: dict[str, Any] | None
    fingerprints: dict[str, str]
    #: the environment every block of this run gets (plus ``RUNBOOK_BLOCK_ID``)
    env: dict[str, str]


#: environment variable that sets the attempt id where ``--attempt`` cannot be passed
ATTEMPT_ENV = "RUNBOOK_CHECKS_ATTEMPT"
_ATTEMPT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,199}")


def attempt_id(explicit: str | None, environ: Mapping[str, str], resumes: RunRecord | None, run_id: str) -> str:
    """The attempt a new run belongs to, first match wins: ``explicit`` (``--attempt``),
    ``$RUNBOOK_CHECKS_ATTEMPT``, the attempt of the run a ``--from`` resume continues, the
    GitHub workflow run (``github-<GITHUB_RUN_ID>-<GITHUB_RUN_ATTEMPT>``), else the run's own id.

    Raises ``UsageProblem`` (exit 2) for an id (from any of these) that is empty, longer
    than 200 characters or holds characters other than letters, digits and ``_.:/@+-``;
    an empty ``$RUNBOOK_CHECKS_ATTEMPT`` counts as unset.
    """
    candidates = [
        (explicit, "--attempt"),
        (environ.get(ATTEMPT_ENV) or None, f"${ATTEMPT_ENV}"),
        (resumes.attempt if resumes is not None else None, "the resumed run's attempt id"),
    ]
    if environ.get("GITHUB_RUN_ID"):
        candidates.append(
            (f"github-{environ['GITHUB_RUN_ID']}-{environ.get('GITHUB_RUN_ATTEMPT') or '1'}", "$GITHUB_RUN_ID/$GITHUB_RUN_ATTEMPT")
        )
    for value, where in candidates:
        if value is not None:
            if not _ATTEMPT_RE.fullmatch(value):
                raise UsageProblem(
                    f"{where} {value!r}: an attempt id is 1-200 letters, digits and _.:/@+- (starting with a letter or digit)"
                )
            return value
    return run_id


def resumed_run(records: Sequence[RunRecord], environment: str, mode: str) -> RunRecord | None:
    """The run a ``--from`` resume continues: the last run of the environment's newest
    attempt of the same kind — a migration for an ``--execute`` resume, else read-only
    checks — when that attempt did not pass; ``None`` otherwise (the resume is then an
    attempt of its own)."""
    kind = MODE_EXECUTE if mode == MODE_EXECUTE else MODE_CHECK
    newest = next(evidence.Attempts(records).newest(environment, kind), None)
    return newest.last if newest is not None and newest.verdict != evidence.PASSED else None


def begin_run(runbook: Runbook, environ: Mapping[str, str], environment: str | None = None) -> RunStart:
    """Start a run: taken before any block can change the checkout or the fingerprinted files."""
    environment = environment or runbook.environment
    run_id = new_run_id()
    start = RunStart(run_id, utc_now(), time.monotonic(), environment, None, ci_context(environ), {}, {})
    start.env = {**runbook_env(runbook, environ, environment), "RUNBOOK_RUN_ID": run_id}
    start.git, start.fingerprints = git_info(runbook.root), fingerprints(runbook)
    return start


def not_run(block: Block, status: str, reason: str, after_failure: bool = False) -> BlockResult:
    """The result of a block that did not execute."""
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


def run_status(results: Sequence[BlockResult]) -> tuple[str, int]:
    """A run's status and exit code from its block results."""
    statuses = {r.status for r in results}
    if INTERRUPTED in statuses:
        return RUN_INTERRUPTED, EXIT_INTERRUPTED
    if statuses & {FAILED, TIMED_OUT}:
        return RUN_FAILED, EXIT_FAILED
    return RUN_PASSED, EXIT_OK


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
    the record's ``options``.
    Raises ``UsageProblem`` for a bad ``attempt`` id.
    """

    def __init__(
        self,
        runbook: Runbook,
        plan: Sequence[PlannedBlock],
        *,
        environ: Mapping[str, str],
        redactor: Redactor,
        mode: str = MODE_CHECK,
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
        self.options: dict[str, Any] = {"runner": runner, "execute": mode != MODE_CHECK, "from": from_id}
        if database is not None:  # a rehearsal's throwaway database: {"kind", "version"}
            self.options["database"] = database
        self.resumes = resumes.run_id if resumes else None
        self.not_rerun = tuple(p.block.id for p in plan if p.reason and p.reason.startswith("before --from"))
        self.results: dict[str, BlockResult] = {}
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
                return r if r.status == PASSED and r.exit_code == block.pending_exit else None
        return None

    def decide(self, block: Block) -> BlockResult | None:
        """The result of ``block`` when it does not execute, else ``None``."""
        item = self.planned.get(block.id)
        after_failure = self.failed_at is not None
        if self.interrupted:
            return not_run(block, NOT_RUN, "not run: the run was interrupted", after_failure)
        if item is None or not item.run:
            return not_run(block, SKIPPED, (item.reason if item else None) or "skipped", after_failure)
        if block.kind == STEP and self.failed_at is not None:
            return not_run(block, NOT_RUN, f"not run: block {self.failed_at!r} failed earlier", True)
        if block.needs is not None and (needed := needed_status(self.results, block.needs)) != PASSED:
            return not_run(
                block, SKIPPED if needed == SKIPPED else NOT_RUN, f"needs {block.needs!r}, which did not pass in this run", after_failure
            )
        if block.after is not None and self._latest(block.after) is None and (pending := self._pending()):
            said = " ".join(line.strip() for line in pending.output.splitlines() if line.strip()) or "migrations are pending"
            said = said if len(said) <= 300 else said[:299] + "…"
            return not_run(
                block,
                SKIPPED,
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
                self.results[block.id] = not_run(block, INTERRUPTED, "interrupted before the block finished starting")
                raise
            if result.status == INTERRUPTED:
                self.interrupted = True
            elif result.status in (FAILED, TIMED_OUT) and self.failed_at is None:
                self.failed_at = block.id
        self.results[block.id] = result
        return result

    def record(self) -> RunRecord:
        """The run's record: every block of the runbook, in document order — but a recovery
        step (a ``.step`` of a troubleshooting entry) only when it executed: it is no part
        of a migration, and a step recorded as skipped would leave the attempt incomplete."""
        fill = (NOT_RUN, "not run: the run was interrupted") if self.interrupted else (SKIPPED, "not selected in this run")
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


def needed_status(results: Mapping[str, BlockResult], block_id: str) -> str:
    """The status of a ``needs=`` block in this run (``skipped`` when it has none)."""
    found = results.get(block_id)
    return found.status if found is not None else SKIPPED


def finish_run(
    runbook: Runbook,
    start: RunStart,
    results: list[BlockResult],
    *,
    environ: Mapping[str, str],
    mode: str,
    resumes: str | None = None,
    not_rerun: tuple[str, ...] = (),
    options: dict[str, Any] | None = None,
    attempt: str | None = None,
) -> RunRecord:
    """The record of a run from its block results (in document order)."""
    status, exit_code = run_status(results)
    return RunRecord(
        run_id=start.run_id,
        runbook_id=runbook.id,
        runbook_path=_relative(runbook),
        runbook_sha256=runbook.sha256,
        environment=start.environment,
        mode=mode,
        status=status,
        exit_code=exit_code,
        started_at=start.started_at,
        finished_at=utc_now(),
        duration_s=round(time.monotonic() - start.monotonic, 4),
        actor=actor(environ),
        host=socket.gethostname(),
        git=start.git,
        ci=start.ci,
        blocks=tuple(results),
        resumes=resumes,
        not_rerun=not_rerun,
        options=options or {},
        fingerprints=start.fingerprints,
        attempt_id=attempt or start.run_id,
        target=resolve_target(runbook.target, {**environ, **start.env}),
        acknowledgements=tuple(a.to_dict() for a in runbook.acknowledge),
    )


def run_plan(
    runbook: Runbook,
    plan: list[PlannedBlock],
    *,
    environ: Mapping[str, str],
    redactor: Redactor,
    observer: RunObserver | None = None,
    mode: str = MODE_CHECK,
    environment: str | None = None,
    resumes: RunRecord | None = None,
    grace_s: float = 2.0,
    attempt: str | None = None,
    prior: Sequence[RunRecord] = (),
    from_id: str | None = None,
    database: dict[str, str] | None = None,
) -> RunRecord:
    """Run the planned blocks in order through a ``RunSession`` and return the record (not yet written).

    After the first failed block, later steps are not run; later checks still run and
    are marked ``after_failure``. Ctrl-C (``KeyboardInterrupt``) stops the current block's
    process group and marks the rest not run; the record's status is then ``interrupted``.
    """
    interrupted = False
    try:
        start = begin_run(runbook, environ, environment)
    except KeyboardInterrupt:
        start = RunStart(new_run_id(), utc_now(), time.monotonic(), environment or runbook.environment, None, None, {}, {})
        interrupted = True
    session = RunSession(
        runbook,
        plan,
        environ=environ,
        redactor=redactor,
        mode=mode,
        environment=environment,
        attempt=attempt,
        resumes=resumes,
        prior=prior,
        grace_s=grace_s,
        from_id=from_id,
        start=start,
        database=database,
    )
    session.interrupted = interrupted
    for item in plan:
        try:
            result = session.run(item.block, observer)
            if observer is not None and (item.run or result.status != SKIPPED):
                observer.finished(result)
        except KeyboardInterrupt:  # between blocks, while starting one, or while reporting
            session.interrupted = True
            if item.block.id not in session.results:
                session.results[item.block.id] = not_run(
                    item.block, INTERRUPTED if item.run else NOT_RUN, "interrupted before the block finished starting"
                )
    return session.record()


def _relative(runbook: Runbook) -> str:
    try:
        return str(runbook.path.resolve().relative_to(runbook.root))
    except ValueError:
        return str(runbook.path)


__all__ = ["PlannedBlock", "RunObserver", "RunSession", "attempt_id", "plan_run", "resumed_run", "run_plan"]
