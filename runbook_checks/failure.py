"""One failure report per failed block, rendered for the terminal, pytest, JUnit and the
step summary (pure). Every rendering shows the same facts: where, why, the redacted
command, the tail of the redacted output, the troubleshooting entries that explain
it, and the next command to try: one per run, on the report of the first failed
block (a resume from there re-runs every later block); a block that failed after it
names that block instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .model import BlockResult, Runbook
from .status import FAILURES, Mode
from .troubleshoot import entry, entry_reference

#: ``mode`` of the reports of a dry run's preview checks (not a recorded mode)
PREVIEW = "preview"

#: how many lines of the command and of the output's tail a report keeps
COMMAND_LINES = 8
OUTPUT_LINES = 20


@dataclass(frozen=True)
class FailureReport:
    """The facts of one failed or timed-out block, built once (``failure_report``) and
    rendered by the terminal (``lines``), pytest, JUnit, the step summary and GitHub annotations."""

    block_id: str
    #: ``path:line`` of the block's opening fence
    location: str
    status: str
    reason: str
    exit_code: int | None
    #: the block's code, redacted, at most ``COMMAND_LINES`` lines
    command: tuple[str, ...]
    #: the last ``OUTPUT_LINES`` lines of the redacted output
    output_tail: tuple[str, ...]
    #: ``see: Title — path:line (#id)`` plus advice, one per explaining entry
    entries: tuple[str, ...]
    #: the one command to run once the cause is fixed; ``None`` on a block that failed after
    #: an earlier one (``first_failure``), whose report carries the run's one next command
    next_command: str | None
    first_failure: str | None = None
    #: the runbook's path as given, and the block's fence line (``location`` is ``path:line``)
    path: str = ""
    line: int = 0

    def lines(self, *, output: bool = True) -> list[str]:
        """The report as terminal lines; ``output=False`` leaves out the output's tail (it was streamed)."""
        out = [
            f"{self.location}: block {self.block_id!r} {self.status}: {self.reason}",
            f"  exit code: {self.exit_code if self.exit_code is not None else '—'}",
            "  command:",
        ]
        out += [f"    $ {line}" for line in self.command]
        if output:
            out.append("  output (last lines, redacted):")
            out += [f"    {line}" for line in self.output_tail] or ["    (no output)"]
        out += [f"  {e}" for e in self.entries]
        if self.next_command is not None:
            out.append(f"  next: fix the cause (see {self.location}), then run: {self.next_command}")
        elif self.first_failure is not None:
            out.append(f"  ran after block {self.first_failure!r} failed: its next command, above, re-runs this block too")
        return out

    def text(self, *, output: bool = True) -> str:
        """``lines`` joined with newlines (no final newline)."""
        return "\n".join(self.lines(output=output))


def next_command(path: str, mode: str, block_id: str, recovery: bool = False) -> str:
    """What to run once the cause of a failure in ``block_id`` is fixed: a rehearsal again,
    a resume from the block (a resume joins the failed run's attempt), or — for a recovery
    step, which runs only when named — that step again."""
    if mode == Mode.REHEARSAL:
        return f"runbook-checks rehearse {path}"
    if recovery:
        return f"runbook-checks run {path} --only {block_id} --execute --confirm <token>"
    if mode == PREVIEW:
        return f"runbook-checks run {path} --dry-run"
    return f"runbook-checks run {path} --from {block_id}" + (" --execute --confirm <token>" if mode == Mode.EXECUTE else "")


def failure_report(
    runbook: Runbook, result: BlockResult, *, path: str, mode: str, redact: Callable[[str], str], first_failure: str | None = None
) -> FailureReport:
    """The report of a failed or timed-out ``result`` of a block of ``runbook``. ``first_failure``:
    the run's first failed block; when it is another block, this report has no next command."""
    later = first_failure is not None and first_failure != result.id
    block = runbook.block(result.id)
    command = redact(block.code).rstrip("\n").splitlines()
    if len(command) > COMMAND_LINES:
        command = command[:COMMAND_LINES] + [f"… ({len(command) - COMMAND_LINES} more lines)"]
    return FailureReport(
        block_id=result.id,
        location=f"{path}:{block.line}",
        status=result.status,
        reason=result.reason or result.status,
        exit_code=result.exit_code,
        command=tuple(command),
        output_tail=tuple(result.output.rstrip("\n").splitlines()[-OUTPUT_LINES:]),
        entries=tuple(entry_reference(runbook, entry(runbook, i)) for i in result.troubleshooting),
        next_command=None if later else next_command(path, mode, result.id, recovery=result.id in runbook.recovery_steps),
        first_failure=first_failure if later else None,
        path=path,
        line=block.line,
    )


def failures(
    runbook: Runbook, results: tuple[BlockResult, ...], *, path: str, mode: str, redact: Callable[[str], str]
) -> list[FailureReport]:
    """The reports of the failed blocks of one run, in document order: the first carries the run's next command."""
    failed = [r for r in results if r.status in FAILURES]
    first = failed[0].id if failed else None
    return [failure_report(runbook, r, path=path, mode=mode, redact=redact, first_failure=first) for r in failed]


__all__ = ["PREVIEW", "FailureReport", "failure_report", "failures", "next_command"]
