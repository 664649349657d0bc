"""Drift, the comparison: the objects the migrations give against those on the target (pure).

Each object is compared once: a table missing on one side is one difference, not one
per column, constraint and index of it; a missing column's default is not listed again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from .schema import ObjectKey, SchemaObject


class Change(StrEnum):
    """How an object differs, as written in ``--format json``'s ``differences[].change``."""

    #: in the migrations, not on the target
    MISSING = "missing"
    #: on the target, not in the migrations
    EXTRA = "extra"
    #: in both, defined differently
    CHANGED = "changed"


MISSING, EXTRA, CHANGED = Change.MISSING, Change.EXTRA, Change.CHANGED

#: the order differences of one table are listed in (other kinds after, by name)
_KIND_ORDER = {"schema": 0, "table": 1, "column": 2, "default": 3, "constraint": 4, "index": 5, "sequence": 6}


def _constraint_label(definition: str) -> str:
    """What a constraint is, in words, from its SQL (``FOREIGN KEY`` → ``foreign key`` …)."""
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
    """One object that differs. ``kind``/``name``/``table``: the object (see
    ``schema.SchemaObject``; ``table`` is ``None`` for an object of no table); ``change``:
    a :class:`Change`; ``expected``/``actual``: the definitions from the migrations and on
    the target (``None`` where the object is absent)."""

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
        """The ``drift: LABEL: …`` line the report prints (a column's or default's
        definition is quoted in it; a changed object shows both definitions)."""
        short = self.kind in ("column", "default")
        if self.change == MISSING:
            return f"drift: {self.label}: in the migrations{f' ({self.expected})' if short else ''}, missing on the target"
        if self.change == EXTRA:
            return f"drift: {self.label}: on the target{f' ({self.actual})' if short else ''}, not in the migrations"
        return f"drift: {self.label}: differs: the migrations give `{self.expected}`, the target has `{self.actual}`"


def compare(expected: Mapping[ObjectKey, SchemaObject], actual: Mapping[ObjectKey, SchemaObject]) -> list[Difference]:
    """Pure: the differences between the objects the migrations give (``expected``) and
    those on the target (``actual``), both as ``schema.parse_dump`` returns them, each
    object once: the columns, defaults, constraints and indexes of a table missing on one
    side are not listed again, nor the default of a missing column. Sorted by table, kind,
    name."""
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


__all__ = ["CHANGED", "EXTRA", "MISSING", "Change", "Difference", "compare"]
