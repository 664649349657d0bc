"""Run a plan: the planned blocks, in document order, through one ``RunSession``, and the
run's record (not yet written).

The pieces are their own modules: ``plan`` (which blocks run), ``session`` (the skip
rules and the execution of one block), ``resume`` (the attempt id, the run a resume
continues), ``lifecycle`` (a run's start and its record). Nothing here checks confirmation,
secrets or locks: callers apply ``gates`` and ``lock`` first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .lifecycle import bare_start, begin_run
from .model import Runbook, RunRecord
from .plan import PlannedBlock
from .redact import Redactor
from .session import RunObserver, RunSession, not_run
from .signals import signals_gated
from .status import BlockStatus, Mode


def run_plan(
    runbook: Runbook,
    plan: list[PlannedBlock],
    *,
    environ: Mapping[str, str],
    redactor: Redactor,
    observer: RunObserver | None = None,
    mode: str = Mode.CHECK,
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
    are marked ``after_failure``. Ctrl-C (``KeyboardInterrupt``, or a stop signal turned
    into one by ``signals.signals_interrupt``) stops the current block's process group and
    marks the rest not run; the record's status is then ``interrupted``. ``observer``
    hears every block's result except a planned skip's. The keyword arguments are
    ``RunSession``'s. Raises ``UsageProblem`` for a bad ``attempt`` id.
    """
    interrupted = False
    try:
        start = begin_run(runbook, environ, environment)
    except KeyboardInterrupt:
        start = bare_start(runbook, environment)
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
    with signals_gated():  # one stop-signal handler for the run, not one per block
        for item in plan:
            try:
                result = session.run(item.block, observer)
                if observer is not None and (item.run or result.status != BlockStatus.SKIPPED):
                    observer.finished(result)
            except KeyboardInterrupt:  # between blocks, while starting one, or while reporting
                session.interrupted = True
                if item.block.id not in session.results:
                    session.results[item.block.id] = not_run(
                        item.block,
                        BlockStatus.INTERRUPTED if item.run else BlockStatus.NOT_RUN,
                        "interrupted before the block finished starting",
                    )
    return session.record()


__all__ = ["run_plan"]
