"""The library's errors, each carrying the exit code the CLI returns for it.

Exit codes (docs/reference/exit-codes.md): 0 all passed, 1 a check or step failed (or a
ledger failed verification), 2 bad input or usage, refused before anything ran (bad
runbook, wrong or missing confirmation, refused gate, a ledger that cannot take the run's
record), 3 another run holds the lock, 4 the run executed but its record could not be
written (the ledger was left as it was), 130 the run was interrupted.

An ``OSError`` is no class here: the CLI maps it to 2 only before the first block started
(``attempt.Progress`` says when it is after).
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
EXIT_NOT_RECORDED = 4
EXIT_INTERRUPTED = 130


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in a runbook, located at ``path:line``."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class RunbookChecksError(Exception):
    """Base class; ``exit_code`` is what the CLI exits with."""

    exit_code = EXIT_USAGE


class RunbookInvalid(RunbookChecksError):
    """The runbook has problems; nothing may run."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageProblem(RunbookChecksError):
    """Bad options or arguments (unknown block id, missing file...)."""


class GateRefused(RunbookChecksError):
    """A gate (confirmation, secret, prerequisite) refused the run before anything executed."""


class LockHeld(RunbookChecksError):
    """Another run of the same runbook and environment holds the lock."""

    exit_code = EXIT_LOCKED


class LedgerError(RunbookChecksError):
    """A ledger cannot be read or failed verification."""

    exit_code = EXIT_FAILED


class LedgerRefused(LedgerError):
    """A run is refused before anything executes: its ledger could not take the record
    (it fails verification, cannot be written, or is a symbolic link)."""

    exit_code = EXIT_USAGE


class NotRecorded(LedgerError):
    """The run executed, but its record could not be written; the ledger was rolled back
    to what it was before (the message says whether that worked)."""

    exit_code = EXIT_NOT_RECORDED


class InterruptedUnrecorded(RunbookChecksError):
    """Ctrl-C or a terminating signal stopped the command where no run record says so
    (at the confirmation prompt, during a dry run's previews or the diagnostic checks)."""

    exit_code = EXIT_INTERRUPTED
