"""The fleet commands: ``merge`` (the fan-in of many jobs' ledgers into one folder)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import EXIT_FAILED

#: above this many ledger files, ``merge`` reports its progress on stderr
PROGRESS_FROM = 20


@click.command("merge")
@click.argument("incoming", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option(
    "--into",
    required=True,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="The folder of published ledgers to merge into (created when missing).",
)
@click.option("--dry-run", is_flag=True, help="Verify and say what would change; write nothing.")
def merge_cmd(incoming: tuple[str, ...], into: str, dry_run: bool) -> None:
    """Merge the ledgers of many jobs (INCOMING folders, e.g. downloaded artifacts) into
    DIR, all or nothing: the fan-in of a fleet.

    Every ledger under INCOMING (<id>.jsonl and per target <id>/<target>.jsonl) and its
    copy in DIR is verified (schema, hashes, chain). Per ledger: absent from DIR: copied;
    DIR's chain a prefix of the incoming one: replaced; the incoming chain a prefix of DIR's
    (a stale copy): DIR's kept; chains that diverged: refused, naming both files and the
    first differing line. Nothing is written unless every ledger verifies and none
    diverged; each file is replaced atomically. Exit 1 when refused (each problem printed
    as path:N: problem).
    """
    from ..fleet import apply_merge, plan_merge

    def progress(done: int, total: int) -> None:
        if total >= PROGRESS_FROM and (done % PROGRESS_FROM == 0 or done == total):
            click.echo(f"verified {done}/{total} ledger file(s)", err=True)

    plan = plan_merge([Path(p) for p in incoming], Path(into), progress)
    if not plan.ok:
        for problem in plan.problems:
            click.echo(problem, err=True)
        click.echo(f"error: nothing was merged into {into}: {len(plan.problems)} problem(s)", err=True)
        sys.exit(EXIT_FAILED)
    if not plan.steps:
        click.echo(f"no ledgers (*.jsonl, <id>/*.jsonl) under {', '.join(incoming)}: nothing to merge")
        return
    if dry_run:
        for step in plan.steps:
            click.echo(f"{step.rel}: {step.outcome} ({step.before} -> {step.after} records)")
        click.echo(plan.summary().replace("merged", "would merge", 1))
        return
    apply_merge(plan)
    click.echo(plan.summary())


__all__ = ["merge_cmd"]
