"""The target of a run: which database it operates on, recorded without revealing it.

A runbook names its database in front matter (``target: ${DATABASE_URL_STAGING}``).
Each run records ``{"from": "DATABASE_URL_STAGING", "digest": "<64 hex>"}``: the
SHA-256 of the database identity — scheme family, host (lower-cased; a socket
directory given as ``?host=``), port (5432 when absent) and database name
(percent-decoded; the user name when absent). The user name, the password and other
query parameters (Prisma's ``?schema=`` among them) are never part of it.

What the digest proves: two runs whose digests differ were pointed at URLs naming
different (host, port, database) triples; two runs with equal digests named the same
triple. What it does not prove: that different names are different servers (an IP
address and a host name, a proxy or a replica of the same database all give
different digests), nor that equal names are the same server at different times
(DNS can move); two schemas of one database are one target. It is not a secret: whoever can guess the host, port and name can
confirm the guess.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from string import Template
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

_POSTGRES_SCHEMES = ("postgres", "postgresql")
_DEFAULT_PORT = {"postgres": 5432, "postgresql": 5432, "mysql": 3306}


def identity(url: str) -> tuple[str, str, int, str] | None:
    """``(scheme family, host, port, database)`` of a database URL, or ``None`` when
    ``url`` is not one (no scheme or no host). Never raises."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:  # a port that is not a number, a bad IPv6 literal
        return None
    scheme = parts.scheme.lower()
    if not host:  # a socket directory in the query (postgresql:///db?host=/run/postgresql)
        host = next((v for k, v in parse_qsl(parts.query) if k == "host"), "")
    if not scheme or not host:
        return None
    family = "postgresql" if scheme in _POSTGRES_SCHEMES else scheme
    database = unquote(parts.path.lstrip("/")) or unquote(parts.username or "")
    return family, host, port or _DEFAULT_PORT.get(family, 0), database


def digest(url: str) -> str | None:
    """SHA-256 (hex) of the database identity of ``url``; ``None`` when it is not a URL."""
    ident = identity(url)
    if ident is None:
        return None
    family, host, port, database = ident
    return hashlib.sha256(f"{family}\0{host}\0{port}\0{database}".encode("utf-8", "surrogatepass")).hexdigest()


def variable(template: str) -> str | None:
    """The variable a ``target`` template reads (``${DATABASE_URL_STAGING}`` → its name)."""
    ids = Template(template).get_identifiers()
    return ids[0] if len(ids) == 1 else None


def resolve(template: str | None, environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The record's ``target`` for the runbook's ``target`` template in ``environ``:
    ``{"from": VAR, "digest": HEX}``; ``digest`` is ``None`` when the value is unset or
    not a URL; ``None`` when the runbook names no target."""
    if not template:
        return None
    name = variable(template)
    if name is None or not environ.get(name):
        return {"from": name, "digest": None}
    return {"from": name, "digest": digest(Template(template).safe_substitute({name: environ[name]}))}


def named(template: str | None, environ: Mapping[str, str]) -> str | None:
    """The runbook's target as a person reads it, ``database "dixis" at db.example.com:5432``
    (from ``identity``: host, port and database; never the user name or the password);
    ``None`` when the runbook names no target or its value is unset or not a database URL.
    ``environ`` is the blocks' environment (``context.runbook_env``), where ``${VAR}`` expands."""
    if not template:
        return None
    name = variable(template)
    if name is None or not environ.get(name):
        return None
    ident = identity(Template(template).safe_substitute({name: environ[name]}))
    if ident is None:
        return None
    _, host, port, database = ident
    host = f"[{host}]" if ":" in host else host
    return f'database "{database}" at {host}:{port}' if database else f"the database server at {host}:{port}"


__all__ = ["digest", "identity", "named", "resolve", "variable"]
