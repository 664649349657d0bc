"""Gates that refuse a run before anything executes: confirmation, secrets, the run lock."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from .errors import GateRefused, LockHeld
from .model import Runbook
from .runner import group_alive, utc_now


def _ran_every_step(record: Any) -> bool:
    """A run counts as a pass of its runbook only if it ran (and passed) every step."""
    steps = [b for b in record.blocks if b.kind == "step"]
    return bool(steps) and all(b.status == "passed" for b in steps)


def check_requirements(runbook: Runbook, results_dir: Path) -> None:
    """``runbook.requires``: each named runbook's ledger must hold a passing ``--execute``
    run whose fingerprints of the ``same`` paths equal the current content."""
    from .execute import fingerprints
    from .ledger import ledger_path, read_records

    current = fingerprints(runbook)
    for req in runbook.requires:
        executed = [r for r in read_records(ledger_path(results_dir, req.runbook))
                    if r.mode == "execute" and (req.environment is None or r.environment == req.environment)]
        records = [r for r in executed if r.status == "passed" and _ran_every_step(r)]
        matching = [r for r in records if all(r.fingerprints.get(p) == current.get(p) for p in req.same)]
        if matching:
            # a later --execute run that failed withdraws the pass (read-only check runs do not)
            later = [r for r in executed if r.started_at > matching[-1].started_at and r.status != "passed"]
            if not later:
                continue
            raise GateRefused(f"{runbook.path}: runbook {runbook.id!r} requires {req.runbook!r} to pass, but its --execute run {later[-1].run_id} "
                              f"({later[-1].status}) came after the last pass {matching[-1].run_id}. Fix it and run {req.runbook!r} with --execute again "
                              "first. Nothing was executed.")
        what = f"runbook {req.runbook!r}" + (f" ({req.environment})" if req.environment else "")
        same = ", ".join(f"{p} {current.get(p, '?')[:12]}" for p in req.same)
        if records:
            why = f"its latest passing --execute run ({records[-1].run_id}) was for different content of {', '.join(req.same)}; current: {same}"
        else:
            why = f"{ledger_path(results_dir, req.runbook)} holds no passing --execute run of it that ran every step"
        todo = f"runbook-checks run {req.path} --execute --confirm <token>" if req.path else f"the {req.runbook} runbook with --execute"
        raise GateRefused(f"{runbook.path}: runbook {runbook.id!r} requires a passing run of {what} first: {why}. Run {todo} (same --results), then try again. Nothing was executed.")


def check_confirmation(runbook: Runbook, token: str | None) -> None:
    """Steps run only when ``token`` equals the runbook's ``confirm`` byte for byte."""
    where = f"{runbook.path}: runbook {runbook.id!r}"
    if runbook.confirm is None:
        raise GateRefused(f"{where} declares no 'runbook.confirm' token, so its steps cannot run. Nothing was executed.")
    expected = runbook.confirm
    if token is None:
        raise GateRefused(f"{where}: --execute needs the confirmation token. Run again with --confirm {expected}. Nothing was executed.")
    if token.encode("utf-8", "surrogatepass") != expected.encode("utf-8"):
        if token.strip() == expected:
            why = "it has extra whitespace"
        elif token.lower() == expected.lower():
            why = "the letter case differs"
        else:
            why = "it is a different word"
        raise GateRefused(f"{where}: the confirmation token does not match ({why}); type exactly {expected}. Nothing was executed.")


def missing_secrets(runbook: Runbook, environ: Mapping[str, str]) -> list[str]:
    return [name for name in runbook.secrets if not environ.get(name, "").strip()]


def check_secrets(runbook: Runbook, environ: Mapping[str, str]) -> None:
    """Every declared secret must be set (and non-empty) before anything executes."""
    missing = missing_secrets(runbook, environ)
    if missing:
        names = ", ".join(missing)
        raise GateRefused(
            f"{runbook.path}: runbook {runbook.id!r} needs the secret(s) {names}, which are not set. "
            f"Export {missing[0]} (in GitHub Actions, add it as a repository or environment secret). Nothing was executed."
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

    def __enter__(self) -> "RunLock":
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
        self._write_holder()
        return self

    def _write_holder(self) -> None:
        tmp = self.holder_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._holder_info), encoding="utf-8")
        os.replace(tmp, self.holder_path)

    def note(self, **info: Any) -> None:
        """Record what the holder is doing now (e.g. the running block's process group)."""
        self._holder_info.update(info)
        self._write_holder()

    def __exit__(self, *exc: object) -> None:
        self.holder_path.unlink(missing_ok=True)
        self._lock.release()
