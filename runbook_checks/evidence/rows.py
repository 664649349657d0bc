"""What views show of a runbook's blocks: each block's evidence, the criteria rows and
the timeline rows, from the attempt ``attempts.State`` shows.

The rules are the package's (``evidence/__init__.py``, ``docs/reference/evidence.md``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime

from ..model import BlockResult, Runbook, RunRecord
from ..status import BlockStatus, EvidenceStatus, Mode
from .attempts import Attempt, State


@dataclass(frozen=True)
class Evidence:
    """What is known about one block: its latest executed result for the environment shown."""

    #: the block's id
    block_id: str
    #: the block status, ``stale`` (the block changed since) or ``never-run``
    status: str
    #: the attempt the result comes from: its mode and id; the run: its id, when it
    #: finished (UTC ISO), who ran it, its commit and environment (all ``None``: never run)
    mode: str | None = None
    attempt_id: str | None = None
    run_id: str | None = None
    when: str | None = None
    actor: str | None = None
    commit: str | None = None
    environment: str | None = None
    #: the result's exit code, seconds and (redacted) output
    exit_code: int | None = None
    duration_s: float | None = None
    output: str | None = None
    #: troubleshooting entries that explain the result (when it failed)
    troubleshooting: tuple[str, ...] = ()


def _evidence(block_id: str, sha256: str, found: tuple[BlockResult, RunRecord] | None, attempt: Attempt | None) -> Evidence:
    """The evidence ``found`` (a result and its run in ``attempt``) gives of the block whose
    current hash is ``sha256``: ``stale`` when it ran as other code, ``never-run`` with none."""
    if found is None or attempt is None:
        return Evidence(block_id, EvidenceStatus.NEVER_RUN)
    result, run = found
    return Evidence(
        block_id=block_id,
        status=EvidenceStatus.STALE if result.sha256 != sha256 else result.status,
        mode=attempt.mode,
        attempt_id=attempt.id,
        run_id=run.run_id,
        when=run.finished_at,
        actor=run.actor,
        commit=(run.git or {}).get("commit"),
        environment=run.environment,
        exit_code=result.exit_code,
        duration_s=result.duration_s,
        output=result.output,
        troubleshooting=result.troubleshooting,
    )


@dataclass(frozen=True)
class CriterionRow:
    """One success criterion: its status over the blocks that prove it, and where the
    newest of their results comes from (``None`` fields: never run)."""

    #: the criterion as written, and the ids of the blocks that prove it (document order)
    criterion: str
    blocks: tuple[str, ...]
    #: an ``EvidenceStatus`` (rules in the package docstring)
    status: str
    #: the newest result's run: when it finished (UTC ISO), who ran it, its commit and run id
    when: str | None
    actor: str | None
    commit: str | None
    run_id: str | None
    environment: str | None = None
    #: the mode of the attempt the evidence comes from (``rehearsal`` is practice)
    mode: str | None = None
    attempt_id: str | None = None


@dataclass(frozen=True)
class TimelineRow:
    """One phase of the timeline: its estimate and what the shown attempt measured."""

    #: the phase id and title
    phase: str
    name: str
    #: the estimate as written (``1-2 min``) and as (low, high) seconds
    estimate: str
    estimate_s: tuple[float, float]
    #: seconds measured over the attempt's blocks of this phase (``None``: none ran to its end)
    measured_s: float | None
    #: ``within``, ``over``, ``under`` the estimate, or ``not measured``
    verdict: str


def block_evidence(runbook: Runbook, st: State) -> list[Evidence]:
    """Per block, in document order: its latest executed result among the environment's
    attempts (any mode, newest attempt first), else in the latest rehearsal. Reads
    attempts only until every block is found."""
    wanted = {b.id for b in runbook.blocks}
    found: dict[str, tuple[tuple[BlockResult, RunRecord], Attempt]] = {}
    pools = itertools.chain(st.attempts.newest(st.environment), [st.rehearsal] if st.rehearsal else [])
    for a in pools:
        for block_id in wanted & a.results.keys() - found.keys():
            found[block_id] = (a.results[block_id], a)
        if len(found) == len(wanted):
            break
    return [_evidence(b.id, b.sha256, *found[b.id]) if b.id in found else Evidence(b.id, EvidenceStatus.NEVER_RUN) for b in runbook.blocks]


def criteria(runbook: Runbook, attempt: Attempt | None) -> list[CriterionRow]:
    """One row per criterion (document order) from ``attempt``'s results."""
    order: dict[str, list[str]] = {}
    for block in runbook.blocks:
        if block.criterion:
            order.setdefault(block.criterion, []).append(block.id)
    rows = []
    for criterion, ids in order.items():
        evs = [_evidence(i, runbook.block(i).sha256, attempt.results.get(i) if attempt else None, attempt) for i in ids]
        statuses = {e.status for e in evs}
        if EvidenceStatus.NEVER_RUN in statuses:
            status = EvidenceStatus.NEVER_RUN
        elif statuses == {BlockStatus.PASSED}:
            status = EvidenceStatus.PASSED
        elif EvidenceStatus.STALE in statuses and statuses <= {BlockStatus.PASSED, EvidenceStatus.STALE}:
            status = EvidenceStatus.STALE
        else:
            status = next(e.status for e in evs if e.status not in (BlockStatus.PASSED, EvidenceStatus.STALE))
        latest = max((e for e in evs if e.when), key=lambda e: e.when or "", default=None)
        rows.append(
            CriterionRow(
                criterion,
                tuple(ids),
                status,
                latest and latest.when,
                latest and latest.actor,
                latest and latest.commit,
                latest and latest.run_id,
                latest and latest.environment,
                latest and latest.mode,
                latest and latest.attempt_id,
            )
        )
    return rows


def range_verdict(measured: float | None, rng: tuple[float, float]) -> str:
    """``within``, ``over`` or ``under`` the (low, high) range in seconds, or ``not measured``."""
    if measured is None:
        return "not measured"
    if measured > rng[1]:
        return "over"
    return "under" if measured < rng[0] else "within"


def timeline(runbook: Runbook, attempt: Attempt | None) -> tuple[list[TimelineRow], float | None, str]:
    """Rows per phase, the total measured and the total's verdict, from ``attempt`` (a
    migration or rehearsal; a checks-only attempt measures nothing)."""
    measured: dict[str, float] = {}
    if attempt is not None and attempt.mode != Mode.CHECK:
        for run in attempt.runs:
            for b in run.blocks:
                if b.phase and b.status in (BlockStatus.PASSED, BlockStatus.FAILED, BlockStatus.TIMED_OUT):
                    measured[b.phase] = measured.get(b.phase, 0.0) + b.duration_s
    rows = [
        TimelineRow(
            p.id,
            p.name,
            p.estimate,
            p.estimate_s,
            round(measured[p.id], 4) if p.id in measured else None,
            range_verdict(measured.get(p.id), p.estimate_s),
        )
        for p in runbook.phases
    ]
    total = round(sum(r.measured_s for r in rows if r.measured_s is not None), 4) if measured else None
    if total is None:
        total_verdict = "not measured"
    elif any(r.measured_s is None for r in rows):
        total_verdict = EvidenceStatus.INCOMPLETE
    else:
        total_verdict = range_verdict(total, estimate_s(runbook))
    return rows, total, total_verdict


def estimate_s(runbook: Runbook) -> tuple[float, float]:
    """The whole runbook's estimate in seconds: its phases' (low, high) added up."""
    return sum(p.estimate_s[0] for p in runbook.phases), sum(p.estimate_s[1] for p in runbook.phases)


def overdue(when: str | None, max_age_s: float, now: datetime | None = None) -> bool:
    """A result recorded at ``when`` (UTC ISO) is older than ``max_age_s``."""
    if not when:
        return False
    age = ((now or datetime.now(UTC)) - datetime.fromisoformat(when.replace("Z", "+00:00"))).total_seconds()
    return age > max_age_s
