"""Attempts and what they say: the runs of one try grouped, an attempt's mode and
verdict, and which attempt an environment's views show (``State``, ``headline``).

The rules are the package's (``evidence/__init__.py``, ``docs/reference/evidence.md``).
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import Any

from ..model import BlockResult, RunRecord
from ..model.headers import Headers, attempt_key
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

    Grouping reads only each line's ``model.headers.Headers`` (``records.headers()`` when
    the records offer them, as ``ledger.LazyRecords`` does without parsing), and keeps a
    few bytes a line, not an object per attempt; an ``Attempt`` — its runs parsed — is made
    only when read, so views that need the newest few attempts of a long ledger parse only
    those, and memory stays flat at any number of attempts.
    """

    def __init__(self, records: Sequence[RunRecord]):
        """Group ``records`` (verified, in ledger order) by environment and attempt id."""
        self.records = records
        made = getattr(records, "headers", None)
        self.headers: Headers = made() if made is not None else Headers.of(records)
        #: the first line of each attempt, in order; per line, the next line of its attempt
        #: (0: none); per first line, its attempt's mode (``_MODES``)
        self.starts, self._next, self._modes = _group(self.headers)
        self._made: dict[int, Attempt] = {}

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self.starts)))]
        if index < 0:
            index += len(self.starts)
        if not 0 <= index < len(self.starts):
            raise IndexError(index)
        if index not in self._made:
            lines, line = [], self.starts[index]
            while True:
                lines.append(line)
                line = self._next[line]
                if not line:
                    break
            runs = tuple(self.records[i] for i in lines)
            results: dict[str, tuple[BlockResult, RunRecord]] = {}
            for run in runs:
                for b in run.blocks:
                    if b.status in EXECUTED:
                        results[b.id] = (b, run)
            self._made[index] = Attempt(runs[0].attempt, runs[0].environment, runs, results)
        return self._made[index]

    def newest(self, environment: str | None = None, mode: str | None = None) -> Iterator[Attempt]:
        """The attempts of ``environment`` (any: ``None``) in ``mode`` (any: ``None``), newest
        first; only those read are made."""
        code = None if mode is None else _MODES.index(mode) if mode in _MODES[1:] else -1
        for n in range(len(self.starts) - 1, -1, -1):
            line = self.starts[n]
            if (environment is None or self.headers.environment(line) == environment) and (code is None or self._modes[line] == code):
                yield self[n]

    def find(self, environment: str, attempt_id: str) -> Attempt | None:
        """The attempt ``attempt_id`` of ``environment`` (``None`` when no record belongs to it)."""
        line = self.headers.first_line(attempt_key(environment, attempt_id))
        return None if line is None or line >= len(self._modes) else self[bisect.bisect_left(self.starts, line)]


#: attempt modes by their code in ``Attempts`` (a larger code wins: ``_mode``)
_MODES = ("", Mode.CHECK, Mode.REHEARSAL, Mode.EXECUTE)


def _group(headers: Headers) -> tuple[array[int], array[int], bytearray]:
    """``Attempts``' grouping of ``headers``: the first line of each attempt in order, the
    next line of each line's attempt (0: none), and each first line's attempt mode code.

    Consecutive lines of one attempt (a resume right after its failure) are joined first.
    Only the stretches whose key may occur again are looked up by key: two byte-per-slot
    filters, one for each half of the key, tell the others apart (their memory, 16 bytes a
    line, is let go at the end), so the lookup holds a few entries, not one per attempt."""
    n = len(headers)
    typecode = "I" if n < 2**32 else "Q"
    codes = bytes(_MODES.index(_mode({m})) for _, m in headers.pairs)
    pair_of = headers.pair_of
    words = memoryview(headers.keys).cast("Q")  # a key is two 64-bit words
    low, high = words[::2], words[1::2]
    after, modes = array(typecode, bytes(array(typecode).itemsize * n)), bytearray(n)
    slots = 8 * n + 1
    seen_low, seen_high = bytearray(slots), bytearray(slots)  # per slot: 0, 1, or 2 (twice or more)
    stretches = array(typecode)  # the first line of each stretch of lines with one key
    head, last_low, last_high = 0, -1, -1
    for i in range(n):
        key_low, key_high, code = low[i], high[i], codes[pair_of[i]]
        if key_low == last_low and key_high == last_high:
            after[i - 1] = i
            if code > modes[head]:
                modes[head] = code
            continue
        head, last_low, last_high = i, key_low, key_high
        stretches.append(i)
        modes[i] = code
        seen_low[key_low % slots] = 2 if seen_low[key_low % slots] else 1
        seen_high[key_high % slots] = 2 if seen_high[key_high % slots] else 1
    stretches.append(n)
    opened: dict[tuple[int, int], tuple[int, int]] = {}  # a key seen in an earlier stretch: its attempt's first line, last line so far
    for s in range(len(stretches) - 1):
        i = stretches[s]
        key = (low[i], high[i])
        if seen_low[key[0] % slots] < 2 or seen_high[key[1] % slots] < 2:
            continue  # the only stretch of its key
        known = opened.get(key)
        opened[key] = (i, stretches[s + 1] - 1) if known is None else (known[0], stretches[s + 1] - 1)
        if known is not None:  # a later stretch of an earlier attempt
            after[known[1]] = i
            modes[known[0]] = max(modes[known[0]], modes[i])
            modes[i] = 0
    return array(typecode, compress(range(n), modes)), after, modes


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
    #: every attempt of every environment, ordered by their first run (made when read)
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
