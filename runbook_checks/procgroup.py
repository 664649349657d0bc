"""Process groups and process trees: whether a group is alive, stopping it, and stopping
every process a block left behind, found through the kernel's process tree.

While a block runs this process is a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``),
so a process that leaves the block's group (``setsid``, a daemon) becomes this process's
child once its parent is gone instead of init's. Processes are found through
``/proc/<pid>/task/<tid>/children`` — this process's own tree, never the whole process table.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: how long to wait, after SIGKILL, for killed processes to be gone before giving up on them
KILL_WAIT_S = 5.0


def group_alive(pgid: int) -> bool:
    """Whether any non-zombie process is left in the process group."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


# --- processes a block starts, wherever they go ---------------------------------------

_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37
_reaper_lock = threading.Lock()
_reaper_users = 0
_reaper_before = 0
_reaper_active = False


@functools.cache
def _libc_prctl() -> Any:
    """libc's ``prctl`` (loaded once: loading it costs more than a block's own start), or
    ``None`` where there is none (not Linux)."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _prctl(option: int, arg: object) -> bool:
    prctl = _libc_prctl()
    return prctl is not None and prctl(option, arg, ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) == 0


@contextlib.contextmanager
def child_subreaper() -> Iterator[bool]:
    """Make this process a child subreaper for a while (the previous setting is restored
    when the last user leaves): a process whose parent dies is then re-parented to this
    process, not to init, so processes a block started stay in this process's tree.
    Yields whether that is in force (False where the kernel refuses it)."""
    global _reaper_users, _reaper_before, _reaper_active
    with _reaper_lock:
        if _reaper_users == 0:
            was = ctypes.c_int(0)
            _prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(was))
            _reaper_before = was.value
            _reaper_active = bool(was.value) or _prctl(_PR_SET_CHILD_SUBREAPER, ctypes.c_ulong(1))
        _reaper_users += 1
        active = _reaper_active
    try:
        yield active
    finally:
        with _reaper_lock:
            _reaper_users -= 1
            if _reaper_users == 0 and not _reaper_before and _reaper_active:
                _prctl(_PR_SET_CHILD_SUBREAPER, ctypes.c_ulong(0))


@dataclass(frozen=True)
class Proc:
    """One process as /proc/<pid>/stat shows it; ``start`` (clock ticks after boot) tells
    a process from a later one that got its pid."""

    pid: int
    ppid: int
    pgid: int
    state: str
    start: int
    comm: str

    @property
    def key(self) -> tuple[int, int]:
        return self.pid, self.start


def _proc(pid: int) -> Proc | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    head, _, tail = raw.rpartition(b")")
    fields = tail.split()
    try:
        return Proc(
            pid, int(fields[1]), int(fields[2]), fields[0].decode(), int(fields[19]), head.partition(b"(")[2].decode("utf-8", "replace")
        )
    except (IndexError, ValueError):
        return None


def _children_files_work() -> bool:
    return os.path.exists(f"/proc/self/task/{threading.get_native_id()}/children")


def children(pid: int) -> set[int]:
    """The children of ``pid`` (of any of its threads), as the kernel lists them in
    ``/proc/<pid>/task/<tid>/children``. Where the kernel has no such files
    (CONFIG_PROC_CHILDREN off) the parent links of /proc/*/stat are read instead."""
    found: set[int] = set()
    if not _children_files_work():
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (p := _proc(int(entry))) is not None and p.ppid == pid:
                found.add(p.pid)
        return found
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                found.update(int(c) for c in fh.read().split())
        except OSError:
            continue
    return found


def _tree(skip: frozenset[tuple[int, int]] = frozenset()) -> list[Proc]:
    """This process's descendants (zombies included), parents before their children,
    leaving out the processes in ``skip`` and everything under them."""
    out: list[Proc] = []
    todo = sorted(children(os.getpid()))
    seen: set[int] = set()
    while todo:
        pid = todo.pop(0)
        if pid in seen or (p := _proc(pid)) is None or p.key in skip:
            continue
        seen.add(pid)
        out.append(p)
        todo += sorted(children(pid))
    return out


def own_processes() -> frozenset[tuple[int, int]]:
    """This process's descendants now, as (pid, start) pairs: not a block's, whatever
    happens to them while it runs (a rehearsal's database server and its processes, even
    one re-parented here when its parent ends)."""
    return frozenset(p.key for p in _tree())


def new_descendants(before: frozenset[tuple[int, int]]) -> list[Proc]:
    """Every process in this process's tree that is not in ``before`` nor under one that is."""
    return _tree(before)


class _Signaller:
    """Signals processes by pidfd where the kernel has them, so a pid reused by another
    process after one of the block's processes is gone is never signalled."""

    def __init__(self) -> None:
        self.fds: dict[tuple[int, int], int | None] = {}

    def send(self, p: Proc, sig: int) -> None:
        if p.key not in self.fds:
            fd: int | None = None
            try:
                fd = os.pidfd_open(p.pid)
            except ProcessLookupError:
                self.fds[p.key] = -1  # gone already
                return
            except (AttributeError, OSError):
                fd = None  # no pidfds here: plain kill, after the start time check below
            now = _proc(p.pid)
            if now is None or now.start != p.start:  # the pid is someone else's now
                if fd is not None:
                    os.close(fd)
                self.fds[p.key] = -1
                return
            self.fds[p.key] = fd
        fd = self.fds[p.key]
        if fd == -1:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if fd is None:
                os.kill(p.pid, sig)
            else:
                signal.pidfd_send_signal(fd, sig)

    def close(self) -> None:
        for fd in self.fds.values():
            if fd is not None and fd >= 0:
                os.close(fd)
        self.fds.clear()


@dataclass
class Stopped:
    """What stopping a block's processes found: processes that had left its group (they
    were stopped with their children; a child of one is not counted again), and processes still there when stopping gave up (``KILL_WAIT_S`` after
    SIGKILL: a process stuck in the kernel)."""

    escaped: dict[tuple[int, int], Proc]
    left: list[Proc]

    def note(self) -> str | None:
        parts = []
        if self.escaped:
            n = len(self.escaped)
            names = [f"{p.comm} (pid {p.pid})" for p in sorted(self.escaped.values(), key=lambda p: p.pid)]
            shown = ", ".join(names[:5]) + (f" and {n - 5} more" if n > 5 else "")
            parts.append(f"stopped {n} process{'es' if n > 1 else ''} that had left the block's process group: {shown}")
        if self.left:
            shown = ", ".join(f"{p.comm} (pid {p.pid})" for p in self.left[:5])
            parts.append(f"{len(self.left)} process(es) the block started did not end after SIGKILL: {shown}")
        return "; ".join(parts) or None


def stop_block_processes(
    pgid: int, before: frozenset[tuple[int, int]], grace_s: float, *, keep: int, found: Stopped | None = None
) -> Stopped:
    """Stop everything a block started: SIGTERM to its process group, then to every
    process that left the group (``setsid``, ``setpgid``, a daemon) and that is in this
    process's tree, not in ``before`` nor under a process that is; SIGKILL to all of them after
    ``grace_s`` seconds. Repeats until none of them is left (orphans come back to this
    process, a child subreaper, as their parents die), or ``KILL_WAIT_S`` after SIGKILL.
    This process's own children that end are reaped, except ``keep`` (the block's bash,
    whose ``Popen`` reaps it)."""
    found = found if found is not None else Stopped({}, [])
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
        os.killpg(pgid, signal.SIGCONT)  # a stopped process (kill -STOP, Ctrl-Z in a block) acts on SIGTERM only once continued
    kill_at = time.monotonic() + grace_s
    give_up = kill_at + KILL_WAIT_S
    me = os.getpid()
    signaller = _Signaller()
    termed: set[tuple[int, int]] = set()
    empty_once = False
    try:
        while True:
            now = time.monotonic()
            killing = now >= kill_at
            if killing:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pgid, signal.SIGKILL)
            live = []
            tree = new_descendants(before)
            pgids = {p.pid: p.pgid for p in tree}
            for p in tree:
                if p.state in ("Z", "X"):
                    if p.ppid == me and p.pid != keep:
                        with contextlib.suppress(ChildProcessError):
                            os.waitpid(p.pid, os.WNOHANG)
                    continue
                live.append(p)
                if killing:
                    signaller.send(p, signal.SIGKILL)
                elif p.pgid != pgid and p.key not in termed:  # the group had its SIGTERM
                    signaller.send(p, signal.SIGTERM)
                    signaller.send(p, signal.SIGCONT)
                    termed.add(p.key)
                if p.pgid != pgid and (p.ppid == me or pgids.get(p.ppid) == pgid):  # left the group itself (its children are its own)
                    found.escaped.setdefault(p.key, p)
            if not live:
                # A process re-parented here while the tree was read (its parent died between
                # reading this process's children and its parent's) is missed by that read; it
                # is in the next one, so only a second empty read in a row ends the stop.
                if empty_once:
                    found.left = []
                    return found
                empty_once = True
                continue
            empty_once = False
            if now >= give_up:
                found.left = live
                return found
            time.sleep(0.02)
    finally:
        signaller.close()


def terminate_group(pgid: int, grace_s: float) -> None:
    """SIGTERM the whole group, then SIGKILL whatever is left after ``grace_s`` seconds."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return
        time.sleep(0.02)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
