"""Runbook + ledger records -> the success-criteria and timeline tables (pure).

The CLI ``report`` command, the GitHub step summary and the site all render these
same tables. A block's latest executed result counts; if the block's content changed
since (its SHA-256 differs), it is ``stale``, never ``passed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .model import EXECUTED, PASSED, Block, Runbook, RunRecord
from .parse import format_duration

STALE = "stale"
NEVER_RUN = "never-run"


@dataclass(frozen=True)
class Evidence:
    """The latest executed result of one block, and the run it came from."""

    block_id: str
    status: str
    run_id: str | None = None
    when: str | None = None
    actor: str | None = None
    commit: str | None = None
    environment: str | None = None
    exit_code: int | None = None
    duration_s: float | None = None
    output: str | None = None
    #: troubleshooting entries that explain the result (when it failed)
    troubleshooting: tuple[str, ...] = ()


@dataclass(frozen=True)
class CriterionRow:
    criterion: str
    blocks: tuple[str, ...]
    status: str
    when: str | None
    actor: str | None
    commit: str | None
    run_id: str | None
    #: where the evidence was recorded (``rehearsal`` results are practice, not the real thing)
    environment: str | None = None


@dataclass(frozen=True)
class TimelineRow:
    phase: str
    name: str
    estimate: str
    estimate_s: tuple[float, float]
    measured_s: float | None
    #: ``within``, ``over``, ``under`` the estimate, or ``not measured``
    verdict: str


@dataclass(frozen=True)
class Report:
    runbook_id: str
    title: str
    blocks: tuple[Evidence, ...]
    criteria: tuple[CriterionRow, ...]
    timeline: tuple[TimelineRow, ...]
    #: the run the timeline is measured from
    timeline_run: str | None
    total_estimate: str
    total_estimate_s: tuple[float, float]
    total_measured_s: float | None
    total_verdict: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _verdict(measured: float | None, rng: tuple[float, float]) -> str:
    if measured is None:
        return "not measured"
    if measured > rng[1]:
        return "over"
    return "under" if measured < rng[0] else "within"


def latest_evidence(block: Block, records: Sequence[RunRecord]) -> Evidence:
    for record in reversed(records):
        result = record.result(block.id)
        if result is None or result.status not in EXECUTED:
            continue
        status = STALE if result.sha256 != block.sha256 else result.status
        return Evidence(
            block_id=block.id,
            status=status,
            run_id=record.run_id,
            when=record.finished_at,
            actor=record.actor,
            commit=(record.git or {}).get("commit"),
            environment=record.environment,
            exit_code=result.exit_code,
            duration_s=result.duration_s,
            output=result.output,
            troubleshooting=result.troubleshooting,
        )
    return Evidence(block_id=block.id, status=NEVER_RUN)


def _criteria(runbook: Runbook, evidence: dict[str, Evidence]) -> list[CriterionRow]:
    order: dict[str, list[str]] = {}
    for block in runbook.blocks:
        if block.criterion:
            order.setdefault(block.criterion, []).append(block.id)
    rows = []
    for criterion, ids in order.items():
        evs = [evidence[i] for i in ids]
        statuses = {e.status for e in evs}
        if NEVER_RUN in statuses:
            status = NEVER_RUN
        elif statuses == {PASSED}:
            status = PASSED
        elif STALE in statuses and statuses <= {PASSED, STALE}:
            status = STALE
        else:
            status = next(e.status for e in evs if e.status not in (PASSED, STALE))
        latest = max((e for e in evs if e.when), key=lambda e: e.when or "", default=None)
        rows.append(CriterionRow(criterion, tuple(ids), status, latest and latest.when, latest and latest.actor, latest and latest.commit,
                                 latest and latest.run_id, latest and latest.environment))
    return rows


def _timeline_run(runbook: Runbook, records: Sequence[RunRecord]) -> RunRecord | None:
    """The latest run that executed at least one block with a phase."""
    phased = {b.id for b in runbook.blocks if b.phase}
    for record in reversed(records):
        if any(r.id in phased and r.status in EXECUTED for r in record.blocks):
            return record
    return None


def build_report(runbook: Runbook, records: Sequence[RunRecord]) -> Report:
    evidence = {b.id: latest_evidence(b, records) for b in runbook.blocks}
    run = _timeline_run(runbook, records)
    timeline = []
    for phase in runbook.phases:
        measured = None
        if run is not None:
            durations = [r.duration_s for r in run.blocks if r.phase == phase.id and r.status in EXECUTED]
            measured = round(sum(durations), 4) if durations else None
        timeline.append(TimelineRow(phase.id, phase.name, phase.estimate, phase.estimate_s, measured, _verdict(measured, phase.estimate_s)))
    lo = sum(p.estimate_s[0] for p in runbook.phases)
    hi = sum(p.estimate_s[1] for p in runbook.phases)
    measured_rows = [t.measured_s for t in timeline if t.measured_s is not None]
    total = round(sum(measured_rows), 4) if measured_rows else None
    return Report(
        runbook_id=runbook.id,
        title=runbook.title,
        blocks=tuple(evidence.values()),
        criteria=tuple(_criteria(runbook, evidence)),
        timeline=tuple(timeline),
        timeline_run=run.run_id if run else None,
        total_estimate=_range_text(lo, hi),
        total_estimate_s=(lo, hi),
        total_measured_s=total,
        total_verdict=_verdict(total, (lo, hi)),
    )


def comparison(runbooks: list[Runbook]) -> list[tuple[str, list[str]]]:
    """Rows (aspect, one value per runbook) comparing runbooks from their front matter."""
    rows = [
        ("Environment", [rb.environment for rb in runbooks]),
        ("Confirm", [f"`{rb.confirm}`" if rb.confirm else "—" for rb in runbooks]),
        ("Secret", [", ".join(f"`{s}`" for s in rb.secrets) or "—" for rb in runbooks]),
    ]
    labels: list[str] = []
    for rb in runbooks:
        labels += [label for label, _ in rb.summary if label not in labels]
    for label in labels:
        rows.append((label, [dict(rb.summary).get(label, "—") for rb in runbooks]))
    rows.append(("Requires", [", ".join(r.runbook for r in rb.requires) or "—" for rb in runbooks]))
    return rows


def _range_text(lo: float, hi: float) -> str:
    if lo % 60 == 0 and hi % 60 == 0:
        lo_m, hi_m = int(lo // 60), int(hi // 60)
        return f"{lo_m} min" if lo_m == hi_m else f"{lo_m}-{hi_m} min"
    return f"{format_duration(lo)} - {format_duration(hi)}" if lo != hi else format_duration(lo)


__all__ = ["Report", "CriterionRow", "TimelineRow", "Evidence", "build_report", "latest_evidence", "STALE", "NEVER_RUN"]
