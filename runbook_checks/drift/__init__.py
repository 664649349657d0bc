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
message of this package contains the password. Nothing on the target is changed: it is
only read.

One job per module, in data-flow order: ``connect`` (the URL as libpq's environment,
running the tools), ``history`` (the target's applied migrations against the folder),
``dump`` (pg_dump, and the replay on the throwaway cluster), ``schema`` (a dump split
into objects), ``compare`` (the differences), ``report`` (text, JSON, exit code) and
``check`` (:func:`check_drift`, the entry point the CLI calls). Everything public is
importable from here.
"""

from __future__ import annotations

from .check import check_drift
from .compare import CHANGED, EXTRA, MISSING, Change, Difference, compare
from .connect import DriftError, Target, parse_url
from .history import Migrations, classify
from .report import DriftReport
from .schema import SchemaObject, parse_dump

__all__ = [
    "CHANGED",
    "EXTRA",
    "MISSING",
    "Change",
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
