"""The commands that read ledgers and front matter: ``verify``, ``report``, ``compare``, ``schema``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import EXIT_FAILED, UsageProblem

if TYPE_CHECKING:
    from ..model import Runbook


@click.command("verify")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    metavar="HASH",
    help="A ledger head hash kept elsewhere (step summary, run log); the chain must still contain it. Repeatable.",
)
def verify_cmd(paths: tuple[str, ...], anchors: tuple[str, ...]) -> None:
    """Verify ledgers: JSON Schema, hashes and chain. Names the first bad line as path:N.

    PATHS are ledger files (.jsonl) or directories of them, per-target ledgers
    (<id>/<target>.jsonl) included (default: runbook-results in the project root: the nearest folder above the current one with .git, else with mkdocs.yml).
    Exit 1 when a ledger is tampered with, cut or half-written, or an --anchor hash is
    missing from it (records rewritten wholesale, or dropped from the end), and when a
    .jsonl file is empty or not a ledger at all (each has its own message).
    """
    from ..fleet import find_ledgers
    from ..ledger import LEDGER_SUFFIX, results_dir, verify_ledger

    files: list[Path] = []
    default = (str(results_dir(None)),)
    for raw in paths or default:
        p = Path(raw)
        if p.is_dir():
            files += [found.path for found in find_ledgers(p)]
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
        result = verify_ledger(f, keep_hashes=False, anchors=anchors)  # streamed: memory does not grow with the ledger
        click.echo(str(result))
        bad += not result.ok
        found |= result.found
    for anchor in anchors:
        if anchor not in found:
            click.echo(f"anchor {anchor}: not in the verified chain — records were rewritten or removed since it was taken")
            bad += 1
    if bad:
        sys.exit(EXIT_FAILED)


@click.command("report")
@click.argument("path", type=click.Path())
@click.option(
    "--results",
    type=click.Path(file_okay=False),
    help="Directory of the ledgers (default: runbook-results in the project root: the runbook's nearest folder with .git, else with mkdocs.yml).",
)
@click.option("--environment", metavar="ENV", help="Report on this environment (default: the runbook's own; e.g. rehearsal).")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True, help="Output format.")
@click.option(
    "--fleet",
    is_flag=True,
    help="One row per target (the target ledgers <results>/<runbook-id>/*.jsonl): the latest attempt's verdict, when, "
    "duration, migrations fingerprint, drift check, pending migrations, CI job; counts per verdict; the slowest targets.",
)
@click.option(
    "--label",
    "labels",
    multiple=True,
    metavar="KEY=VALUE",
    help="With --fleet: only the targets with this label (target=NAME: by name). Repeatable: all must hold.",
)
def report_cmd(path: str, results: str | None, environment: str | None, fmt: str, fleet: bool, labels: tuple[str, ...]) -> None:
    """The verdict, success criteria and timeline of a runbook's latest attempt in an
    environment, from its verified ledger.

    The attempt shown is the latest migration (--execute); with none, the latest
    rehearsal, else the latest read-only checks. A block whose content changed since
    its result was recorded is reported stale. Exit 1 when the ledger fails
    verification (the report then leaves out the records from the bad line on).
    With --fleet: the same verdict per target, from each target's ledger; exit 1 when
    any of them fails verification.
    """
    from ..ledger import ledger_path, results_dir, verified_records
    from ..lint import load_runbook
    from ..render import report_markdown
    from ..report import build_report

    if labels and not fleet:
        raise UsageProblem("--label filters the targets of --fleet: add --fleet")
    runbook = load_runbook(path)
    if fleet:
        _fleet_report(runbook, results_dir(runbook, results), environment, fmt, labels)
        return
    ledger = ledger_path(results_dir(runbook, results), runbook.id)
    if not ledger.exists():
        click.echo(f"note: no runs recorded yet ({ledger} does not exist; is --results right?)", err=True)
    records, verification = verified_records(ledger, validate_schema=True)
    report = build_report(runbook, records, environment)
    click.echo(json.dumps(report.to_dict(), indent=2) if fmt == "json" else report_markdown(report))
    if verification is not None and not verification.ok:
        click.echo(f"error: {verification} — records from that line on are left out; run 'runbook-checks verify {ledger}'", err=True)
        sys.exit(EXIT_FAILED)


def _fleet_report(runbook: Runbook, results: Path, environment: str | None, fmt: str, labels: tuple[str, ...]) -> None:
    """``report --fleet``: print the fleet view of ``runbook``'s target ledgers under
    ``results``; exit 1 when any fails verification (its row shows the records before the bad line)."""
    from ..fleet.text import fleet_markdown
    from ..fleet.view import read_fleet
    from ..targets import parse_labels

    wanted = parse_labels(labels)
    view = read_fleet(runbook, results, environment, wanted)
    if not view.rows:
        click.echo(f"note: no target ledgers{' matching ' + ' '.join(labels) if labels else ''} under {results / runbook.id}", err=True)
    click.echo(json.dumps(view.to_dict(), indent=2) if fmt == "json" else fleet_markdown(view), nl=fmt == "json")
    bad = [r.problem for r in view.rows if r.problem]
    for problem in bad:
        click.echo(f"error: {problem} — records from that line on are left out; run 'runbook-checks verify {results}'", err=True)
    if bad:
        sys.exit(EXIT_FAILED)


@click.command("compare")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def compare_cmd(paths: tuple[str, ...]) -> None:
    """A Markdown table comparing runbooks from their front matter: environment, confirm
    token, secrets, every 'summary' label (risk, backup, maintenance, impact...) and
    the runbooks each requires."""
    from ..lint import load_runbook
    from ..render import comparison_markdown
    from ..report import comparison

    runbooks = [load_runbook(p) for p in paths]
    click.echo(comparison_markdown(runbooks, comparison(runbooks)))


@click.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of a ledger record."""
    from ..ledger import schema

    click.echo(json.dumps(schema(), indent=2))


__all__ = ["compare_cmd", "report_cmd", "schema_cmd", "verify_cmd"]
