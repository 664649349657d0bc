"""Drift: does a database's live schema still match the migrations applied to it?

The reference schema is rebuilt, not guessed: the migrations the target records as
applied in Prisma's ``_prisma_migrations`` (finished, not rolled back) are applied, in
folder order, to a throwaway PostgreSQL cluster (``sandbox.postgres``). Both databases
are then dumped with PostgreSQL's own ``pg_dump --schema-only`` (the one in
``sandbox.PG_BIN``, PostgreSQL 15 by default), restricted to the schema the URL names
(``?schema=``, default ``public``) without Prisma's ``_prisma_migrations`` table, owners
or privileges. Each dump is split into the objects pg_dump lists one by one (its ``--
Name: …; Type: …`` entries); tables are split further into their columns and column
defaults. Objects are compared by kind, table and name; every difference is one
:class:`Difference`.

Migrations in the folder that the target has not applied are *pending*: they are
reported apart and are not drift. A migration whose ``migration.sql`` changed after it
was applied (checksum), one applied on the target but missing from the folder, and one
that failed (not finished, not rolled back) are reported as migration problems: the
schema cannot be rebuilt as it was, so they count as drift.

The target is read with ``psql`` and ``pg_dump``; its URL goes to them as libpq
environment variables (``PGHOST``, ``PGPASSWORD`` …), never on a command line, and no
message of this module contains the password. Nothing on the target is changed: it is
only read.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from .errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, RunbookChecksError
from .sandbox import PG_BIN, postgres

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
#: the table Prisma keeps its migration history in (never compared)
HISTORY_TABLE = "_prisma_migrations"
#: seconds each psql / pg_dump call may take
TOOL_TIMEOUT = 120


class DriftError(RunbookChecksError):
    """The comparison could not be made (bad input, the target cannot be read, a tool is
    missing or too old, an applied migration does not apply to a fresh database); exit 2.
    The message never contains the URL's password."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Target:
    """Where a database URL points, for messages: host, port, database and schema (no
    user, no password)."""

    host: str
    port: int
    database: str
    schema: str

    def __str__(self) -> str:
        return f'{self.host}:{self.port}/{self.database} (schema "{self.schema}")'


def parse_url(url: str) -> tuple[Target, dict[str, str]]:
    """A ``postgresql://`` URL → its :class:`Target` and the libpq environment variables
    (``PGHOST``, ``PGPORT``, ``PGUSER``, ``PGPASSWORD``, ``PGDATABASE``, ``PGSSLMODE`` …)
    that connect to it. Raises :class:`DriftError` when it is not such a URL (the message
    does not repeat the URL)."""
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


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _run_tool(args: list[str], pg_env: Mapping[str, str], what: str, timeout: float = TOOL_TIMEOUT) -> str:
    try:
        done = subprocess.run(args, env=_tool_env(pg_env), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise DriftError(
            f"{args[0]} not found: install PostgreSQL 15's client tools (apt-get install postgresql-15), or point "
            f"RUNBOOK_CHECKS_PG_BIN at a PostgreSQL bin directory"
        ) from None
    except subprocess.TimeoutExpired:
        raise DriftError(f"{what}: no answer within {timeout:g} s") from None
    if done.returncode != 0:
        message = " ".join(line.strip() for line in done.stderr.strip().splitlines()[-3:]) or f"exit {done.returncode}"
        raise DriftError(f"{what}: {message}")
    return done.stdout


def _psql_json(pg_bin: Path, pg_env: Mapping[str, str], sql: str, what: str) -> object:
    out = _run_tool([str(pg_bin / "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], pg_env, what)
    return json.loads(out)


# -- the target's migration history ------------------------------------------------------


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
        """One line per migration problem (failed, modified, unknown); pending ones are not problems."""
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
    """The target's ``_prisma_migrations`` rows (``name``, ``checksum``, ``finished``,
    ``rolled_back``; empty when the table does not exist), its server version string and
    its ``server_version_num``."""
    table = f"{_ident(schema)}.{_ident(HISTORY_TABLE)}"
    info = _psql_json(
        pg_bin,
        pg_env,
        "SELECT json_build_object('version', current_setting('server_version'), 'num', "
        f"current_setting('server_version_num')::int, 'history', to_regclass({_literal(table)}) IS NOT NULL)",
        "cannot read the target",
    )
    assert isinstance(info, dict)
    rows: list[dict] = []
    if info["history"]:
        rows = _psql_json(
            pg_bin,
            pg_env,
            "SELECT coalesce(json_agg(json_build_object('name', migration_name, 'checksum', checksum, "
            "'finished', finished_at IS NOT NULL, 'rolled_back', rolled_back_at IS NOT NULL) ORDER BY started_at, "
            f"migration_name), '[]'::json) FROM {table}",
            "cannot read the target's migration history",
        )  # type: ignore[assignment]
    return rows, str(info["version"]), int(info["num"])


def classify(folder: Path, history: list[dict]) -> Migrations:
    """Pure: the folder's migrations against the target's history rows (see
    :func:`read_history`)."""
    local = local_migrations(folder)
    applied_rows = {r["name"]: r for r in history if r["finished"] and not r["rolled_back"]}
    failed = sorted({r["name"] for r in history if not r["finished"] and not r["rolled_back"]})
    applied = [n for n in local if n in applied_rows]
    modified = [n for n in applied if applied_rows[n]["checksum"] not in _checksums(folder / n / "migration.sql")]
    unknown = [n for n in dict.fromkeys(r["name"] for r in history if r["name"] in applied_rows) if n not in local]
    pending = [n for n in local if n not in applied_rows and n not in failed]
    return Migrations(applied, pending, failed, modified, unknown)


# -- dumps, split into objects -----------------------------------------------------------

_HEADER_RE = re.compile(r"^-- Name: (?P<name>.*); Type: (?P<type>.*?); Schema: (?P<schema>.*?); Owner: .*$")
_NOISE_RE = re.compile(r"^(?:--.*|SET \w+ = .*;|SELECT pg_catalog\.set_config\(.*\);|\\(?:un)?restrict .*)$")
_TABLE_RE = re.compile(r"^CREATE (?:UNLOGGED |FOREIGN )?TABLE (?P<table>\S+) \($")
_INDEX_ON_RE = re.compile(r"^CREATE (?:UNIQUE )?INDEX \S+ ON (?:ONLY )?(?P<table>\S+) ")
_SET_DEFAULT_RE = re.compile(r"ALTER COLUMN (?P<col>\"(?:[^\"]|\"\")+\"|\S+) SET DEFAULT (?P<expr>.*);$", re.S)
_IDENT_RE = re.compile(r'"(?:[^"]|"")+"|[^\s".]+')
#: pg_dump entry types whose name is "TABLE OBJECT"
_ON_TABLE = {"CONSTRAINT", "FK CONSTRAINT", "DEFAULT", "TRIGGER", "POLICY", "RULE"}
_KIND = {"FK CONSTRAINT": "constraint", "SEQUENCE OWNED BY": "sequence"}


@dataclass(frozen=True, order=True)
class SchemaObject:
    """One object of a schema as pg_dump defines it. ``kind``: ``table``, ``column``,
    ``default``, ``constraint``, ``index``, ``sequence``, ``view``, ``function``,
    ``trigger``, ``comment``, ``schema`` … (pg_dump's entry type, lower-cased);
    ``table``: the table it belongs to, else ``None``; ``definition``: its normalised
    SQL (for a column: type, collation, ``NOT NULL``; for a default: the expression)."""

    table: str
    kind: str
    name: str
    definition: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.table, self.name)


def _unquote(ident: str) -> str:
    return ident[1:-1].replace('""', '"') if ident.startswith('"') else ident


def _last_part(qualified: str) -> str:
    """``public.orders`` → ``orders``; ``"My schema"."T"`` → ``T``."""
    parts = _IDENT_RE.findall(qualified)
    return _unquote(parts[-1]) if parts else qualified


def _entries(dump: str) -> Iterator[tuple[str, str, str]]:
    """``(type, name, body)`` of each pg_dump entry, body without comments and SETs."""
    current: tuple[str, str] | None = None
    body: list[str] = []
    for line in dump.splitlines():
        m = _HEADER_RE.match(line)
        if m:
            if current:
                yield current[0], current[1], "\n".join(body).strip()
            current, body = (m["type"], m["name"]), []
        elif current and line.strip() and not _NOISE_RE.match(line):
            body.append(line.rstrip())
    if current:
        yield current[0], current[1], "\n".join(body).strip()


def _squash(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


def _column(line: str) -> tuple[str, str, str | None]:
    """A column line of ``CREATE TABLE`` → ``(name, definition without default, default)``."""
    m = _IDENT_RE.match(line)
    name = _unquote(m.group(0)) if m else line.split()[0]
    rest = line[m.end() if m else len(name) :].strip()
    default = None
    if " DEFAULT " in f" {rest}":
        head, _, tail = f" {rest}".partition(" DEFAULT ")
        not_null = tail.endswith(" NOT NULL")
        default = tail[: -len(" NOT NULL")] if not_null else tail
        rest = head.strip() + (" NOT NULL" if not_null else "")
    return name, rest, default


def _table_objects(table: str, body: str) -> list[SchemaObject]:
    lines = body.splitlines()
    close = next((i for i, line in enumerate(lines) if line.startswith(")")), len(lines))
    objects = [SchemaObject(table, "table", table, _squash(lines[0] + " … " + "\n".join(lines[close:])))]
    for raw in lines[1:close]:
        line = raw.strip().rstrip(",")
        if line.startswith("CONSTRAINT "):
            name = _unquote(_IDENT_RE.findall(line)[1])
            objects.append(SchemaObject(table, "constraint", name, _squash(line)))
            continue
        name, definition, default = _column(line)
        objects.append(SchemaObject(table, "column", name, _squash(definition)))
        if default is not None:
            objects.append(SchemaObject(table, "default", name, _squash(default)))
    return objects


def parse_dump(dump: str) -> dict[tuple[str, str, str], SchemaObject]:
    """Pure: the objects of a ``pg_dump --schema-only`` text, by ``(kind, table, name)``.
    A table becomes a ``table`` object (its header and options), one ``column`` per
    column and one ``default`` per column default; ``SEQUENCE OWNED BY`` joins its
    sequence; constraints, foreign keys included, are ``constraint``."""
    objects: dict[tuple[str, str, str], SchemaObject] = {}

    def add(obj: SchemaObject) -> None:
        if obj.key in objects:  # a sequence and its OWNED BY: one object
            old = objects[obj.key]
            obj = SchemaObject(obj.table, obj.kind, obj.name, f"{old.definition} {obj.definition}")
        objects[obj.key] = obj

    for kind, tag, body in _entries(dump):
        first = body.splitlines()[0] if body else ""
        if kind == "TABLE" and (m := _TABLE_RE.match(first)):
            for obj in _table_objects(_last_part(m["table"]), body):
                add(obj)
            continue
        table, name = "", tag
        if kind in _ON_TABLE:
            idents = _IDENT_RE.findall(tag)
            table, name = _unquote(idents[0]), _unquote(idents[-1]) if len(idents) > 1 else ""
        elif kind == "INDEX" and (m := _INDEX_ON_RE.match(first)):
            table, name = _last_part(m["table"]), _unquote(tag)
        if kind == "DEFAULT" and (d := _SET_DEFAULT_RE.search(body)):
            add(SchemaObject(table, "default", _unquote(d["col"]), _squash(d["expr"])))
            continue
        if kind == "SEQUENCE OWNED BY":
            name = _unquote(tag)
        add(SchemaObject(table, _KIND.get(kind, kind.lower()), name, _squash(body)))
    return objects


# -- differences ---------------------------------------------------------------------------

MISSING, EXTRA, CHANGED = "missing", "extra", "changed"


def _constraint_label(definition: str) -> str:
    for words, label in (
        ("FOREIGN KEY", "foreign key"),
        ("PRIMARY KEY", "primary key"),
        ("UNIQUE", "unique constraint"),
        ("CHECK", "check constraint"),
        ("EXCLUDE", "exclusion constraint"),
    ):
        if words in definition:
            return label
    return "constraint"


@dataclass(frozen=True)
class Difference:
    """One object that differs. ``change``: ``missing`` (in the migrations, not on the
    target), ``extra`` (on the target, not in the migrations) or ``changed`` (in both,
    defined differently); ``expected``/``actual``: the definitions from the migrations
    and on the target (``None`` where the object is absent)."""

    kind: str
    name: str
    table: str | None
    change: str
    expected: str | None
    actual: str | None

    @property
    def label(self) -> str:
        """``index "x" on "t"``, ``column "c" on "t"``, ``default of column "c" on "t"``, ``table "t"`` …"""
        definition = self.expected or self.actual or ""
        kind = _constraint_label(definition) if self.kind == "constraint" else self.kind
        on = f' on "{self.table}"' if self.table and self.kind != "table" else ""
        if self.kind == "default":
            return f'default of column "{self.name}"{on}'
        return f'{kind} "{self.name}"{on}'

    def __str__(self) -> str:
        short = self.kind in ("column", "default")
        if self.change == MISSING:
            return f"drift: {self.label}: in the migrations{f' ({self.expected})' if short else ''}, missing on the target"
        if self.change == EXTRA:
            return f"drift: {self.label}: on the target{f' ({self.actual})' if short else ''}, not in the migrations"
        return f"drift: {self.label}: differs: the migrations give `{self.expected}`, the target has `{self.actual}`"


_KIND_ORDER = {"schema": 0, "table": 1, "column": 2, "default": 3, "constraint": 4, "index": 5, "sequence": 6}


def compare(expected: Mapping[tuple[str, str, str], SchemaObject], actual: Mapping[tuple[str, str, str], SchemaObject]) -> list[Difference]:
    """Pure: the differences between the objects the migrations give (``expected``) and
    those on the target (``actual``), each object once: the columns, defaults,
    constraints and indexes of a table missing on one side are not listed again, nor the
    default of a missing column. Sorted by table, kind, name."""
    tables = {k[2] for k in expected if k[0] == "table"} ^ {k[2] for k in actual if k[0] == "table"}
    columns = {k[1:] for k in expected if k[0] == "column"} ^ {k[1:] for k in actual if k[0] == "column"}
    out = []
    for key in sorted(set(expected) | set(actual), key=lambda k: (k[1] or k[2], _KIND_ORDER.get(k[0], 9), k[0], k[2])):
        kind, table, name = key
        if kind != "table" and table in tables or kind == "default" and (table, name) in columns:
            continue
        exp, act = expected.get(key), actual.get(key)
        if exp and act and exp.definition == act.definition:
            continue
        change = MISSING if act is None else EXTRA if exp is None else CHANGED
        out.append(Difference(kind, name, table or None, change, exp.definition if exp else None, act.definition if act else None))
    return out


# -- the check -----------------------------------------------------------------------------


@dataclass
class DriftReport:
    """The outcome of :func:`check_drift`. ``duration_s``: seconds the whole check took
    (the throwaway cluster's start included)."""

    target: Target
    target_version: str
    reference_version: str
    migrations: Migrations
    differences: list[Difference]
    duration_s: float

    @property
    def drifted(self) -> bool:
        """Differences, or migration problems (failed, modified, unknown)."""
        return bool(self.differences or self.migrations.problems)

    @property
    def exit_code(self) -> int:
        """0 no drift (pending migrations allowed), 1 drift."""
        return EXIT_FAILED if self.drifted else EXIT_OK

    def lines(self) -> list[str]:
        """The report as text lines: a header, the pending migrations, the migration
        problems, one ``drift:`` line per difference, a verdict."""
        m = self.migrations
        out = [
            f"Drift check: {self.target} on PostgreSQL {self.target_version} against its {len(m.applied)} applied "
            f"migration(s) replayed on a throwaway PostgreSQL {self.reference_version}"
        ]
        if self.target_version.split(".")[0] != self.reference_version.split(".")[0]:
            out.append(
                "note: the target and the throwaway run different PostgreSQL major versions; pg_dump may write some definitions differently"
            )
        out += [f'pending: migration "{n}": in the migrations folder, not applied on the target (pending, not drift)' for n in m.pending]
        out += m.problems
        out += [str(d) for d in self.differences]
        pending = f"; {len(m.pending)} pending migration(s), not applied yet" if m.pending else ""
        if self.drifted:
            problems = f" and {len(m.problems)} migration problem(s)" if m.problems else ""
            out.append(
                f"DRIFT: {len(self.differences)} difference(s){problems} between the live schema and the applied "
                f"migrations{pending} ({self.duration_s:.1f} s)"
            )
        else:
            out.append(f"No drift: the live schema matches the {len(m.applied)} applied migration(s){pending} ({self.duration_s:.1f} s)")
        return out

    def to_dict(self) -> dict:
        return {
            "target": asdict(self.target),
            "target_version": self.target_version,
            "reference_version": self.reference_version,
            "drift": self.drifted,
            "migrations": {**asdict(self.migrations), "problems": self.migrations.problems},
            "differences": [{**asdict(d), "line": str(d)} for d in self.differences],
            "duration_s": round(self.duration_s, 3),
        }


def _major(version_num: int) -> int:
    return version_num // 10000 if version_num >= 100000 else version_num // 100


def pg_dump_major(pg_bin: Path) -> int:
    """The major version of ``pg_bin/pg_dump``."""
    out = _run_tool([str(pg_bin / "pg_dump"), "--version"], {}, "pg_dump --version")
    m = re.search(r"(\d+)(?:\.\d+)?", out)
    if not m:
        raise DriftError(f"{pg_bin / 'pg_dump'} --version printed no version: {out.strip()[:100]}")
    return int(m.group(1))


def dump_schema(pg_bin: Path, pg_env: Mapping[str, str], schema: str, what: str) -> str:
    """``pg_dump --schema-only`` of one schema, without ``_prisma_migrations``, owners,
    privileges, tablespaces, security labels or table access methods."""
    return _run_tool(
        [
            str(pg_bin / "pg_dump"),
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            "--no-tablespaces",
            "--no-security-labels",
            "--no-table-access-method",
            "--schema",
            _ident(schema),
            "--exclude-table",
            f"{_ident(schema)}.{_ident(HISTORY_TABLE)}",
        ],
        pg_env,
        what,
    )


def replay(pg_bin: Path, pg_env: Mapping[str, str], folder: Path, names: list[str], schema: str) -> None:
    """Apply ``names``' ``migration.sql`` in order to the (empty) database of ``pg_env``
    with ``search_path`` set to ``schema``, as the app's adapter pins it; each statement
    commits on its own (as Prisma's driver adapter runs a migration). Raises
    :class:`DriftError` naming the migration that fails."""
    setup = f"SET client_min_messages TO warning; CREATE SCHEMA IF NOT EXISTS {_ident(schema)}; SET search_path TO {_ident(schema)};"
    for name in names:
        _run_tool(
            [str(pg_bin / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", setup, "-f", str(folder / name / "migration.sql")],
            pg_env,
            f"{name}/migration.sql does not apply to a fresh PostgreSQL database, so the schema it gave the target cannot be rebuilt",
        )


def check_drift(url: str, migrations: Path, *, pg_bin: Path | None = None) -> DriftReport:
    """Compare the live schema of the database at ``url`` with the schema its applied
    migrations (from the ``migrations`` folder, Prisma's layout: ``NAME/migration.sql``)
    give on a throwaway PostgreSQL cluster, started and removed here (``pg_bin``:
    PostgreSQL's bin directory, default ``sandbox.PG_BIN``). Reads the target, never
    changes it. Takes about 2 s plus the time to apply the migrations. Raises
    :class:`DriftError` when the comparison cannot be made."""
    started = time.monotonic()
    pg_bin = Path(pg_bin or PG_BIN)
    target, target_env = parse_url(url)
    local_migrations(Path(migrations))  # a wrong folder is refused before connecting
    tools = pg_dump_major(pg_bin)
    history, version, version_num = read_history(pg_bin, target_env, target.schema)
    if _major(version_num) > tools:
        raise DriftError(
            f"the target runs PostgreSQL {version}, newer than the tools in {pg_bin} (PostgreSQL {tools}): pg_dump cannot "
            f"read a newer server. Point RUNBOOK_CHECKS_PG_BIN at PostgreSQL {_major(version_num)}'s bin directory"
        )
    state = classify(Path(migrations), history)
    live = dump_schema(pg_bin, target_env, target.schema, "cannot dump the target's schema")
    try:
        with postgres(database="drift") as db:
            _, ref_env = parse_url(db.url)
            replay(pg_bin, ref_env, Path(migrations), state.applied, target.schema)
            reference = dump_schema(pg_bin, ref_env, target.schema, "cannot dump the throwaway database")
            ref_version = str(
                _psql_json(pg_bin, ref_env, "SELECT to_json(current_setting('server_version'))", "cannot read the throwaway database")
            )
    except RunbookChecksError as exc:
        if isinstance(exc, DriftError):
            raise
        raise DriftError(f"the throwaway database could not be started: {exc}") from None
    differences = compare(parse_dump(reference), parse_dump(live))
    return DriftReport(target, version, ref_version, state, differences, time.monotonic() - started)


__all__ = [
    "CHANGED",
    "EXTRA",
    "MISSING",
    "Difference",
    "DriftError",
    "DriftReport",
    "Migrations",
    "SchemaObject",
    "Target",
    "check_drift",
    "classify",
    "compare",
    "parse_dump",
    "parse_url",
]
