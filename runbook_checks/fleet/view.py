"""The fleet view: one row per target of a runbook, from each target's verified ledger.

Each row's verdict, attempt, time, duration and CI link are those ``report`` shows for
the target's ledger: the evidence policy's attempt shown (``evidence.state(...).shown``,
as ``report.build_report`` picks it) and its verdict, so the fleet view and ``report`` on
that target's ledger never disagree (a test compares them). What else a row shows
— the migrations fingerprint, the drift check and the pending migrations — is read from
that same attempt's recorded results (rules in docs/reference/fleets.md).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .. import evidence as policy
from ..ledger import Verification, verified_records
from ..model import Runbook, RunRecord
from ..status import BlockStatus, EvidenceStatus
from .collect import target_ledgers
from .labels import matches, target_labels

#: how many of the slowest targets a fleet view lists
SLOWEST = 5
#: the words ``scripts/pending-migrations.mjs`` heads its list with (``3 pending migration(s):``)
PENDING_RE = re.compile(r"^(\d+) pending migration\(s\):$", re.M)
#: a block runs the drift check when its code runs this command
DRIFT_COMMAND = "runbook-checks drift"


@dataclass(frozen=True)
class FleetRow:
    """One target: its latest attempt as the evidence policy shows it."""

    #: the target's name (the newest record's ``target.name``, else the ledger's file stem), its labels and ledger
    target: str
    labels: dict[str, str]
    ledger: str
    #: the attempt shown (``None``: never run), its ``EvidenceStatus`` verdict and ``status.Mode``
    attempt: str | None
    verdict: str
    mode: str | None
    #: when its latest run finished (UTC ISO) and its runs' seconds added up
    finished_at: str | None
    duration_s: float | None
    #: the first 12 hex digits of the fingerprinted content it ran with (``fingerprint_short``)
    fingerprint: str | None
    #: the ``BlockStatus`` of the attempt's drift check (``None``: not run in it, or the runbook has none)
    drift: str | None
    #: how many migrations its pending-migrations check listed (``-1``: some, their number not
    #: in its output; ``None``: not recorded), and their names
    pending: int | None
    pending_names: tuple[str, ...]
    #: the CI job's address (``http(s)://`` only)
    ci_url: str | None
    #: the ledger's first bad line (``path:N: problem``): the row then shows the records before it
    problem: str | None = None


@dataclass(frozen=True)
class Fleet:
    """What ``report --fleet`` and the site's fleet page show of one runbook; ``to_dict`` is the JSON document."""

    runbook_id: str
    title: str
    environment: str
    #: one row per target, by name
    rows: tuple[FleetRow, ...]
    #: how many targets have each verdict, in ``EvidenceStatus`` order (verdicts no target has left out)
    counts: tuple[tuple[str, int], ...]
    #: the ``SLOWEST`` targets whose shown attempt took longest, slowest first
    slowest: tuple[FleetRow, ...]

    def to_dict(self) -> dict[str, Any]:
        """The fleet as JSON values; ``counts`` as a mapping of verdict to number."""
        out = asdict(self)
        out["counts"] = dict(self.counts)
        out["slowest"] = [r.target for r in self.slowest]
        return out


def fingerprint_short(fingerprints: dict[str, str]) -> str | None:
    """The fingerprinted content of an attempt in 12 hex digits: the one path's hash, or with
    several paths the SHA-256 of their sorted ``path=hash`` lines (``None``: nothing fingerprinted)."""
    if not fingerprints:
        return None
    if len(fingerprints) == 1:
        return str(next(iter(fingerprints.values())))[:12]
    text = "\n".join(f"{k}={v}" for k, v in sorted(fingerprints.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _pending(runbook: Runbook, attempt: policy.Attempt) -> tuple[int | None, tuple[str, ...]]:
    """What the attempt's check with ``pending-exit`` recorded: ``(0, ())`` when it exited 0,
    the count (and names, when its output lists them as pending-migrations.mjs does) when it
    exited with its pending code, ``(None, ())`` when it did not run or failed."""
    for block in runbook.blocks:
        if block.pending_exit is None or (result := attempt.result(block.id)) is None:
            continue
        if result.exit_code == block.pending_exit:
            m = PENDING_RE.search(result.output)
            if m is None:
                return -1, ()
            after = result.output[m.end() :].split("\n")[1 : int(m.group(1)) + 1]
            return int(m.group(1)), tuple(line.strip() for line in after if line.startswith("  ") and line.strip())
        if result.exit_code in block.exit_codes and result.status == BlockStatus.PASSED:
            return 0, ()
    return None, ()


def fleet_row(
    runbook: Runbook,
    stem: str,
    ledger: Path,
    records: Sequence[RunRecord],
    verification: Verification | None,
    environment: str | None = None,
) -> FleetRow:
    """The row of the target whose ledger ``ledger`` (file stem ``stem``) holds ``records``
    (verified; those before a bad line), in ``environment`` (default: the runbook's).

    The attempt and verdict are ``report.build_report``'s: the evidence policy's attempt
    shown (``evidence.state(...).shown``) and its verdict, asked of the policy directly so
    that the criteria and timeline a row does not show are not computed."""
    st = policy.state(runbook.id, environment or runbook.environment, policy.Attempts(records))
    shown = st.shown
    newest = shown.last if shown is not None else (records[len(records) - 1] if len(records) else None)
    name = newest.target.get("name") if newest is not None and isinstance(newest.target, dict) else None
    name = name if isinstance(name, str) and name else stem
    pending, names, drift = None, (), None
    if shown is not None:
        pending, names = _pending(runbook, shown)
        drift_ids = [b.id for b in runbook.blocks if DRIFT_COMMAND in b.code]
        drift = next((r.status for i in drift_ids if (r := shown.result(i)) is not None), None)
    return FleetRow(
        target=name,
        labels=target_labels(runbook, name),
        ledger=str(ledger),
        attempt=shown.id if shown else None,
        verdict=shown.verdict if shown else EvidenceStatus.NEVER_RUN,
        mode=shown.mode if shown else None,
        finished_at=shown.finished_at if shown else None,
        duration_s=shown.duration_s if shown else None,
        fingerprint=fingerprint_short(shown.fingerprints) if shown else None,
        drift=drift,
        pending=pending,
        pending_names=names,
        ci_url=shown.ci_url if shown else None,
        problem=None if verification is None or verification.ok else str(verification),
    )


def build_fleet(
    runbook: Runbook, rows: Sequence[FleetRow], environment: str | None = None, wanted: Sequence[tuple[str, str]] = ()
) -> Fleet:
    """The fleet view of ``runbook`` from its targets' rows, keeping those whose labels
    match every ``wanted`` pair (``labels.matches``)."""
    kept = tuple(sorted((r for r in rows if matches(r.target, r.labels, wanted)), key=lambda r: r.target))
    counts = tuple((str(s), n) for s in EvidenceStatus if (n := sum(r.verdict == s for r in kept)))
    timed = sorted((r for r in kept if r.duration_s is not None), key=lambda r: (-(r.duration_s or 0), r.target))
    return Fleet(runbook.id, runbook.title, environment or runbook.environment, kept, counts, tuple(timed[:SLOWEST]))


def read_fleet(
    runbook: Runbook,
    results_dir: Path,
    environment: str | None = None,
    wanted: Sequence[tuple[str, str]] = (),
    validate_schema: bool = True,
) -> Fleet:
    """The fleet view of ``runbook`` from its target ledgers under ``results_dir``
    (``collect.target_ledgers``), each verified (the record schema too unless
    ``validate_schema`` is false). Raises ``OSError`` when a ledger cannot be read."""
    rows = []
    for stem, path in target_ledgers(results_dir, runbook.id):
        records, verification = verified_records(path, validate_schema=validate_schema)
        rows.append(fleet_row(runbook, stem, path, records, verification, environment))
    return build_fleet(runbook, rows, environment, wanted)
