"""Drift, connecting: a ``postgresql://`` URL as libpq's environment, and running
``psql``/``pg_dump`` with it.

The URL goes to the tools as libpq environment variables (``PGHOST``, ``PGPASSWORD`` …),
never on a command line, and no message of this module contains the password. The
caller's own ``PG*`` variables are dropped first, so a ``PGSERVICE`` or ``PGOPTIONS`` in the
shell cannot redirect a tool to another database.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from ..errors import EXIT_USAGE, RunbookChecksError

#: URL query parameters passed on to libpq (as environment variables); Prisma's own
#: (``schema``, ``connection_limit``, ``pgbouncer``, ``sslaccept`` …) are not libpq's.
_LIBPQ_PARAMS = {
    "sslmode": "PGSSLMODE",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslrootcert": "PGSSLROOTCERT",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "options": "PGOPTIONS",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}
#: seconds each psql / pg_dump call may take
TOOL_TIMEOUT_S = 120


class DriftError(RunbookChecksError):
    """The comparison could not be made (bad input, the target cannot be read, a tool is
    missing or too old, an applied migration does not apply to a fresh database); exit 2
    (``errors.EXIT_USAGE``). The message never contains the URL's password."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Target:
    """Where a database URL points, for messages: host, port, database and schema (no
    user, no password). ``schema`` is the URL's ``?schema=`` (Prisma's parameter), default
    ``public``."""

    host: str
    port: int
    database: str
    schema: str

    def __str__(self) -> str:
        """``host:port/database (schema "name")``."""
        return f'{self.host}:{self.port}/{self.database} (schema "{self.schema}")'


def parse_url(url: str) -> tuple[Target, dict[str, str]]:
    """A ``postgresql://`` (or ``postgres://``) URL → its :class:`Target` and the libpq
    environment variables (``PGHOST``, ``PGPORT``, ``PGUSER``, ``PGPASSWORD``, ``PGDATABASE``,
    ``PGSSLMODE`` …) that connect to it; ``PGCONNECT_TIMEOUT`` is 10 s unless the URL's
    ``connect_timeout`` says otherwise. The database defaults as libpq's does (the user
    name, else ``postgres``). Raises :class:`DriftError` when it is not such a URL (the
    message does not repeat the URL)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or 5432
    except ValueError as exc:
        raise DriftError(f"the database URL is not valid ({str(exc).split(':')[0]})") from None
    if parts.scheme.lower() not in ("postgres", "postgresql"):
        raise DriftError("the database URL is not a postgresql:// URL")
    query = dict(parse_qsl(parts.query))
    host = parts.hostname or query.get("host", "")
    if not host:
        raise DriftError("the database URL names no host")
    database = unquote(parts.path.lstrip("/")) or unquote(parts.username or "") or "postgres"
    env = {"PGHOST": host, "PGPORT": str(port), "PGDATABASE": database, "PGCONNECT_TIMEOUT": "10", "PGAPPNAME": "runbook-checks drift"}
    if parts.username:
        env["PGUSER"] = unquote(parts.username)
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
    for key, var in _LIBPQ_PARAMS.items():
        if key in query:
            env[var] = query[key]
    return Target(host, port, database, query.get("schema") or "public"), env


def _tool_env(pg_env: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without its own PG* variables (a PGSERVICE or PGOPTIONS
    there must not redirect the tools), plus ``pg_env``."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("PG")}, **pg_env}


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier (PostgreSQL doubles an embedded ``"``)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """``text`` as a SQL string literal (PostgreSQL doubles an embedded ``'``)."""
    return "'" + text.replace("'", "''") + "'"


def run_tool(args: list[str], pg_env: Mapping[str, str], what: str, timeout_s: float = TOOL_TIMEOUT_S) -> str:
    """Run a PostgreSQL client tool (``args[0]`` is its path) connected through ``pg_env``,
    stdin closed; returns its stdout. Raises :class:`DriftError` starting with ``what`` when
    it exits non-zero (with the last three lines of its stderr), takes longer than
    ``timeout_s`` seconds, or is not installed."""
    try:
        done = subprocess.run(args, env=_tool_env(pg_env), capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise DriftError(
            f"{args[0]} not found: install PostgreSQL 15's client tools (apt-get install postgresql-15), or point "
            f"RUNBOOK_CHECKS_PG_BIN at a PostgreSQL bin directory"
        ) from None
    except subprocess.TimeoutExpired:
        raise DriftError(f"{what}: no answer within {timeout_s:g} s") from None
    if done.returncode != 0:
        message = " ".join(line.strip() for line in done.stderr.strip().splitlines()[-3:]) or f"exit {done.returncode}"
        raise DriftError(f"{what}: {message}")
    return done.stdout


def psql_json(pg_bin: Path, pg_env: Mapping[str, str], sql: str, what: str) -> object:
    """The JSON value that ``sql`` (one query returning one JSON cell) gives, through
    ``pg_bin/psql -X -At`` (no psqlrc, unaligned tuples only). Raises :class:`DriftError`
    as :func:`run_tool`."""
    out = run_tool([str(pg_bin / "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], pg_env, what)
    return json.loads(out)


__all__ = ["TOOL_TIMEOUT_S", "DriftError", "Target", "ident", "literal", "parse_url", "psql_json", "run_tool"]
