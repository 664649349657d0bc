"""Plan and run a runbook: which blocks run, in document order, and the run record.

``plan_run`` is pure (selection, gating of steps, ``--from``); ``run_plan`` runs the
planned blocks through ``runner.run_block`` and returns a ``RunRecord``. Neither
checks confirmation, secrets or locks: callers apply ``gates`` first.
"""

from __future__ import annotations

import difflib
import getpass
import hashlib
import secrets
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from string import Template
from typing import Any, Protocol

from .errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, UsageProblem
from .model import (
    FAILED,
    INTERRUPTED,
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
from .runner import Observer, run_block, utc_now
from .troubleshoot import explain

GITHUB_CONTEXT = (
    "GITHUB_ACTOR", "GITHUB_REPOSITORY", "GITHUB_WORKFLOW", "GITHUB_JOB", "GITHUB_RUN_ID",
    "GITHUB_RUN_NUMBER", "GITHUB_RUN_ATTEMPT", "GITHUB_EVENT_NAME", "GITHUB_REF", "GITHUB_SHA",
    "GITHUB_SERVER_URL",
)


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
    for block in runbook.blocks:
        if block.id == from_id:
            before_from = False
        if before_from:
            plan.append(PlannedBlock(block, False, f"before --from {from_id}: not re-run"))
        elif only and block.id not in only:
            plan.append(PlannedBlock(block, False, "not selected by --only"))
        elif block.id in skip:
            plan.append(PlannedBlock(block, False, "skipped by --skip"))
        elif block.kind == STEP and not execute:
            plan.append(PlannedBlock(block, False, "mutating step: runs only with --execute --confirm TOKEN"))
        else:
            plan.append(PlannedBlock(block, True))
    return plan


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def git_info(root: Any) -> dict[str, Any] | None:
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    if commit.returncode != 0:
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def ci_context(environ: Mapping[str, str]) -> dict[str, Any] | None:
    github = {k[len("GITHUB_") :].lower(): environ[k] for k in GITHUB_CONTEXT if environ.get(k)}
    if github.get("server_url") and github.get("repository") and github.get("run_id"):
        github["run_url"] = f"{github['server_url']}/{github['repository']}/actions/runs/{github['run_id']}"
    if github:
        return {"provider": "github-actions", **github}
    if environ.get("CI"):
        return {"provider": "generic"}
    return None


def actor(environ: Mapping[str, str]) -> str:
    if environ.get("GITHUB_ACTOR"):
        return environ["GITHUB_ACTOR"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def fingerprint(path: Path) -> str:
    """SHA-256 over the relative names and contents of a file or of every file under a directory."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        name = f.relative_to(path).as_posix() if path.is_dir() else f.name
        digest.update(name.encode() + b"\0" + hashlib.sha256(f.read_bytes()).digest())
    return digest.hexdigest()


def fingerprints(runbook: Runbook) -> dict[str, str]:
    return {p: fingerprint(runbook.workdir / p) for p in runbook.fingerprint if (runbook.workdir / p).exists()}


def runbook_env(runbook: Runbook, environ: Mapping[str, str], environment: str) -> dict[str, str]:
    """The environment shared by every block: the caller's, the runbook's variables, ``env``."""
    env = dict(environ)
    env.update(RUNBOOK_ID=runbook.id, RUNBOOK_ENVIRONMENT=environment, RUNBOOK_WORKDIR=str(runbook.workdir))
    for name, value in runbook.env:
        env[name] = Template(value).safe_substitute(env)
    return env


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
    return BlockResult(id=block.id, kind=block.kind, status=status, line=block.line, sha256=block.sha256, phase=block.phase,
                       criterion=block.criterion, reason=reason, after_failure=after_failure)


def finish_run(runbook: Runbook, start: RunStart, results: list[BlockResult], *, environ: Mapping[str, str], mode: str,
               resumes: str | None = None, not_rerun: tuple[str, ...] = (), options: dict[str, Any] | None = None) -> RunRecord:
    """The record of a run from its block results (in document order)."""
    statuses = {r.status for r in results}
    if INTERRUPTED in statuses:
        status, exit_code = RUN_INTERRUPTED, EXIT_INTERRUPTED
    elif statuses & {FAILED, TIMED_OUT}:
        status, exit_code = RUN_FAILED, EXIT_FAILED
    else:
        status, exit_code = RUN_PASSED, EXIT_OK
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
    )


def run_plan(
    runbook: Runbook,
    plan: list[PlannedBlock],
    *,
    environ: Mapping[str, str],
    redactor: Redactor,
    observer: RunObserver | None = None,
    mode: str = "check",
    environment: str | None = None,
    resumes: str | None = None,
    grace: float = 2.0,
    options: dict[str, Any] | None = None,
) -> RunRecord:
    """Run the planned blocks in order and return the record (not yet written).

    After the first failed block, later steps are not run; later checks still run and
    are marked ``after_failure``. Ctrl-C (``KeyboardInterrupt``) stops the current block's
    process group and marks the rest not run; the record's status is then ``interrupted``.
    """
    results: list[BlockResult] = []
    failed_at: str | None = None
    interrupted = False
    outcome: dict[str, str] = {}
    try:
        start = begin_run(runbook, environ, environment)
    except KeyboardInterrupt:
        start = RunStart(new_run_id(), utc_now(), time.monotonic(), environment or runbook.environment, None, None, {}, {})
        interrupted = True
    for item in plan:
        block = item.block
        try:
            if interrupted:
                result = not_run(block, NOT_RUN, "not run: the run was interrupted", failed_at is not None)
            elif not item.run:
                result = not_run(block, SKIPPED, item.reason or "skipped", failed_at is not None)
            elif block.kind == STEP and failed_at is not None:
                result = not_run(block, NOT_RUN, f"not run: block {failed_at!r} failed earlier", True)
            elif block.needs is not None and outcome.get(block.needs) != PASSED:
                status = SKIPPED if outcome.get(block.needs, SKIPPED) == SKIPPED else NOT_RUN
                result = not_run(block, status, f"needs {block.needs!r}, which did not pass in this run", failed_at is not None)
            else:
                if observer is not None:
                    observer.started(block)
                result = explain(runbook, run_block(block, cwd=runbook.workdir, env={**start.env, "RUNBOOK_BLOCK_ID": block.id},
                                                    redactor=redactor, observer=observer, grace=grace, after_failure=failed_at is not None))
                if result.status == INTERRUPTED:
                    interrupted = True
                elif result.status in (FAILED, TIMED_OUT) and failed_at is None:
                    failed_at = block.id
            results.append(result)
            outcome[block.id] = result.status
            if observer is not None and (item.run or result.status != SKIPPED):
                observer.finished(result)
        except KeyboardInterrupt:  # between blocks, while starting one, or while reporting
            interrupted = True
            if not results or results[-1].id != block.id:
                results.append(not_run(block, INTERRUPTED if item.run else NOT_RUN, "interrupted before the block finished starting"))
                outcome[block.id] = results[-1].status
    not_rerun = tuple(p.block.id for p in plan if p.reason and p.reason.startswith("before --from"))
    return finish_run(runbook, start, results, environ=environ, mode=mode, resumes=resumes, not_rerun=not_rerun, options=options)


def _relative(runbook: Runbook) -> str:
    try:
        return str(runbook.path.resolve().relative_to(runbook.root))
    except ValueError:
        return str(runbook.path)


__all__ = ["PlannedBlock", "RunObserver", "plan_run", "run_plan"]
