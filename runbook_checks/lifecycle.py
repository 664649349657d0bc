"""A run's start and its record: what a run knows before its first block (identity,
context, environment) and the ``RunRecord`` made from its block results at the end.

The record is what the ledger appends (``ledger.append_record``); its fields are the
model's (``model.RunRecord``, ``SCHEMA_VERSION``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .context import actor, ci_context, fingerprints, git_info, host_name, new_run_id, runbook_env, utc_now, utf8
from .errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from .model import BlockResult, Runbook, RunRecord
from .status import BlockStatus, RunStatus
from .target import resolve as resolve_target


@dataclass
class RunStart:
    """What a run knows before its first block: identity, context, environment."""

    run_id: str
    #: ISO 8601 UTC (``context.utc_now``)
    started_at: str
    #: ``time.monotonic()`` seconds at the start, for the run's ``duration_s``
    monotonic: float
    environment: str
    #: ``{"commit", "dirty"}`` (``context.git_info``), ``None`` outside a repository
    git: dict[str, Any] | None
    #: the CI context (``context.ci_context``), ``None`` outside CI
    ci: dict[str, Any] | None
    #: ``{path: sha256}`` of the runbook's ``fingerprint`` paths
    fingerprints: dict[str, str]
    #: the environment every block of this run gets (plus ``RUNBOOK_BLOCK_ID``)
    env: dict[str, str]


def begin_run(runbook: Runbook, environ: Mapping[str, str], environment: str | None = None) -> RunStart:
    """Start a run: taken before any block can change the checkout or the fingerprinted
    files. ``environment`` defaults to the runbook's; the blocks' environment is
    ``context.runbook_env`` plus ``RUNBOOK_RUN_ID``. Runs ``git`` (``context.git_info``)."""
    environment = environment or runbook.environment
    run_id = new_run_id()
    start = RunStart(run_id, utc_now(), time.monotonic(), environment, None, ci_context(environ), {}, {})
    start.env = {**runbook_env(runbook, environ, environment), "RUNBOOK_RUN_ID": run_id}
    start.git, start.fingerprints = git_info(runbook.root), fingerprints(runbook)
    return start


def bare_start(runbook: Runbook, environment: str | None = None) -> RunStart:
    """A start that reads nothing (no git, no CI, no fingerprints, no environment): for a
    run interrupted while ``begin_run`` read them, so that it is still recorded."""
    return RunStart(new_run_id(), utc_now(), time.monotonic(), environment or runbook.environment, None, None, {}, {})


def run_status(results: Sequence[BlockResult]) -> tuple[RunStatus, int]:
    """A run's status and exit code from its block results: ``interrupted`` (exit 130)
    when any block was, else ``failed`` (exit 1) when any failed or timed out, else
    ``passed`` (exit 0). Skipped and not-run blocks do not count."""
    statuses = {r.status for r in results}
    if BlockStatus.INTERRUPTED in statuses:
        return RunStatus.INTERRUPTED, EXIT_INTERRUPTED
    if statuses & {BlockStatus.FAILED, BlockStatus.TIMED_OUT}:
        return RunStatus.FAILED, EXIT_FAILED
    return RunStatus.PASSED, EXIT_OK


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
    """The record of a run from its block results (in document order): status and exit
    code by ``run_status``, ``finished_at`` and ``duration_s`` (seconds since ``start``)
    now, the actor and host, the target's digest (``target.resolve``, never the URL) and, in a
    fleet run, its name.
    ``resumes``: the run id a ``--from`` resume continues; ``attempt`` defaults to the run's id."""
    status, exit_code = run_status(results)
    return RunRecord(
        run_id=start.run_id,
        runbook_id=runbook.id,
        runbook_path=utf8(_relative(runbook)),
        runbook_sha256=runbook.sha256,
        environment=start.environment,
        mode=mode,
        status=status,
        exit_code=exit_code,
        started_at=start.started_at,
        finished_at=utc_now(),
        duration_s=round(time.monotonic() - start.monotonic, 4),
        actor=actor(environ),
        host=host_name(),
        git=start.git,
        ci=start.ci,
        blocks=tuple(results),
        resumes=resumes,
        not_rerun=not_rerun,
        options=options or {},
        fingerprints=start.fingerprints,
        attempt_id=attempt or start.run_id,
        target=_target(runbook, {**environ, **start.env}),
        acknowledgements=tuple(a.to_dict() for a in runbook.acknowledge),
    )


def _target(runbook: Runbook, environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The record's ``target``: ``target.resolve`` of the runbook's template, plus ``name``
    (the selected target's) in a fleet run."""
    target = resolve_target(runbook.target, environ)
    if runbook.selected is not None and target is not None:
        target["name"] = runbook.selected.name
    return target


def _relative(runbook: Runbook) -> str:
    """The runbook's path relative to its project root, as written when it lies outside."""
    try:
        return str(runbook.path.resolve().relative_to(runbook.root))
    except ValueError:
        return str(runbook.path)


__all__ = ["RunStart", "bare_start", "begin_run", "finish_run", "run_status"]
