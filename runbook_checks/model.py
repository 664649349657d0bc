"""The data model: small frozen dataclasses with explicit ``to_dict``/``from_dict``.

``Runbook``/``Block``/``Phase`` come from parsing; ``BlockResult``/``RunRecord`` from
running. What is persisted (a ``RunRecord``) carries ``SCHEMA_VERSION``; its shape is
``runbook_checks/schema/run-record.schema.json``. ``from_dict`` is tolerant (keys it does
not know are left out, so newer records read); ``to_dict`` gives the fields in
declaration order, which the ledger's canonical JSON then sorts.

Kinds, modes and statuses are ``StrEnum`` values of ``status`` (a field typed ``str``
holds a member, or the plain string read back from a record: they compare equal).
Durations are in seconds (``_s``), times are UTC ISO 8601 strings (``2026-11-30T06:30:00Z``),
hashes are SHA-256 in lowercase hex, lines are 1-based.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .status import EXECUTED as EXECUTED
from .status import BlockStatus, Kind, Mode, RunStatus

#: 2 added ``attempt_id`` and ``target``; records of version 1 still read and verify
SCHEMA_VERSION = 2

# The vocabulary lives in ``status``; these aliases are kept for the modules that still
# import them from here (import from ``status`` instead).
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
    """A timeline row declared in the front matter (``phases:``)."""

    #: the id blocks name in ``phase=``
    id: str
    #: the row's title, as written
    name: str
    #: the estimate as written, e.g. ``"1-2 min"``
    estimate: str
    #: the estimate as (low, high) seconds
    estimate_s: tuple[float, float]
    #: 1-based line of the entry in the runbook
    line: int


@dataclass(frozen=True)
class Block:
    """A tagged fenced code block (its attributes are documented in
    ``docs/reference/runbook-format.md``)."""

    #: the block id (the fence's ``#id``), unique in the runbook
    id: str
    #: a ``status.Kind``: ``check`` (read-only) or ``step`` (mutating)
    kind: str
    #: the fence language (``bash``, ``sh``...)
    lang: str
    #: the commands, as written
    code: str
    #: the runbook file and the 1-based line of the opening fence
    path: Path
    line: int
    #: the id of the ``Phase`` whose time this block counts towards
    phase: str | None = None
    #: the success criterion this block proves, as written
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
        """``path:line`` of the opening fence, as messages name the block."""
        return f"{self.path}:{self.line}"

    @property
    def accepted_exit_codes(self) -> tuple[int, ...]:
        """``exit_codes`` plus ``pending_exit``: every code with which the block passes."""
        return self.exit_codes + ((self.pending_exit,) if self.pending_exit is not None else ())


@dataclass(frozen=True)
class Requirement:
    """A gate on ``--execute``: another runbook's ledger must hold a passing execute run."""

    #: the id of the runbook whose ledger is read
    runbook: str
    #: the environment its run must have been in (``None``: this runbook's)
    environment: str | None
    #: fingerprinted paths whose recorded hash must equal the current content
    same: tuple[str, ...]
    #: where that runbook lives (for the message), relative to the repository root
    path: str | None
    #: 1-based line of the entry in the runbook
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
    #: why it is accepted, as written
    reason: str
    #: 1-based line of the entry in the runbook
    line: int = 0

    def to_dict(self) -> dict[str, str]:
        """What a run record keeps: everything but the line."""
        return {"migration": self.migration, "rule": self.rule, "by": self.by, "reason": self.reason}


@dataclass(frozen=True)
class TroubleshootingEntry:
    """A troubleshooting entry: a heading tagged ``.troubleshoot`` and the section under it."""

    #: the heading's id (its anchor on the page)
    id: str
    #: the heading's text
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
    """A parsed runbook: front matter plus tagged blocks in document order (the front
    matter's keys are documented in ``docs/reference/runbook-format.md``)."""

    #: the runbook file
    path: Path
    #: the runbook id: its ledger is ``<id>.jsonl``
    id: str
    #: the page title
    title: str
    #: the environment its runs are recorded under (``staging``, ``production``...)
    environment: str
    #: the token ``--confirm`` must repeat before steps run (``None``: none asked)
    confirm: str | None
    #: names of the environment variables whose values are masked
    secrets: tuple[str, ...]
    #: absolute directory the blocks run in
    workdir: Path
    #: the timeline rows, in front-matter order
    phases: tuple[Phase, ...]
    #: the tagged blocks, in document order (troubleshooting sections' blocks included)
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

    def block(self, block_id: str) -> Block:
        """The block ``block_id``; raises ``KeyError`` when there is none."""
        for b in self.blocks:
            if b.id == block_id:
                return b
        raise KeyError(block_id)

    @property
    def steps(self) -> tuple[Block, ...]:
        """The mutating blocks (``step``), in document order."""
        return tuple(b for b in self.blocks if b.kind == Kind.STEP)

    @property
    def recovery_steps(self) -> dict[str, TroubleshootingEntry]:
        """The ``.step`` blocks inside troubleshooting entries (id -> its entry): they run
        only when named with ``--only``, never as part of a whole run."""
        return {step: e for e in self.entries for step in e.recovery}


@dataclass(frozen=True)
class Expectation:
    """One expectation of a block and whether the run met it."""

    #: which attribute it comes from: ``expect``, ``expect-regex``, ``forbid`` or ``exit``
    name: str
    #: what was expected, as written
    expected: str
    #: whether the run met it
    met: bool
    #: what the run showed instead (redacted), when it did not
    actual: str | None = None


@dataclass(frozen=True)
class BlockResult:
    """What happened to one block in one run (an element of a record's ``blocks``)."""

    #: the block id, kind (a ``status.Kind``) and outcome (a ``status.BlockStatus``)
    id: str
    kind: str
    status: str
    #: 1-based line of the block's opening fence when it ran
    line: int
    #: ``Block.sha256`` when it ran: a different current hash makes this result stale
    sha256: str
    #: the block's ``phase`` and ``criterion`` when it ran
    phase: str | None = None
    criterion: str | None = None
    #: the exit code of the last attempt (``None``: no process ran, or it was killed)
    exit_code: int | None = None
    #: when the first attempt started (UTC ISO), and the seconds all attempts took
    started_at: str | None = None
    duration_s: float = 0.0
    #: how many times the block ran (1 + the retries used; 0 when it did not run)
    attempts: int = 0
    #: each expectation and whether it was met
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
        """The result as JSON values (``dataclasses.asdict``: tuples stay tuples, which JSON
        writes as arrays), fields in declaration order."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BlockResult:
        """The result of a record's ``blocks[]`` element; unknown keys are left out. Raises
        ``TypeError`` (a required field missing) or ``KeyError``/``TypeError`` for a bad expectation."""
        values = {k: v for k, v in data.items() if k in _BLOCK_FIELDS}
        values["expectations"] = tuple(Expectation(**e) for e in data.get("expectations", ()))
        values["troubleshooting"] = tuple(data.get("troubleshooting", ()))
        return cls(**values)


@dataclass(frozen=True)
class RunRecord:
    """One run of one runbook: a line of the ledger (without ``prev``/``hash``)."""

    #: the run's id: UTC time and 6 random hex digits, e.g. ``20261130T120000Z-1a2b3c`` (``context.new_run_id``)
    run_id: str
    #: the runbook's id, its path as given (relative to the project root) and its file's SHA-256
    runbook_id: str
    runbook_path: str
    runbook_sha256: str
    #: the environment the run is recorded under
    environment: str
    #: a ``status.Mode``: ``check`` (read-only checks), ``execute`` (steps allowed), ``rehearsal``
    mode: str
    #: a ``status.RunStatus``, and the process exit code it gave (0 passed, 1 failed, 130 interrupted...)
    status: str
    exit_code: int
    #: UTC ISO times, and the seconds between them
    started_at: str
    finished_at: str
    duration_s: float
    #: who ran it (the CI actor, else the login name) and on which host
    actor: str
    host: str
    #: ``{"commit": sha, "dirty": bool}`` of the repository (``None`` outside git; ``context.git_info``)
    git: dict[str, Any] | None
    #: the CI run (``{"provider": "github-actions", "run_id", "run_url", ...}``; ``None`` outside CI; ``context.ci_context``)
    ci: dict[str, Any] | None
    #: each block's result, in document order
    blocks: tuple[BlockResult, ...]
    #: the run this one resumes (``--from``), and the blocks it did not re-run
    resumes: str | None = None
    not_rerun: tuple[str, ...] = ()
    #: the record's shape (``SCHEMA_VERSION`` when written by this version)
    schema_version: int = SCHEMA_VERSION
    #: how the run was made: ``{"runner", "execute", "from", "ran": [block ids executed], "database"?}``
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
        """The record as JSON values, as the ledger seals it: fields in declaration order,
        ``blocks`` and ``not_rerun`` as lists, ``acknowledgements`` left out when empty (so
        records without any keep the bytes they had before the field existed)."""
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
        """The record of a ledger line's JSON (``prev``, ``hash`` and unknown keys left out;
        version-1 records read). Raises ``TypeError`` when a required field is missing, and
        what ``BlockResult.from_dict`` raises."""
        values = {k: v for k, v in data.items() if k in _RECORD_FIELDS}
        values["blocks"] = tuple(BlockResult.from_dict(b) for b in data.get("blocks", ()))
        values["not_rerun"] = tuple(data.get("not_rerun", ()))
        values["acknowledgements"] = tuple(dict(a) for a in data.get("acknowledgements", ()))
        return cls(**values)

    def result(self, block_id: str) -> BlockResult | None:
        """The result of block ``block_id`` in this run (``None``: the run has none)."""
        for b in self.blocks:
            if b.id == block_id:
                return b
        return None


_BLOCK_FIELDS = frozenset(f.name for f in fields(BlockResult))
_RECORD_FIELDS = frozenset(f.name for f in fields(RunRecord))
