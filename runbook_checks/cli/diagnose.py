"""``runbook-checks diagnose`` (which troubleshooting entries apply right now) and
``runbook-checks drift`` (is the live schema what its migrations make it)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from ..errors import EXIT_FAILED, InterruptedUnrecorded, UsageProblem
from ..status import BlockStatus, Mode, RunStatus
from .group import CliError, progress
from .runs import mask_in_github


@click.command("diagnose")
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
@click.option(
    "--target",
    "target_name",
    metavar="NAME",
    help="A fleet runbook's target (runbook.targets) to diagnose, as run --target: its secret must be set and is "
    "exported as RUNBOOK_TARGET_URL. Required on a runbook that declares targets.",
)
def diagnose_cmd(path: str, quiet: bool, grace_s: float, target_name: str | None) -> None:
    """What is wrong right now? Run the read-only diagnostic checks of the runbook's
    troubleshooting entries and name the entries that apply. Nothing is recorded.
    A fleet runbook is diagnosed on one target (--target NAME).

    Exit 0 when no entry applies, 1 when one does (secrets as for run: missing ones refuse),
    130 when interrupted.
    """
    from .. import github
    from ..attempt import Watched
    from ..console import PlainReporter
    from ..execute import run_plan
    from ..gates import check_secrets
    from ..lint import load_runbook
    from ..plan import PlannedBlock
    from ..redact import Redactor
    from ..status import presentation
    from ..streams import terminal
    from ..targets import select
    from ..troubleshoot import diagnose, diagnostic_checks, refusals_explained

    environ = os.environ
    runbook = select(load_runbook(path), target_name, needed_by="diagnose")
    checks = diagnostic_checks(runbook)
    if not checks:
        raise UsageProblem(f"{path}: runbook {runbook.id!r} has no troubleshooting entry with a diagnostic check")
    with refusals_explained(runbook):
        check_secrets(runbook, environ)
    plan = [PlannedBlock(b, True) for b in runbook.blocks if b.id in checks]
    redact = Redactor.for_secrets(runbook.secrets, environ)
    mask_in_github(runbook, environ, sys.stdout, redact)
    reporter = PlainReporter(sys.stdout, quiet, github=github.enabled(environ))
    done = progress()
    record = run_plan(runbook, plan, environ=environ, redactor=redact, observer=Watched(reporter, done), mode=Mode.CHECK, grace_s=grace_s)
    done.record = record
    if record.status == RunStatus.INTERRUPTED:  # its checks were stopped, not answered: no entry is named on their account
        raise InterruptedUnrecorded(
            "interrupted: the diagnostic checks were stopped before they all answered; nothing is concluded and nothing was recorded"
        )
    console = terminal(soft_wrap=True)

    def say(text: str) -> None:
        console.print(text, highlight=False, markup=False)

    found = diagnose(runbook, record)
    for answer in found.answers:
        result = answer.result
        if not answer.entries:
            say(f"{presentation(BlockStatus.SKIPPED).mark} {result.id}: {result.reason or result.status}")
        else:
            say(f"{presentation(BlockStatus.FAILED).mark} {result.id}: {answer.evidence} → {', '.join(e.title for e in answer.entries)}")
    if not found.found:
        say(f"\nno troubleshooting entry applies: {found.passed} diagnostic check(s) passed")
        return
    say(f"\n{len(found.found)} troubleshooting entr{'y applies' if len(found.found) == 1 else 'ies apply'}:")
    for e in found.found:
        say(f"  {e.title} — {runbook.path}:{e.line} (#{e.id})\n    {e.advice[:300]}")
    sys.exit(EXIT_FAILED)


@click.command("drift")
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
    from ..drift import DriftError, check_drift
    from ..redact import Redactor

    redact = Redactor.for_secrets([url_env], os.environ)
    url = os.environ.get(url_env)
    if not url:
        raise UsageProblem(f"${url_env} is not set: export the target's postgresql:// URL in it (or name another variable with --url-env)")
    try:
        report = check_drift(url, Path(migrations))
    except DriftError as exc:  # its message may hold what the target said: masked here, where the secret is known
        raise CliError(redact(f"drift not checked: {exc}"), exc.exit_code) from None
    if fmt == "json":
        click.echo(redact(json.dumps(report.to_dict(), indent=2)))
    else:
        for line in report.lines():
            click.echo(redact(line))
    sys.exit(report.exit_code)


__all__ = ["diagnose_cmd", "drift_cmd"]
