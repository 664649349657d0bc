"""The run lock: one run per runbook and environment (and fleet target) at a time, and who holds it.

A run takes the lock before its first block and keeps it until its record is written;
a second run of the same runbook and environment is refused (``LockHeld``, exit 3) with
the holder named, and a run killed while a block ran is refused until that block's
process group is gone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from .context import host_name, utc_now
from .errors import GateRefused, LockHeld
from .model import Runbook
from .procgroup import group_alive

#: spaces after the holder file's JSON, so that a later note (a longer block id) still fits in place
HOLDER_ROOM = 64
#: the largest holder file written in place: one page, so one write that is never half done
IN_PLACE_MAX = 4096


class RunLock:
    """One run per runbook and environment at a time.

    The lock is an ``flock`` (via filelock), so a killed process releases it; who holds
    it is written beside it, so a refused run can name the holder, and a holder file
    left by a killed run is reported as taken over. Files, in ``results_dir``:
    ``.<runbook_id>.<environment>.lock`` and ``.<runbook_id>.<environment>.holder.json``
    (``{"pid", "host", "started_at"}`` plus whatever ``note`` adds, e.g. ``pgid``, ``block``).

    What a reader needs: while the lock is held, the holder's pid, host and start (for the
    refusal); once its holder was killed, the process group of the block that was running
    (``pgid``, named by ``block``). The group changes with every block, so ``note`` writes
    at each block's start, but in place: the file is written whole through a temporary
    name and a rename when the run starts (and whenever the new contents would not fit),
    padded with spaces (JSON ignores them), and a later note that fits is one ``pwrite``
    over it at offset 0 while its name still holds that file. A single small write to a
    regular file within one page is never half done when the process is killed, and the file never gets
    shorter, so no stale tail is left after the JSON.
    """

    def __init__(self, results_dir: Path, runbook_id: str, environment: str, target: str | None = None):
        """``target``: a fleet run's selected target; its lock lives beside its ledger, in
        ``results_dir/<runbook_id>/`` as ``.<target>.<environment>.lock`` (one lock per ledger file)."""
        folder = Path(results_dir) / runbook_id if target else Path(results_dir)
        base = folder / f".{target or runbook_id}.{environment}"
        self.lock_path = Path(f"{base}.lock")
        self.holder_path = Path(f"{base}.holder.json")
        self.runbook_id, self.environment, self.target = runbook_id, environment, target
        self._lock = FileLock(str(self.lock_path), timeout=0)
        #: holder information of a stale lock this run took over, if any
        self.took_over: dict[str, Any] | None = None
        #: the holder file this run wrote (kept open for in-place notes) and its size
        self._fd: int | None = None
        self._size = 0

    @classmethod
    def of(cls, results_dir: Path, runbook: Runbook, environment: str) -> RunLock:
        """The lock of ``runbook``'s runs in ``environment``: its selected target's own
        (``targets.select``) for a fleet run, else the runbook's."""
        return cls(results_dir, runbook.id, environment, runbook.selected.name if runbook.selected is not None else None)

    @property
    def _what(self) -> str:
        """What the lock is for, as messages name it: ``'rb' (staging)``, ``'rb' target 'acme' (production)``."""
        return f"{self.runbook_id!r}" + (f" target {self.target!r}" if self.target else "") + f" ({self.environment})"

    def _holder(self) -> dict[str, Any] | None:
        """The holder file's contents, ``None`` when it is missing, unreadable or not a JSON
        object (a file left half-written, or written by something else)."""
        try:
            value = json.loads(self.holder_path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return None
        return value if isinstance(value, dict) else None

    def __enter__(self) -> RunLock:
        """Take the lock without waiting. Raises ``LockHeld`` (exit 3) when another run
        holds it, or when a killed run's block (its recorded process group, on this host)
        is still running; ``GateRefused`` (exit 2) when the holder file cannot be written
        or is a symbolic link."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except Timeout:
            h = self._holder() or {}
            raise LockHeld(
                f"another run of {self._what} holds the lock: "
                f"pid {h.get('pid', '?')} on {h.get('host', '?')}, started {h.get('started_at', '?')}. "
                "Wait for it to finish, or stop it, then run again."
            ) from None
        self.took_over = self._holder()
        left = self.took_over or {}
        pgid = left.get("pgid")  # a process group this module wrote: a pid_t above 1 (1 is init's)
        if type(pgid) is int and 1 < pgid < 2**31 and left.get("host") == host_name() and group_alive(pgid):
            self._lock.release()
            raise LockHeld(
                f"a killed run of {self._what} left block {left.get('block')!r} running "
                f"(process group {left['pgid']}). Stop it (kill -- -{left['pgid']}) or wait for it, then run again."
            )
        self._holder_info = {"pid": os.getpid(), "host": host_name(), "started_at": utc_now()}
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
            data += b" " * HOLDER_ROOM  # room for later notes to be written in place
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.replace(tmp, self.holder_path)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        self._close_fd()
        self._fd, self._size = fd, len(data)

    def _write_in_place(self) -> bool:
        """Write the holder information over the holder file in one ``pwrite``, padded to
        its size; whether that was done (no: it would not fit, or the name no longer holds
        the file this run wrote — a link or another file was put there)."""
        if self._fd is None:
            return False
        data = json.dumps(self._holder_info).encode("utf-8")
        if len(data) > self._size or self._size > IN_PLACE_MAX:
            return False
        try:
            now, mine = os.stat(self.holder_path, follow_symlinks=False), os.fstat(self._fd)
        except OSError:
            return False
        if (now.st_ino, now.st_dev) != (mine.st_ino, mine.st_dev):
            return False
        return os.pwrite(self._fd, data.ljust(self._size), 0) == self._size

    def _close_fd(self) -> None:
        """Close the holder file kept open for in-place notes."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def note(self, **info: Any) -> None:
        """Record what the holder is doing now (e.g. the running block's process group).
        Best effort: the run goes on when the holder file cannot be written (a full disk)."""
        self._holder_info.update(info)
        try:
            if not self._write_in_place():
                self._write_holder(replace_links=True)
        except OSError:
            pass

    def __exit__(self, *exc: object) -> None:
        """Remove the holder file and release the lock."""
        self._close_fd()
        self.holder_path.unlink(missing_ok=True)
        self._lock.release()


__all__ = ["RunLock"]
