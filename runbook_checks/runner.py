"""Block -> BlockResult: runs one block (with its retries) and returns its result.

Each block runs as ``bash -euo pipefail -c CODE`` in its own session (so its own
process group), stdin from /dev/null, stderr merged into stdout. On timeout or
Ctrl-C the whole group gets SIGTERM, then SIGKILL after ``grace_s`` seconds; processes a
block leaves running in the background are stopped the same way when it ends.

Nothing a block starts outlives it, not even a process that leaves the group (``setsid``,
``setpgid``, a daemon): while a block runs this process is a child subreaper
(``prctl(PR_SET_CHILD_SUBREAPER)``), so such a process, once its parent is gone, becomes
this process's child instead of init's. When the block ends, every process in this
process's tree that was not there before the block (found through the kernel's
``/proc/<pid>/task/<tid>/children``, never by scanning the process table) gets SIGTERM,
then SIGKILL after ``grace_s``, and is reaped; the block's result says so
(``procgroup``, ``proctree``). Output is decoded, cleaned and redacted as it streams, and
kept bounded (head and tail) for the record and matched against the block's expectations
(``capture``). Stop signals are held back while the process starts and ignored while it
is stopped (``signals``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import select
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from .capture import BoundedCapture, OutputMatcher, judge
from .context import utc_now, utf8
from .model import Block, BlockResult, Expectation
from .procgroup import Stopped, stop_block_processes, terminate_group
from .proctree import child_subreaper, own_processes
from .redact import Redactor
from .signals import interrupted_by, signals_deferred, signals_ignored
from .status import BlockStatus

#: bytes read from a block's output at a time
READ_SIZE = 65536


class Observer(Protocol):
    """What a runner tells its caller while a block runs (all text already redacted).
    An observer may also have ``spawned(block, pgid)``, called when the block's process
    group starts, and ``tick()``, called while the block is silent (at least every 0.25 s)."""

    def output(self, block: Block, text: str) -> None:
        """A chunk of the block's output, decoded and redacted, as it arrives."""
        ...

    def retry(self, block: Block, attempt: int, result: BlockResult) -> None:
        """Attempt number ``attempt`` (1-based) ended with ``result``, which is not a pass;
        the block runs again after its ``retry_delay_s``."""
        ...


@dataclass
class _Attempt:
    """One try at a block: what ``run_block`` turns into a ``BlockResult``."""

    status: BlockStatus
    exit_code: int | None
    duration_s: float
    capture: BoundedCapture
    expectations: list[Expectation]
    reason: str | None


@dataclass
class _Group:
    """A started block: its bash (whose pid is its process group's id) and what stopping
    everything it started needs."""

    proc: subprocess.Popen[bytes]
    #: this process's tree before the block started (``proctree.own_processes``): not the block's
    before: frozenset[tuple[int, int]]
    #: whether this process is a child subreaper (orphans of the block come back to it)
    reaping: bool
    grace_s: float
    stopped: Stopped = field(default_factory=lambda: Stopped({}, []))

    def stop(self) -> None:
        """Stop the group, then whatever left it; where orphans go to init instead of this
        process, the group is all that can be seen."""
        if not self.reaping:
            terminate_group(self.proc.pid, self.grace_s)
        stop_block_processes(self.proc.pid, self.before, self.grace_s, keep=self.proc.pid, found=self.stopped)


def _attempt(block: Block, cwd: Path, env: Mapping[str, str], redactor: Redactor, observer: Observer | None, grace_s: float) -> _Attempt:
    """Run ``block.code`` once in its own process group until it ends, its ``timeout_s``
    passes or a stop signal arrives; then stop everything it started."""
    stream = redactor.stream()
    capture = BoundedCapture()
    matcher = OutputMatcher(block)

    def take(text: str) -> None:
        if text:
            capture.add(text)
            matcher.feed(text)
            if observer is not None:
                observer.output(block, text)

    start = time.monotonic()
    held = contextlib.ExitStack()  # Ctrl-C is held back until the try below can stop the group
    held.enter_context(signals_deferred())
    reaper = contextlib.ExitStack()  # orphans of the block come back to this process until it ends
    try:
        reaping = reaper.enter_context(child_subreaper())
        before = own_processes()  # e.g. a rehearsal's database server: not the block's
        proc = subprocess.Popen(
            [bash_path(env.get("PATH")), "-euo", "pipefail", "-c", block.code],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        held.close()
        reaper.close()
        reason = utf8(f"cannot start bash in {cwd}: {exc.strerror or exc}")  # a folder name that is not UTF-8: escaped, as recorded
        return _Attempt(
            BlockStatus.FAILED,
            127,
            0.0,
            capture,
            [Expectation("exit", ",".join(map(str, block.accepted_exit_codes)), False, "127")],
            reason,
        )
    except BaseException:
        held.close()
        reaper.close()
        raise
    group = _Group(proc, before, reaping, grace_s)
    timed_out = False
    interrupted: str | None = None
    try:
        if observer is not None and hasattr(observer, "spawned"):
            observer.spawned(block, proc.pid)
        held.close()  # a held Ctrl-C arrives here, inside the try
        timed_out = _pump(group, start + block.timeout_s, lambda data: take(stream.feed(data)), getattr(observer, "tick", None))
    except KeyboardInterrupt as exc:
        interrupted = interrupted_by(exc)
    finally:
        with signals_ignored():  # a second Ctrl-C must not leave the group running
            group.stop()
            proc.stdout.close()  # type: ignore[union-attr]
            exit_code = proc.wait()
            reaper.close()
        held.close()  # still open only if reporting the spawn failed
    take(stream.flush())
    matcher.finish()
    duration_s = time.monotonic() - start
    exit_code = 128 - exit_code if exit_code < 0 else exit_code  # killed by signal N: 128 + N, as a shell says
    status, expectations, reason = judge(block, exit_code, duration_s, matcher.expectations(), timed_out=timed_out, interrupted=interrupted)
    if (note := group.stopped.note()) is not None:  # processes that escaped the group: said, whatever the status
        reason = f"{reason}; {redactor(note)}" if reason else redactor(note)
    return _Attempt(status, exit_code, duration_s, capture, expectations, reason)


def _pump(group: _Group, deadline: float, feed: Callable[[bytes], None], tick: Callable[[], None] | None) -> bool:
    """Hand the block's output to ``feed`` as it arrives until the output closes and bash
    has exited, or ``deadline`` (``time.monotonic()`` seconds) passes; returns whether it
    passed (the group is then stopped). ``tick`` (when not ``None``) is called while the
    output is silent, at least every 0.25 s. Once the group has been stopped, reading stops
    within a second even if a process that left the group (setsid, a daemon) still holds
    the pipe open."""
    proc = group.proc
    fd = proc.stdout.fileno()  # type: ignore[union-attr]
    poller = select.poll()  # one fd: no epoll instance to create and close per block
    poller.register(fd, select.POLLIN)
    timed_out = False
    give_up = float("inf")
    while True:
        now = time.monotonic()
        if now >= give_up:
            break
        if not timed_out and now >= deadline:
            timed_out = True
            group.stop()
            give_up = time.monotonic() + 1.0
            continue
        wait_s = (give_up if timed_out else min(deadline, give_up)) - now
        if poller.poll(max(min(wait_s, 0.25), 0.0) * 1000):
            data = os.read(fd, READ_SIZE)
            if not data:
                break
            feed(data)
            continue
        if tick is not None:  # a silent moment: the observer may write what it holds
            tick()
        if proc.poll() is not None and give_up == float("inf"):
            # bash is done but a background process still holds the pipe.
            group.stop()
            give_up = time.monotonic() + 1.0
    # The output is closed (a block may redirect it): bash still has its deadline. Waiting
    # for bash comes first; what is left of its group is stopped after (by the caller).
    while not timed_out and proc.poll() is None:
        remaining_s = deadline - time.monotonic()
        if remaining_s <= 0:
            group.stop()
            return True
        _wait_exit(proc, min(remaining_s, 0.25))
    return timed_out


@functools.lru_cache(maxsize=16)
def bash_path(path_var: str | None) -> str:
    """The ``bash`` a block's ``PATH`` (``path_var``; ``None``: the default search path)
    finds, looked up once per value rather than by ``subprocess`` for every block (as it
    would look it up: the first executable ``bash`` in PATH order). Plain ``"bash"`` when
    PATH has a relative folder (found from the block's working directory then) or none
    has a bash (starting it then fails as before)."""
    folders = (path_var if path_var is not None else os.defpath).split(os.pathsep)
    if any(not os.path.isabs(folder) for folder in folders):
        return "bash"
    return shutil.which("bash", path=os.pathsep.join(folders)) or "bash"


def _wait_exit(proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Wait up to ``timeout_s`` seconds for ``proc`` to exit (without reaping it): woken by
    its pidfd the moment it does, where the kernel has pidfds (``Popen.wait`` with a timeout
    polls with sleeps of up to 50 ms instead: most of a trivial block's wait on a busy machine)."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # no pidfds here (or bash is reaped already)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout_s)
        return
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        poller.poll(max(timeout_s, 0.0) * 1000)
    finally:
        os.close(fd)


def run_block(
    block: Block,
    *,
    cwd: Path,
    env: Mapping[str, str],
    redactor: Redactor,
    observer: Observer | None = None,
    grace_s: float = 2.0,
    after_failure: bool = False,
) -> BlockResult:
    """Run one block, with its ``retries``, and return its result; never raises for block failures.

    ``cwd``: the runbook's workdir; ``env``: the block's whole environment; ``redactor``
    masks the output before anything sees it; ``observer`` hears the output and each
    retry; ``grace_s``: seconds between SIGTERM and SIGKILL when the block's processes
    are stopped; ``after_failure`` is copied into the result (an earlier block failed).

    The result's ``duration_s`` sums every attempt (not the ``retry_delay_s`` waits);
    ``attempts`` counts them; its status is the last attempt's, ``interrupted`` when a
    stop signal arrives during one or between two. A block that cannot start (no bash,
    a missing ``cwd``) fails with exit code 127. Raises ``KeyboardInterrupt`` only for one
    that arrives while no attempt's process is there to stop (before the first starts,
    while ``observer.retry`` is told).
    """
    started_at = utc_now()
    attempts = 0
    total_s = 0.0
    while True:
        attempts += 1
        a = _attempt(block, cwd, env, redactor, observer, grace_s)
        total_s += a.duration_s
        result = BlockResult(
            id=block.id,
            kind=block.kind,
            status=a.status,
            line=block.line,
            sha256=block.sha256,
            phase=block.phase,
            criterion=block.criterion,
            exit_code=a.exit_code,
            started_at=started_at,
            duration_s=round(total_s, 4),
            attempts=attempts,
            expectations=tuple(a.expectations),
            output=a.capture.text(),
            output_bytes=a.capture.total_bytes,
            output_truncated=a.capture.truncated,
            reason=a.reason,
            after_failure=after_failure,
        )
        if a.status in (BlockStatus.PASSED, BlockStatus.INTERRUPTED) or attempts > block.retries:
            return result
        if observer is not None:
            observer.retry(block, attempts, result)
        try:
            time.sleep(block.retry_delay_s)
        except KeyboardInterrupt:
            return replace(result, status=BlockStatus.INTERRUPTED, reason="interrupted between attempts")
