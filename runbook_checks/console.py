"""What a run shows on the terminal: live progress (rich on a terminal, plain lines
otherwise), the plan of a dry run, the failure reports and the outcome line.

Both reporters implement ``execute.RunObserver``; all text they get is already redacted.
Marks and styles come from ``status.PRESENTATION``.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from . import github
from .failure import failures
from .github import command
from .model import Block, BlockResult, Runbook, RunRecord
from .status import EXECUTED, BlockStatus, Kind, presentation
from .units import format_duration

if TYPE_CHECKING:
    from .preview import DryRun

#: how often the live progress is redrawn (and the lines printed above it written), per second
REFRESH_PER_SECOND = 10
#: a line of output longer than this (in characters) with no end is shown in pieces
LONG_LINE = 4096


def result_line(result: BlockResult) -> str:
    """A block's result in one line: ``id status in 1.2 s``, attempts, the reason, and
    whether it ran after an earlier failure (no mark)."""
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
    """Plain lines on ``stream``: one per block start and end; the block's output in between
    unless ``quiet``; with ``github``, each block's lines folded in a log group."""

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
        """A block starts: its title line (in a GitHub job, a log group that ignores workflow commands)."""
        title = f"▶ {block.id} ({block.kind}) {block.location}"
        if self.github:  # the block's output is data: a line of it that looks like a workflow command is not obeyed
            self._token = secrets.token_hex(16)
            self._line(command("group", title))
            self._line(command("stop-commands", self._token))
        else:
            self._line(title)

    def output(self, block: Block, text: str) -> None:
        """A piece of the block's redacted output, written as it comes (not when quiet)."""
        if not self.quiet:
            self.stream.write(text)
            self._at_line_start = text.endswith("\n")

    def retry(self, block: Block, attempt: int, result: BlockResult) -> None:
        """Attempt number ``attempt`` failed (``result``) and the block runs again after its ``retry_delay_s``."""
        self._line(f"↻ {block.id} attempt {attempt} {result.status}: {result.reason}; retrying in {block.retry_delay_s:g} s")

    def finished(self, result: BlockResult) -> None:
        """The block's result line (its mark, ``result_line``), after closing its log group."""
        if self.github:
            self._line(f"::{self._token}::")
            self._line(command("endgroup"))
        self._line(f"{presentation(result.status).mark} {result_line(result)}")

    def close(self) -> None:
        """End a line of output left without its newline."""
        if not self._at_line_start:
            self._line("")


class _Lines:
    """Lines held for a ``RichReporter`` to print above its live display, each in one style:
    a rich renderable that gives the segments rich's ``Text`` would (control codes
    stripped, no wrapping) without making and laying out a ``Text`` per line (14 µs a line
    against 3 µs; two lines a block). A line with a tab is left to ``Text``, which expands
    tabs by terminal cells."""

    def __init__(self) -> None:
        #: (text, style name) per line, in order
        self.lines: list[tuple[str, str]] = []

    def add(self, text: str, style: str) -> None:
        """Hold ``text`` (one line or several) to be printed in ``style`` (a rich style name, ``""``: none)."""
        self.lines.append((text, style))

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Any]:
        """rich's renderable protocol: the segments of every line held, each line ended."""
        from rich.control import strip_control_codes
        from rich.segment import Segment
        from rich.style import Style
        from rich.text import Text

        newline = Segment.line()
        for text, style in self.lines:
            if "\t" in text:
                yield from console.render(Text(text, style=style, end="\n"), options)
                continue
            rich_style = console.get_style(style, default=Style.null()) if style else None  # an unknown name: unstyled, as Text
            for part in strip_control_codes(text).split("\n"):
                if part:
                    yield Segment(part, rich_style)
                yield newline


class RichReporter:
    """Live progress on a terminal (a rich ``console``): current block, elapsed time, a
    status line per block; ``total`` is the number of blocks that run.

    The display is redrawn on a timer (rich's refresh thread, ``REFRESH_PER_SECOND``), and
    the lines printed above it are written together at most as often, from this thread
    (``tick``: the runner calls it while a block is silent), since rich redraws the live
    display with every print: once per batch of lines instead of once per line."""

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
            refresh_per_second=REFRESH_PER_SECOND,
        )
        self.task = self.progress.add_task("starting", total=total)
        self._partial = ""
        self._started = 0.0
        #: lines not yet written, and when they may be written next (``time.monotonic``)
        self._pending = _Lines()
        self._next_write = 0.0
        self.progress.start()

    def _print(self, text: str, style: str | None = None) -> None:
        self._pending.add(text, style or "")
        self.tick()

    def tick(self, force: bool = False) -> None:
        """Write the lines held, when ``1 / REFRESH_PER_SECOND`` seconds have passed since
        the last write (at once with ``force``)."""
        if self._pending.lines and (force or (now := time.monotonic()) >= self._next_write):
            lines, self._pending = self._pending, _Lines()
            self.console.print(lines, highlight=False, soft_wrap=True)
            self._next_write = (time.monotonic() if force else now) + 1 / REFRESH_PER_SECOND

    def started(self, block: Block) -> None:
        """A block starts: the progress line names it, and its title is printed."""
        self._started = time.monotonic()
        self.progress.update(self.task, description=f"{block.id} ({block.kind})")
        self._print(f"▶ {block.id} ({block.kind}) {block.location}", "bold")

    def output(self, block: Block, text: str) -> None:
        """A piece of the block's redacted output, printed line by line, dimmed."""
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        if len(self._partial) > LONG_LINE:  # a line with no end (a progress bar): show it in pieces
            lines.append(self._partial)
            self._partial = ""
        for line in lines:
            self._print(f"  │ {line}", "dim")

    def retry(self, block: Block, attempt: int, result: BlockResult) -> None:
        """Attempt number ``attempt`` failed (``result``) and the block runs again."""
        self._print(f"↻ {block.id} attempt {attempt} {result.status}: {result.reason}; retrying", "yellow")

    def finished(self, result: BlockResult) -> None:
        """The block's result line, in its status's style."""
        if self._partial:
            self._print(f"  │ {self._partial}", "dim")
            self._partial = ""
        self.progress.advance(self.task)
        self._print(f"{presentation(result.status).mark} {result_line(result)}", presentation(result.status).style or None)

    def close(self) -> None:
        """Write the lines held and stop the live progress display."""
        self.tick(force=True)
        self.progress.stop()


def expectations_in_words(block: Block) -> str:
    """What a check asserts, in words: its exit codes and output expectations, and the
    criterion it is evidence for."""
    parts = [
        f"exit {', '.join(str(c) for c in block.exit_codes)}"
        + (f" (or {block.pending_exit}: migrations pending)" if block.pending_exit is not None else "")
    ]
    parts += [f"output contains {block.expect!r}"] if block.expect else []
    parts += [f"a line matches /{block.expect_regex}/"] if block.expect_regex else []
    parts += [f"output lacks {block.forbid!r}"] if block.forbid else []
    return "; ".join(parts) + (f" — evidence for: {block.criterion}" if block.criterion else "")


def plan_lines(dry: DryRun, redact: Callable[[str], str]) -> list[str]:
    """A dry run's plan as lines (each printed with a newline): the target, each block with
    its redacted command and what it checks (or why it is skipped), the missing secrets,
    and whether the preview checks run now."""
    runbook = dry.runbook
    lines = [
        f"Plan for {runbook.id} ({runbook.environment}) in {runbook.workdir} — a dry run: nothing that changes anything "
        "is executed, nothing is recorded."
    ]
    if runbook.target and dry.target:
        lines.append(f"Target: {dry.target} (from ${dry.source})")
    elif runbook.target:
        lines.append(
            f"Target: ${dry.source} is not set, so the dry run cannot name the database"
            if not dry.source_set
            else f"Target: ${dry.source} is not a database URL (host, port, database)"
        )
    for p in dry.plan:
        b = p.block
        if not p.run:
            lines.append(f"\n  SKIP {b.id} ({b.kind})  {p.reason}")
            continue
        if b.kind == Kind.STEP:
            when = " (after confirmation)"
        elif b.preview:
            when = " (preview: runs now)" if dry.runs_previews else " (preview)"
        else:
            when = ""
        lines.append(f"\n  RUN  {b.id} ({b.kind}){when}  {b.location}")
        lines += [f"       $ {line}" for line in redact(b.code).rstrip("\n").splitlines()]
        lines.append(f"       checks: {expectations_in_words(b)}")
    if dry.missing:
        them = "it" if len(dry.missing) == 1 else "them"
        lines.append(
            f"\nSecret(s) not set: {', '.join(dry.missing)} — a real run would refuse"
            + (f"; set {them} to run the preview check(s) {', '.join(dry.previews)} here." if dry.previews and dry.wanted else ".")
        )
    if dry.previews and not dry.wanted:
        lines.append(f"\nPreview check(s) not run (--no-preview): {', '.join(dry.previews)}")
    if dry.runs_previews:
        lines.append(f"\nPreview: the read-only check(s) marked preview=yes run now{f' against {dry.target}' if dry.target else ''}:")
    return lines


def print_outcome(
    console: Any,
    runbook: Runbook,
    record: RunRecord,
    *,
    path: str,
    mode: str,
    quiet: bool,
    ledger: Path,
    redact: Callable[[str], str],
    environ: Mapping[str, str],
    recorded: bool = True,
) -> None:
    """Print a run's failure reports (the output's tail only when ``quiet``: otherwise it
    was streamed; in a GitHub job, each also as an error annotation) and its outcome line:
    ``STATUS: counts in N s — run ID (attempt A) recorded in LEDGER`` (``NOT recorded``
    when ``recorded`` is false). ``console`` is a rich ``Console``."""
    counts: dict[str, int] = {}
    for b in record.blocks:
        counts[b.status] = counts.get(b.status, 0) + 1
    annotate = github.enabled(environ)
    for report in failures(runbook, record.blocks, path=path, mode=mode, redact=redact):
        if annotate:
            console.file.write(github.failure_annotation(report, environ) + "\n")
        console.print(f"\n{presentation(BlockStatus.FAILED).mark}", style="bold red", end=" ", highlight=False)
        console.print(report.text(output=quiet), highlight=False, markup=False)
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    where = f"recorded in {ledger}" if recorded else f"NOT recorded in {ledger}"
    console.print(
        f"\n{record.status.upper()}: {summary} in {record.duration_s:.1f} s — run {record.run_id} (attempt {record.attempt}) {where}",
        highlight=False,
        markup=False,
    )
