"""pytest plugin, one runbook's run inside a session: its lock, its ``session.RunSession``
(the CLI's run engine: the same skip rules, statuses, reasons and record), its secrets
and, at the end, its one ledger record (a fleet target's in that target's ledger)."""

from __future__ import annotations

import os
from pathlib import Path

from ..gates import missing_secrets
from ..ledger import LazyRecords, append_record, last_hash
from ..ledger.paths import runbook_ledger
from ..lock import RunLock
from ..model import Block, BlockResult, Runbook
from ..plan import plan_run
from ..redact import Redactor
from ..session import RunSession, not_run
from ..status import EXECUTED, BlockStatus, Mode


def unselected(runbook: Runbook) -> str | None:
    """Why ``runbook``'s blocks cannot run in this session: it declares ``targets`` and none
    was selected (``--runbooks-target``), so no block would see a ``RUNBOOK_TARGET_URL``;
    ``None`` when they can."""
    if runbook.targets and runbook.selected is None:
        return f"runbook {runbook.id!r} declares {len(runbook.targets)} target(s): choose one with --runbooks-target NAME"
    return None


class RunbookRun:
    """One runbook's run in a pytest session; built by :meth:`start`, ended by :meth:`finish`.

    ``missing``: the declared secrets not set, ``unselected``: why a fleet runbook cannot run
    (no target named; ``unselected()``), either way nothing runs and nothing is recorded;
    ``redactor``: the runbook's secrets' redactor; ``session``: the ``RunSession``; ``lock``:
    the held ``lock.RunLock``."""

    runbook: Runbook
    results: Path
    missing: list[str]
    unselected: str | None
    redactor: Redactor
    lock: RunLock
    session: RunSession

    @classmethod
    def start(cls, runbook: Runbook, *, results: Path, execute: bool, attempt: str | None) -> RunbookRun:
        """Take the runbook's run lock in the ledger directory ``results`` and open its
        ``RunSession`` (mode ``execute`` when ``execute``, else ``check``; ``attempt`` as
        ``run --attempt``; runner ``pytest``). A fleet runbook's selected target has its own
        lock and ledger, as under ``run --target``. The ledger is checked first: one that cannot
        take the record stops the run before any block (``ledger.last_hash`` raises).
        Raises what ``RunLock`` (a held lock), the ledger and ``RunSession`` (a bad attempt id)
        raise; the lock is released then."""
        self = cls()
        self.runbook, self.results = runbook, results
        self.missing = missing_secrets(runbook, os.environ)
        self.unselected = unselected(runbook)
        self.redactor = Redactor.for_secrets(runbook.secrets, os.environ)
        self.lock = RunLock.of(results, runbook, runbook.environment).__enter__()
        try:
            ledger = runbook_ledger(results, runbook)  # a fleet target's own
            prior = LazyRecords(ledger, streamed=True) if any(b.after for b in runbook.blocks) else None
            last_hash(ledger, prior)  # a ledger that cannot take the record: nothing runs (the earlier records read in the same pass)
            self.session = RunSession(
                runbook,
                plan_run(runbook, execute=execute),
                environ=os.environ,
                redactor=self.redactor,
                mode=Mode.EXECUTE if execute else Mode.CHECK,
                attempt=attempt,
                prior=prior or (),
                runner="pytest",
            )
        except BaseException:
            self.lock.__exit__(None, None, None)
            raise
        return self

    def run(self, block: Block) -> BlockResult:
        """Run ``block`` through the session (``RunSession.run``: its skip rules first), or
        skip it when secrets are missing or a fleet runbook has no target (nothing runs and
        nothing is recorded; ``--runbooks-strict`` refuses the session instead)."""
        if self.unselected:
            return not_run(block, BlockStatus.SKIPPED, self.unselected)
        if self.missing:
            return not_run(block, BlockStatus.SKIPPED, f"secret(s) not set: {', '.join(self.missing)}")
        return self.session.run(block)

    def finish(self) -> None:
        """Append the run's record to the ledger when a block executed (else nothing is
        recorded), and release the lock either way. Raises ``errors.NotRecorded`` when the
        record could not be written."""
        try:
            if not any(r.status in EXECUTED for r in self.session.results.values()):
                return  # nothing executed (secrets missing, steps skipped): nothing to record
            append_record(self.results, self.session.record(), self.redactor)
        finally:
            self.lock.__exit__(None, None, None)


__all__ = ["RunbookRun", "unselected"]
