"""Block -> BlockResult: one process group per block, timeouts, live redacted output.

Each block runs as ``bash -euo pipefail -c CODE`` in its own session (so its own
process group), stdin from /dev/null, stderr merged into stdout. On timeout or
Ctrl-C the whole group gets SIGTERM, then SIGKILL after ``grace`` seconds; processes a
block leaves running in the background are stopped the same way when it ends.
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
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

import regex

from .model import FAILED, INTERRUPTED, PASSED, TIMED_OUT, Block, BlockResult, Expectation
from .redact import Redactor

READ_SIZE = 65536
HEAD_CHARS = 16384
TAIL_CHARS = 16384
LINE_CAP = 65536
#: seconds one expect-regex search may take; a pattern that backtracks past it gives up
REGEX_TIMEOUT_S = 2.0


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
            gave_up = f"gave up: one search took over {REGEX_TIMEOUT_S:g} s (the pattern backtracks too much)" if self.regex_gave_up else None
            out.append(Expectation("expect-regex", b.expect_regex, self.regex_found, None if self.regex_found else gave_up))
        if b.forbid is not None:
            out.append(Expectation("forbid", b.forbid, not self.forbid_found, "found" if self.forbid_found else None))
        return out


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


def terminate_group(pgid: int, grace: float) -> None:
    """SIGTERM the whole group, then SIGKILL whatever is left after ``grace`` seconds."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return
        time.sleep(0.02)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Ignore SIGINT and SIGTERM for a moment (cleanup must finish); main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def signals_deferred() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM back for a moment (main thread only), then deliver them to
    the handlers in place again: a Ctrl-C while a block's process starts must not lose
    sight of the process."""
    if threading.current_thread() is not threading.main_thread():
        yield []
        return
    caught: list[int] = []
    old = {sig: signal.signal(sig, lambda signum, frame: caught.append(signum)) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield caught
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        for sig in caught:
            signal.raise_signal(sig)


@dataclass
class _Attempt:
    status: str
    exit_code: int | None
    duration_s: float
    capture: BoundedCapture
    expectations: list[Expectation]
    reason: str | None


def _attempt(block: Block, cwd: Path, env: Mapping[str, str], redactor: Redactor, observer: Observer | None, grace: float) -> _Attempt:
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
    try:
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
        reason = f"cannot start bash in {cwd}: {exc.strerror or exc}"
        return _Attempt(FAILED, 127, 0.0, capture, [Expectation("exit", ",".join(map(str, block.accepted_exit_codes)), False, "127")], reason)
    except BaseException:
        held.close()
        raise
    pgid = proc.pid
    fd = proc.stdout.fileno()  # type: ignore[union-attr]
    timed_out = interrupted = False
    deadline = start + block.timeout
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
                    terminate_group(pgid, grace)
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
                    terminate_group(pgid, grace)
                    give_up = time.monotonic() + 1.0
        # The output is closed (a block may redirect it): bash still has its deadline.
        while not timed_out and proc.poll() is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                terminate_group(pgid, grace)
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=min(remaining, 0.25))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        with signals_ignored():  # a second Ctrl-C must not leave the group running
            terminate_group(pgid, grace)
            proc.stdout.close()  # type: ignore[union-attr]
            exit_code = proc.wait()
        held.close()  # still open only if reporting the spawn failed
    take(stream.flush())
    matcher.finish()
    duration = time.monotonic() - start
    if exit_code < 0:
        exit_code = 128 - exit_code
    ok_exit = exit_code in block.accepted_exit_codes
    expectations = [Expectation("exit", ",".join(map(str, block.accepted_exit_codes)), ok_exit and not timed_out and not interrupted, str(exit_code))]
    expectations += matcher.expectations()
    if interrupted:
        status, reason = INTERRUPTED, "interrupted (Ctrl-C or SIGTERM); the block's process group was stopped"
    elif timed_out:
        status, reason = TIMED_OUT, f"timed out after {block.timeout:g} s; the block's process group was stopped"
        expectations.append(Expectation("timeout", f"{block.timeout:g} s", False, f"{duration:.1f} s"))
    else:
        unmet = [e for e in expectations if not e.met]
        status = PASSED if not unmet else FAILED
        reason = "; ".join(_describe(e) for e in unmet) or None
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
    grace: float = 2.0,
    after_failure: bool = False,
) -> BlockResult:
    """Run one block (with its retries) and return its result; never raises for block failures."""
    started_at = utc_now()
    attempts = 0
    total = 0.0
    while True:
        attempts += 1
        a = _attempt(block, cwd, env, redactor, observer, grace)
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
            time.sleep(block.retry_delay)
        except KeyboardInterrupt:
            return replace(result, status=INTERRUPTED, reason="interrupted between attempts")
