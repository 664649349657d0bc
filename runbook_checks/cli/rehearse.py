"""``runbook-checks rehearse``: a practice run of every block against a throwaway database."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..status import Mode
from .runs import execute_run, run_options


@click.command("rehearse")
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
@click.option(
    "--target",
    "target_name",
    metavar="NAME",
    help="A fleet runbook's target (runbook.targets) to rehearse, as run --target: its secret points at the throwaway "
    "database; recorded in RESULTS/<runbook-id>/<NAME>.jsonl. Required on a runbook that declares targets.",
)
@run_options
def rehearse_cmd(
    path: str,
    db: str,
    database_url: str | None,
    target_name: str | None,
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
    is used instead: one named by a declared secret's value (any fleet target's included) is
    refused. A fleet runbook
    rehearses one target (--target NAME): its secret points at the database, and the record
    goes to that target's ledger. Prints measured phase timings
    against the estimates; the database is stopped and removed even on failure or Ctrl-C.
    """
    from ..attempt import REHEARSAL_ENVIRONMENT, check_writable, refuse_a_real_database, rehearsal_plan, rehearsal_targets, something_to_run
    from ..gates import check_secrets
    from ..ledger import results_dir
    from ..lint import load_runbook
    from ..lock import RunLock
    from ..sandbox import existing, throwaway
    from ..targets import select

    runbook = select(load_runbook(path), target_name, needed_by="rehearse")
    results = str(results_dir(runbook, results))
    targets = rehearsal_targets(runbook, path)
    if database_url:
        refuse_a_real_database(runbook, database_url, os.environ)
    plan = rehearsal_plan(runbook, "postgres" if database_url else db)
    something_to_run(plan)
    check_writable(junit)
    out = sys.stderr if fmt == "json" else sys.stdout
    # the lock first: a second rehearsal is refused before it starts a database
    with (
        RunLock.of(Path(results), runbook, REHEARSAL_ENVIRONMENT) as lock,
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
        code = execute_run(
            runbook,
            plan,
            path=path,
            mode=Mode.REHEARSAL,
            results=Path(results),
            junit=junit,
            fmt=fmt,
            quiet=quiet,
            grace_s=grace_s,
            environ=environ,
            environment=REHEARSAL_ENVIRONMENT,
            lock=lock,
            attempt=attempt,
            database={"kind": database.kind, "version": database.version},
        )
    sys.exit(code)


__all__ = ["rehearse_cmd"]
