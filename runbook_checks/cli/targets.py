"""``runbook-checks targets``: a fleet runbook's targets as text, JSON, a GitHub matrix or its waves."""

from __future__ import annotations

import json

import click


@click.command("targets")
@click.argument("path", type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github-matrix", "waves"]),
    default="text",
    show_default=True,
    help="text: a table; json: a list of {name, secret, wave, labels}; github-matrix: "
    '{"include": [{"target": NAME, "wave": N, ...labels}]} for strategy.matrix with fromJSON; '
    "waves: the selected targets' waves as a JSON list, e.g. [0, 1, 2].",
)
@click.option("--wave", type=click.IntRange(min=0), metavar="N", help="Only the targets of wave N.")
@click.option("--label", "labels", multiple=True, metavar="K=V", help="Only the targets whose label K is V (repeatable: all must hold).")
def targets_cmd(path: str, fmt: str, wave: int | None, labels: tuple[str, ...]) -> None:
    """Print the targets a fleet runbook declares (runbook.targets), in wave order.

    Exit 2 when the runbook has a problem, declares no targets, or the selection
    (--wave, --label) leaves none: an empty matrix would fail a GitHub job without
    saying why.
    """
    from ..lint import load_runbook
    from ..targets import chosen, github_matrix, parse_labels, waves

    runbook = load_runbook(path)
    found = chosen(runbook, wave=wave, labels=parse_labels(labels))
    if fmt == "github-matrix":
        click.echo(github_matrix(found))
    elif fmt == "waves":
        click.echo(json.dumps(waves(found)))
    elif fmt == "json":
        rows = [{"name": t.name, "secret": t.secret, "wave": t.wave, "labels": dict(t.labels)} for t in found]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        width = max(len(t.name) for t in found)
        for t in found:
            rest = " ".join(f"{k}={v}" for k, v in t.labels if k != "wave")
            click.echo(f"{t.name:<{width}}  wave {t.wave}  ${t.secret}" + (f"  {rest}" if rest else ""))
        click.echo(f"{len(found)} target(s) in wave(s) {', '.join(map(str, waves(found)))}", err=True)


__all__ = ["targets_cmd"]
