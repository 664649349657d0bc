"""The data model: small frozen dataclasses with explicit ``to_dict``/``from_dict``.

``Runbook``/``Block``/``Phase`` come from parsing; ``BlockResult``/``RunRecord`` from
running. What is persisted (a ``RunRecord``) carries ``SCHEMA_VERSION``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .status import EXECUTED as EXECUTED
from .status import BlockStatus, Kind, Mode, RunStatus

#: 2 added ``attempt_id`` and ``target``; records of version 1 still read and verify
SCHEMA_VERSION = 2

# The vocabulary lives in ``status``; these names are kept for the modules that read them.
CHECK, STEP = Kind.CHECK, Kind.STEP
KINDS = tuple(Kind)

PASSED = BlockStatus.PASSED
FAILED = BlockStatus.FAILED
TIMED_OUT = BlockStatus.TIMED_OUT
SKIPPED = BlockStatus.SKIPPED
NOT_RUN = BlockStatus.NOT_RUN
INTERRUPTED = BlockStatus.INTERRUPTED
BLOCK_STATUSES = tuple(BlockStatus)

RUN_PASSED = RunStatus.PASSED
RUN_FAILED = RunStatus.FAILED
RUN_INTERRUPTED = RunStatus.INTERRUPTED

MODE_CHECK = Mode.CHECK
MODE_EXECUTE = Mode.EXECUTE
MODE_REHEARSAL = Mode.REHEARSAL


@dataclass(frozen=True)
class Phase:
    """A timeline row declared in the front matter."""

    id: str
    name: str
    #: the estimate as written, e.g. ``"1-2 min"``
    estimate: str
    #: the estimate as (low, high) seconds
    estimate_s: tuple[float, float]
    line: int


@dataclass(frozen=True)
class Block:
    """A tagged fenced code block."""

    id: str
    #: ``"check"`` (read-only) or ``"step"`` (mutating)
    kind: str
    #: the fence language (``bash``, ``sh``...)
    lang: str
    #: the commands, as written
    code: str
    #: the runbook file and the 1-based line of the opening fence
    path: Path
    line: int
    phase: str | None = None
    criterion: str | None = None
    #: exit codes that count as success
    exit_codes: tuple[int, ...] = (0,)
    #: text that must appear in the output
    expect: str | None = None
    #: regular expression that must match a line of the output
    expect_regex: str | None = None
    #: text that must not appear in the output
    forbid: str | None = None
    #: seconds before the block's process group is terminated
    timeout_s: float = 300.0
    #: extra attempts after a failure or timeout
    retries: int = 0
    #: seconds to wait between attempts
    retry_delay_s: float = 1.0
    #: id of an earlier block that must have passed in the same run
    needs: str | None = None
    #: id of a step whose result this check verifies: see ``execute.RunSession``
    after: str | None = None
    #: exit code with which this check says "migrations are pending" (it then passes)
    pending_exit: int | None = None
    #: on a check whose code names a mutating command: why it only reads (lint's mutating-check rule)
    read_only: str | None = None
    #: database kinds a rehearsal runs this block on (empty: every kind)
    rehearse_db: tuple[str, ...] = ()
    #: a read-only check that also runs in ``run --dry-run`` (``preview=yes``); never a step
    preview: bool = False
    #: SHA-256 of the block's code and attributes; a change makes old results stale
    sha256: str = ""

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def accepted_exit_codes(self) -> tuple[int, ...]:
        """``exit_codes`` plus ``pending_exit``: every code with which the block passes."""
        return self.exit_codes + ((self.pending_exit,) if self.pending_exit is not None else ())


@dataclass(frozen=True)
class Requirement:
    """A gate on ``--execute``: another runbook's ledger must hold a passing execute run."""

    runbook: str
    environment: str | None
    #: fingerprinted paths whose recorded hash must equal the current content
    same: tuple[str, ...]
    #: where that runbook lives (for the message), relative to the repository root
    path: str | None
    line: int


@dataclass(frozen=True)
class Acknowledgement:
    """A destructive or blocking lint finding that the runbook accepts: one rule in one
    pending migration (``runbook.acknowledge``), with who accepted it and why."""

    #: the migration's directory name, e.g. ``20261001090000_drop_legacy``
    migration: str
    #: the squawk rule, e.g. ``ban-drop-column``
    rule: str
    #: who acknowledged it (a name as written)
    by: str
    reason: str
    #: 1-based line of the entry in the runbook
    line: int = 0

    def to_dict(self) -> dict[str, str]:
        """What a run record keeps: everything but the line."""
        return {"migration": self.migration, "rule": self.rule, "by": self.by, "reason": self.reason}


@dataclass(frozen=True)
class TroubleshootingEntry:
    """A troubleshooting entry: a heading tagged ``.troubleshoot`` and the section under it."""

    id: str
    title: str
    #: 1-based line of the heading, and its level (``###`` = 3)
    line: int
    level: int
    #: regular expression searched in a failed block's redacted output and reason
    match: str | None = None
    #: exit codes it explains (empty: any)
    exit_codes: tuple[int, ...] = ()
    #: block ids it covers (empty: any)
    blocks: tuple[str, ...] = ()
    #: the first paragraph of the section
    advice: str = ""
    #: ids of the read-only checks inside the section
    diagnostics: tuple[str, ...] = ()
    #: ids of the ``.step`` blocks inside the section: recovery steps, run only when named with ``--only``
    recovery: tuple[str, ...] = ()


@dataclass(frozen=True)
class Runbook:
    """A parsed runbook: front matter plus tagged blocks in document order."""

    path: Path
    id: str
    title: str
    environment: str
    confirm: str | None
    secrets: tuple[str, ...]
    #: absolute directory the blocks run in
    workdir: Path
    phases: tuple[Phase, ...]
    blocks: tuple[Block, ...]
    #: SHA-256 of the runbook file
    sha256: str
    #: the directory ``workdir`` is relative to (the repository root, else the runbook's folder)
    root: Path
    #: non-secret variables for every block, as (name, value) with ``${VAR}`` expanded at run time
    env: tuple[tuple[str, str], ...] = ()
    #: paths (relative to ``workdir``) whose content hash every run records
    fingerprint: tuple[str, ...] = ()
    #: runs of other runbooks that ``--execute`` requires
    requires: tuple[Requirement, ...] = ()
    #: (label, text) pairs describing the runbook, compared across runbooks
    summary: tuple[tuple[str, str], ...] = ()
    #: troubleshooting entries, in document order
    entries: tuple[TroubleshootingEntry, ...] = ()
    #: the database the runbook operates on, as written (e.g. ``${DATABASE_URL_STAGING}``)
    target: str | None = None
    #: destructive or blocking lint findings the runbook accepts (``runbook.acknowledge``)
    acknowledge: tuple[Acknowledgement, ...] = ()
    #: the front matter's source map, as the parser found it: dotted key path (``runbook.workdir``,
    #: ``runbook.secrets.0``, a listed name ``runbook.secrets.DB_URL``) -> 1-based line in the file
    key_lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def block(self, block_id: str) -> Block:
        for b in self.blocks:
            if b.id == block_id:
                return b
        raise KeyError(block_id)

    @property
    def steps(self) -> tuple[Block, ...]:
        return tuple(b for b in self.blocks if b.kind == STEP)

    @property
    def recovery_steps(self) -> dict[str, TroubleshootingEntry]:
        """The ``.step`` blocks inside troubleshooting entries (id -> its entry): they run
        only when named with ``--only``, never as part of a whole run."""
        return {step: e for e in self.entries for step in e.recovery}


@dataclass(frozen=True)
class Expectation:
    """One expectation of a block and whether the run met it."""

    name: str
    expected: str
    met: bool
    actual: str | None = None


@dataclass(frozen=True)
class BlockResult:
    """What happened to one block in one run."""

    id: str
    kind: str
    status: str
    line: int
    sha256: str
    phase: str | None = None
    criterion: str | None = None
    exit_code: int | None = None
    started_at: str | None = None
    duration_s: float = 0.0
    attempts: int = 0
    expectations: tuple[Expectation, ...] = ()
    #: redacted output, head and tail kept when long
    output: str = ""
    #: size of the whole (redacted) output in bytes, and whether ``output`` is cut
    output_bytes: int = 0
    output_truncated: bool = False
    #: why a block was skipped or not run, or what failed
    reason: str | None = None
    #: the block ran after an earlier block had failed
    after_failure: bool = False
    #: ids of the troubleshooting entries that explain this failure
    troubleshooting: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BlockResult:
        values = {k: v for k, v in data.items() if k in _BLOCK_FIELDS}
        values["expectations"] = tuple(Expectation(**e) for e in data.get("expectations", ()))
        values["troubleshooting"] = tuple(data.get("troubleshooting", ()))
        return cls(**values)


@dataclass(frozen=True)
class RunRecord:
    """One run of one runbook: a line of the ledger (without ``prev``/``hash``)."""

    run_id: str
    runbook_id: str
    runbook_path: str
    runbook_sha256: str
    environment: str
    #: ``check`` (read-only checks), ``execute`` (steps allowed), ``rehearsal``
    mode: str
    status: str
    exit_code: int
    started_at: str
    finished_at: str
    duration_s: float
    actor: str
    host: str
    git: dict[str, Any] | None
    ci: dict[str, Any] | None
    blocks: tuple[BlockResult, ...]
    #: the run this one resumes (``--from``), and the blocks it did not re-run
    resumes: str | None = None
    not_rerun: tuple[str, ...] = ()
    schema_version: int = SCHEMA_VERSION
    options: dict[str, Any] = field(default_factory=dict)
    #: content hashes of the runbook's ``fingerprint`` paths at the time of the run
    fingerprints: dict[str, str] = field(default_factory=dict)
    #: the migration attempt this run belongs to (``None`` in version-1 records: the run is its own)
    attempt_id: str | None = None
    #: ``{"from": VAR, "digest": SHA-256 of host, port and database}`` (see ``target.py``), or ``None``
    target: dict[str, Any] | None = None
    #: the runbook's ``acknowledge`` entries in force for this run, as ``{migration, rule, by,
    #: reason}``; left out of the record when empty, so records without any keep their bytes
    acknowledgements: tuple[dict[str, str], ...] = ()

    @property
    def attempt(self) -> str:
        """The attempt id; a version-1 record is an attempt of its own."""
        return self.attempt_id or self.run_id

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["blocks"] = [b.to_dict() for b in self.blocks]
        data["not_rerun"] = list(self.not_rerun)
        if self.acknowledgements:
            data["acknowledgements"] = [dict(a) for a in self.acknowledgements]
        else:
            del data["acknowledgements"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        values = {k: v for k, v in data.items() if k in _RECORD_FIELDS}
        values["blocks"] = tuple(BlockResult.from_dict(b) for b in data.get("blocks", ()))
        values["not_rerun"] = tuple(data.get("not_rerun", ()))
        values["acknowledgements"] = tuple(dict(a) for a in data.get("acknowledgements", ()))
        return cls(**values)

    def result(self, block_id: str) -> BlockResult | None:
        for b in self.blocks:
            if b.id == block_id:
                return b
        return None


_BLOCK_FIELDS = frozenset(f.name for f in fields(BlockResult))
_RECORD_FIELDS = frozenset(f.name for f in fields(RunRecord))
