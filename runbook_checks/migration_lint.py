"""Lint the pending migrations with squawk, and judge the findings by a policy.

One job: given the migrations that are pending on the target (their directory names
under the migrations folder), run the pinned ``squawk`` (PyPI ``squawk-cli``, its binary
ships in the wheel and needs no network) over their ``migration.sql`` files with the
app's squawk config, and say which findings a production run refuses.

- **Which rules run** is squawk's config file in the app (``.squawk.toml``:
  ``excluded_rules``, ``pg_version``, ``assume_in_transaction``...), never code.
- **Which findings are destructive or blocking** is the list ``refuse`` in that same file's
  ``[runbook-checks]`` table (squawk ignores tables it does not know); without it,
  ``DEFAULT_REFUSE``. Squawk's ``syntax-error`` is always refused: a migration PostgreSQL
  cannot parse fails the deploy halfway.
- **Policy**: ``warn`` shows every finding and passes (staging); ``refuse`` fails when a
  refused finding is not acknowledged for its migration and rule (production), see
  ``Acknowledgement`` and ``runbook.acknowledge``.

Which migrations are pending is not decided here: ``pending_from_command`` reads it from
the app's own command (``scripts/pending-migrations.mjs``: exit 0 nothing pending, exit 3
pending, their names one per line), the one the runbooks' ``list-pending`` check runs.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sysconfig
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import EXIT_FAILED, RunbookChecksError, UsageProblem
from .model import Acknowledgement

#: what the production policy refuses when the squawk config has no ``[runbook-checks] refuse``:
#: rules whose statements lose data, break clients that still run the old code, or hold
#: a lock that blocks reads or writes while a table is scanned or rewritten
DEFAULT_REFUSE: tuple[str, ...] = (
    "adding-field-with-default",
    "adding-foreign-key-constraint",
    "adding-not-nullable-field",
    "adding-required-field",
    "adding-serial-primary-key-field",
    "ban-concurrent-index-creation-in-transaction",
    "ban-drop-column",
    "ban-drop-database",
    "ban-drop-not-null",
    "ban-drop-table",
    "ban-truncate-cascade",
    "changing-column-type",
    "constraint-missing-not-valid",
    "disallowed-unique-constraint",
    "renaming-column",
    "renaming-table",
    "require-concurrent-index-creation",
    "require-concurrent-index-deletion",
)
#: the squawk rule for SQL it cannot parse: refused whatever the config says
SYNTAX_ERROR = "syntax-error"
#: the app's squawk config, relative to the app (the directory the command runs in)
DEFAULT_CONFIG = ".squawk.toml"
#: the table of the squawk config that this module reads (squawk itself ignores it)
CONFIG_TABLE = "runbook-checks"
WARN, REFUSE = "warn", "refuse"
POLICIES = (WARN, REFUSE)


class MigrationLintError(RunbookChecksError):
    """The lint could not be done (squawk missing or failing, the pending command failed);
    exit 1: the check did not pass."""

    exit_code = EXIT_FAILED


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
    rule: str
    message: str
    #: squawk's advice, when it gives one
    help: str | None = None
    #: squawk's level: ``Warning`` or ``Error``
    level: str = "Warning"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


@dataclass(frozen=True)
class LintConfig:
    """The app's squawk config file and the rules a production run refuses."""

    path: Path
    refuse: frozenset[str]
    #: where ``refuse`` came from, for messages: the config's table or the built-in list
    refuse_source: str


@dataclass
class Verdict:
    """The findings sorted by what the policy makes of them."""

    policy: str
    migrations: tuple[str, ...]
    #: destructive or blocking, not acknowledged: the ``refuse`` policy fails on these
    refused: list[Finding] = field(default_factory=list)
    #: destructive or blocking, acknowledged: (finding, who and why)
    acknowledged: list[tuple[Finding, Acknowledgement]] = field(default_factory=list)
    #: everything else squawk reported
    warnings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether the check passes: always under ``warn``; under ``refuse`` when nothing is refused."""
        return self.policy == WARN or not self.refused


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


def load_config(path: Path) -> LintConfig:
    """Read the squawk config at ``path`` for its ``[runbook-checks] refuse`` list (rule names).

    Raises ``UsageProblem`` (exit 2) when the file is missing, is not TOML, or ``refuse``
    is not a list of rule names."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageProblem(
            f"{path}: no squawk config here; the rules the lint applies come from it "
            f"(see docs/reference/cli.md#runbook-checks-lint-migrations), or pass --config"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageProblem(f"{path}: cannot read the squawk config ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageProblem(f"{path}: the squawk config is not valid TOML: {exc}") from None
    table = data.get(CONFIG_TABLE)
    if table is None:
        return LintConfig(path, frozenset(DEFAULT_REFUSE), "runbook-checks' default list")
    refuse = table.get("refuse") if isinstance(table, dict) else None
    if not isinstance(refuse, list) or not all(isinstance(r, str) and r.strip() for r in refuse):
        raise UsageProblem(f'{path}: [{CONFIG_TABLE}] refuse must be a list of squawk rule names, e.g. refuse = ["ban-drop-column"]')
    return LintConfig(path, frozenset(r.strip() for r in refuse), f"[{CONFIG_TABLE}] refuse in {path}")


def unknown_rules(rules: Sequence[str]) -> list[str]:
    """The names in ``rules`` that the pinned squawk does not know (it is asked: ``--exclude``
    refuses an unknown rule name), in the order given. Raises ``MigrationLintError`` when
    squawk cannot be run."""
    names = [r for r in dict.fromkeys(rules) if r != SYNTAX_ERROR]
    unknown: list[str] = []
    while names:
        done = subprocess.run(
            [str(squawk_binary()), "--exclude", ",".join(names), "--config", os.devnull, "--reporter", "json"],
            input="",
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 2:
            return unknown
        bad = next((n for n in names if f"invalid rule name {n}\n" in done.stderr + "\n"), None)
        if bad is None:
            raise MigrationLintError(f"squawk refused the rule names {', '.join(names)}: {done.stderr.strip()[:500]}")
        unknown.append(bad)
        names.remove(bad)
    return unknown


def migration_file(migrations: Path, name: str) -> Path:
    """``migrations/name/migration.sql``. Raises ``UsageProblem`` when it does not exist."""
    sql = migrations / name / "migration.sql"
    if "/" in name or name in (".", "..") or not sql.is_file():
        raise UsageProblem(f"{sql}: no such migration (pending migrations are directories of {migrations} holding a migration.sql)")
    return sql


def pending_from_command(
    command: str, *, cwd: Path, migrations: Path, env: Mapping[str, str] | None = None, pending_exit: int = 3, timeout: float = 120
) -> list[str]:
    """The pending migrations, as ``command`` (split like a shell line, run in ``cwd``) lists
    them: exit 0 means none; exit ``pending_exit`` means its output names them, one per line
    (lines that are not a directory of ``migrations`` are ignored). The command's errors
    go to this process's stderr.

    Raises ``MigrationLintError`` (exit 1) when the command fails, times out (``timeout``
    seconds) or exits ``pending_exit`` without naming a migration; ``UsageProblem`` when it
    cannot be started.
    """
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UsageProblem(f"--pending-command {command!r}: {exc}") from None
    if not argv:
        raise UsageProblem("--pending-command is empty")
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=subprocess.PIPE,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise UsageProblem(f"--pending-command: {argv[0]!r} not found") from None
    except subprocess.TimeoutExpired:
        raise MigrationLintError(f"the pending-migrations command `{command}` did not finish within {timeout:g} s") from None
    if done.returncode == 0:
        return []
    if done.returncode != pending_exit:
        said = done.stdout.strip()
        raise MigrationLintError(
            f"the pending-migrations command `{command}` failed (exit {done.returncode}), so the pending "
            f"migrations are unknown" + (f":\n{said}" if said else "")
        )
    names = [
        line.strip()
        for line in done.stdout.splitlines()
        if line.strip() and "/" not in line.strip() and (migrations / line.strip() / "migration.sql").is_file()
    ]
    if not names:
        raise MigrationLintError(
            f"the pending-migrations command `{command}` exited {pending_exit} (pending) but named no "
            f"migration of {migrations}:\n{done.stdout.strip()}"
        )
    return list(dict.fromkeys(names))


def run_squawk(files: Sequence[tuple[str, Path]], *, config: Path, cwd: Path, timeout: float = 120) -> list[Finding]:
    """Run squawk with ``config`` over ``files`` (``(migration name, migration.sql)``), in
    ``cwd``; returns its findings with 1-based lines (squawk's JSON counts from 0), paths
    relative to ``cwd`` where they are below it, in file then line order.

    Raises ``MigrationLintError`` when squawk is missing, fails, or prints no JSON."""
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
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise MigrationLintError(f"squawk did not finish within {timeout:g} s") from None
    try:
        raw = json.loads(done.stdout) if done.returncode in (0, 1) and done.stdout.strip() else ([] if done.returncode == 0 else None)
    except json.JSONDecodeError:
        raw = None
    if not isinstance(raw, list):
        said = (done.stderr.strip() or done.stdout.strip() or "no output")[:2000]
        raise MigrationLintError(f"squawk failed (exit {done.returncode}): {said}")
    by_path = {path: name for name, path in shown.items()}
    findings = []
    for item in raw:
        path = str(item.get("file", ""))
        findings.append(
            Finding(
                migration=by_path.get(path, Path(path).parent.name),
                path=path,
                line=int(item.get("line", 0)) + 1,
                column=int(item.get("column", 0)),
                rule=str(item.get("rule_name", "")),
                message=str(item.get("message", "")).strip(),
                help=(str(item["help"]).strip() or None) if item.get("help") else None,
                level=str(item.get("level", "Warning")),
            )
        )
    order = {name: i for i, (name, _) in enumerate(files)}
    findings.sort(key=lambda f: (order.get(f.migration, len(order)), f.line, f.column, f.rule))
    return findings


def judge(
    findings: Sequence[Finding],
    *,
    config: LintConfig,
    acknowledgements: Sequence[Acknowledgement],
    policy: str,
    migrations: Sequence[str] = (),
) -> Verdict:
    """Sort ``findings`` into refused, acknowledged and warnings: a finding whose rule is in
    ``config.refuse`` (or is a syntax error) is destructive or blocking; it is acknowledged
    when an entry names its migration and rule. Pure."""
    if policy not in POLICIES:
        raise UsageProblem(f"policy {policy!r}: choose one of {', '.join(POLICIES)}")
    acks = {(a.migration, a.rule): a for a in acknowledgements}
    verdict = Verdict(policy, tuple(migrations))
    for f in findings:
        if f.rule in config.refuse or f.rule == SYNTAX_ERROR:
            ack = acks.get((f.migration, f.rule)) if f.rule != SYNTAX_ERROR else None
            if ack is not None:
                verdict.acknowledged.append((f, ack))
            else:
                verdict.refused.append(f)
        else:
            verdict.warnings.append(f)
    return verdict


def report_lines(verdict: Verdict, *, findings: Sequence[Finding], config: LintConfig, runbook: str | None) -> list[str]:
    """What the command prints: each finding as ``path:line: rule: message`` in file and line
    order, with indented lines for squawk's help and what the policy made of it; then a
    summary and, when something is refused, what to do."""
    acked = {id(f): a for f, a in verdict.acknowledged}
    refused = {id(f) for f in verdict.refused}
    lines = []
    for f in findings:
        lines.append(str(f))
        if f.help:
            lines.append(f"  help: {f.help}")
        if id(f) in acked:
            a = acked[id(f)]
            lines.append(f"  acknowledged by {a.by}: {a.reason}")
        elif id(f) in refused:
            lines.append(
                "  destructive or blocking: "
                + ("refused, not acknowledged" if verdict.policy == REFUSE else "production refuses it unless acknowledged")
            )
    n = len(verdict.migrations)
    lines.append(
        f"{len(findings)} finding(s) in {n} pending migration(s): {len(verdict.refused)} destructive or blocking and "
        f"not acknowledged, {len(verdict.acknowledged)} acknowledged, {len(verdict.warnings)} warning(s)"
    )
    if verdict.refused:
        where = f"runbook.acknowledge in {runbook}" if runbook else "runbook.acknowledge in the runbook's front matter"
        if verdict.policy == REFUSE:
            lines.append(f"refused: review the destructive or blocking findings above; to go on, fix the migration or add to {where}:")
        else:
            lines.append(f"warn only ({WARN} policy): production refuses these unless {where} lists them:")
        seen = set()
        for f in verdict.refused:
            if f.rule == SYNTAX_ERROR:
                if verdict.policy == REFUSE and (f.migration, f.rule) not in seen:
                    lines.append(f"  (a syntax-error in {f.migration} cannot be acknowledged: fix the SQL)")
                seen.add((f.migration, f.rule))
                continue
            if (f.migration, f.rule) not in seen:
                seen.add((f.migration, f.rule))
                lines.append(f'  - {{migration: {f.migration}, rule: {f.rule}, by: "<who>", reason: "<why it is safe>"}}')
        lines.append(f"(destructive or blocking rules: {config.refuse_source})")
    return lines


__all__ = [
    "DEFAULT_REFUSE",
    "Finding",
    "LintConfig",
    "MigrationLintError",
    "Verdict",
    "judge",
    "load_config",
    "migration_file",
    "pending_from_command",
    "report_lines",
    "run_squawk",
    "squawk_binary",
    "unknown_rules",
]
