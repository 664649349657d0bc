"""Drift, the check: read the target, rebuild its reference schema, compare, report.

The one entry point the CLI's ``drift`` command calls (:func:`check_drift`); the steps
are the sibling modules', in data-flow order: ``connect`` (the URL) → ``history`` (what
the target applied) → ``dump`` (both schemas) → ``schema`` (objects) → ``compare`` →
``report``.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..sandbox import PG_BIN
from .compare import compare
from .connect import DriftError, parse_url
from .dump import dump_schema, pg_dump_major, reference_schema, server_major
from .history import classify, local_migrations, read_history
from .report import DriftReport
from .schema import parse_dump


def check_drift(url: str, migrations: Path, *, pg_bin: Path | None = None) -> DriftReport:
    """Compare the live schema of the database at ``url`` (a ``postgresql://`` URL; its
    ``?schema=`` names the schema, default ``public``) with the schema its applied
    migrations (from the ``migrations`` folder, Prisma's layout: ``NAME/migration.sql``)
    give on a throwaway PostgreSQL cluster, started and removed here (``pg_bin``:
    PostgreSQL's bin directory, default ``sandbox.PG_BIN``). Reads the target, never
    changes it. Takes about 2 s plus the time to apply the migrations.

    Raises :class:`DriftError` when the comparison cannot be made: a bad URL or folder
    (refused before connecting), the target unreadable, a server newer than ``pg_dump``
    (pg_dump refuses to dump a newer server), an applied migration that does not apply."""
    started = time.monotonic()
    pg_bin = Path(pg_bin or PG_BIN)
    target, target_env = parse_url(url)
    local_migrations(Path(migrations))  # a wrong folder is refused before connecting
    tools = pg_dump_major(pg_bin)
    history, version, version_num = read_history(pg_bin, target_env, target.schema)
    if server_major(version_num) > tools:
        raise DriftError(
            f"the target runs PostgreSQL {version}, newer than the tools in {pg_bin} (PostgreSQL {tools}): pg_dump cannot "
            f"read a newer server. Point RUNBOOK_CHECKS_PG_BIN at PostgreSQL {server_major(version_num)}'s bin directory"
        )
    state = classify(Path(migrations), history)
    live = dump_schema(pg_bin, target_env, target.schema, "cannot dump the target's schema")
    reference, ref_version = reference_schema(pg_bin, Path(migrations), state.applied, target.schema)
    differences = compare(parse_dump(reference), parse_dump(live))
    return DriftReport(target, version, ref_version, state, differences, time.monotonic() - started)


__all__ = ["DriftError", "check_drift"]
