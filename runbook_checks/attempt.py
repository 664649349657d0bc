"""What a ``run`` or ``rehearse`` does around the engine: the gates in their order, the
rehearsal's plan and database guard, the lock, the prior records a resume needs, the
ledger append, and the outcome. The CLI parses options, calls these and prints.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import EXIT_FAILED, EXIT_USAGE, GateRefused, LedgerError, LedgerRefused, NotRecorded, UsageProblem
from .execute import run_plan
from .gates import check_confirmation, check_requirements, check_secrets, target_named
from .ledger import LazyRecords, append_record, last_hash
from .ledger.paths import runbook_ledger
from .lock import RunLock
from .model import Block, Runbook, RunRecord
from .plan import PlannedBlock, plan_run
from .redact import Redactor, redact_record
from .resume import resumed_run
from .session import RunObserver
from .signals import signals_deferred
from .status import Mode
from .target import digest

#: the environment a rehearsal's records are written under
REHEARSAL_ENVIRONMENT = "rehearsal"


@dataclass
class Progress:
    """How far one command got, which decides the exit code of an ``OSError`` and of a late
    Ctrl-C (docs/reference/exit-codes.md): before the first block started nothing ran, so
    exit 2; after, never 2 but the run's own exit code (1 failed, 130 interrupted), and 1
    when it passed — a command that ran blocks and then could not finish is no success."""

    #: a block started (``RunObserver.started`` was called)
    started: bool = False
    #: the run's record once built (``None`` before)
    record: RunRecord | None = None
    #: the ledger the record was appended to (``None``: not recorded, or not yet)
    ledger: Path | None = None

    def exit_code(self) -> int:
        """The exit code of an ``OSError`` now: 2 before a block started, else the run's own
        non-zero code, else 1."""
        if not self.started:
            return EXIT_USAGE
        return self.record.exit_code if self.record is not None and self.record.exit_code else EXIT_FAILED

    def after_the_run(self) -> str:
        """What an error message adds once a block started: where the run is (or is not) recorded."""
        if self.record is None:
            return "blocks had started; nothing was recorded"
        if self.ledger is None:
            return f"the blocks ran ({self.record.status}); nothing was recorded"
        return (
            f"the run executed and is recorded in {self.ledger} ({self.record.status}, exit "
            f"{self.record.exit_code}), but this output could not be written"
        )

    def interrupted(self) -> str:
        """The message of a Ctrl-C (or SIGTERM, SIGHUP, SIGQUIT) that reached the command itself."""
        if not self.started:
            return "interrupted before the run started; nothing was recorded"
        if self.record is not None and self.ledger is not None:
            return (
                f"interrupted after the run: it is recorded in {self.ledger} ({self.record.status}, exit {self.record.exit_code}); "
                "the outcome, JUnit file or step summary may be incomplete"
            )
        return "interrupted after blocks had started; nothing was recorded"


class Watched:
    """A ``RunObserver`` passing everything on to ``reporter``; it also notes in ``progress``
    that a block started and tells ``lock`` (when given) which process group runs."""

    def __init__(self, reporter: Any, progress: Progress, lock: RunLock | None = None):
        self.reporter, self.progress, self.lock = reporter, progress, lock

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reporter, name)

    def started(self, block: Block) -> None:
        """A block starts: from now on an error is no refusal."""
        self.progress.started = True
        self.reporter.started(block)

    def spawned(self, block: Block, pgid: int) -> None:
        """The block's process group ``pgid`` runs: written beside the lock, so a killed run's group is found."""
        if self.lock is not None:
            self.lock.note(pgid=pgid, block=block.id)


def check_gates(
    runbook: Runbook,
    *,
    execute: bool,
    confirm: str | None,
    results_dir: Path,
    environ: Mapping[str, str],
    ask: Callable[[str], str] | None = None,
    secrets: bool = True,
) -> None:
    """The gates of a run, in their order: with ``execute``, the confirmation (asked with
    ``ask(question)`` when no token was given and the caller can ask — a terminal; then the
    secrets are checked first, since the question names the database the secret points at)
    and the ``requires`` gate; then (``secrets``) the declared secrets.

    Raises ``GateRefused`` (exit 2) for the first gate that refuses.
    """
    if execute:
        if confirm is None and ask is not None and runbook.confirm is not None:
            if secrets:
                check_secrets(runbook, environ)
            target = target_named(runbook, environ)
            on = f"({runbook.environment}) on {target}" if target else f"on {runbook.environment}"
            confirm = ask(f"Type {runbook.confirm} to run the mutating steps of {runbook.id} {on}")
        check_confirmation(runbook, confirm, environ)
        check_requirements(runbook, Path(results_dir), environ)
    if secrets:
        check_secrets(runbook, environ)


def something_to_run(plan: Sequence[PlannedBlock]) -> None:
    """Raises ``UsageProblem`` (exit 2) when the plan runs no block, with the reasons."""
    if not any(p.run for p in plan):
        reasons = sorted({p.reason for p in plan if p.reason})
        raise UsageProblem(
            "nothing to run: every block is skipped" + (f" ({'; '.join(reasons)})" if reasons else " (the runbook has no tagged blocks)")
        )


def check_writable(junit: str | None) -> None:
    """Refuse (``UsageProblem``, exit 2) before anything runs when the ``--junit`` file cannot be written."""
    if junit:
        target = Path(junit)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir() or not os.access(target.parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
            raise UsageProblem(f"--junit {junit}: cannot write that file")


def rehearsal_targets(runbook: Runbook, path: str) -> list[str]:
    """The declared secrets a rehearsal points at its database: those named ``DATABASE_URL*``,
    and a selected fleet target's secret (``targets.select``) whatever its name.
    Raises ``UsageProblem`` (exit 2), naming ``path`` as given, when there is none."""
    selected = runbook.selected.secret if runbook.selected is not None else None
    targets = [name for name in runbook.secrets if name.startswith("DATABASE_URL") or name == selected]
    if not targets:
        raise UsageProblem(f"{path}: runbook {runbook.id!r} declares no DATABASE_URL* secret to point at the throwaway database")
    return targets


def rehearsal_plan(runbook: Runbook, db_kind: str) -> list[PlannedBlock]:
    """Every block, steps included; a block whose ``rehearse-db=`` leaves out ``db_kind``
    (``pglite``, ``postgres``) is planned as not run, with the reason."""
    return [
        PlannedBlock(p.block, False, f"rehearse-db={','.join(p.block.rehearse_db)}: not run in a rehearsal on {db_kind}")
        if p.run and p.block.rehearse_db and db_kind not in p.block.rehearse_db
        else p
        for p in plan_run(runbook, execute=True)
    ]


def refuse_a_real_database(runbook: Runbook, url: str, environ: Mapping[str, str]) -> None:
    """``rehearse --database-url``: raises ``GateRefused`` (exit 2) when ``url`` names the
    same database (host, port, database: ``target.digest``) as the value of a secret the
    runbook declares, or of any of its fleet targets' secrets (every target's database is
    real, not only the selected one's) — a rehearsal runs every step with no confirmation."""
    given = digest(url)
    for name in dict.fromkeys((*runbook.secrets, *(t.secret for t in runbook.targets))):
        if given is not None and digest(environ.get(name, "")) == given:
            raise GateRefused(
                f"--database-url names the same database as ${name} (host, port and database); a rehearsal runs every step "
                f"with no confirmation, so it runs only on a throwaway database. To change {name}'s database, use "
                f"runbook-checks run {runbook.path} --execute --confirm <token>. Nothing was executed."
            )


@dataclass(frozen=True)
class Outcome:
    """A run that executed: its record, its ledger and how it was recorded."""

    record: RunRecord
    #: ``record`` with its free text masked (``redact.redact_record``): what the ledger keeps and files show
    redacted: RunRecord
    ledger: Path
    #: the record as appended (its ``hash`` heads the ledger); ``None`` when not recorded
    sealed: dict[str, Any] | None
    #: why the record could not be written (exit 4), else ``None``
    not_recorded: NotRecorded | None = None
    #: every record of the ledger once ``record`` was appended, taken in the run's own pass
    #: over it (``keep_records``); ``None`` when not asked, or when the ledger changed meanwhile
    records: Sequence[RunRecord] | None = None


def run_attempt(
    runbook: Runbook,
    plan: list[PlannedBlock],
    *,
    mode: Mode,
    results_dir: Path,
    environ: Mapping[str, str],
    redact: Redactor,
    environment: str,
    observer_for: Callable[[int], RunObserver],
    progress: Progress,
    note: Callable[[str], None],
    lock: RunLock | None = None,
    from_id: str | None = None,
    grace_s: float = 2.0,
    attempt: str | None = None,
    database: dict[str, str] | None = None,
    keep_records: bool = False,
) -> Outcome:
    """Run ``plan`` under the run lock (``lock``: one the caller holds already, else taken
    here) and append its record to the ledger.

    Before any block starts the ledger must be able to take the record (``LedgerRefused``,
    exit 2) and the lock be free (``LockHeld``, exit 3); a stale lock taken over is told
    with ``note(text)``. ``observer_for(blocks to run)`` makes the progress observer once the
    lock is held. A ``--from`` resume (``from_id``) joins the attempt it continues; a block
    with ``after=`` reads the earlier records. A record that cannot be written comes back
    as ``Outcome.not_recorded`` (the caller shows the outcome, then raises it).
    ``keep_records``: the ledger's records, this one's included, come back as
    ``Outcome.records`` (for the run's files), from the check's pass before the run.
    """
    ledger = runbook_ledger(results_dir, runbook)  # a fleet run's: its target's own ledger
    with contextlib.nullcontext(lock) if lock is not None else RunLock.of(results_dir, runbook, environment) as held:
        if held.took_over:
            h = held.took_over
            note(f"note: took over a stale lock left by pid {h.get('pid')} on {h.get('host')} (started {h.get('started_at')})")
        # the earlier records, when a resume or an ``after=`` block reads them: verified in the same pass
        reads_prior = bool(from_id) or any(b.after for b in runbook.blocks)
        prior = LazyRecords(ledger, streamed=True) if keep_records or reads_prior else None
        last_hash(ledger, prior)  # a ledger that cannot take the record refuses the run before anything runs
        reporter = observer_for(sum(1 for p in plan if p.run))
        try:
            record = run_plan(
                runbook,
                plan,
                environ=environ,
                redactor=redact,
                observer=Watched(reporter, progress, held),
                mode=mode,
                environment=environment,
                resumes=resumed_run(prior or (), environment, mode) if from_id else None,
                grace_s=grace_s,
                attempt=attempt,
                prior=prior if prior and reads_prior else (),  # read by the blocks only when they read earlier records
                from_id=from_id,
                database=database,
            )
        except LedgerError as exc:  # an earlier record whose hash holds but which is no record (a forgery), read before any block starts
            raise LedgerRefused(f"{exc}. Nothing was executed.") from None
        finally:
            reporter.close()
        progress.record = record
        try:
            # the record is masked and written whole: an interrupt now comes too late to stop anything
            with signals_deferred(deliver=False):
                redacted = redact_record(record, redact)
                sealed = append_record(results_dir, redacted, records=prior)
        except NotRecorded as exc:
            return Outcome(record, redacted, ledger, None, exc)
        progress.ledger = ledger
    return Outcome(record, redacted, ledger, sealed, records=prior if keep_records and prior else None)


__all__ = [
    "REHEARSAL_ENVIRONMENT",
    "Outcome",
    "Progress",
    "Watched",
    "check_gates",
    "check_writable",
    "refuse_a_real_database",
    "rehearsal_plan",
    "rehearsal_targets",
    "run_attempt",
    "something_to_run",
]
