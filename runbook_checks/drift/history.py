"""Drift, the history: which migrations the target has applied, against the folder.

Prisma records each migration it runs in ``_prisma_migrations`` (``migration_name``,
``checksum``: SHA-256 of ``migration.sql``, ``finished_at``, ``rolled_back_at``). A row
finished and not rolled back is applied; a row neither finished nor rolled back is the
failed migration ``prisma migrate deploy`` refuses to go past (Prisma's P3009). The
folder is Prisma's layout: ``NAME/migration.sql``, applied in name order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .connect import DriftError, ident, literal, psql_json

#: the table Prisma keeps its migration history in (never compared)
HISTORY_TABLE = "_prisma_migrations"


@dataclass(frozen=True)
class Migrations:
    """The migrations folder against the target's history; every list is of migration
    (folder) names, in folder order (``unknown``: in history order)."""

    #: applied on the target (finished, not rolled back) and present in the folder
    applied: list[str]
    #: in the folder, not applied on the target: not drift
    pending: list[str]
    #: started on the target, neither finished nor rolled back (Prisma's P3009)
    failed: list[str] = field(default_factory=list)
    #: applied, but their ``migration.sql`` differs from what was applied (checksum)
    modified: list[str] = field(default_factory=list)
    #: applied on the target, missing from the folder
    unknown: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """One line per migration problem (failed, modified, unknown), in that order;
        pending ones are not problems."""
        return (
            [
                f'failed migration "{n}": started on the target, neither finished nor rolled back (P3009); its statements may be '
                f"partly applied"
                for n in self.failed
            ]
            + [
                f'modified migration "{n}": its migration.sql changed after it was applied on the target (checksum differs)'
                for n in self.modified
            ]
            + [f'unknown migration "{n}": applied on the target, not in the migrations folder' for n in self.unknown]
        )


def local_migrations(folder: Path) -> list[str]:
    """Names of the migration folders (those holding a ``migration.sql``), sorted as
    Prisma applies them. Raises :class:`DriftError` when ``folder`` is not a directory."""
    if not folder.is_dir():
        raise DriftError(f"{folder}: no such migrations directory")
    return sorted(p.name for p in folder.iterdir() if (p / "migration.sql").is_file())


def _checksums(path: Path) -> set[str]:
    """SHA-256 (hex) of ``migration.sql`` as it is, and with CRLF line ends made LF (a
    checkout on Windows changes them; Prisma accepts both)."""
    data = path.read_bytes()
    return {hashlib.sha256(data).hexdigest(), hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()}


def read_history(pg_bin: Path, pg_env: Mapping[str, str], schema: str) -> tuple[list[dict], str, int]:
    """The target's ``_prisma_migrations`` rows as ``{"name", "checksum", "finished",
    "rolled_back"}`` dicts in the order they started (empty when the table does not exist),
    its ``server_version`` string and its ``server_version_num`` (e.g. ``150004``). Raises
    :class:`DriftError` when the target cannot be read."""
    table = f"{ident(schema)}.{ident(HISTORY_TABLE)}"
    info = psql_json(
        pg_bin,
        pg_env,
        "SELECT json_build_object('version', current_setting('server_version'), 'num', "
        f"current_setting('server_version_num')::int, 'history', to_regclass({literal(table)}) IS NOT NULL)",
        "cannot read the target",
    )
    assert isinstance(info, dict)
    rows: list[dict] = []
    if info["history"]:
        rows = psql_json(
            pg_bin,
            pg_env,
            "SELECT coalesce(json_agg(json_build_object('name', migration_name, 'checksum', checksum, "
            "'finished', finished_at IS NOT NULL, 'rolled_back', rolled_back_at IS NOT NULL) ORDER BY started_at, "
            f"migration_name), '[]'::json) FROM {table}",
            "cannot read the target's migration history",
        )  # type: ignore[assignment]
    return rows, str(info["version"]), int(info["num"])


def classify(folder: Path, history: list[dict]) -> Migrations:
    """Pure but for reading the folder: its migrations against the target's history rows
    (see :func:`read_history`). Raises :class:`DriftError` when ``folder`` is not a directory."""
    local = local_migrations(folder)
    applied_rows = {r["name"]: r for r in history if r["finished"] and not r["rolled_back"]}
    failed = sorted({r["name"] for r in history if not r["finished"] and not r["rolled_back"]})
    applied = [n for n in local if n in applied_rows]
    modified = [n for n in applied if applied_rows[n]["checksum"] not in _checksums(folder / n / "migration.sql")]
    unknown = [n for n in dict.fromkeys(r["name"] for r in history if r["name"] in applied_rows) if n not in local]
    pending = [n for n in local if n not in applied_rows and n not in failed]
    return Migrations(applied, pending, failed, modified, unknown)


__all__ = ["HISTORY_TABLE", "Migrations", "classify", "local_migrations", "read_history"]
