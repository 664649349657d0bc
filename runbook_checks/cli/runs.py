"""``runbook-checks run`` (and its ``--dry-run``), and what ``run`` and ``rehearse`` share:
their options, the progress reporter, and the outcome and files printed after a run.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from ..errors import EXIT_FAILED, EXIT_OK, InterruptedUnrecorded, UsageProblem
from ..status import BlockStatus, Mode, RunStatus
from .group import progress


def run_options(fn: Callable[..., Any]) -> Callable[..., Any]:
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


def mask_in_github(runbook: Any, environ: Mapping[str, str], stream: Any, redact: Any = None) -> None:
    """In a GitHub Actions job: register every masked form of the runbook's secrets with the
    runner (``redact``: the run's redactor, else one made here), before anything else prints."""
    from .. import github
    from ..redact import Redactor

    if github.enabled(environ):
        forms = (redact or Redactor.for_secrets(runbook.secrets, environ)).fixed_forms
        github.emit(github.mask_commands(forms), stream)


def ask_on_terminal(environ: Mapping[str, str]) -> Callable[[str], str] | None:
    """How to ask for the confirmation token: a prompt on stderr when stdin is a terminal
    outside CI, else ``None`` (no question; a missing token refuses). Ctrl-C at the prompt
    raises ``InterruptedUnrecorded`` (exit 130)."""
    if not sys.stdin.isatty() or environ.get("CI"):
        return None

    def ask(question: str) -> str:
        try:
            return click.prompt(question, default="", show_default=False, err=True)
        except click.Abort:
            raise InterruptedUnrecorded("interrupted at the confirmation prompt; nothing was executed") from None

    return ask


def execute_run(
    runbook: Any,
    plan: list[Any],
    *,
    path: str,
    mode: Mode,
    results: Path,
    junit: str | None,
    fmt: str,
    quiet: bool,
    grace_s: float,
    environ: Mapping[str, str],
    environment: str,
    from_id: str | None = None,
    lock: Any = None,
    attempt: str | None = None,
    database: dict[str, str] | None = None,
) -> int:
    """Run a plan (``attempt.run_attempt``: under the lock, recorded), print its progress,
    outcome and files; returns the run's exit code."""
    from .. import github
    from ..attempt import check_writable, run_attempt
    from ..console import PlainReporter, RichReporter, print_outcome
    from ..outputs import wanted, write_run_files
    from ..redact import Redactor
    from ..render import record_summary, timeline_markdown
    from ..report import build_report
    from ..streams import terminal

    check_writable(junit)
    out = sys.stderr if fmt == "json" else sys.stdout
    console = terminal(out, soft_wrap=True)
    redact = Redactor.for_secrets(runbook.secrets, environ)
    in_github = github.enabled(environ)
    mask_in_github(runbook, environ, out, redact)  # the runner's log masking then covers every form we mask
    for note in redact.notes:
        click.echo(f"warning: {note}", err=True)

    def observer_for(total: int) -> Any:
        return RichReporter(console, total) if console.is_terminal and not quiet else PlainReporter(out, quiet, github=in_github)

    outcome = run_attempt(
        runbook,
        plan,
        mode=mode,
        results_dir=results,
        environ=environ,
        redact=redact,
        environment=environment,
        observer_for=observer_for,
        progress=progress(),
        note=lambda text: console.print(text, highlight=False, markup=False),
        lock=lock,
        from_id=from_id,
        grace_s=grace_s,
        attempt=attempt,
        database=database,
        keep_records=wanted(junit, environ),  # the run's files show the ledger: taken in the run's own pass
    )
    record, ledger = outcome.record, outcome.ledger
    shown = dict(path=path, mode=mode, quiet=quiet, ledger=ledger, redact=redact, environ=environ)
    if outcome.not_recorded is not None:  # the outcome still shows, then the error (exit 4) says why it is not recorded
        print_outcome(console, runbook, record, **shown, recorded=False)
        if fmt == "json":
            click.echo(json.dumps({**record_summary(outcome.redacted, ledger), "hash": None, "recorded": False}, indent=2))
        raise outcome.not_recorded
    print_outcome(console, runbook, record, **shown)
    # built from masked values, never masked whole: that could mask their syntax (a secret "false" or "testcase")
    record = outcome.redacted
    warn = lambda text: console.print(text, highlight=False, markup=False)  # noqa: E731
    files = dict(path=path, junit=junit, ledger=ledger, redact=redact, environ=environ, warn=warn, records=outcome.records)
    write_run_files(runbook, record, outcome.sealed, **files)
    if record.mode == Mode.REHEARSAL and record.status != RunStatus.INTERRUPTED:
        timeline = timeline_markdown(build_report(runbook, [record], record.environment))
        console.print("\nMeasured against the runbook's estimates:\n" + timeline, highlight=False, markup=False)
    if fmt == "json":
        click.echo(json.dumps({**record_summary(record, ledger), "hash": outcome.sealed["hash"]}, indent=2))
    return record.exit_code


@click.command("run")
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
@click.option(
    "--target",
    "target_name",
    metavar="NAME",
    help="A fleet runbook's target (runbook.targets) to run on: its secret must be set and is exported as "
    "RUNBOOK_TARGET_URL, its name as RUNBOOK_TARGET; recorded in RESULTS/<runbook-id>/<NAME>.jsonl. Required with --execute "
    "on a runbook that declares targets.",
)
@run_options
def run_cmd(
    path: str,
    execute: bool,
    confirm: str | None,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    from_id: str | None,
    dry_run: bool,
    no_preview: bool,
    target_name: str | None,
    results: str | None,
    junit: str | None,
    fmt: str,
    quiet: bool,
    grace_s: float,
    attempt: str | None,
) -> None:
    """Run a runbook's .check blocks (and, with --execute --confirm TOKEN, its .step blocks)
    in document order, record the run in RESULTS/<runbook-id>.jsonl (a fleet target's:
    RESULTS/<runbook-id>/<target>.jsonl), and exit 0 only if everything that ran passed.

    Declared secrets must be set; their values are shown as *** everywhere. When
    $GITHUB_STEP_SUMMARY is set, a Markdown summary is appended to it.
    """
    from ..attempt import check_gates, something_to_run
    from ..gates import check_secrets
    from ..ledger import results_dir
    from ..lint import load_runbook
    from ..plan import plan_run
    from ..targets import select
    from ..troubleshoot import refusals_explained

    environ = os.environ
    runbook = select(load_runbook(path), target_name, needed_by=None if dry_run else "--execute" if execute else "run")
    results = str(results_dir(runbook, results))
    if confirm is not None and not execute:
        raise UsageProblem("--confirm is only used with --execute; add --execute to run the mutating steps, or drop --confirm")
    if no_preview and not dry_run:
        raise UsageProblem("--no-preview is only used with --dry-run")
    plan = plan_run(runbook, execute=execute, only=only, skip=skip, from_id=from_id)
    gates = dict(execute=execute, confirm=confirm, results_dir=Path(results), environ=environ, ask=ask_on_terminal(environ))
    if dry_run:
        mask_in_github(runbook, environ, sys.stderr if fmt == "json" else sys.stdout)
        with refusals_explained(runbook):
            if execute and confirm is not None:  # a dry run with the token checks the gates a real run would, missing secrets aside
                check_gates(runbook, **gates, secrets=False)
            check_secrets(runbook, environ, missing_ok=True)  # a value that could not be masked still refuses
        sys.exit(print_dry_run(runbook, plan, path=path, fmt=fmt, quiet=quiet, grace_s=grace_s, previews=not no_preview))
    something_to_run(plan)
    with refusals_explained(runbook):
        check_gates(runbook, **gates)
    mode = Mode.EXECUTE if execute else Mode.CHECK
    common = dict(path=path, junit=junit, fmt=fmt, quiet=quiet, grace_s=grace_s, environ=environ, attempt=attempt)
    sys.exit(execute_run(runbook, plan, mode=mode, from_id=from_id, results=Path(results), environment=runbook.environment, **common))


def print_dry_run(runbook: Any, plan: list[Any], *, path: str, fmt: str, quiet: bool, grace_s: float, previews: bool = True) -> int:
    """``run --dry-run``: print the plan (``console.plan_lines``); run the planned
    ``preview=yes`` checks when they can (``preview.run_previews``) and show their failures
    and a summary; with ``--format json``, the whole as JSON on stdout. Returns 1 when a
    preview failed, else 0."""
    from ..console import PlainReporter, plan_lines
    from ..failure import PREVIEW, failures
    from ..preview import dry_run, dry_run_dict, failed_previews, preview_results, run_previews
    from ..redact import Redactor
    from ..status import presentation

    environ = os.environ
    redact = Redactor.for_secrets(runbook.secrets, environ)
    dry = dry_run(runbook, plan, environ, previews=previews)
    out = sys.stderr if fmt == "json" else sys.stdout
    for line in plan_lines(dry, redact):
        click.echo(line, file=out)
    record = None
    if dry.runs_previews:
        for note in redact.notes:
            click.echo(f"warning: {note}", err=True)
        observer = PlainReporter(out, quiet)
        record = run_previews(dry, environ=environ, redact=redact, observer=observer, grace_s=grace_s, progress=progress())
        for report in failures(runbook, record.blocks, path=path, mode=PREVIEW, redact=redact):
            click.echo(f"\n{presentation(BlockStatus.FAILED).mark} " + report.text(output=quiet), file=out)
    ran = preview_results(dry, record)
    failed = failed_previews(ran)
    if ran:
        verdict = "FAILED" if failed else "PASSED"
        click.echo(f"\nPREVIEW {verdict}: {len(ran) - len(failed)} of {len(ran)} preview check(s) passed; nothing was recorded", file=out)
    if fmt == "json":
        click.echo(json.dumps(dry_run_dict(dry, ran, redact), indent=2))
    return EXIT_FAILED if failed else EXIT_OK


__all__ = ["ask_on_terminal", "execute_run", "mask_in_github", "print_dry_run", "run_cmd", "run_options"]
