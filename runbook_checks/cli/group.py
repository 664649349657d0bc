"""The ``runbook-checks`` command group: the one place where the library's errors become
exit codes and messages (click's convention: a ``ClickException`` carries its
``exit_code``, and click's ``main`` prints ``Error: message`` and exits with it).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import click

from .. import __version__
from ..errors import EXIT_INTERRUPTED, EXIT_USAGE, Problem, RunbookChecksError, RunbookInvalid

EXIT_CODES_HELP = """\b
Exit codes:
  0  all checks and steps passed (lint: no problems; verify: intact)
  1  a check or step failed (verify, report: a ledger is tampered with,
     cut, empty or not a ledger; lint-migrations: a destructive or
     blocking finding refused, or the lint could not be done)
  2  bad input or usage, refused before anything ran: bad runbook, wrong
     or missing confirmation, missing secret, unknown block id, a ledger
     that cannot take the record (fails verification, read-only, a link)
  3  another run of the same runbook and environment holds the lock
  4  the run executed but its record could not be written (disk full,
     read-only); the ledger was rolled back and still verifies
  130 the run was interrupted (Ctrl-C, SIGTERM, SIGHUP: the terminal
      closed, or SIGQUIT); the block's processes were stopped and the
      run is recorded as interrupted"""

if TYPE_CHECKING:  # imported when a command runs: ``attempt`` brings the whole run engine, which lint and verify never use
    from ..attempt import Progress

#: where the command's ``Progress`` is kept in ``click.Context.meta``
PROGRESS = "runbook_checks.progress"


class CliError(click.ClickException):
    """A message for the user (``Error: message`` on stderr) and the exit code to leave with."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def annotate_problems(problems: Iterable[Problem]) -> None:
    """In a GitHub Actions job: each runbook problem as an error annotation on its file and line."""
    from .. import github

    if github.enabled(os.environ):
        github.emit((github.problem_annotation(p) for p in problems), sys.stdout)


def progress() -> Progress:
    """The running command's ``Progress`` (how far it got), which the group reads to map an
    ``OSError`` or a late Ctrl-C."""
    return progress_of(click.get_current_context())


def progress_of(ctx: click.Context) -> Progress:
    """``ctx``'s ``Progress``, made the first time it is asked for."""
    from ..attempt import Progress

    return ctx.meta.setdefault(PROGRESS, Progress())


def error_exit(exc: BaseException, done: Progress) -> CliError:
    """The message and exit code of an error that reached the command group (``done``: how
    far the command got):

    - ``RunbookInvalid``: exit 2 (its problems are printed first, as ``path:line: message``);
    - any other ``RunbookChecksError``: its message and its class's ``exit_code``;
    - ``KeyboardInterrupt`` (Ctrl-C, or SIGTERM/SIGHUP/SIGQUIT turned into one): 130;
    - ``OSError``: 2 before the first block started (nothing ran); after, the run's own
      non-zero exit code, else 1, and the message says where the run is recorded.
    """
    if isinstance(exc, RunbookInvalid):
        return CliError(
            f"the runbook has {len(exc.problems)} problem(s); nothing was executed. Fix them (runbook-checks lint) and run again.",
            EXIT_USAGE,
        )
    if isinstance(exc, RunbookChecksError):
        return CliError(str(exc), exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        return CliError(done.interrupted(), EXIT_INTERRUPTED)
    assert isinstance(exc, OSError)
    where = f"{exc.filename}: " if exc.filename else ""
    message = f"{where}{exc.strerror or exc}"
    return CliError(message if not done.started else f"{message} — {done.after_the_run()}", done.exit_code())


class RunbookChecksGroup(click.Group):
    """A ``click.Group`` that maps the library's errors to exit codes for every command
    (``error_exit``), and handles SIGTERM, SIGHUP and SIGQUIT like Ctrl-C while one runs."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the group's callback and the command; an error becomes a ``CliError``."""
        from ..signals import signals_interrupt

        try:
            with signals_interrupt():
                return super().invoke(ctx)
        except (RunbookChecksError, KeyboardInterrupt, OSError) as exc:
            if isinstance(exc, RunbookInvalid):
                annotate_problems(exc.problems)
                for problem in exc.problems:
                    click.echo(str(problem), err=True)
            raise error_exit(exc, progress_of(ctx)) from None  # the command's (``meta`` is shared), else a fresh one: nothing started


@click.group(
    cls=RunbookChecksGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES_HELP,
)
@click.version_option(__version__, prog_name="runbook-checks")
def main() -> None:
    """Run the tagged code blocks of Markdown runbooks behind gates, and record every
    run in a tamper-evident ledger.

    A block tagged {#id .check} is read-only and runs by default; {#id .step} is
    mutating and runs only with --execute and the runbook's exact --confirm token.
    """
    from ..streams import keep_streams

    keep_streams()  # a closed output (| head -1, a closed terminal) never stops a command


__all__ = ["EXIT_CODES_HELP", "CliError", "RunbookChecksGroup", "annotate_problems", "error_exit", "main", "progress"]
