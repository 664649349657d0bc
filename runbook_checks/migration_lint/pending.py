"""Migration lint, the selection: which migrations are pending, and their files.

Which migrations are pending is not decided here: :func:`pending_from_command` reads it
from the app's own command (``scripts/pending-migrations.mjs``: exit 0 nothing pending,
exit 3 pending, their names one per line), the one the runbooks' ``list-pending`` check
runs. A migration is a directory of the migrations folder holding a ``migration.sql``
(Prisma's layout).
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping
from pathlib import Path

from ..errors import UsageProblem
from .errors import MigrationLintError

#: seconds the pending-migrations command may take
PENDING_TIMEOUT_S = 120


def migration_file(migrations: Path, name: str) -> Path:
    """``migrations/name/migration.sql``. Raises ``UsageProblem`` (exit 2) when it does not
    exist or ``name`` is not a plain directory name."""
    sql = migrations / name / "migration.sql"
    if "/" in name or name in (".", "..") or not sql.is_file():
        raise UsageProblem(f"{sql}: no such migration (pending migrations are directories of {migrations} holding a migration.sql)")
    return sql


def pending_from_command(
    command: str,
    *,
    cwd: Path,
    migrations: Path,
    env: Mapping[str, str] | None = None,
    pending_exit: int = 3,
    timeout_s: float = PENDING_TIMEOUT_S,
) -> list[str]:
    """The pending migrations' names, in the order ``command`` (split like a shell line,
    run in ``cwd`` with ``env``, default this process's) lists them: exit 0 means none;
    exit ``pending_exit`` means its output names them, one per line (lines that are not a
    directory of ``migrations`` are ignored, repeats dropped). The command's errors go to
    this process's stderr.

    Raises ``MigrationLintError`` (exit 1) when the command fails, takes longer than
    ``timeout_s`` seconds or exits ``pending_exit`` without naming a migration;
    ``UsageProblem`` (exit 2) when it is empty, cannot be split or cannot be started.
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
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise UsageProblem(f"--pending-command: {argv[0]!r} not found") from None
    except subprocess.TimeoutExpired:
        raise MigrationLintError(f"the pending-migrations command `{command}` did not finish within {timeout_s:g} s") from None
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


__all__ = ["PENDING_TIMEOUT_S", "migration_file", "pending_from_command"]
