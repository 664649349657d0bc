"""The evidence policy: what the verified records of a runbook say, in one place.

Every view asks this module — ``report`` (Markdown, JSON), the site (banner, badges,
criteria, timeline, history, audit), the GitHub step summary, JUnit and the
``requires`` gate — so they cannot disagree. It is pure: records in, answers out.

The rules (documented in ``docs/reference/evidence.md``):

- An **attempt** is one try at migrating one target: the runs of one environment that
  share an attempt id (one GitHub workflow run, ``--attempt ID``, a ``--from`` resume
  and the run it resumes). Attempts are ordered by their first run.
- Within an attempt, a block's result is its **latest executed** result (passed,
  failed, timed out or interrupted) over the attempt's runs, so a resumed block
  replaces its failure.
- An attempt's **verdict**: ``failed`` when any block's result failed or timed out;
  else ``interrupted`` when any was interrupted (or its last run was); else
  ``incomplete`` when nothing executed, when its runs recorded different target
  digests or fingerprinted content, or — for migrations and rehearsals — unless every
  step and every criterion block recorded in it passed; else ``passed``.
- Its **mode**: ``execute`` when any run of it was an ``--execute`` run (a migration),
  else ``rehearsal``, else ``check``. Only ``execute`` attempts are migrations: a
  rehearsal or a checks-only attempt never counts as a migration pass and never
  gives the timeline of one.
- What a page or report **shows** for an environment: its latest migration attempt;
  with none, the latest rehearsal (labelled as practice), else its latest checks-only
  attempt.
- The **timeline** sums, per phase, the durations of every block of the shown attempt
  that ran to its end (passed, failed or timed out; an interrupted block's time is not
  a measurement), over all its runs; a phase with no measured block is ``not
  measured`` and the total is then ``incomplete``.
- A criterion is ``stale`` when the block that proves it changed since (its SHA-256
  differs), ``never-run`` when the shown attempt has no executed result for it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .model import (
    EXECUTED,
    FAILED,
    INTERRUPTED,
    MODE_CHECK,
    MODE_EXECUTE,
    MODE_REHEARSAL,
    PASSED,
    STEP,
    TIMED_OUT,
    BlockResult,
    Runbook,
    RunRecord,
)

# Attempt verdicts (``passed``, ``failed`` and ``interrupted`` are also block statuses).
INCOMPLETE = "incomplete"
# Evidence statuses beyond the block statuses.
STALE = "stale"
NEVER_RUN = "never-run"
OVERDUE = "overdue"


@dataclass(frozen=True)
class Attempt:
    """One try at migrating one target: the runs that share an attempt id, oldest first."""

    id: str
    environment: str
    runs: tuple[RunRecord, ...]
    #: block id -> its latest executed result in the attempt, and the run it came from
    results: dict[str, tuple[BlockResult, RunRecord]] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        """``execute``, ``rehearsal`` or ``check`` (rules in the module docstring)."""
        return _mode({r.mode for r in self.runs})

    @property
    def is_migration(self) -> bool:
        """Only ``execute`` attempts are migrations."""
        return self.mode == MODE_EXECUTE

    @property
    def verdict(self) -> str:
        """``passed``, ``failed``, ``incomplete`` or ``interrupted`` (``verdict()``)."""
        return verdict(self)

    @property
    def first(self) -> RunRecord:
        return self.runs[0]

    @property
    def last(self) -> RunRecord:
        return self.runs[-1]

    @property
    def started_at(self) -> str:
        return self.first.started_at

    @property
    def finished_at(self) -> str:
        return self.last.finished_at

    @property
    def duration_s(self) -> float:
        """Wall time of the attempt's runs added up (gaps between CI steps left out)."""
        return round(sum(r.duration_s for r in self.runs), 4)

    @property
    def actor(self) -> str:
        return self.last.actor

    @property
    def commit(self) -> str | None:
        return (self.last.git or {}).get("commit")

    @property
    def ci_url(self) -> str | None:
        """The CI run's address (``http(s)://`` only: a record could hold any text)."""
        urls = (r.ci.get("run_url") for r in reversed(self.runs) if isinstance(r.ci, dict))
        return next((u for u in urls if isinstance(u, str) and u.startswith(("https://", "http://"))), None)

    @property
    def target_digests(self) -> set[str]:
        """The target digests its runs recorded (more than one: the attempt changed databases)."""
        return {d for r in self.runs if isinstance(r.target, dict) and isinstance(d := r.target.get("digest"), str)}

    @property
    def target_digest(self) -> str | None:
        """The digest of the one database the attempt ran on (``None``: unknown, or several)."""
        digests = self.target_digests
        return next(iter(digests)) if len(digests) == 1 else None

    @property
    def fingerprints(self) -> dict[str, str]:
        """The fingerprinted content the attempt ran with: its first run's (``problem``
        says when a later run saw other content)."""
        return self.first.fingerprints

    @property
    def problem(self) -> str | None:
        """Why the attempt is not one try at one target with one content, or ``None``:
        its runs recorded different target digests, or different fingerprints (the
        migrations changed between a failure and its resume)."""
        if len(self.target_digests) > 1:
            return "its runs were pointed at different databases (target digests differ)"
        if any(r.fingerprints != self.first.fingerprints for r in self.runs):
            return "the fingerprinted content changed between its runs"
        return None

    def result(self, block_id: str) -> BlockResult | None:
        found = self.results.get(block_id)
        return found[0] if found else None


def _mode(modes: set[str]) -> str:
    """An attempt's mode from its runs' modes (rules in the module docstring)."""
    return MODE_EXECUTE if MODE_EXECUTE in modes else MODE_REHEARSAL if MODE_REHEARSAL in modes else MODE_CHECK


class Attempts(Sequence[Attempt]):
    """The attempts of a ledger's records, ordered by the position of their first run (a
    later run joining an attempt does not make it newer).

    Grouping reads only each record's environment, attempt id and mode
    (``records.header(i)`` when the records offer it, as ``ledger.LazyRecords`` does
    without parsing); an ``Attempt`` — its runs parsed — is made only when read, so
    views that need the newest few attempts of a long ledger parse only those.
    """

    def __init__(self, records: Sequence[RunRecord]):
        self.records = records
        header = getattr(records, "header", None)
        lines: dict[tuple[str, str], list[int]] = {}
        modes: dict[tuple[str, str], set[str]] = {}
        for i in range(len(records)):
            if header is not None:
                environment, attempt, mode = header(i)
            else:
                r = records[i]
                environment, attempt, mode = r.environment, r.attempt, r.mode
            key = (environment, attempt)
            lines.setdefault(key, []).append(i)
            modes.setdefault(key, set()).add(mode)
        self.keys = sorted(lines, key=lambda k: lines[k][0])
        self.lines = lines
        self.modes = {k: _mode(m) for k, m in modes.items()}
        self.position = {k: n for n, k in enumerate(self.keys)}
        self._made: dict[int, Attempt] = {}

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self.keys)))]
        if index < 0:
            index += len(self.keys)
        if not 0 <= index < len(self.keys):
            raise IndexError(index)
        if index not in self._made:
            key = self.keys[index]
            runs = tuple(self.records[i] for i in self.lines[key])
            results: dict[str, tuple[BlockResult, RunRecord]] = {}
            for run in runs:
                for b in run.blocks:
                    if b.status in EXECUTED:
                        results[b.id] = (b, run)
            self._made[index] = Attempt(key[1], key[0], runs, results)
        return self._made[index]

    def newest(self, environment: str | None = None, mode: str | None = None) -> Iterator[Attempt]:
        """The attempts of ``environment`` (any: ``None``) in ``mode`` (any: ``None``), newest
        first; only those read are made."""
        for n in range(len(self.keys) - 1, -1, -1):
            key = self.keys[n]
            if (environment is None or key[0] == environment) and (mode is None or self.modes[key] == mode):
                yield self[n]

    def find(self, environment: str, attempt_id: str) -> Attempt | None:
        """The attempt ``attempt_id`` of ``environment`` (``None`` when no record belongs to it)."""
        n = self.position.get((environment, attempt_id))
        return None if n is None else self[n]


def verdict(attempt: Attempt) -> str:
    """``passed`` / ``failed`` / ``incomplete`` / ``interrupted`` (rules in the module docstring)."""
    statuses = {b.status for b, _ in attempt.results.values()}
    if statuses & {FAILED, TIMED_OUT}:
        return FAILED
    if INTERRUPTED in statuses or attempt.last.status == INTERRUPTED:
        return INTERRUPTED
    if not statuses or attempt.problem is not None:
        return INCOMPLETE
    if attempt.mode != MODE_CHECK:
        required = {b.id for r in attempt.runs for b in r.blocks if b.kind == STEP or b.criterion}
        if any((res := attempt.result(i)) is None or res.status != PASSED for i in required):
            return INCOMPLETE
    return PASSED


@dataclass(frozen=True)
class Evidence:
    """What is known about one block: its latest executed result for the environment shown."""

    block_id: str
    #: the block status, ``stale`` (the block changed since) or ``never-run``
    status: str
    mode: str | None = None
    attempt_id: str | None = None
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


def _evidence(block_id: str, sha256: str, found: tuple[BlockResult, RunRecord] | None, attempt: Attempt | None) -> Evidence:
    if found is None or attempt is None:
        return Evidence(block_id, NEVER_RUN)
    result, run = found
    return Evidence(
        block_id=block_id,
        status=STALE if result.sha256 != sha256 else result.status,
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
    criterion: str
    blocks: tuple[str, ...]
    status: str
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
    phase: str
    name: str
    estimate: str
    estimate_s: tuple[float, float]
    measured_s: float | None
    #: ``within``, ``over``, ``under`` the estimate, or ``not measured``
    verdict: str


@dataclass(frozen=True)
class State:
    """What the records say about a runbook in one environment."""

    runbook_id: str
    environment: str
    #: every attempt of every environment, ordered by their latest run (made when read)
    attempts: Attempts
    #: the latest migration (``execute``) attempt in the environment
    migration: Attempt | None
    #: the latest rehearsal attempt
    rehearsal: Attempt | None
    #: the latest checks-only attempt in the environment
    checks: Attempt | None

    @property
    def shown(self) -> Attempt | None:
        """The attempt views show: the migration, else the rehearsal, else the checks."""
        return self.migration or self.rehearsal or self.checks


def state(runbook_id: str, environment: str, records: Sequence[RunRecord] | Attempts) -> State:
    """The state of ``runbook_id`` in ``environment`` from verified ``records`` (ledger
    order), or from their ``Attempts`` when the caller has grouped them already."""
    attempts = records if isinstance(records, Attempts) else Attempts(records)
    migration = next(attempts.newest(environment, MODE_EXECUTE), None)
    rehearsal = next(attempts.newest(None, MODE_REHEARSAL), None)
    checks = next(attempts.newest(environment, MODE_CHECK), None)
    return State(runbook_id, environment, attempts, migration, rehearsal, checks)


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
    return [_evidence(b.id, b.sha256, *found[b.id]) if b.id in found else Evidence(b.id, NEVER_RUN) for b in runbook.blocks]


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
        if NEVER_RUN in statuses:
            status = NEVER_RUN
        elif statuses == {PASSED}:
            status = PASSED
        elif STALE in statuses and statuses <= {PASSED, STALE}:
            status = STALE
        else:
            status = next(e.status for e in evs if e.status not in (PASSED, STALE))
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
    if attempt is not None and attempt.mode != MODE_CHECK:
        for run in attempt.runs:
            for b in run.blocks:
                if b.phase and b.status in (PASSED, FAILED, TIMED_OUT):
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
        total_verdict = INCOMPLETE
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


def headline(st: State) -> str:
    """One line: the state of the environment, as every view words it."""
    a = st.shown
    if a is None:
        return f"{st.environment}: never run"
    when = utc_text(a.finished_at)
    if a is st.migration:
        return f"{st.environment}: migration {a.verdict} ({when}, by {a.actor})"
    if a is st.rehearsal:
        if a.environment == st.environment:  # a report on the rehearsals themselves
            return f"{st.environment}: rehearsal {a.verdict} ({when}, by {a.actor})"
        return f"{st.environment}: not migrated yet; rehearsal {a.verdict} ({when}, by {a.actor})"
    return f"{st.environment}: not migrated yet; read-only checks {a.verdict} ({when}, by {a.actor})"


def utc_text(stamp: str | None) -> str:
    """The site's one timestamp format: ``2026-11-30 06:30 UTC``."""
    return f"{stamp[:16].replace('T', ' ')} UTC" if stamp else "—"
