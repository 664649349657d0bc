"""The fleet: selecting a runbook's targets (``--target``, ``--wave``, ``--label``), its waves,
and the GitHub Actions matrix that runs them.

A runbook's ``targets`` are read by ``parse`` (``parse.fleet``). Selecting one target
(``select``) gives the runbook as that target's run sees it: the target's secret is a
declared secret (it must be set, and it is masked everywhere), the runbook's ``target``
reads it (the record's digest), and ``context.runbook_env`` exports
``RUNBOOK_TARGET`` and ``RUNBOOK_TARGET_URL``. Pure: nothing here reads files or the environment.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from .errors import UsageProblem
from .model import Runbook, Target


class NoTargets(UsageProblem):
    """A selection (``--wave``, ``--label``) that leaves no target: exit 2, since a GitHub
    matrix with no entries fails its job with a message that names nothing."""


def select(runbook: Runbook, name: str | None, *, needed_by: str | None = None) -> Runbook:
    """``runbook`` as the run of target ``name`` sees it (``Runbook.selected`` set, the target's
    secret appended to ``secrets``, ``target`` = ``${SECRET}``); ``runbook`` itself when
    ``name`` is ``None``. Raises ``UsageProblem`` (exit 2) when ``name`` is given and the
    runbook declares no targets, or none of that name, and when ``needed_by`` (what acts on
    one database: ``--execute``, ``rehearse``, ``diagnose``) is given for a runbook with
    targets and no ``name``: its blocks would see no ``RUNBOOK_TARGET_URL``."""
    if name is None:
        if needed_by is not None and runbook.targets:
            raise UsageProblem(
                f"{runbook.path}: runbook {runbook.id!r} declares {len(runbook.targets)} target(s); {needed_by} needs "
                f"--target NAME (one of: {_names(runbook.targets)}). Nothing was executed."
            )
        return runbook
    if not runbook.targets:
        raise UsageProblem(f"{runbook.path}: runbook {runbook.id!r} declares no 'targets', so --target {name} names nothing; drop --target")
    target = next((t for t in runbook.targets if t.name == name), None)
    if target is None:
        close = difflib.get_close_matches(name, [t.name for t in runbook.targets], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f"; its targets: {_names(runbook.targets)}"
        raise UsageProblem(f"{runbook.path}: runbook {runbook.id!r} has no target {name!r}{hint}")
    secrets = runbook.secrets if target.secret in runbook.secrets else (*runbook.secrets, target.secret)
    return replace(runbook, selected=target, secrets=secrets, target="${" + target.secret + "}")


def _names(targets: Sequence[Target], limit: int = 10) -> str:
    """The first ``limit`` target names, comma-separated, with how many more."""
    names = ", ".join(t.name for t in targets[:limit])
    return names + (f" and {len(targets) - limit} more" if len(targets) > limit else "")


def parse_labels(given: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """``--label k=v`` options as ``(k, v)`` pairs. Raises ``UsageProblem`` for one without ``=``."""
    out = []
    for item in given:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageProblem(f"--label {item!r}: write it as NAME=VALUE, e.g. --label region=eu")
        out.append((key, value))
    return tuple(out)


def matching(targets: Sequence[Target], *, wave: int | None = None, labels: Iterable[tuple[str, str]] = ()) -> list[Target]:
    """The ``targets`` in wave ``wave`` (any: ``None``) whose labels hold every ``(k, v)`` of
    ``labels`` (compared as text: ``--label wave=0`` matches ``wave: 0``), ordered by wave,
    then declaration."""
    wanted = tuple(labels)
    return sorted((t for t in targets if (wave is None or t.wave == wave) and has_labels(t.to_dict(), wanted)), key=lambda t: t.wave)


def has_labels(entry: Mapping[str, object], wanted: Iterable[tuple[str, str]]) -> bool:
    """Whether ``entry`` (a target as ``Target.to_dict`` gives it: ``target`` is its name)
    holds every ``(key, value)`` of ``wanted``, compared as text (``--label wave=0`` matches
    ``wave: 0``; ``--label target=acme`` the target named acme). The one label rule of
    ``targets``, ``report --fleet`` and the site's fleet page."""
    return all(k in entry and str(entry[k]) == v for k, v in wanted)


def waves(targets: Sequence[Target]) -> list[int]:
    """The waves of ``targets``, ascending, each once: ``[0, 1, 2]``."""
    return sorted({t.wave for t in targets})


def github_matrix(targets: Sequence[Target]) -> str:
    """The JSON for ``strategy.matrix: ${{ fromJSON(...) }}``, on one line:
    ``{"include": [{"target": NAME, "wave": N, ...labels}, ...]}``."""
    return json.dumps({"include": [t.to_dict() for t in targets]}, separators=(",", ":"), ensure_ascii=False)


def chosen(runbook: Runbook, *, wave: int | None = None, labels: Iterable[tuple[str, str]] = ()) -> list[Target]:
    """``matching`` on the runbook's targets. Raises ``UsageProblem`` (exit 2) when the runbook
    declares none, and ``NoTargets`` (exit 2) when the selection leaves none."""
    if not runbook.targets:
        raise UsageProblem(f"{runbook.path}: runbook {runbook.id!r} declares no 'targets' (see runbook-format.md, Fleets)")
    labels = tuple(labels)
    found = matching(runbook.targets, wave=wave, labels=labels)
    if not found:
        what = " and ".join([*([f"wave {wave}"] if wave is not None else []), *(f"{k}={v}" for k, v in labels)])
        raise NoTargets(
            f"{runbook.path}: no target of runbook {runbook.id!r} is in {what} (its waves: {', '.join(map(str, waves(runbook.targets)))}); "
            "an empty matrix would fail the GitHub job without saying why"
        )
    return found


__all__ = ["NoTargets", "chosen", "github_matrix", "has_labels", "matching", "parse_labels", "select", "waves"]
