"""Block -> BlockResult: one process group per block, timeouts, live redacted output.

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
then SIGKILL after ``grace_s``, and is reaped; the block's result says so.
Output is decoded, cleaned and redacted as it streams, and kept bounded (head and
tail) for the record, so a block printing gigabytes cannot exhaust memory.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import regex

from .context import utc_now
from .model import FAILED, INTERRUPTED, PASSED, TIMED_OUT, Block, BlockResult, Expectation
from .procgroup import Stopped, child_subreaper, own_processes, stop_block_processes, terminate_group
from .redact import Redactor

READ_SIZE = 65536
HEAD_CHARS = 16384
TAIL_CHARS = 16384
LINE_CAP = 65536
#: seconds one expect-regex search may take; a pattern that backtracks past it gives up
REGEX_TIMEOUT_S = 2.0
#: signals that stop a run as Ctrl-C does (the CLI and the pytest plugin turn them into
#: ``Interrupted``); held back while a block's process starts, ignored during clean-up
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


class Observer(Protocol):
    """What a runner tells its caller while a block runs (all text already redacted).
    An observer may also have ``spawned(block, pgid)``, called when the block's process
    group starts."""

    def output(self, block: Block, text: str) -> None: ...

    def retry(self, block: Block, attempt: int, result: BlockResult) -> None: ...


class BoundedCapture:
    """Keeps the first and last characters of a stream and counts the whole."""

    def __init__(self, head: int = HEAD_CHARS, tail: int = TAIL_CHARS):
        self.head_limit, self.tail_limit = head, tail
        self.head = ""
        self.tail = ""
        self.total_chars = 0
        self.total_bytes = 0

    def add(self, text: str) -> None:
        self.total_chars += len(text)
        self.total_bytes += len(text.encode("utf-8", "replace"))
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += text[:room]
            text = text[room:]
        if text:
            self.tail = (self.tail + text)[-self.tail_limit :]

    @property
    def truncated(self) -> bool:
        return self.total_chars > len(self.head) + len(self.tail)

    def text(self) -> str:
        if not self.truncated:
            return self.head + self.tail
        omitted = self.total_chars - len(self.head) - len(self.tail)
        return f"{self.head}\n… [{omitted} characters omitted] …\n{self.tail}"


class OutputMatcher:
    """Checks ``expect``/``expect-regex``/``forbid`` on a stream, in constant memory."""

    def __init__(self, block: Block):
        self.block = block
        self.expect_found = block.expect is None
        self.forbid_found = False
        self.regex = regex.compile(block.expect_regex) if block.expect_regex else None
        self.regex_found = self.regex is None
        self.regex_gave_up = False
        self._carry = ""
        self._line = ""
        self._keep = max(len(block.expect or ""), len(block.forbid or "")) - 1

    def feed(self, text: str) -> None:
        b = self.block
        if b.expect is not None or b.forbid is not None:
            window = self._carry + text
            if not self.expect_found and b.expect in window:
                self.expect_found = True
            if b.forbid is not None and not self.forbid_found and b.forbid in window:
                self.forbid_found = True
            self._carry = window[-self._keep :] if self._keep > 0 else ""
        if self.regex is not None and not self.regex_found:
            lines = (self._line + text).split("\n")
            self._line = lines.pop()[-LINE_CAP:]
            self.regex_found = any(self._search(line) for line in lines)

    def _search(self, line: str) -> bool:
        if self.regex is None or self.regex_gave_up:
            return False
        try:
            return self.regex.search(line, timeout=REGEX_TIMEOUT_S) is not None
        except TimeoutError:
            self.regex_gave_up = True  # the output is still read; the expectation fails
            return False

    def finish(self) -> None:
        if self.regex is not None and not self.regex_found:
            self.regex_found = self._search(self._line)

    def expectations(self) -> list[Expectation]:
        b = self.block
        out = []
        if b.expect is not None:
            out.append(Expectation("expect", b.expect, self.expect_found))
        if b.expect_regex is not None:
            gave_up = (
                f"gave up: one search took over {REGEX_TIMEOUT_S:g} s (the pattern backtracks too much)" if self.regex_gave_up else None
            )
            out.append(Expectation("expect-regex", b.expect_regex, self.regex_found, None if self.regex_found else gave_up))
        if b.forbid is not None:
            out.append(Expectation("forbid", b.forbid, not self.forbid_found, "found" if self.forbid_found else None))
        return out


class Interrupted(KeyboardInterrupt):
    """A stop signal other than Ctrl-C (SIGTERM, SIGHUP, SIGQUIT), raised where Ctrl-C
    raises ``KeyboardInterrupt`` so that both are handled alike."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def interrupted_by(exc: BaseException) -> str:
    """How a run was interrupted, for a result's reason."""
    if isinstance(exc, Interrupted):
        name = signal.Signals(exc.signum).name
        return f"{name} (the terminal closed or the session ended)" if exc.signum == signal.SIGHUP else name
    return "SIGINT (Ctrl-C)"


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def signals_interrupt(
    signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT),
    *,
    keep_ignored: tuple[int, ...] = (signal.SIGHUP, signal.SIGQUIT),
) -> Iterator[None]:
    """Turn ``signals`` into ``Interrupted`` (a ``KeyboardInterrupt``) for a while (main
    thread only): SIGTERM, a closed terminal (SIGHUP) or Ctrl-\\ (SIGQUIT) then stop the
    running block and are recorded, as Ctrl-C is. A signal of ``keep_ignored`` that is
    ignored already stays ignored, as Python leaves an ignored SIGINT: ``nohup`` ignores
    SIGHUP, a script's background job SIGINT and SIGQUIT."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {}
    for sig in signals:
        if sig in keep_ignored and signal.getsignal(sig) is signal.SIG_IGN:
            continue
        old[sig] = signal.signal(sig, _raise_interrupted)
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Ignore the stop signals (``STOP_SIGNALS``) for a moment (cleanup must finish); main
    thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def signals_deferred(deliver: bool = True) -> Iterator[list[int]]:
    """Hold the stop signals (``STOP_SIGNALS``) back for a moment (main thread only),
    then deliver them to the handlers in place again (``deliver``; else the caller reads
    them from the yielded list): a Ctrl-C while a block's process starts must not lose
    sight of the process, nor one while the run's record is written lose the record. A
    signal ignored before stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield []
        return
    caught: list[int] = []
    old = {sig: signal.signal(sig, lambda signum, frame: caught.append(signum)) for sig in STOP_SIGNALS}
    try:
        yield caught
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        for sig in caught if deliver else ():
            if old[sig] is not signal.SIG_IGN:
                signal.raise_signal(sig)


@dataclass
class _Attempt:
    status: str
    exit_code: int | None
    duration_s: float
    capture: BoundedCapture
    expectations: list[Expectation]
    reason: str | None


def _attempt(block: Block, cwd: Path, env: Mapping[str, str], redactor: Redactor, observer: Observer | None, grace_s: float) -> _Attempt:
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
            ["bash", "-euo", "pipefail", "-c", block.code],
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
        reason = f"cannot start bash in {cwd}: {exc.strerror or exc}"
        return _Attempt(
            FAILED, 127, 0.0, capture, [Expectation("exit", ",".join(map(str, block.accepted_exit_codes)), False, "127")], reason
        )
    except BaseException:
        held.close()
        reaper.close()
        raise
    pgid = proc.pid
    stopped = Stopped({}, [])

    def stop() -> None:
        """The group, then whatever left it; where orphans go to init instead of this
        process, the group is all that can be seen."""
        if not reaping:
            terminate_group(pgid, grace_s)
        stop_block_processes(pgid, before, grace_s, keep=proc.pid, found=stopped)

    fd = proc.stdout.fileno()  # type: ignore[union-attr]
    timed_out = False
    interrupted: str | None = None
    deadline = start + block.timeout_s
    # Once the group has been stopped, stop reading soon even if a process that left the
    # group (setsid, a daemon) still holds the pipe open.
    give_up = float("inf")
    try:
        if observer is not None and hasattr(observer, "spawned"):
            observer.spawned(block, pgid)
        held.close()  # a held Ctrl-C arrives here, inside the try
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                now = time.monotonic()
                if now >= give_up:
                    break
                if not timed_out and now >= deadline:
                    timed_out = True
                    stop()
                    give_up = time.monotonic() + 1.0
                    continue
                wait = (give_up if timed_out else min(deadline, give_up)) - now
                if sel.select(max(min(wait, 0.25), 0.0)):
                    data = os.read(fd, READ_SIZE)
                    if not data:
                        break
                    take(stream.feed(data))
                elif proc.poll() is not None and give_up == float("inf"):
                    # bash is done but a background process still holds the pipe.
                    stop()
                    give_up = time.monotonic() + 1.0
        # The output is closed (a block may redirect it): bash still has its deadline.
        while not timed_out and proc.poll() is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                stop()
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=min(remaining, 0.25))
    except KeyboardInterrupt as exc:
        interrupted = interrupted_by(exc)
    finally:
        with signals_ignored():  # a second Ctrl-C must not leave the group running
            stop()
            proc.stdout.close()  # type: ignore[union-attr]
            exit_code = proc.wait()
            reaper.close()
        held.close()  # still open only if reporting the spawn failed
    take(stream.flush())
    matcher.finish()
    duration = time.monotonic() - start
    if exit_code < 0:
        exit_code = 128 - exit_code
    ok_exit = exit_code in block.accepted_exit_codes
    expectations = [
        Expectation("exit", ",".join(map(str, block.accepted_exit_codes)), ok_exit and not timed_out and not interrupted, str(exit_code))
    ]
    expectations += matcher.expectations()
    if interrupted:
        status, reason = INTERRUPTED, f"interrupted by {interrupted}; the block's process group was stopped"
    elif timed_out:
        status, reason = TIMED_OUT, f"timed out after {block.timeout_s:g} s; the block's process group was stopped"
        expectations.append(Expectation("timeout", f"{block.timeout_s:g} s", False, f"{duration:.1f} s"))
    else:
        unmet = [e for e in expectations if not e.met]
        status = PASSED if not unmet else FAILED
        reason = "; ".join(_describe(e) for e in unmet) or None
    if (note := stopped.note()) is not None:  # processes that escaped the group: said, whatever the status
        reason = f"{reason}; {redactor(note)}" if reason else redactor(note)
    return _Attempt(status, exit_code, duration, capture, expectations, reason)


def _describe(e: Expectation) -> str:
    if e.name == "exit":
        return f"exit code {e.actual}, expected {e.expected}"
    if e.name == "forbid":
        return f"output contains forbidden text {e.expected!r}"
    if e.name == "expect":
        return f"output does not contain {e.expected!r}"
    return f"expect-regex /{e.expected}/ {e.actual}" if e.actual else f"no output line matches /{e.expected}/"


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
    """Run one block (with its retries) and return its result; never raises for block failures."""
    started_at = utc_now()
    attempts = 0
    total = 0.0
    while True:
        attempts += 1
        a = _attempt(block, cwd, env, redactor, observer, grace_s)
        total += a.duration_s
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
            duration_s=round(total, 4),
            attempts=attempts,
            expectations=tuple(a.expectations),
            output=a.capture.text(),
            output_bytes=a.capture.total_bytes,
            output_truncated=a.capture.truncated,
            reason=a.reason,
            after_failure=after_failure,
        )
        if a.status in (PASSED, INTERRUPTED) or attempts > block.retries:
            return result
        if observer is not None:
            observer.retry(block, attempts, result)
        try:
            time.sleep(block.retry_delay_s)
        except KeyboardInterrupt:
            return replace(result, status=INTERRUPTED, reason="interrupted between attempts")
