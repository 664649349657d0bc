"""The commands that check without running: ``lint`` (runbook problems), ``list`` (a
runbook's blocks and troubleshooting entries) and ``lint-migrations`` (squawk on the
pending migrations)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import EXIT_FAILED, EXIT_USAGE
from .group import annotate_problems


@click.command("lint")
@click.argument("paths", nargs=-1, type=click.Path())
def lint_cmd(paths: tuple[str, ...]) -> None:
    """Check runbooks for problems; print them as path:line: message.

    PATHS are runbook files or directories searched for Markdown runbooks
    (default: the current directory). Exit 2 when any problem is found.
    """
    from ..lint import lint_paths

    files, problems = lint_paths(list(paths) or ["."])
    annotate_problems(problems)
    for problem in problems:
        click.echo(str(problem))
    click.echo(f"{len(files)} runbook(s) checked, {len(problems)} problem(s)", err=True)
    if problems:
        sys.exit(EXIT_USAGE)


FORMAT_TABLE_JSON = click.Choice(["table", "json"])


@click.command("list")
@click.argument("path", type=click.Path())
@click.option("--format", "fmt", type=FORMAT_TABLE_JSON, default="table", show_default=True, help="Output as a table or as JSON.")
def list_cmd(path: str, fmt: str) -> None:
    """List the tagged blocks of a runbook: id, kind, phase, criterion, timeout, line."""
    from ..lint import load_runbook

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
    from rich.table import Table
    from rich.text import Text

    from ..streams import terminal, visible

    def row(*cells: str) -> list[Text]:  # text from the runbook: shown as written (escaped before rich measures it), never as markup
        return [Text(visible(c)) for c in cells]

    table = Table(title=Text(visible(f"{runbook.title} ({runbook.id}, {runbook.environment})")))
    for col in ("id", "kind", "phase", "criterion", "timeout", "line"):
        table.add_column(col, justify="right" if col in ("timeout", "line") else "left")
    for r in rows:
        table.add_row(*row(r["id"], r["kind"], r["phase"] or "—", r["criterion"] or "—", f"{r['timeout_s']:g} s", str(r["line"])))
    console = terminal(width=None if sys.stdout.isatty() else 200)
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
                *row(
                    en["id"], en["title"], explains, ", ".join(en["diagnostics"]) or "—", ", ".join(en["recovery"]) or "—", str(en["line"])
                )
            )
        console.print(guide)


@click.command("lint-migrations")
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
    from .. import migration_lint as ml
    from ..errors import Problem, UsageProblem
    from ..lint import load_runbook

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


__all__ = ["lint_cmd", "lint_migrations_cmd", "list_cmd"]
