"""A runbook as parsed: its front matter, phases, tagged blocks, requirements,
acknowledgements and troubleshooting entries (``parse`` makes them; nothing here is
persisted as such — a run records what it needs in ``record.RunRecord``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..status import Kind


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
    #: for a fleet run: ``None`` (the required runbook's target of the same name) or ``"canary"``
    #: (its wave-0 targets, read from the runbook at ``path``)
    target: str | None = None


@dataclass(frozen=True)
class Target:
    """One database of a fleet (``runbook.targets``, inline or in a targets file): a run
    selects it with ``--target NAME``."""

    #: the target's name: ``[a-z0-9][a-z0-9._-]*``, unique in the fleet; names its ledger file
    name: str
    #: the environment variable holding its database URL, e.g. ``DATABASE_URL_TENANT_ACME``
    secret: str
    #: free-form labels as written, in order (``("region", "eu")``, ``("wave", 0)``); a value is a str or an int
    labels: tuple[tuple[str, str | int], ...] = ()
    #: 1-based line of the entry, in the file that declares it
    line: int = 0

    @property
    def wave(self) -> int:
        """The target's wave (label ``wave``, an int ≥ 0; 1 when absent): lower waves go
        first, wave 0 is the canary wave."""
        value = dict(self.labels).get("wave", 1)
        return value if isinstance(value, int) else 1

    def to_dict(self) -> dict[str, str | int]:
        """The target as a GitHub matrix entry: ``{"target": name, "secret": NAME, "wave": N, **labels}``
        (the secret's name, never its value: a workflow reads it as ``secrets[matrix.secret]``)."""
        return {"target": self.name, "secret": self.secret, **dict(self.labels), "wave": self.wave}


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
    #: the runbook id: its ledger is ``<id>.jsonl`` (a selected target's: ``<id>/<target>.jsonl``)
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
    #: the fleet's databases (``runbook.targets``), in declaration order; empty: a single-target runbook
    targets: tuple[Target, ...] = ()
    #: the targets file the fleet was read from (``None``: declared inline, or none)
    targets_file: Path | None = None
    #: the target a run selected (``targets.select``, from ``--target NAME``); ``None`` otherwise
    selected: Target | None = None
    #: the front matter's source map, as the parser found it: dotted key path (``runbook.workdir``,
    #: ``runbook.secrets.0``, a listed name ``runbook.secrets.DB_URL``) -> 1-based line in the file
    key_lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    #: 0-based indexes of the file's lines inside code blocks, fenced or indented (``parse.code_lines``):
    #: where the site leaves a marker as written
    code_lines: frozenset[int] = field(default_factory=frozenset, compare=False, repr=False)

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
