"""Runbook + verified ledger records -> the report every view renders (pure).

The CLI ``report`` command, the GitHub step summary, JUnit and the site all render a
``Report``; its content is decided by the evidence policy (the ``evidence`` package): the
attempt shown, its verdict, the criteria, the timeline and each block's evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from . import evidence as policy
from .evidence import CriterionRow, Evidence, TimelineRow
from .model import Runbook, RunRecord
from .status import EvidenceStatus
from .units import format_duration


@dataclass(frozen=True)
class AttemptSummary:
    """The attempt a report is about, as every view shows it (``evidence.Attempt`` without its runs)."""

    #: the attempt id and its environment
    id: str
    environment: str
    #: a ``status.Mode`` (``execute``: a migration) and an ``EvidenceStatus`` verdict
    mode: str
    verdict: str
    #: when its first run started and its latest finished (UTC ISO), and its runs' seconds added up
    started_at: str
    finished_at: str
    duration_s: float
    #: who ran its latest run, and that run's commit
    actor: str
    commit: str | None
    #: how many runs it has
    runs: int
    #: the CI run's ``http(s)://`` address, if any
    ci_url: str | None

    @classmethod
    def of(cls, a: policy.Attempt) -> AttemptSummary:
        """The summary of attempt ``a``."""
        return cls(
            a.id, a.environment, a.mode, a.verdict, a.started_at, a.finished_at, a.duration_s, a.actor, a.commit, len(a.runs), a.ci_url
        )


@dataclass(frozen=True)
class Report:
    """What every view renders of one runbook in one environment (``build_report``);
    ``to_dict`` is the ``report --format json`` document."""

    #: the runbook's id and title, and the environment reported on
    runbook_id: str
    title: str
    environment: str
    #: one line on the state of the environment (``evidence.headline``)
    headline: str
    #: the attempt shown (latest migration, else rehearsal, else checks-only), and its verdict
    attempt: AttemptSummary | None
    verdict: str
    #: each block's evidence, the criteria rows and the timeline rows, in document order
    blocks: tuple[Evidence, ...]
    criteria: tuple[CriterionRow, ...]
    timeline: tuple[TimelineRow, ...]
    #: the attempt the timeline is measured from
    timeline_attempt: str | None
    #: the whole runbook's estimate (as text and as (low, high) seconds), the seconds
    #: measured and the total's verdict (``within``, ``over``, ``under``, ``not measured``, ``incomplete``)
    total_estimate: str
    total_estimate_s: tuple[float, float]
    total_measured_s: float | None
    total_verdict: str

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON values (``dataclasses.asdict``)."""
        return asdict(self)


def build_report(runbook: Runbook, records: Sequence[RunRecord] | policy.Attempts, environment: str | None = None) -> Report:
    """The report of ``runbook`` in ``environment`` (default: the runbook's own) from verified
    records (or their ``evidence.Attempts``)."""
    st = policy.state(runbook.id, environment or runbook.environment, records)
    shown = st.shown
    rows, total, total_verdict = policy.timeline(runbook, shown)
    lo, hi = policy.estimate_s(runbook)
    return Report(
        runbook_id=runbook.id,
        title=runbook.title,
        environment=st.environment,
        headline=policy.headline(st),
        attempt=AttemptSummary.of(shown) if shown else None,
        verdict=shown.verdict if shown else EvidenceStatus.NEVER_RUN,
        blocks=tuple(policy.block_evidence(runbook, st)),
        criteria=tuple(policy.criteria(runbook, shown)),
        timeline=tuple(rows),
        timeline_attempt=shown.id if shown is not None and total is not None else None,
        total_estimate=_range_text(lo, hi),
        total_estimate_s=(lo, hi),
        total_measured_s=total,
        total_verdict=total_verdict,
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
    """A (low, high) estimate in seconds as words: ``2-5 min`` in whole minutes, else ``units.format_duration``'s."""
    if lo % 60 == 0 and hi % 60 == 0:
        lo_m, hi_m = int(lo // 60), int(hi // 60)
        return f"{lo_m} min" if lo_m == hi_m else f"{lo_m}-{hi_m} min"
    return f"{format_duration(lo)} - {format_duration(hi)}" if lo != hi else format_duration(lo)


__all__ = ["Report", "AttemptSummary", "CriterionRow", "TimelineRow", "Evidence", "build_report", "comparison"]
