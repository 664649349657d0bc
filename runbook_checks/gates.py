"""Gates that refuse a run before anything executes: confirmation, secrets, the run lock."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from .context import utc_now
from .errors import GateRefused, LockHeld
from .model import Runbook
from .procgroup import group_alive


def check_requirements(runbook: Runbook, results_dir: Path, environ: Mapping[str, str]) -> None:
    """Raises ``GateRefused`` (exit 2) with the first of ``requirement_problems``."""
    problems = requirement_problems(runbook, results_dir, environ)
    if problems:
        raise GateRefused(f"{runbook.path}: runbook {runbook.id!r} {problems[0]} Nothing was executed.")


def requirement_problems(runbook: Runbook, results_dir: Path, environ: Mapping[str, str]) -> list[str]:
    """``runbook.requires``: what ``--execute`` needs of other runbooks' migrations; returns
    why the gate is closed (one sentence per unmet requirement, saying what to run next),
    empty when it is open. Reads files only: the site asks it too.

    For each requirement, the required runbook's ledger must verify, record schema
    included (a bad line refuses, naming ``path:N``), and by the evidence policy
    (``evidence.py``) its environment's ``--execute`` attempts must show:

    - a latest attempt whose fingerprints of the ``same`` paths equal the current
      content, with the verdict ``passed`` (every step and criterion passed, one target
      and one content over all its runs);
    - no later ``--execute`` attempt that did not pass (failed, interrupted, incomplete);
    - when this runbook names a ``target``: its own target is a database URL, and the
      passing attempt recorded one target digest, different from this runbook's (a
      staging pass against the production database proves nothing).

    Without the target's secret in ``environ`` (a site build), the target rules are not checked.
    """
    from .context import fingerprints, runbook_env
    from .evidence import PASSED, Attempt, Attempts
    from .ledger import ledger_path, verified_records
    from .model import MODE_EXECUTE
    from .target import resolve, variable

    current = fingerprints(runbook)
    here = (resolve(runbook.target, runbook_env(runbook, environ, runbook.environment)) or {}).get("digest")
    problems = []
    for req in runbook.requires:
        path = ledger_path(results_dir, req.runbook)
        what = f"runbook {req.runbook!r}" + (f" ({req.environment})" if req.environment else "")
        todo = f"runbook-checks run {req.path} --execute --confirm <token>" if req.path else f"the {req.runbook} runbook with --execute"
        prefix = f"requires a passing migration of {what} first"
        records, verification = verified_records(path, validate_schema=True)
        if verification is not None and not verification.ok:
            problems.append(
                f"{prefix}, but its ledger fails verification at {verification.path}:{verification.bad_line}: {verification.problem}. "
                f"Run 'runbook-checks verify {path}', restore the ledger from its published copy, then try again."
            )
            continue
        newest: Attempt | None = None  # the newest migration attempt
        later: Attempt | None = None  # the newest one that did not pass, after ``latest``
        latest: Attempt | None = None  # the newest one for the current content of the ``same`` paths
        for a in Attempts(records).newest(req.environment, MODE_EXECUTE):  # newest first: reads only as far back as it must
            newest = newest or a
            if all(a.fingerprints.get(p) == current.get(p) for p in req.same):
                latest = a
                break
            if later is None and a.verdict != PASSED:
                later = a
        if latest is None:
            content = ", ".join(f"{p} {current.get(p, '?')[:12]}" for p in req.same)
            why = (
                f"its latest --execute attempt ({newest.id}) was for different content of {', '.join(req.same)}; current: {content}"
                if newest
                else f"{path} holds no --execute attempt of it"
            )
            problems.append(f"{prefix}: {why}. Run {todo} (same --results), then try again.")
            continue
        if latest.verdict != PASSED:
            problems.append(
                f"{prefix}: its latest --execute attempt for the current {', '.join(req.same) or 'content'} ({latest.id}) did not pass "
                f"(verdict: {latest.verdict}). Fix it and run {todo}, then try again."
            )
        elif later is not None:
            problems.append(
                f"{prefix}: its --execute attempt {later.id} ({later.verdict}) came after the last pass {latest.id}. "
                f"Fix it and run {todo}, then try again."
            )
        elif runbook.target and here is None and environ.get(variable(runbook.target) or ""):
            problems.append(
                f"{prefix}, and this runbook's target ({runbook.target}) is not a database URL, so the gate cannot tell it from "
                f"{what}'s. Use a postgresql://host:port/database URL, then try again."
            )
        elif here is not None and latest.target_digest is None:
            problems.append(
                f"{prefix}: its passing attempt {latest.id} recorded no single target digest (its runbook declares no 'target', or "
                f"its runs named other databases), so nothing shows it ran on another database than this one. Run {todo}, then try again."
            )
        elif here is not None and latest.target_digest == here:
            problems.append(
                f"{prefix}: its passing attempt {latest.id} ran against the very database this runbook targets "
                f"(target digest {here[:12]}), so it proves nothing. Point {what}'s secret at its own database and run {todo}, then try again."
            )
    return problems


def target_named(runbook: Runbook, environ: Mapping[str, str]) -> str | None:
    """The database the runbook's steps would change, as ``target.named`` words it (host,
    port, database; never the password), or ``None`` when it names none or it is unset."""
    from .context import runbook_env
    from .redact import Redactor
    from .target import named

    text = named(runbook.target, runbook_env(runbook, environ, runbook.environment)) if runbook.target else None
    return Redactor.for_secrets(runbook.secrets, environ)(text) if text else None  # a database named like a secret stays masked


def check_confirmation(runbook: Runbook, token: str | None, environ: Mapping[str, str] | None = None) -> None:
    """Steps run only when ``token`` equals the runbook's ``confirm`` byte for byte. A
    refusal names the target database when ``environ`` sets it (``target_named``)."""
    where = f"{runbook.path}: runbook {runbook.id!r}"
    if runbook.confirm is None:
        raise GateRefused(f"{where} declares no 'runbook.confirm' token, so its steps cannot run. Nothing was executed.")
    expected = runbook.confirm
    target = target_named(runbook, environ) if environ is not None else None
    on = f" on {target}" if target else ""
    if token is None:
        raise GateRefused(
            f"{where}: --execute needs the confirmation token. Run again with --confirm {expected}. Nothing was executed{on}."
        )
    if token.encode("utf-8", "surrogatepass") != expected.encode("utf-8"):
        if token.strip() == expected:
            why = "it has extra whitespace"
        elif token.lower() == expected.lower():
            why = "the letter case differs"
        else:
            why = "it is a different word"
        raise GateRefused(f"{where}: the confirmation token does not match ({why}); type exactly {expected}. Nothing was executed{on}.")


def missing_secrets(runbook: Runbook, environ: Mapping[str, str]) -> list[str]:
    return [name for name in runbook.secrets if not environ.get(name, "").strip()]


def check_secrets(runbook: Runbook, environ: Mapping[str, str], *, missing_ok: bool = False) -> None:
    """Every declared secret must be set (and non-empty) before anything executes, and be
    valid UTF-8: the shapes programs print other bytes in cannot all be known, so such a
    value could not be promised to be masked. ``missing_ok`` (a dry run): only the second.
    Raises ``GateRefused``."""
    missing = missing_secrets(runbook, environ)
    if missing and not missing_ok:
        names = ", ".join(missing)
        raise GateRefused(
            f"{runbook.path}: runbook {runbook.id!r} needs the secret(s) {names}, which are not set. "
            f"Export {missing[0]} (in GitHub Actions, add it as a repository or environment secret). Nothing was executed."
        )
    check_secret_encoding(runbook, environ)


def check_secret_encoding(runbook: Runbook, environ: Mapping[str, str]) -> None:
    """Raise ``GateRefused`` when a declared secret that is set is not valid UTF-8 (see
    ``check_secrets``): the CLI and the pytest plugin refuse such a value alike."""
    from .redact import non_utf8

    undecodable = [name for name in runbook.secrets if non_utf8(environ.get(name, ""))]
    if undecodable:
        raise GateRefused(
            f"{runbook.path}: runbook {runbook.id!r}: the value of the secret {undecodable[0]} is not valid UTF-8, so it cannot be "
            f"masked in every shape a program may print it. Store it as UTF-8 (inside a database URL, percent-encode its bytes). "
            f"Nothing was executed."
        )


class RunLock:
    """One run per runbook and environment at a time.

    The lock is an ``flock`` (via filelock), so a killed process releases it; who holds
    it is written beside it, so a refused run can name the holder, and a holder file
    left by a killed run is reported as taken over.
    """

    def __init__(self, results_dir: Path, runbook_id: str, environment: str):
        base = Path(results_dir) / f".{runbook_id}.{environment}"
        self.lock_path = Path(f"{base}.lock")
        self.holder_path = Path(f"{base}.holder.json")
        self.runbook_id, self.environment = runbook_id, environment
        self._lock = FileLock(str(self.lock_path), timeout=0)
        #: holder information of a stale lock this run took over, if any
        self.took_over: dict[str, Any] | None = None

    def _holder(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.holder_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def __enter__(self) -> RunLock:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except Timeout:
            h = self._holder() or {}
            raise LockHeld(
                f"another run of {self.runbook_id!r} ({self.environment}) holds the lock: "
                f"pid {h.get('pid', '?')} on {h.get('host', '?')}, started {h.get('started_at', '?')}. "
                "Wait for it to finish, or stop it, then run again."
            ) from None
        self.took_over = self._holder()
        left = self.took_over or {}
        if left.get("pgid") and left.get("host") == socket.gethostname() and group_alive(int(left["pgid"])):
            self._lock.release()
            raise LockHeld(
                f"a killed run of {self.runbook_id!r} ({self.environment}) left block {left.get('block')!r} running "
                f"(process group {left['pgid']}). Stop it (kill -- -{left['pgid']}) or wait for it, then run again."
            )
        self._holder_info = {"pid": os.getpid(), "host": socket.gethostname(), "started_at": utc_now()}
        try:
            self._write_holder()
        except (GateRefused, OSError) as exc:
            self._lock.release()
            if isinstance(exc, GateRefused):
                raise
            raise GateRefused(
                f"{exc.filename or self.holder_path}: cannot write who holds the lock ({exc.strerror or exc}). Nothing was executed."
            ) from None
        return self

    def _write_holder(self, replace_links: bool = False) -> None:
        """Write the holder file through ``<holder>.tmp`` and a rename, never through a
        symbolic link planted at either name: a link there refuses the run (``GateRefused``,
        exit 2) before anything runs; with ``replace_links`` (while the run is under way)
        the link itself is removed instead, its target untouched."""
        tmp = self.holder_path.with_suffix(".tmp")
        for name in (tmp, self.holder_path):
            if name.is_symlink():
                if not replace_links:
                    raise GateRefused(
                        f"{name}: is a symbolic link; runbook-checks does not write its lock's holder file through a link "
                        "(a planted link could overwrite any file). Remove it and run again. Nothing was executed."
                    )
                name.unlink()
        # O_EXCL: never a file that is there already (a leftover, or a hard link to another file: its name is removed first)
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            data = json.dumps(self._holder_info).encode("utf-8")
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(tmp, self.holder_path)

    def note(self, **info: Any) -> None:
        """Record what the holder is doing now (e.g. the running block's process group).
        Best effort: the run goes on when the holder file cannot be written (a full disk)."""
        self._holder_info.update(info)
        try:
            self._write_holder(replace_links=True)
        except OSError:
            pass

    def __exit__(self, *exc: object) -> None:
        self.holder_path.unlink(missing_ok=True)
        self._lock.release()
