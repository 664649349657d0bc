"""Drift, the schema: a ``pg_dump --schema-only`` text split into the objects it defines (pure).

pg_dump writes one entry per object, each headed by a comment
``-- Name: NAME; Type: TYPE; Schema: SCHEMA; Owner: OWNER``. Comments, ``SET`` lines,
``set_config`` calls and ``\\restrict``/``\\unrestrict`` lines (pg_dump writes these since
the August 2025 minor releases, CVE-2025-8714) are session noise, dropped. A ``CREATE TABLE`` is split further, one object per column
and per column default, so a changed column is reported as that column, not as the
whole table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_HEADER_RE = re.compile(r"^-- Name: (?P<name>.*); Type: (?P<type>.*?); Schema: (?P<schema>.*?); Owner: .*$")
_NOISE_RE = re.compile(r"^(?:--.*|SET \w+ = .*;|SELECT pg_catalog\.set_config\(.*\);|\\(?:un)?restrict .*)$")
_TABLE_RE = re.compile(r"^CREATE (?:UNLOGGED |FOREIGN )?TABLE (?P<table>\S+) \($")
_INDEX_ON_RE = re.compile(r"^CREATE (?:UNIQUE )?INDEX \S+ ON (?:ONLY )?(?P<table>\S+) ")
_SET_DEFAULT_RE = re.compile(r"ALTER COLUMN (?P<col>\"(?:[^\"]|\"\")+\"|\S+) SET DEFAULT (?P<expr>.*);$", re.S)
_IDENT_RE = re.compile(r'"(?:[^"]|"")+"|[^\s".]+')
#: pg_dump entry types whose name is "TABLE OBJECT"
_ON_TABLE = {"CONSTRAINT", "FK CONSTRAINT", "DEFAULT", "TRIGGER", "POLICY", "RULE"}
_KIND = {"FK CONSTRAINT": "constraint", "SEQUENCE OWNED BY": "sequence"}

#: ``(kind, table, name)``: how objects are matched between two dumps
ObjectKey = tuple[str, str, str]


@dataclass(frozen=True, order=True)
class SchemaObject:
    """One object of a schema as pg_dump defines it. ``kind``: ``table``, ``column``,
    ``default``, ``constraint``, ``index``, ``sequence``, ``view``, ``function``,
    ``trigger``, ``comment``, ``schema`` … (pg_dump's entry type, lower-cased);
    ``table``: the table it belongs to, else ``""``; ``definition``: its normalised
    SQL, whitespace squashed (for a column: type, collation, ``NOT NULL``; for a default:
    the expression)."""

    table: str
    kind: str
    name: str
    definition: str

    @property
    def key(self) -> ObjectKey:
        """``(kind, table, name)``: the identity two dumps are compared by."""
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
    """A ``CREATE TABLE`` entry → the table (its first line and what follows the column
    list), one ``column`` per column, one ``default`` per column default and one
    ``constraint`` per inline ``CONSTRAINT``."""
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


def parse_dump(dump: str) -> dict[ObjectKey, SchemaObject]:
    """Pure: the objects of a ``pg_dump --schema-only`` text, by ``(kind, table, name)``.
    A table becomes a ``table`` object (its header and options), one ``column`` per
    column and one ``default`` per column default (pg_dump writes a serial's default as a
    separate ``ALTER COLUMN … SET DEFAULT`` entry: the same object); ``SEQUENCE OWNED BY``
    joins its sequence; constraints, foreign keys included, are ``constraint``."""
    objects: dict[ObjectKey, SchemaObject] = {}

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


__all__ = ["ObjectKey", "SchemaObject", "parse_dump"]
