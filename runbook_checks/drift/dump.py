"""Drift, the dumps: the schema of a database as ``pg_dump --schema-only`` writes it, and
the schema the applied migrations give, rebuilt on a throwaway PostgreSQL cluster.

Both sides are dumped by the same ``pg_dump`` (the one in ``sandbox.PG_BIN``), restricted
to the schema compared, without Prisma's ``_prisma_migrations`` table, owners, privileges,
tablespaces, security labels or table access methods: what differs between the dumps is
the schema, not who owns it. pg_dump refuses a server newer than itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import RunbookChecksError
from ..sandbox import postgres
from .connect import DriftError, ident, parse_url, psql_json, run_tool
from .history import HISTORY_TABLE


def server_major(version_num: int) -> int:
    """The major version in a ``server_version_num``: ``150004`` → 15, ``90624`` → 906
    (9.6: before PostgreSQL 10 a major version had two parts)."""
    return version_num // 10000 if version_num >= 100000 else version_num // 100


def pg_dump_major(pg_bin: Path) -> int:
    """The major version of ``pg_bin/pg_dump`` (from ``pg_dump --version``). Raises
    :class:`DriftError` when it is missing or prints no version."""
    out = run_tool([str(pg_bin / "pg_dump"), "--version"], {}, "pg_dump --version")
    m = re.search(r"(\d+)(?:\.\d+)?", out)
    if not m:
        raise DriftError(f"{pg_bin / 'pg_dump'} --version printed no version: {out.strip()[:100]}")
    return int(m.group(1))


def dump_schema(pg_bin: Path, pg_env: Mapping[str, str], schema: str, what: str) -> str:
    """``pg_dump --schema-only`` of one schema of the database ``pg_env`` connects to,
    without ``_prisma_migrations``, owners, privileges, tablespaces, security labels or
    table access methods. Raises :class:`DriftError` starting with ``what`` when it fails."""
    return run_tool(
        [
            str(pg_bin / "pg_dump"),
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            "--no-tablespaces",
            "--no-security-labels",
            "--no-table-access-method",
            "--schema",
            ident(schema),
            "--exclude-table",
            f"{ident(schema)}.{ident(HISTORY_TABLE)}",
        ],
        pg_env,
        what,
    )


def replay(pg_bin: Path, pg_env: Mapping[str, str], folder: Path, names: Sequence[str], schema: str) -> None:
    """Apply ``names``' ``folder/NAME/migration.sql`` in order to the (empty) database of
    ``pg_env`` with ``search_path`` set to ``schema``, as the app's adapter pins it; each
    statement commits on its own (as Prisma's driver adapter runs a migration). Raises
    :class:`DriftError` naming the migration that fails."""
    setup = f"SET client_min_messages TO warning; CREATE SCHEMA IF NOT EXISTS {ident(schema)}; SET search_path TO {ident(schema)};"
    for name in names:
        run_tool(
            [str(pg_bin / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", setup, "-f", str(folder / name / "migration.sql")],
            pg_env,
            f"{name}/migration.sql does not apply to a fresh PostgreSQL database, so the schema it gave the target cannot be rebuilt",
        )


def reference_schema(pg_bin: Path, folder: Path, names: Sequence[str], schema: str) -> tuple[str, str]:
    """The schema ``names`` give: a throwaway cluster (``sandbox.postgres``, started and
    removed here) gets them replayed and is dumped. Returns ``(dump text, server_version)``.
    Raises :class:`DriftError` when a migration does not apply, the dump fails, or the
    cluster cannot be started."""
    try:
        with postgres(database="drift") as db:
            _, ref_env = parse_url(db.url)
            replay(pg_bin, ref_env, folder, names, schema)
            dump = dump_schema(pg_bin, ref_env, schema, "cannot dump the throwaway database")
            version = str(
                psql_json(pg_bin, ref_env, "SELECT to_json(current_setting('server_version'))", "cannot read the throwaway database")
            )
    except RunbookChecksError as exc:
        if isinstance(exc, DriftError):
            raise
        raise DriftError(f"the throwaway database could not be started: {exc}") from None
    return dump, version


__all__ = ["dump_schema", "pg_dump_major", "reference_schema", "replay", "server_major"]
