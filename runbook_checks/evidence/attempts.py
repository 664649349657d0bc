"""Attempts and what they say: the runs of one try grouped, an attempt's mode and
verdict, and which attempt an environment's views show (``State``, ``headline``).

The rules are the package's (``evidence/__init__.py``, ``docs/reference/evidence.md``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..model import BlockResult, RunRecord
from ..status import EXECUTED, BlockStatus, EvidenceStatus, Kind, Mode, RunStatus


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
    def verdict(self) -> str:
        """``passed``, ``failed``, ``incomplete`` or ``interrupted`` (``verdict()``)."""
        return verdict(self)

    @property
    def first(self) -> RunRecord:
        """The attempt's first run."""
        return self.runs[0]

    @property
    def last(self) -> RunRecord:
        """The attempt's latest run."""
        return self.runs[-1]

    @property
    def started_at(self) -> str:
        """When its first run started (UTC ISO)."""
        return self.first.started_at

    @property
    def finished_at(self) -> str:
        """When its latest run finished (UTC ISO)."""
        return self.last.finished_at

    @property
    def duration_s(self) -> float:
        """Wall time of the attempt's runs added up (gaps between CI steps left out)."""
        return round(sum(r.duration_s for r in self.runs), 4)

    @property
    def actor(self) -> str:
        """Who ran its latest run."""
        return self.last.actor

    @property
    def commit(self) -> str | None:
        """The git commit of its latest run (``None`` outside git)."""
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
        """The latest executed result of ``block_id`` in the attempt (``None``: it never executed)."""
        found = self.results.get(block_id)
        return found[0] if found else None


def _mode(modes: set[str]) -> str:
    """An attempt's mode from its runs' modes (rules in the module docstring)."""
    return Mode.EXECUTE if Mode.EXECUTE in modes else Mode.REHEARSAL if Mode.REHEARSAL in modes else Mode.CHECK


class Attempts(Sequence[Attempt]):
    """The attempts of a ledger's records, ordered by the position of their first run (a
    later run joining an attempt does not make it newer).

    Grouping reads only each record's environment, attempt id and mode
    (``records.header(i)`` when the records offer it, as ``ledger.LazyRecords`` does
    without parsing); an ``Attempt`` — its runs parsed — is made only when read, so
    views that need the newest few attempts of a long ledger parse only those.
    """

    def __init__(self, records: Sequence[RunRecord]):
        """Group ``records`` (verified, in ledger order) by environment and attempt id."""
        self.records = records
        header = getattr(records, "header", None)
        lines: dict[tuple[str, str], list[int]] = {}
        modes: dict[tuple[str, str], str] = {}  # the attempt's mode from its runs so far (no set per attempt)
        for i in range(len(records)):
            if header is not None:
                environment, attempt, mode = header(i)
            else:
                r = records[i]
                environment, attempt, mode = r.environment, r.attempt, r.mode
            key = (environment, attempt)
            lines.setdefault(key, []).append(i)
            so_far = modes.get(key)
            modes[key] = mode if so_far is None or so_far == mode else _mode({so_far, mode})
        self.keys = sorted(lines, key=lambda k: lines[k][0])
        self.lines = lines
        self.modes = {k: _mode({m}) for k, m in modes.items()}
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
    if statuses & {BlockStatus.FAILED, BlockStatus.TIMED_OUT}:
        return EvidenceStatus.FAILED
    if BlockStatus.INTERRUPTED in statuses or attempt.last.status == RunStatus.INTERRUPTED:
        return EvidenceStatus.INTERRUPTED
    if not statuses or attempt.problem is not None:
        return EvidenceStatus.INCOMPLETE
    if attempt.mode != Mode.CHECK:
        required = {b.id for r in attempt.runs for b in r.blocks if b.kind == Kind.STEP or b.criterion}
        if any((res := attempt.result(i)) is None or res.status != BlockStatus.PASSED for i in required):
            return EvidenceStatus.INCOMPLETE
    return EvidenceStatus.PASSED


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
    migration = next(attempts.newest(environment, Mode.EXECUTE), None)
    rehearsal = next(attempts.newest(None, Mode.REHEARSAL), None)
    checks = next(attempts.newest(environment, Mode.CHECK), None)
    return State(runbook_id, environment, attempts, migration, rehearsal, checks)


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
