"""This process's tree of processes: being a child subreaper, and reading the tree.

While a block runs this process is a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``,
Linux 3.4+), so a process that leaves the block's group (``setsid``, a daemon) becomes
this process's child once its parent is gone instead of init's. Processes are found
through ``/proc/<pid>/task/<tid>/children`` — this process's own tree, never the whole
process table. ``procgroup`` stops what is found here.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37
_PR_SET_PDEATHSIG = 1
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
    """``prctl(option, arg, 0, 0, 0)``; whether it succeeded (False where there is no ``prctl``)."""
    prctl = _libc_prctl()
    return prctl is not None and prctl(option, arg, ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) == 0


def die_with_parent(parent: int) -> None:
    """This process is sent SIGKILL when the thread that started it ends (Linux:
    ``prctl(PR_SET_PDEATHSIG)``; elsewhere nothing), and exits at once (status 1) when its
    parent, the process ``parent``, has ended already (before the call took effect)."""
    import signal

    _prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL))
    if os.getppid() != parent:
        os._exit(1)


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
        """``(pid, start)``: the process, not just its pid (a pid is reused once it is gone)."""
        return self.pid, self.start


def read_proc(pid: int) -> Proc | None:
    """``pid`` as ``/proc/<pid>/stat`` shows it now, or ``None`` when it is gone or unreadable."""
    try:
        raw = _read(f"/proc/{pid}/stat")
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


@functools.cache
def _children_files_work() -> bool:
    """Whether this kernel lists children in ``/proc/<pid>/task/<tid>/children`` (CONFIG_PROC_CHILDREN)."""
    return os.path.exists(f"/proc/self/task/{threading.get_native_id()}/children")


def children(pid: int) -> set[int]:
    """The children of ``pid`` (of any of its threads), as the kernel lists them in
    ``/proc/<pid>/task/<tid>/children``. Where the kernel has no such files
    (CONFIG_PROC_CHILDREN off) the parent links of /proc/*/stat are read instead."""
    found: set[int] = set()
    if not _children_files_work():
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (p := read_proc(int(entry))) is not None and p.ppid == pid:
                found.add(p.pid)
        return found
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            found.update(int(c) for c in _read(f"/proc/{pid}/task/{tid}/children").split())
        except OSError:
            continue
    return found


def _read(path: str) -> bytes:
    """The whole of a /proc file, read without a Python file object (a block's start and end
    read its children: the buffered file's own system calls cost more than the read).
    Raises ``OSError``."""
    fd = os.open(path, os.O_RDONLY)  # not inherited by children (Python's default)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _tree(skip: frozenset[tuple[int, int]] = frozenset()) -> list[Proc]:
    """This process's descendants (zombies included), parents before their children,
    leaving out the processes in ``skip`` and everything under them."""
    out: list[Proc] = []
    todo = sorted(children(os.getpid()))
    seen: set[int] = set()
    while todo:
        pid = todo.pop(0)
        if pid in seen or (p := read_proc(pid)) is None or p.key in skip:
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


def quiet(before: frozenset[tuple[int, int]]) -> bool:
    """Whether every child of this process is one of ``before`` (``own_processes`` taken
    before a block started): then, while this process is a child subreaper, no process the
    block started is alive, nor can one start. A process's children are re-parented to the
    nearest subreaper before it becomes a zombie, so a living process of the block always
    has an ancestor among this process's children. One read of this process's children
    (and of a child's stat only when its pid was there before: a pid may be reused)."""
    pids = {pid for pid, _ in before}
    for pid in children(os.getpid()):
        if pid not in pids or (p := read_proc(pid)) is not None and p.key not in before:
            return False
    return True


def new_descendants(before: frozenset[tuple[int, int]]) -> list[Proc]:
    """Every process in this process's tree that is not in ``before`` nor under one that is."""
    return _tree(before)


__all__ = ["Proc", "child_subreaper", "children", "new_descendants", "own_processes", "quiet", "read_proc"]
