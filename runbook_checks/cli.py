"""The ``runbook-checks`` command line: thin commands over the library.

Each command parses options, calls the library, formats the result. Library errors
become exit codes here and nowhere else (see ``errors.py``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, RunbookChecksError, RunbookInvalid
from .model import MODE_CHECK, MODE_EXECUTE, MODE_REHEARSAL, RUN_INTERRUPTED

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


class CliError(click.ClickException):
    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def _errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into clean messages and exit codes (no tracebacks); SIGTERM,
    SIGHUP and SIGQUIT are handled like Ctrl-C for the whole command."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .runner import signals_interrupt

        try:
            with signals_interrupt():
                return fn(*args, **kwargs)
        except RunbookInvalid as exc:
            _annotate(exc.problems)
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            raise CliError(
                f"the runbook has {len(exc.problems)} problem(s); nothing was executed. Fix them (runbook-checks lint) and run again.",
                EXIT_USAGE,
            ) from None
        except RunbookChecksError as exc:
            raise CliError(str(exc), exc.exit_code) from None
        except KeyboardInterrupt:
            raise CliError("interrupted before the run started; nothing was recorded", EXIT_INTERRUPTED) from None
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise CliError(f"{where}{exc.strerror or exc}", EXIT_USAGE) from None

    return wrapper


def _annotate(problems: list[Any]) -> None:
    """In a GitHub Actions job: each runbook problem as an error annotation on its file and line."""
    from . import github

    if github.enabled(os.environ):
        github.emit((github.problem_annotation(p) for p in problems), sys.stdout)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="runbook-checks")
def main() -> None:
    """Run the tagged code blocks of Markdown runbooks behind gates, and record every
    run in a tamper-evident ledger.

    A block tagged {#id .check} is read-only and runs by default; {#id .step} is
    mutating and runs only with --execute and the runbook's exact --confirm token.
    """
    from .streams import keep_streams

    keep_streams()  # a closed output (| head -1, a closed terminal) never stops a command


@main.command("lint")
@click.argument("paths", nargs=-1, type=click.Path())
@_errors
def lint_cmd(paths: tuple[str, ...]) -> None:
    """Check runbooks for problems; print them as path:line: message.

    PATHS are runbook files or directories searched for Markdown runbooks
    (default: the current directory). Exit 2 when any problem is found.
    """
    from .lint import lint_paths

    files, problems = lint_paths(list(paths) or ["."])
    _annotate(problems)
    for problem in problems:
        click.echo(str(problem))
    click.echo(f"{len(files)} runbook(s) checked, {len(problems)} problem(s)", err=True)
    if problems:
        sys.exit(EXIT_USAGE)


FORMAT_TABLE_JSON = click.Choice(["table", "json"])


@main.command("list")
@click.argument("path", type=click.Path())
@click.option("--format", "fmt", type=FORMAT_TABLE_JSON, default="table", show_default=True, help="Output as a table or as JSON.")
@_errors
def list_cmd(path: str, fmt: str) -> None:
    """List the tagged blocks of a runbook: id, kind, phase, criterion, timeout, line."""
    from .lint import load_runbook

    runbook = load_runbook(path)
    rows = [
        {
            "id": b.id,
            "kind": b.kind,
            "phase": b.phase,
            "criterion": b.criterion,
            "timeout_s": b.timeout_s,
            "line": b.line,
            "retries": b.retries,
            "expect": b.expect,
            "expect_regex": b.expect_regex,
            "preview": b.preview,
        }
        for b in runbook.blocks
    ]
    entries = [
        {
            "id": e.id,
            "title": e.title,
            "line": e.line,
            "match": e.match,
            "exit": list(e.exit_codes),
            "blocks": list(e.blocks),
            "diagnostics": list(e.diagnostics),
            "recovery": list(e.recovery),
        }
        for e in runbook.entries
    ]
    if fmt == "json":
        click.echo(
            json.dumps(
                {"runbook": runbook.id, "path": path, "environment": runbook.environment, "blocks": rows, "entries": entries}, indent=2
            )
        )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{runbook.title} ({runbook.id}, {runbook.environment})")
    for col in ("id", "kind", "phase", "criterion", "timeout", "line"):
        table.add_column(col, justify="right" if col in ("timeout", "line") else "left")
    for r in rows:
        table.add_row(r["id"], r["kind"], r["phase"] or "—", r["criterion"] or "—", f"{r['timeout_s']:g} s", str(r["line"]))
    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(table)
    if entries:
        guide = Table(title="Troubleshooting entries")
        for col in ("id", "title", "explains", "diagnostics", "recovery", "line"):
            guide.add_column(col, justify="right" if col == "line" else "left")
        for en in entries:
            explains = ", ".join(
                x
                for x in (
                    f"/{en['match']}/" if en["match"] else "",
                    f"exit {en['exit']}" if en["exit"] else "",
                    f"blocks {', '.join(en['blocks'])}" if en["blocks"] else "",
                )
                if x
            )
            guide.add_row(
                en["id"], en["title"], explains, ", ".join(en["diagnostics"]) or "—", ", ".join(en["recovery"]) or "—", str(en["line"])
            )
        console.print(guide)


def _interactive() -> bool:
    return sys.stdin.isatty() and not os.environ.get("CI")


def _run_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by ``run`` and ``rehearse``."""
    for option in reversed(
        [
            click.option(
                "--results",
                type=click.Path(file_okay=False),
                help="Directory of the ledgers (default: runbook-results in the project root: the runbook's nearest folder with .git, else with mkdocs.yml).",
            ),
            click.option("--junit", type=click.Path(dir_okay=False), help="Write JUnit XML of this run to this file."),
            click.option(
                "--format",
                "fmt",
                type=click.Choice(["text", "json"]),
                default="text",
                show_default=True,
                help="json: a machine-readable summary on stdout (progress goes to stderr).",
            ),
            click.option("-q", "--quiet", is_flag=True, help="Plain status lines only; do not stream the blocks' output."),
            click.option(
                "--grace",
                "grace_s",
                type=click.FloatRange(0, 60),
                default=2.0,
                show_default=True,
                help="Seconds between SIGTERM and SIGKILL when a block is stopped.",
            ),
            click.option(
                "--attempt",
                metavar="ID",
                help="The migration attempt this run belongs to (default: $RUNBOOK_CHECKS_ATTEMPT, the attempt "
                "a --from resume continues, the GitHub workflow run, else a new one).",
            ),
        ]
    ):
        fn = option(fn)
    return fn


@main.command("run")
@click.argument("path", type=click.Path())
@click.option("--execute", is_flag=True, help="Also run the mutating .step blocks (needs --confirm).")
@click.option("--confirm", metavar="TOKEN", help="The runbook's exact confirmation token; required with --execute.")
@click.option("--only", multiple=True, metavar="ID", help="Run only this block (repeatable).")
@click.option("--skip", multiple=True, metavar="ID", help="Do not run this block (repeatable).")
@click.option("--from", "from_id", metavar="ID", help="Resume: start at this block; earlier blocks are recorded as not re-run.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Preview: print the plan, the target and what each block checks; run only the preview=yes "
    "checks (read-only, when the secrets are set); change and record nothing.",
)
@click.option("--no-preview", is_flag=True, help="With --dry-run: do not run the preview=yes checks either (the plan and the gates only).")
@_run_options
@_errors
def run_cmd(
    path: str,
    execute: bool,
    confirm: str | None,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    from_id: str | None,
    dry_run: bool,
    no_preview: bool,
    results: str | None,
    junit: str | None,
    fmt: str,
    quiet: bool,
    grace_s: float,
    attempt: str | None,
) -> None:
    """Run a runbook's .check blocks (and, with --execute --confirm TOKEN, its .step blocks)
    in document order, record the run in RESULTS/<runbook-id>.jsonl, and exit 0 only
    if everything that ran passed.

    Declared secrets must be set; their values are shown as *** everywhere. When
    $GITHUB_STEP_SUMMARY is set, a Markdown summary is appended to it.
    """
    from .errors import UsageProblem
    from .execute import plan_run
    from .gates import check_secrets
    from .ledger import results_dir
    from .lint import load_runbook

    runbook = load_runbook(path)
    results = str(results_dir(runbook, results))
    if confirm is not None and not execute:
        raise UsageProblem("--confirm is only used with --execute; add --execute to run the mutating steps, or drop --confirm")
    if no_preview and not dry_run:
        raise UsageProblem("--no-preview is only used with --dry-run")
    plan = plan_run(runbook, execute=execute, only=only, skip=skip, from_id=from_id)
    if dry_run:
        _mask_in_github(runbook, os.environ, sys.stderr if fmt == "json" else sys.stdout)
        with _hints_for_refusals(runbook):
            if execute and confirm is not None:  # a dry run with the token checks the gates a real run would, missing secrets aside
                _gates(runbook, execute, confirm, results, secrets=False)
            check_secrets(runbook, os.environ, missing_ok=True)  # a value that could not be masked still refuses
        sys.exit(_dry_run(runbook, plan, path=path, fmt=fmt, quiet=quiet, grace_s=grace_s, previews=not no_preview))
    _something_to_run(plan)
    with _hints_for_refusals(runbook):
        _gates(runbook, execute, confirm, results)
    sys.exit(
        _run(
            runbook,
            plan,
            path=path,
            mode=MODE_EXECUTE if execute else MODE_CHECK,
            from_id=from_id,
            results=Path(results),
            junit=junit,
            fmt=fmt,
            quiet=quiet,
            grace_s=grace_s,
            environ=os.environ,
            environment=runbook.environment,
            attempt=attempt,
        )
    )


def _mask_in_github(runbook: Any, environ: Any, stream: Any, redact: Any = None) -> None:
    """In a GitHub Actions job: register every masked form of the runbook's secrets with the
    runner (``redact``: the run's redactor, else one made here), before anything else prints."""
    from . import github
    from .redact import Redactor

    if github.enabled(environ):
        forms = (redact or Redactor.for_secrets(runbook.secrets, environ)).fixed_forms
        github.emit(github.mask_commands(forms), stream)


def _gates(runbook: Any, execute: bool, confirm: str | None, results: str, *, secrets: bool = True) -> None:
    """Refuse (exit 2) unless the confirmation, the ``requires`` gate and (``secrets``) the
    secrets allow the run; asks for the token on a terminal, naming the target database."""
    from .gates import check_confirmation, check_requirements, check_secrets, target_named

    if execute:
        if confirm is None and _interactive() and runbook.confirm is not None:
            if secrets:  # refused before the question, which names the database the secret points at
                check_secrets(runbook, os.environ)
            target = target_named(runbook, os.environ)
            on = f"({runbook.environment}) on {target}" if target else f"on {runbook.environment}"
            try:
                confirm = click.prompt(
                    f"Type {runbook.confirm} to run the mutating steps of {runbook.id} {on}", default="", show_default=False, err=True
                )
            except click.Abort:
                raise CliError("interrupted at the confirmation prompt; nothing was executed", EXIT_INTERRUPTED) from None
        check_confirmation(runbook, confirm, os.environ)
        check_requirements(runbook, Path(results), os.environ)
    if secrets:
        check_secrets(runbook, os.environ)


@contextlib.contextmanager
def _hints_for_refusals(runbook: Any) -> Iterator[None]:
    """A refused gate also names the runbook's troubleshooting entries that explain it."""
    from .errors import GateRefused
    from .troubleshoot import describe, for_message

    try:
        yield
    except GateRefused as exc:
        hints = "".join(f"\n  {describe(runbook, e)}" for e in for_message(runbook, str(exc)))
        raise GateRefused(f"{exc}{hints}") from None


def _something_to_run(plan: list[Any]) -> None:
    from .errors import UsageProblem

    if not any(p.run for p in plan):
        reasons = sorted({p.reason for p in plan if p.reason})
        raise UsageProblem(
            "nothing to run: every block is skipped" + (f" ({'; '.join(reasons)})" if reasons else " (the runbook has no tagged blocks)")
        )


def _expectations(block: Any) -> str:
    """What a check asserts, in words: its exit codes and output expectations."""
    parts = [
        f"exit {', '.join(str(c) for c in block.exit_codes)}"
        + (f" (or {block.pending_exit}: migrations pending)" if block.pending_exit is not None else "")
    ]
    parts += [f"output contains {block.expect!r}"] if block.expect else []
    parts += [f"a line matches /{block.expect_regex}/"] if block.expect_regex else []
    parts += [f"output lacks {block.forbid!r}"] if block.forbid else []
    return "; ".join(parts) + (f" — evidence for: {block.criterion}" if block.criterion else "")


def _dry_run(runbook: Any, plan: list[Any], *, path: str, fmt: str, quiet: bool, grace_s: float, previews: bool = True) -> int:
    """``run --dry-run``: print the plan, what each block would check, the target and the
    missing secrets (not an error); with every secret set (and ``previews``), run the planned
    ``preview=yes`` checks (read-only) and show their output. Nothing else executes; nothing
    is recorded (no lock, no ledger, no JUnit, no step summary). Returns 1 when a preview
    failed, else 0."""
    wanted = previews
    from .console import PlainReporter
    from .execute import PlannedBlock, run_plan
    from .failure import PREVIEW, failures
    from .gates import missing_secrets, target_named
    from .redact import Redactor, redact_record
    from .target import variable

    redact = Redactor.for_secrets(runbook.secrets, os.environ)
    missing = missing_secrets(runbook, os.environ)
    target = target_named(runbook, os.environ)
    source = variable(runbook.target) if runbook.target else None
    previews = [p.block.id for p in plan if p.run and p.block.preview]
    runs_previews = bool(previews) and not missing and wanted
    out = sys.stderr if fmt == "json" else sys.stdout

    def say(text: str = "") -> None:
        click.echo(text, file=out)

    say(
        f"Plan for {runbook.id} ({runbook.environment}) in {runbook.workdir} — a dry run: nothing that changes anything is executed, nothing is recorded."
    )
    if runbook.target and target:
        say(f"Target: {target} (from ${source})")
    elif runbook.target:
        say(
            f"Target: ${source} is not set, so the dry run cannot name the database"
            if not os.environ.get(source or "")
            else f"Target: ${source} is not a database URL (host, port, database)"
        )
    for p in plan:
        b = p.block
        if p.run:
            when = (
                " (after confirmation)"
                if b.kind == "step"
                else " (preview: runs now)"
                if b.preview and runs_previews
                else " (preview)"
                if b.preview
                else ""
            )
            say(f"\n  RUN  {b.id} ({b.kind}){when}  {b.location}")
            for line in redact(b.code).rstrip("\n").splitlines():
                say(f"       $ {line}")
            say(f"       checks: {_expectations(b)}")
        else:
            say(f"\n  SKIP {b.id} ({b.kind})  {p.reason}")
    if missing:
        say(
            f"\nSecret(s) not set: {', '.join(missing)} — a real run would refuse"
            + (
                f"; set {'it' if len(missing) == 1 else 'them'} to run the preview check(s) {', '.join(previews)} here."
                if previews and wanted
                else "."
            )
        )
    if previews and not wanted:
        say(f"\nPreview check(s) not run (--no-preview): {', '.join(previews)}")
    record = None
    if runs_previews:
        say(f"\nPreview: the read-only check(s) marked preview=yes run now{f' against {target}' if target else ''}:")
        for note in redact.notes:
            click.echo(f"warning: {note}", err=True)
        only = [
            PlannedBlock(p.block, p.run and p.block.preview, None if p.run and p.block.preview else "dry run: not executed") for p in plan
        ]
        record = redact_record(
            run_plan(
                runbook, only, environ=os.environ, redactor=redact, observer=PlainReporter(out, quiet), mode=MODE_CHECK, grace_s=grace_s
            ),
            redact,
        )
        if record.status == RUN_INTERRUPTED:
            raise CliError("interrupted: the preview checks were stopped; nothing was recorded", EXIT_INTERRUPTED)
        for report in failures(runbook, record.blocks, path=path, mode=PREVIEW, redact=redact):
            say("\n✘ " + report.text(output=quiet))
    ran = [b for b in record.blocks if b.id in previews] if record else []
    failed = [b.id for b in ran if b.status != "passed"]
    if ran:
        say(
            f"\nPREVIEW {'FAILED' if failed else 'PASSED'}: {len(ran) - len(failed)} of {len(ran)} preview check(s) passed; nothing was recorded"
        )
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "runbook": runbook.id,
                    "environment": runbook.environment,
                    "target": target,
                    "target_from": source,
                    "missing_secrets": missing,
                    "plan": [
                        {
                            "id": p.block.id,
                            "kind": p.block.kind,
                            "line": p.block.line,
                            "run": p.run,
                            "reason": p.reason,
                            "preview": p.block.preview,
                            "command": redact(p.block.code),
                        }
                        for p in plan
                    ],
                    "previews": [
                        {"id": b.id, "status": b.status, "exit_code": b.exit_code, "reason": b.reason, "output": b.output} for b in ran
                    ],
                },
                indent=2,
            )
        )
    return EXIT_FAILED if failed else 0


def _check_writable(junit: str | None) -> None:
    """Refuse before running anything when the JUnit file cannot be written."""
    from .errors import UsageProblem

    if junit:
        target = Path(junit)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir() or not os.access(target.parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
            raise UsageProblem(f"--junit {junit}: cannot write that file")


class _LockNotes:
    """Passes progress on to the reporter and tells the lock which process group runs."""

    def __init__(self, reporter: Any, lock: Any):
        self.reporter, self.lock = reporter, lock

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reporter, name)

    def spawned(self, block: Any, pgid: int) -> None:
        self.lock.note(pgid=pgid, block=block.id)


def _run(
    runbook: Any,
    plan: list[Any],
    *,
    path: str,
    mode: str,
    from_id: str | None,
    results: Path,
    junit: str | None,
    fmt: str,
    quiet: bool,
    grace_s: float,
    environ: Any,
    environment: str,
    lock: Any = None,
    attempt: str | None = None,
    database: dict[str, str] | None = None,
) -> int:
    """Run a plan under the lock (``lock``: one the caller holds already), record it, print
    the outcome; returns the exit code."""
    from rich.console import Console

    from . import github
    from .console import PlainReporter, RichReporter
    from .errors import LedgerError, LedgerRefused, NotRecorded
    from .execute import resumed_run, run_plan
    from .gates import RunLock
    from .ledger import append_record, last_hash, ledger_path, verified_records
    from .redact import Redactor, redact_record
    from .render import record_summary
    from .runner import signals_deferred

    _check_writable(junit)
    out = sys.stderr if fmt == "json" else sys.stdout
    console = Console(file=out, soft_wrap=True)
    redact = Redactor.for_secrets(runbook.secrets, environ)
    in_github = github.enabled(environ)
    _mask_in_github(runbook, environ, out, redact)  # the runner's log masking then covers every form we mask
    for note in redact.notes:
        click.echo(f"warning: {note}", err=True)
    ledger = ledger_path(results, runbook.id)
    with contextlib.nullcontext(lock) if lock is not None else RunLock(results, runbook.id, environment) as lock:
        if lock.took_over:
            h = lock.took_over
            console.print(
                f"note: took over a stale lock left by pid {h.get('pid')} on {h.get('host')} (started {h.get('started_at')})",
                highlight=False,
            )
        last_hash(ledger)  # a ledger that cannot take the record refuses the run before anything runs
        to_run = sum(1 for p in plan if p.run)
        reporter = RichReporter(console, to_run) if console.is_terminal and not quiet else PlainReporter(out, quiet, github=in_github)
        try:
            prior = verified_records(ledger)[0] if from_id or any(b.after for b in runbook.blocks) else []
            resumes = resumed_run(prior, environment, mode) if from_id else None
            record = run_plan(
                runbook,
                plan,
                environ=environ,
                redactor=redact,
                observer=_LockNotes(reporter, lock),
                mode=mode,
                environment=environment,
                resumes=resumes,
                grace_s=grace_s,
                attempt=attempt,
                prior=prior,
                from_id=from_id,
                database=database,
            )
        except LedgerError as exc:  # an earlier record whose hash holds but which is no record (a forgery), read before any block starts
            raise LedgerRefused(f"{exc}. Nothing was executed.") from None
        finally:
            reporter.close()
        try:
            with signals_deferred(deliver=False):  # the record is written whole: an interrupt now comes too late to stop anything
                sealed = append_record(results, record, redact)
        except NotRecorded:  # the outcome still shows, then the error (exit 4) says why it is not recorded
            _print_outcome(console, runbook, record, path=path, mode=mode, quiet=quiet, ledger=ledger, redact=redact, recorded=False)
            if fmt == "json":
                click.echo(json.dumps({**record_summary(redact_record(record, redact), ledger), "hash": None, "recorded": False}, indent=2))
            raise
    try:
        _print_outcome(console, runbook, record, path=path, mode=mode, quiet=quiet, ledger=ledger, redact=redact)
        _write_outputs(runbook, record, sealed, path=path, junit=junit, fmt=fmt, ledger=ledger, redact=redact, console=console)
    except KeyboardInterrupt:
        raise CliError(
            f"interrupted after the run: it is recorded in {ledger} ({record.status}, exit {record.exit_code}); "
            "the outcome, JUnit file or step summary may be incomplete",
            EXIT_INTERRUPTED,
        ) from None
    except OSError as exc:  # after the blocks ran: never the "nothing was executed" of exit 2
        where = f"{exc.filename}: " if exc.filename else ""
        raise CliError(
            f"{where}{exc.strerror or exc} — the run executed and is recorded in {ledger} ({record.status}, exit "
            f"{record.exit_code}), but this output could not be written",
            EXIT_FAILED,
        ) from None
    return record.exit_code


def _print_outcome(
    console: Any, runbook: Any, record: Any, *, path: str, mode: str, quiet: bool, ledger: Path, redact: Any, recorded: bool = True
) -> None:
    from . import github
    from .failure import failures

    counts: dict[str, int] = {}
    for b in record.blocks:
        counts[b.status] = counts.get(b.status, 0) + 1
    annotate = github.enabled(os.environ)
    for report in failures(runbook, record.blocks, path=path, mode=mode, redact=redact):
        if annotate:
            console.file.write(github.failure_annotation(report) + "\n")
        console.print("\n✘", style="bold red", end=" ", highlight=False)
        console.print(report.text(output=quiet), highlight=False, markup=False)
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    where = f"recorded in {ledger}" if recorded else f"NOT recorded in {ledger}"
    console.print(
        f"\n{record.status.upper()}: {summary} in {record.duration_s:.1f} s — run {record.run_id} (attempt {record.attempt}) {where}",
        highlight=False,
        markup=False,
    )


def _write_outputs(
    runbook: Any, record: Any, sealed: dict[str, Any], *, path: str, junit: str | None, fmt: str, ledger: Path, redact: Any, console: Any
) -> None:
    from . import github
    from .evidence import Attempts
    from .failure import failures
    from .ledger import verified_records
    from .redact import redact_record
    from .render import junit_xml, record_markdown, record_summary, timeline_markdown
    from .report import AttemptSummary, build_report

    titles = {e.id: e.title for e in runbook.entries}
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    # built from masked values, never masked whole: that could mask their syntax (a secret "false" or "testcase")
    record = redact_record(record, redact)
    failed = failures(runbook, record.blocks, path=path, mode=record.mode, redact=redact)
    outputs_file = os.environ.get("GITHUB_OUTPUT")
    if junit or summary_file or outputs_file:
        records = verified_records(ledger)[0]
        report = build_report(runbook, records, record.environment)
        mine = Attempts(records).find(record.environment, record.attempt)
        attempt = AttemptSummary.of(mine) if mine else None
    if junit:
        Path(junit).write_text(junit_xml(record, path, titles, attempt, failed), encoding="utf-8")
    if summary_file:
        text = record_markdown(record, report, titles, failed, attempt) + f"\nLedger `{ledger}` head: `{sealed['hash']}`\n"
        try:
            with open(summary_file, "a", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            console.print(
                f"warning: cannot append to GITHUB_STEP_SUMMARY ({summary_file}): {exc.strerror or exc}", highlight=False, markup=False
            )
    if outputs_file:  # the step's outputs: what a later step or job decides on
        github.write_outputs(
            {
                "status": record.status,
                "exit-code": str(record.exit_code),
                "run-id": record.run_id,
                "attempt-id": record.attempt,
                "verdict": attempt.verdict if attempt else record.status,
                "ledger": str(ledger),
                "ledger-head": sealed["hash"],
            },
            os.environ,
        )
    if record.mode == MODE_REHEARSAL and record.status != RUN_INTERRUPTED:
        console.print(
            "\nMeasured against the runbook's estimates:\n" + timeline_markdown(build_report(runbook, [record], record.environment)),
            highlight=False,
            markup=False,
        )
    if fmt == "json":
        click.echo(json.dumps({**record_summary(record, ledger), "hash": sealed["hash"]}, indent=2))


@main.command("rehearse")
@click.argument("path", type=click.Path())
@click.option(
    "--db",
    type=click.Choice(["pglite", "postgres"]),
    default="pglite",
    show_default=True,  # sandbox.DB_KINDS
    help="pglite: embedded PGlite via the app's pglite-server (no install); postgres: a temporary PostgreSQL 15 cluster.",
)
@click.option(
    "--database-url",
    metavar="URL",
    help="Rehearse on this existing throwaway database (e.g. a CI service container) instead of starting "
    "one; refused when it names the database of a secret the runbook declares.",
)
@_run_options
@_errors
def rehearse_cmd(
    path: str,
    db: str,
    database_url: str | None,
    results: str | None,
    junit: str | None,
    fmt: str,
    quiet: bool,
    grace_s: float,
    attempt: str | None,
) -> None:
    """Practice run: start a throwaway database, point the runbook's DATABASE_URL* secrets
    at it, and run every block, steps included, with no confirmation (nothing real is
    touched; the record says environment "rehearsal"). With --database-url, that database
    is used instead: one named by a declared secret's value is refused. Prints measured phase timings
    against the estimates; the database is stopped and removed even on failure or Ctrl-C.
    """
    from .errors import UsageProblem
    from .execute import PlannedBlock, plan_run
    from .gates import RunLock, check_secrets
    from .ledger import results_dir
    from .lint import load_runbook
    from .sandbox import existing, throwaway

    runbook = load_runbook(path)
    results = str(results_dir(runbook, results))
    targets = [name for name in runbook.secrets if name.startswith("DATABASE_URL")]
    if not targets:
        raise UsageProblem(f"{path}: runbook {runbook.id!r} declares no DATABASE_URL* secret to point at the throwaway database")
    if database_url:
        _refuse_a_real_database(runbook, database_url)
    kind = "postgres" if database_url else db
    plan = [
        PlannedBlock(p.block, False, f"rehearse-db={','.join(p.block.rehearse_db)}: not run in a rehearsal on {kind}")
        if p.run and p.block.rehearse_db and kind not in p.block.rehearse_db
        else p
        for p in plan_run(runbook, execute=True)
    ]
    _something_to_run(plan)
    _check_writable(junit)
    out = sys.stderr if fmt == "json" else sys.stdout
    # the lock first: a second rehearsal is refused before it starts a database
    with (
        RunLock(Path(results), runbook.id, "rehearsal") as lock,
        existing(database_url) if database_url else throwaway(db, runbook.workdir) as database,
    ):
        environ = {**os.environ, **{name: database.url for name in targets}}
        check_secrets(runbook, environ)
        if database_url:
            click.echo(
                f"Rehearsing {runbook.id} on the database given by --database-url at {database.host}:{database.port} "
                f"({', '.join(targets)} point there; its steps change that database: it must be a throwaway)",
                file=out,
            )
        else:
            click.echo(
                f"Rehearsing {runbook.id} on a throwaway {database.version} at {database.host}:{database.port} "
                f"({', '.join(targets)} point there; nothing real is touched)",
                file=out,
            )
        if database.kind == "pglite":
            click.echo(
                "note: PGlite serves every connection from one backend, so advisory locks do not exclude each other: this "
                "rehearsal cannot show Prisma's migration-lock contention (use --db postgres for that)",
                file=out,
            )
        code = _run(
            runbook,
            plan,
            path=path,
            mode=MODE_REHEARSAL,
            from_id=None,
            results=Path(results),
            junit=junit,
            fmt=fmt,
            quiet=quiet,
            grace_s=grace_s,
            environ=environ,
            environment="rehearsal",
            lock=lock,
            attempt=attempt,
            database={"kind": database.kind, "version": database.version},
        )
    sys.exit(code)


def _refuse_a_real_database(runbook: Any, url: str) -> None:
    """``rehearse --database-url``: refuse (exit 2) a URL that names the same database
    (host, port, database: ``target.digest``) as the value of a secret the runbook declares
    — a rehearsal runs every step with no confirmation."""
    from .errors import GateRefused
    from .target import digest

    given = digest(url)
    for name in runbook.secrets:
        if given is not None and digest(os.environ.get(name, "")) == given:
            raise GateRefused(
                f"--database-url names the same database as ${name} (host, port and database); a rehearsal runs every step "
                f"with no confirmation, so it runs only on a throwaway database. To change {name}'s database, use "
                f"runbook-checks run {runbook.path} --execute --confirm <token>. Nothing was executed."
            )


@main.command("diagnose")
@click.argument("path", type=click.Path())
@click.option("-q", "--quiet", is_flag=True, help="Do not stream the diagnostics' output.")
@click.option(
    "--grace",
    "grace_s",
    type=click.FloatRange(0, 60),
    default=2.0,
    show_default=True,
    help="Seconds between SIGTERM and SIGKILL when a check is stopped.",
)
@_errors
def diagnose_cmd(path: str, quiet: bool, grace_s: float) -> None:
    """What is wrong right now? Run the read-only diagnostic checks of the runbook's
    troubleshooting entries and name the entries that apply. Nothing is recorded.

    Exit 0 when no entry applies, 1 when one does (secrets as for run: missing ones refuse),
    130 when interrupted.
    """
    from rich.console import Console

    from . import github
    from .console import PlainReporter
    from .errors import UsageProblem
    from .execute import PlannedBlock, run_plan
    from .gates import check_secrets
    from .lint import load_runbook
    from .model import FAILED, TIMED_OUT
    from .redact import Redactor
    from .troubleshoot import diagnosis, summary_line

    runbook = load_runbook(path)
    diagnostics = {block_id: e for e in runbook.entries for block_id in e.diagnostics}
    if not diagnostics:
        raise UsageProblem(f"{path}: runbook {runbook.id!r} has no troubleshooting entry with a diagnostic check")
    with _hints_for_refusals(runbook):
        check_secrets(runbook, os.environ)
    plan = [PlannedBlock(b, True) for b in runbook.blocks if b.id in diagnostics]
    redact = Redactor.for_secrets(runbook.secrets, os.environ)
    _mask_in_github(runbook, os.environ, sys.stdout, redact)
    record = run_plan(
        runbook,
        plan,
        environ=os.environ,
        redactor=redact,
        observer=PlainReporter(sys.stdout, quiet, github=github.enabled(os.environ)),
        mode=MODE_CHECK,
        grace_s=grace_s,
    )
    if record.status == RUN_INTERRUPTED:  # its checks were stopped, not answered: no entry is named on their account
        raise CliError(
            "interrupted: the diagnostic checks were stopped before they all answered; nothing is concluded and nothing was recorded",
            EXIT_INTERRUPTED,
        )
    console = Console(soft_wrap=True)
    found: list[Any] = []
    for result in record.blocks:
        if result.id not in diagnostics or result.status == "passed":
            continue
        if result.status not in (FAILED, TIMED_OUT):  # needs= a check that failed: not run, so it says nothing
            console.print(f"– {result.id}: {result.reason or result.status}", highlight=False, markup=False)
            continue
        matched = diagnosis(runbook, result, diagnostics[result.id])
        found += [e for e in matched if e not in found]
        evidence = summary_line(result, [e.match for e in matched if e.match])
        console.print(f"✘ {result.id}: {evidence} → {', '.join(e.title for e in matched)}", highlight=False, markup=False)
    if not found:
        passed = sum(1 for r in record.blocks if r.id in diagnostics and r.status == "passed")
        console.print(f"\nno troubleshooting entry applies: {passed} diagnostic check(s) passed", highlight=False, markup=False)
        return
    console.print(f"\n{len(found)} troubleshooting entr{'y applies' if len(found) == 1 else 'ies apply'}:", highlight=False, markup=False)
    for e in found:
        console.print(f"  {e.title} — {runbook.path}:{e.line} (#{e.id})\n    {e.advice[:300]}", highlight=False, markup=False)
    sys.exit(1)


@main.command("drift")
@click.option(
    "--migrations",
    "migrations",
    type=click.Path(),
    default="prisma/migrations",
    show_default=True,
    metavar="DIR",
    help="The migrations folder (Prisma's layout: DIR/NAME/migration.sql).",
)
@click.option(
    "--url-env",
    "url_env",
    default="DATABASE_URL",
    show_default=True,
    metavar="VAR",
    help="Name of the environment variable holding the target's postgresql:// URL (the URL itself never goes on a "
    "command line; its password is never printed). Its ?schema= names the schema compared (default public).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output as text lines or as JSON."
)
@_errors
def drift_cmd(migrations: str, url_env: str, fmt: str) -> None:
    """Is the live schema still what its applied migrations make it? Read which
    migrations the target has applied (Prisma's _prisma_migrations), apply exactly those
    to a throwaway PostgreSQL 15 cluster, dump both schemas with pg_dump --schema-only
    and compare them object by object: one "drift:" line per table, column, default,
    constraint, index (…) that differs. Migrations in DIR not applied yet are listed as
    "pending", which is not drift. The target is only read.

    \b
    Exit codes:
      0  no drift (pending migrations allowed)
      1  drift: a differing object, or a migration that failed, was modified
         after it was applied, or is applied but missing from DIR
      2  nothing was compared: VAR unset or not a postgresql:// URL, DIR
         missing, the target unreachable or refusing, pg_dump missing or older
         than the server, or an applied migration that does not apply to a
         fresh database
    """
    from .drift import DriftError, check_drift
    from .redact import Redactor

    redact = Redactor.for_secrets([url_env], os.environ)
    url = os.environ.get(url_env)
    if not url:
        raise CliError(
            f"${url_env} is not set: export the target's postgresql:// URL in it (or name another variable with --url-env)", EXIT_USAGE
        )
    try:
        report = check_drift(url, Path(migrations))
    except DriftError as exc:
        raise CliError(redact(f"drift not checked: {exc}"), exc.exit_code) from None
    if fmt == "json":
        click.echo(redact(json.dumps(report.to_dict(), indent=2)))
    else:
        for line in report.lines():
            click.echo(redact(line))
    sys.exit(report.exit_code)


@main.command("verify")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    metavar="HASH",
    help="A ledger head hash kept elsewhere (step summary, run log); the chain must still contain it. Repeatable.",
)
@_errors
def verify_cmd(paths: tuple[str, ...], anchors: tuple[str, ...]) -> None:
    """Verify ledgers: JSON Schema, hashes and chain. Names the first bad line as path:N.

    PATHS are ledger files (.jsonl) or directories of them (default: runbook-results in
    the project root: the nearest folder above the current one with .git, else with mkdocs.yml).
    Exit 1 when a ledger is tampered with, cut or half-written, or an --anchor hash is
    missing from it (records rewritten wholesale, or dropped from the end), and when a
    .jsonl file is empty or not a ledger at all (each has its own message).
    """
    from .errors import UsageProblem
    from .ledger import LEDGER_SUFFIX, results_dir, verify_ledger

    files: list[Path] = []
    default = (str(results_dir(None)),)
    for raw in paths or default:
        p = Path(raw)
        if p.is_dir():
            files += sorted(f for f in p.glob(f"*{LEDGER_SUFFIX}") if f.is_file())
        elif p.is_file() and p.suffix == LEDGER_SUFFIX:
            files.append(p)
        elif p.is_file():
            raise UsageProblem(f"{raw}: not a ledger (ledgers are {LEDGER_SUFFIX} files)")
        else:
            raise UsageProblem(f"{raw}: no such ledger file or directory")
    if not files:
        raise UsageProblem(f"no ledger files (*{LEDGER_SUFFIX}) under {', '.join(paths or default)}")
    bad = 0
    found: set[str] = set()
    for f in files:
        result = verify_ledger(f)
        click.echo(str(result))
        bad += not result.ok
        found |= set(result.hashes)
    for anchor in anchors:
        if anchor not in found:
            click.echo(f"anchor {anchor}: not in the verified chain — records were rewritten or removed since it was taken")
            bad += 1
    if bad:
        sys.exit(1)


@main.command("report")
@click.argument("path", type=click.Path())
@click.option(
    "--results",
    type=click.Path(file_okay=False),
    help="Directory of the ledgers (default: runbook-results in the project root: the runbook's nearest folder with .git, else with mkdocs.yml).",
)
@click.option("--environment", metavar="ENV", help="Report on this environment (default: the runbook's own; e.g. rehearsal).")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True, help="Output format.")
@_errors
def report_cmd(path: str, results: str | None, environment: str | None, fmt: str) -> None:
    """The verdict, success criteria and timeline of a runbook's latest attempt in an
    environment, from its verified ledger.

    The attempt shown is the latest migration (--execute); with none, the latest
    rehearsal, else the latest read-only checks. A block whose content changed since
    its result was recorded is reported stale. Exit 1 when the ledger fails
    verification (the report then leaves out the records from the bad line on).
    """
    from .ledger import ledger_path, results_dir, verified_records
    from .lint import load_runbook
    from .render import report_markdown
    from .report import build_report

    runbook = load_runbook(path)
    ledger = ledger_path(results_dir(runbook, results), runbook.id)
    if not ledger.exists():
        click.echo(f"note: no runs recorded yet ({ledger} does not exist; is --results right?)", err=True)
    records, verification = verified_records(ledger, validate_schema=True)
    report = build_report(runbook, records, environment)
    click.echo(json.dumps(report.to_dict(), indent=2) if fmt == "json" else report_markdown(report))
    if verification is not None and not verification.ok:
        click.echo(f"error: {verification} — records from that line on are left out; run 'runbook-checks verify {ledger}'", err=True)
        sys.exit(EXIT_FAILED)


@main.command("compare")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@_errors
def compare_cmd(paths: tuple[str, ...]) -> None:
    """A Markdown table comparing runbooks from their front matter: environment, confirm
    token, secrets, every 'summary' label (risk, backup, maintenance, impact...) and
    the runbooks each requires."""
    from .lint import load_runbook
    from .render import comparison_markdown
    from .report import comparison

    runbooks = [load_runbook(p) for p in paths]
    click.echo(comparison_markdown(runbooks, comparison(runbooks)))


@main.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of a ledger record."""
    from .ledger import schema

    click.echo(json.dumps(schema(), indent=2))


@main.command("lint-migrations")
@click.argument("names", nargs=-1)
@click.option(
    "--pending-command",
    metavar="COMMAND",
    help="A command (run in the current directory) that lists the migrations pending on the target: exit 0 none, "
    "exit --pending-exit with their names one per line. Instead of NAMES.",
)
@click.option(
    "--pending-exit", type=int, default=3, show_default=True, help="The exit code with which --pending-command reports pending migrations."
)
@click.option(
    "--runbook",
    "runbook_path",
    type=click.Path(),
    metavar="RUNBOOK",
    help='The runbook whose runbook.acknowledge entries accept findings (blocks pass "$RUNBOOK_PATH").',
)
@click.option(
    "--policy",
    type=click.Choice(["warn", "refuse"]),
    default="refuse",
    show_default=True,
    help="warn: show the findings and pass (staging). refuse: fail on a destructive or blocking finding that "
    "the runbook does not acknowledge (production).",
)
@click.option(
    "--migrations",
    "migrations_dir",
    default="prisma/migrations",
    show_default=True,
    type=click.Path(),
    help="The migrations folder: one directory per migration, holding migration.sql.",
)
@click.option(
    "--config",
    "config_path",
    default=".squawk.toml",
    show_default=True,
    type=click.Path(),
    help="The squawk config: which rules run (squawk's keys) and, in its [runbook-checks] table, refuse = "
    "the destructive or blocking rules.",
)
@_errors
def lint_migrations_cmd(
    names: tuple[str, ...],
    pending_command: str | None,
    pending_exit: int,
    runbook_path: str | None,
    policy: str,
    migrations_dir: str,
    config_path: str,
) -> None:
    """Lint the pending migrations with squawk; print each finding as
    path/migration.sql:LINE: RULE: message.

    The migrations are NAMES (directories of --migrations) or those --pending-command
    lists; nothing pending passes. Which rules run comes from the squawk config; which
    findings are destructive or blocking from its [runbook-checks] refuse list. With
    --policy refuse, such a finding fails (exit 1) unless the runbook's
    runbook.acknowledge lists its migration and rule (with who and why). Exit 2: bad
    usage, a bad config or runbook (as path:line), an unknown migration.
    """
    from . import migration_lint as ml
    from .errors import Problem, UsageProblem
    from .lint import load_runbook

    if bool(names) == bool(pending_command):
        raise UsageProblem("lint-migrations: give the migrations to lint as NAMES or --pending-command, not both nor neither")
    cwd = Path.cwd()
    migrations = Path(migrations_dir)
    runbook = load_runbook(runbook_path) if runbook_path else None
    acks = runbook.acknowledge if runbook is not None else ()
    config = ml.load_config(Path(config_path))
    if bad := ml.unknown_rules(sorted(config.refuse)):
        raise UsageProblem(f"{config_path}: [{ml.CONFIG_TABLE}] refuse names rule(s) squawk does not know: {', '.join(bad)}")
    if acks and (bad := set(ml.unknown_rules([a.rule for a in acks]))):
        for a in acks:
            if a.rule in bad:
                click.echo(str(Problem(str(runbook_path), a.line, f"acknowledgement: rule {a.rule!r} is not a squawk rule")), err=True)
        raise UsageProblem(f"the runbook acknowledges rule(s) squawk does not know: {', '.join(sorted(bad))}; nothing was linted")
    if pending_command:
        pending = ml.pending_from_command(pending_command, cwd=cwd, migrations=migrations, pending_exit=pending_exit)
    else:
        pending = list(dict.fromkeys(names))
    files = [(name, ml.migration_file(migrations, name)) for name in pending]
    if not files:
        click.echo("No pending migrations: nothing to lint")
        return
    click.echo(f"squawk lints {len(files)} pending migration(s) with {config_path}: {', '.join(pending)}")
    findings = ml.run_squawk(files, config=Path(config_path), cwd=cwd)
    verdict = ml.judge(findings, config=config, acknowledgements=acks, policy=policy, migrations=pending)
    for line in ml.report_lines(verdict, findings=findings, config=config, runbook=runbook_path):
        click.echo(line)
    if not verdict.passed:
        sys.exit(EXIT_FAILED)
