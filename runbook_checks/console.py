"""Terminal progress for a run: rich live progress on a terminal, plain lines otherwise.

Both reporters implement ``execute.RunObserver``; all text they get is already redacted.
"""

from __future__ import annotations

import secrets
import sys
import time
from typing import IO, Any

from .github import command
from .model import EXECUTED, FAILED, INTERRUPTED, NOT_RUN, PASSED, SKIPPED, TIMED_OUT, Block, BlockResult
from .units import format_duration

LONG_LINE = 4096
MARKS = {PASSED: "✔", FAILED: "✘", TIMED_OUT: "⏱", INTERRUPTED: "■", SKIPPED: "–", NOT_RUN: "–"}
STYLES = {PASSED: "green", FAILED: "red", TIMED_OUT: "red", INTERRUPTED: "yellow", SKIPPED: "dim", NOT_RUN: "dim"}


def describe(result: BlockResult) -> str:
    if result.status in EXECUTED:
        extra = f" after {result.attempts} attempts" if result.attempts > 1 else ""
        text = f"{result.id} {result.status} in {format_duration(result.duration_s)}{extra}"
    else:
        text = f"{result.id} {result.status}"
    if result.reason:
        text += f" — {result.reason}"
    if result.after_failure and result.status in EXECUTED:
        text += " (ran after an earlier failure)"
    return text


class PlainReporter:
    """Plain lines: one per block start and end; the block's output in between unless quiet."""

    def __init__(self, stream: IO[str] | None = None, quiet: bool = False, *, github: bool = False):
        self.stream = stream or sys.stdout
        self.quiet = quiet
        #: in a GitHub Actions job: each block's lines folded in a log group
        self.github = github
        self._token = ""
        self._at_line_start = True

    def _line(self, text: str) -> None:
        if not self._at_line_start:
            self.stream.write("\n")
            self._at_line_start = True
        self.stream.write(text + "\n")
        self.stream.flush()

    def started(self, block: Block) -> None:
        title = f"▶ {block.id} ({block.kind}) {block.location}"
        if self.github:  # the block's output is data: a line of it that looks like a workflow command is not obeyed
            self._token = secrets.token_hex(16)
            self._line(command("group", title))
            self._line(command("stop-commands", self._token))
        else:
            self._line(title)

    def output(self, block: Block, text: str) -> None:
        if not self.quiet:
            self.stream.write(text)
            self._at_line_start = text.endswith("\n")

    def retry(self, block: Block, attempt: int, result: BlockResult) -> None:
        self._line(f"↻ {block.id} attempt {attempt} {result.status}: {result.reason}; retrying in {block.retry_delay_s:g} s")

    def finished(self, result: BlockResult) -> None:
        if self.github:
            self._line(f"::{self._token}::")
            self._line(command("endgroup"))
        self._line(f"{MARKS.get(result.status, '?')} {describe(result)}")

    def close(self) -> None:
        if not self._at_line_start:
            self._line("")


class RichReporter:
    """Live progress on a terminal: current block, elapsed time, a status line per block."""

    def __init__(self, console: Any, total: int):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task("starting", total=total)
        self._partial = ""
        self._started = 0.0
        self.progress.start()

    def _print(self, text: str, style: str | None = None) -> None:
        from rich.text import Text

        self.console.print(Text(text, style=style or ""), highlight=False, soft_wrap=True)

    def started(self, block: Block) -> None:
        self._started = time.monotonic()
        self.progress.update(self.task, description=f"{block.id} ({block.kind})")
        self._print(f"▶ {block.id} ({block.kind}) {block.location}", "bold")

    def output(self, block: Block, text: str) -> None:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        if len(self._partial) > LONG_LINE:  # a line with no end (a progress bar): show it in pieces
            lines.append(self._partial)
            self._partial = ""
        for line in lines:
            self._print(f"  │ {line}", "dim")

    def retry(self, block: Block, attempt: int, result: BlockResult) -> None:
        self._print(f"↻ {block.id} attempt {attempt} {result.status}: {result.reason}; retrying", "yellow")

    def finished(self, result: BlockResult) -> None:
        if self._partial:
            self._print(f"  │ {self._partial}", "dim")
            self._partial = ""
        self.progress.advance(self.task)
        self._print(f"{MARKS.get(result.status, '?')} {describe(result)}", STYLES.get(result.status))

    def close(self) -> None:
        self.progress.stop()
