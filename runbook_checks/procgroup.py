"""Stopping processes: whether a process group is alive, stopping a group, and stopping
every process a block left behind (its group, and whatever left the group), found in this
process's tree (``proctree``).

Stopping is SIGTERM (with SIGCONT, so a stopped process acts on it), then SIGKILL after
``grace_s`` seconds; a process is signalled through a pidfd where the kernel has them, so
a reused pid is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass

from .proctree import Proc, new_descendants, quiet, read_proc

#: how long to wait, after SIGKILL, for killed processes to be gone before giving up on them
KILL_WAIT_S = 5.0


def group_alive(pgid: int) -> bool:
    """Whether any non-zombie process is left in the process group ``pgid`` (one this
    process may not signal counts as alive)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    for entry in os.listdir("/proc"):  # the group's members are not all this process's descendants
        if entry.isdigit() and (p := read_proc(int(entry))) is not None and p.pgid == pgid and p.state != "Z":
            return True
    return False


class _Signaller:
    """Signals processes by pidfd where the kernel has them, so a pid reused by another
    process after one of the block's processes is gone is never signalled."""

    def __init__(self) -> None:
        self.fds: dict[tuple[int, int], int | None] = {}

    def send(self, p: Proc, sig: int) -> None:
        """Send ``sig`` to ``p`` unless it is gone or its pid belongs to another process now."""
        if p.key not in self.fds:
            fd: int | None = None
            try:
                fd = os.pidfd_open(p.pid)
            except ProcessLookupError:
                self.fds[p.key] = -1  # gone already
                return
            except (AttributeError, OSError):
                fd = None  # no pidfds here: plain kill, after the start time check below
            now = read_proc(p.pid)
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
        """Close every pidfd opened."""
        for fd in self.fds.values():
            if fd is not None and fd >= 0:
                os.close(fd)
        self.fds.clear()


@dataclass
class Stopped:
    """What stopping a block's processes found: processes that had left its group (they
    were stopped with their children; a child of one is not counted again), keyed by
    ``Proc.key``, and processes still there when stopping gave up (``KILL_WAIT_S`` after
    SIGKILL: a process stuck in the kernel)."""

    escaped: dict[tuple[int, int], Proc]
    left: list[Proc]

    def note(self) -> str | None:
        """What a block's result says of these processes (up to five named, ``comm (pid N)``),
        or ``None`` when none escaped and none was left."""
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
    if quiet(before):  # nothing the block started is left (the usual end: bash exited, nothing in the background)
        return found
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
    """SIGTERM the whole group ``pgid``, then SIGKILL whatever is left after ``grace_s``
    seconds; returns as soon as the group is gone (at once when there is none)."""
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


__all__ = ["KILL_WAIT_S", "Stopped", "group_alive", "stop_block_processes", "terminate_group"]
