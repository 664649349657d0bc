"""Migration lint, squawk: finding the pinned binary, running it, reading its findings.

squawk is PyPI's ``squawk-cli`` (pinned in pyproject.toml); its binary ships in the
wheel and needs no network. With ``--reporter json`` it prints one JSON list of
findings, each ``{"file", "line" (0-based), "column" (0-based), "rule_name", "message",
"help", "level"}``, and exits 0 (no finding) or 1 (findings); anything else is a
failure. Which rules run is squawk's own config file (``--config``), never code here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import MigrationLintError

#: the squawk rule for SQL it cannot parse
SYNTAX_ERROR = "syntax-error"
#: seconds one squawk run may take
SQUAWK_TIMEOUT_S = 120
#: seconds squawk may take to answer whether it knows rule names
RULES_TIMEOUT_S = 60


@dataclass(frozen=True)
class Finding:
    """One squawk finding in one pending migration."""

    #: the migration's directory name
    migration: str
    #: the ``migration.sql`` file, relative to the app (the directory the lint ran in)
    path: str
    #: 1-based line and 0-based column of the statement part squawk points at
    line: int
    column: int
    #: squawk's rule name, e.g. ``ban-drop-column``
    rule: str
    message: str
    #: squawk's advice, when it gives one
    help: str | None = None
    #: squawk's level: ``Warning`` or ``Error``
    level: str = "Warning"

    def __str__(self) -> str:
        """``path:line: rule: message``, the place-first form editors and CI annotations read."""
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


def squawk_binary() -> Path:
    """The ``squawk`` executable: beside this interpreter's scripts (where ``pip install
    squawk-cli`` puts it), else on ``PATH``. Raises ``MigrationLintError`` when neither has it."""
    beside = Path(sysconfig.get_path("scripts")) / "squawk"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("squawk")
    if found:
        return Path(found)
    raise MigrationLintError("squawk is not installed: pip install 'squawk-cli==2.70.0' (pinned in runbook-checks' pyproject.toml)")


def unknown_rules(rules: Sequence[str]) -> list[str]:
    """The names in ``rules`` that the pinned squawk does not know, in the order given
    (``syntax-error`` is always known). squawk is asked: ``--exclude`` with an unknown rule
    name exits 2 saying ``invalid rule name NAME``, one name at a time. Raises
    ``MigrationLintError`` when squawk cannot be run or refuses the names otherwise."""
    names = [r for r in dict.fromkeys(rules) if r != SYNTAX_ERROR]
    unknown: list[str] = []
    while names:
        done = subprocess.run(
            [str(squawk_binary()), "--exclude", ",".join(names), "--config", os.devnull, "--reporter", "json"],
            input="",
            capture_output=True,
            text=True,
            timeout=RULES_TIMEOUT_S,
        )
        if done.returncode != 2:
            return unknown
        bad = next((n for n in names if f"invalid rule name {n}\n" in done.stderr + "\n"), None)
        if bad is None:
            raise MigrationLintError(f"squawk refused the rule names {', '.join(names)}: {done.stderr.strip()[:500]}")
        unknown.append(bad)
        names.remove(bad)
    return unknown


def _finding(item: dict, migration: str) -> Finding:
    """One item of squawk's JSON list as a :class:`Finding` (its 0-based line made 1-based)."""
    return Finding(
        migration=migration,
        path=str(item.get("file", "")),
        line=int(item.get("line", 0)) + 1,
        column=int(item.get("column", 0)),
        rule=str(item.get("rule_name", "")),
        message=str(item.get("message", "")).strip(),
        help=(str(item["help"]).strip() or None) if item.get("help") else None,
        level=str(item.get("level", "Warning")),
    )


def run_squawk(files: Sequence[tuple[str, Path]], *, config: Path, cwd: Path, timeout_s: float = SQUAWK_TIMEOUT_S) -> list[Finding]:
    """Run squawk with ``config`` over ``files`` (``(migration name, migration.sql)``), in
    ``cwd``; returns its findings with 1-based lines (squawk's JSON counts from 0), paths
    relative to ``cwd`` where they are below it, in file then line order.

    Raises ``MigrationLintError`` when squawk is missing, fails (an exit other than 0 or 1),
    prints no JSON list, or takes longer than ``timeout_s`` seconds."""
    if not files:
        return []
    binary = squawk_binary()
    shown = {}
    for name, sql in files:
        try:
            shown[name] = sql.resolve().relative_to(cwd.resolve()).as_posix()
        except ValueError:
            shown[name] = str(sql)
    argv = [str(binary), "--reporter", "json", "--config", str(config), *(shown[name] for name, _ in files)]
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise MigrationLintError(f"squawk did not finish within {timeout_s:g} s") from None
    try:
        raw = json.loads(done.stdout) if done.returncode in (0, 1) and done.stdout.strip() else ([] if done.returncode == 0 else None)
    except json.JSONDecodeError:
        raw = None
    if not isinstance(raw, list):
        said = (done.stderr.strip() or done.stdout.strip() or "no output")[:2000]
        raise MigrationLintError(f"squawk failed (exit {done.returncode}): {said}")
    by_path = {path: name for name, path in shown.items()}
    findings = [_finding(item, by_path.get(str(item.get("file", "")), Path(str(item.get("file", ""))).parent.name)) for item in raw]
    order = {name: i for i, (name, _) in enumerate(files)}
    findings.sort(key=lambda f: (order.get(f.migration, len(order)), f.line, f.column, f.rule))
    return findings


__all__ = ["SYNTAX_ERROR", "Finding", "run_squawk", "squawk_binary", "unknown_rules"]
