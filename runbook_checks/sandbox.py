"""Throwaway databases for rehearsal: PGlite (via ``pglite-server``) or a temporary
PostgreSQL cluster (``initdb``/``pg_ctl``). Both listen on a free loopback port, live in
a temporary directory, and are stopped (their whole process group) and removed on exit,
also after a failure or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import RunbookChecksError
from .procgroup import terminate_group
from .signals import signals_ignored

#: where ``initdb``, ``pg_ctl`` and ``createdb`` are (``$RUNBOOK_CHECKS_PG_BIN``; Debian's PostgreSQL 15 by default)
PG_BIN = Path(os.environ.get("RUNBOOK_CHECKS_PG_BIN", "/usr/lib/postgresql/15/bin"))
#: the kinds of throwaway database ``throwaway`` starts (``rehearse --db``)
DB_KINDS = ("pglite", "postgres")


class SandboxError(RunbookChecksError):
    """The throwaway database could not be started."""


@dataclass(frozen=True)
class Database:
    """A database a rehearsal runs against."""

    #: ``pglite``, ``postgres`` or ``existing`` (given by ``--database-url``)
    kind: str
    #: ``postgresql://user:password@host:port/database``
    url: str
    port: int
    #: the server's version string, for the record
    version: str
    host: str = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout_s: float) -> None:
    """Return once 127.0.0.1:``port`` accepts a connection; raise ``SandboxError`` (with
    the end of ``log``) when ``proc`` exits first or ``timeout_s`` seconds pass."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SandboxError(f"the database exited during start-up (exit {proc.returncode}):\n{log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise SandboxError(
        f"the database did not listen on 127.0.0.1:{port} within {timeout_s:g} s:\n{log.read_text(errors='replace')[-2000:]}"
    )


@contextlib.contextmanager
def pglite(app_dir: Path, timeout_s: float = 60) -> Iterator[Database]:
    """PGlite served over the PostgreSQL protocol by the app's ``pglite-server``
    (``app_dir/node_modules/.bin``), its data in a temporary folder; stopped (SIGINT, then
    its whole process group) and removed on exit. Raises ``SandboxError`` when the server
    is not installed or does not listen within ``timeout_s`` seconds."""
    server = Path(app_dir) / "node_modules" / ".bin" / "pglite-server"
    if not server.exists():
        raise SandboxError(f"{server} not found: install the app's packages first (cd {app_dir} && pnpm install --frozen-lockfile)")
    with tempfile.TemporaryDirectory(prefix="runbook-pglite-") as tmp:
        port = free_port()
        log = Path(tmp) / "server.log"
        with open(log, "wb") as out:
            # -m: Prisma opens more than one connection; PGlite's default of 1 makes it stall.
            proc = subprocess.Popen(
                [str(server), "-d", str(Path(tmp) / "data"), "-p", str(port), "-h", "127.0.0.1", "-m", "8"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_for_port(port, proc, log, timeout_s)
            # PGlite accepts any password; a random one keeps redaction from masking the word "postgres".
            password = secrets.token_urlsafe(12)
            yield Database("pglite", f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres", port, "PGlite (PostgreSQL 18)")
        finally:
            # pglite-server ignores SIGTERM while serving; SIGINT stops it, SIGKILL makes sure.
            with signals_ignored():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=3)
                terminate_group(proc.pid, 0.5)
                proc.wait()


def _as_postgres_user(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the ``postgres`` user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@contextlib.contextmanager
def postgres(timeout_s: float = 60, password: str | None = None, database: str = "dixis") -> Iterator[Database]:
    """A temporary PostgreSQL cluster (``PG_BIN``'s ``initdb``, ``pg_ctl``) with password
    authentication (SCRAM; ``password`` random when not given) and one ``database``, on a
    free loopback port; stopped (``pg_ctl stop -m immediate``) and removed on exit, also
    when its start was interrupted. ``timeout_s``: seconds each of ``initdb``, the start and
    ``createdb`` may take. Raises ``SandboxError`` when PostgreSQL is not installed or a
    step fails."""
    initdb, pg_ctl = PG_BIN / "initdb", PG_BIN / "pg_ctl"
    if not initdb.exists():
        raise SandboxError(f"{initdb} not found: install PostgreSQL 15 (apt-get install postgresql-15) or use --db pglite")
    password = password or secrets.token_urlsafe(12)
    tmp = Path(tempfile.mkdtemp(prefix="runbook-pg-"))
    data, sock = tmp / "data", tmp / "sock"
    sock.mkdir()
    pwfile = tmp / "pw"
    pwfile.write_text(password)
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
        shutil.chown(sock, "postgres")
        shutil.chown(pwfile, "postgres")
    port = free_port()
    log = tmp / "server.log"
    started = False
    try:
        run = subprocess.run(
            _as_postgres_user(
                [str(initdb), "-D", str(data), "-U", "postgres", "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync"]
            ),
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
        if run.returncode != 0:
            raise SandboxError(f"initdb failed:\n{run.stdout[-1000:]}{run.stderr[-1000:]}")
        opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off"
        run = subprocess.run(
            _as_postgres_user([str(pg_ctl), "-D", str(data), "-l", str(log), "-o", opts, "-w", "-t", str(int(timeout_s)), "start"]),
            capture_output=True,
            text=True,
            timeout=timeout_s + 10,
            stdin=subprocess.DEVNULL,
        )
        if run.returncode != 0:
            raise SandboxError(
                f"pg_ctl start failed:\n{run.stdout[-1000:]}{run.stderr[-1000:]}\n{log.read_text(errors='replace')[-1000:] if log.exists() else ''}"
            )
        started = True
        env = dict(os.environ, PGPASSWORD=password)
        run = subprocess.run(
            [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", database],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout_s,
        )
        if run.returncode != 0:
            raise SandboxError(f"createdb failed: {run.stderr.strip()}")
        yield Database("postgres", f"postgresql://postgres:{password}@127.0.0.1:{port}/{database}", port, "PostgreSQL 15")
    finally:
        if started or (data / "postmaster.pid").exists():  # also when pg_ctl start was interrupted
            with signals_ignored():
                subprocess.run(
                    _as_postgres_user([str(pg_ctl), "-D", str(data), "-m", "immediate", "-w", "stop"]), capture_output=True, timeout=60
                )
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def existing(url: str) -> Iterator[Database]:
    """A throwaway database someone else started (a CI service container), at ``url``:
    used, not stopped. Raises ``SandboxError`` when ``url`` is not a ``postgresql://`` URL
    with a host."""
    try:
        parts = urlsplit(url)
        port = parts.port or 5432
    except ValueError as exc:
        raise SandboxError(f"--database-url is not a valid URL: {exc}") from None
    if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
        raise SandboxError("--database-url must be a postgresql:// URL of a throwaway database")
    yield Database("existing", url, port, "database given by --database-url", parts.hostname)


def throwaway(kind: str, app_dir: Path) -> contextlib.AbstractContextManager[Database]:
    """The throwaway database of ``kind`` (one of ``DB_KINDS``), to enter with ``with``;
    ``app_dir``: the app whose ``pglite-server`` serves PGlite. Raises ``SandboxError`` for
    another kind."""
    if kind == "pglite":
        return pglite(app_dir)
    if kind == "postgres":
        return postgres()
    raise SandboxError(f"unknown database kind {kind!r}: use {' or '.join(DB_KINDS)}")
