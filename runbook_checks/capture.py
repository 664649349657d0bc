"""A block's output as it streams: kept bounded for the record, and matched against the
block's ``expect``, ``expect-regex`` and ``forbid`` in constant memory; and the verdict of
one attempt from its exit code, those expectations and how it ended (``judge``).

Both take text that is already decoded and redacted (``redact.Redactor.stream``), chunk by
chunk, in the order the block printed it; neither ever holds the whole output, so a block
printing gigabytes cannot exhaust memory.
"""

from __future__ import annotations

from .model import Block, Expectation
from .status import BlockStatus

#: characters of the output's start kept for the record
HEAD_CHARS = 16384
#: characters of the output's end kept for the record
TAIL_CHARS = 16384
#: characters of one unfinished output line kept for ``expect-regex`` (a longer line is matched by its end)
LINE_CAP = 65536
#: seconds one expect-regex search may take; a pattern that backtracks past it gives up
REGEX_TIMEOUT_S = 2.0


class BoundedCapture:
    """Keeps the first ``head`` and the last ``tail`` characters of a stream and counts
    the whole (characters, and bytes as UTF-8)."""

    def __init__(self, head: int = HEAD_CHARS, tail: int = TAIL_CHARS):
        self.head_limit, self.tail_limit = head, tail
        self.head = ""
        self.tail = ""
        self.total_chars = 0
        self.total_bytes = 0

    def add(self, text: str) -> None:
        """Take the next chunk of the stream."""
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
        """Whether characters between the head and the tail were dropped."""
        return self.total_chars > len(self.head) + len(self.tail)

    def text(self) -> str:
        """The stream as recorded: whole when it fit, else head, a line saying how many
        characters were omitted, and tail."""
        if not self.truncated:
            return self.head + self.tail
        omitted = self.total_chars - len(self.head) - len(self.tail)
        return f"{self.head}\n… [{omitted} characters omitted] …\n{self.tail}"


class OutputMatcher:
    """Checks ``expect`` (a substring), ``expect-regex`` (a pattern that must match one
    output line) and ``forbid`` (a substring that must not appear) on a stream, in
    constant memory: substrings are searched across chunk boundaries by keeping the last
    ``len - 1`` characters; the pattern is searched line by line with the ``regex``
    module's timeout (``REGEX_TIMEOUT_S``).

    Raises ``regex.error`` when the block's ``expect-regex`` does not compile (lint
    refuses such a runbook first).
    """

    def __init__(self, block: Block):
        self.block = block
        self.expect_found = block.expect is None
        self.forbid_found = False
        if block.expect_regex:
            import regex  # only for a block that has one: a run without any never imports it

            self.regex = regex.compile(block.expect_regex)
        else:
            self.regex = None
        self.regex_found = self.regex is None
        self.regex_gave_up = False
        self._carry = ""
        self._line = ""
        self._keep = max(len(block.expect or ""), len(block.forbid or "")) - 1

    def feed(self, text: str) -> None:
        """Take the next chunk of the stream."""
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
        """The stream ended: match its last line (one without a final newline)."""
        if self.regex is not None and not self.regex_found:
            self.regex_found = self._search(self._line)

    def expectations(self) -> list[Expectation]:
        """One ``Expectation`` per output rule the block declares, in the order
        ``expect``, ``expect-regex``, ``forbid``; call after ``finish``."""
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


def describe_unmet(e: Expectation) -> str:
    """Why an unmet expectation failed, as a result's reason words it (``exit``,
    ``forbid``, ``expect`` and ``expect-regex``)."""
    if e.name == "exit":
        return f"exit code {e.actual}, expected {e.expected}"
    if e.name == "forbid":
        return f"output contains forbidden text {e.expected!r}"
    if e.name == "expect":
        return f"output does not contain {e.expected!r}"
    return f"expect-regex /{e.expected}/ {e.actual}" if e.actual else f"no output line matches /{e.expected}/"


def judge(
    block: Block,
    exit_code: int,
    duration_s: float,
    output: list[Expectation],
    *,
    timed_out: bool = False,
    interrupted: str | None = None,
) -> tuple[BlockStatus, list[Expectation], str | None]:
    """One attempt's status, expectations and reason, from how it ended: its ``exit_code``
    (128 + N when signal N killed it), ``duration_s`` in seconds, the output's expectations
    (``capture.OutputMatcher.expectations``), whether it timed out, and how it was
    interrupted (``signals.interrupted_by``; ``None`` when it was not).

    The expectations are ``exit`` (one of ``block.accepted_exit_codes``, and neither timed
    out nor interrupted) first, then ``output``, then ``timeout`` when it timed out. The
    status is ``interrupted``, else ``timed-out``, else ``passed`` when every expectation
    is met, else ``failed``; the reason says why (``None`` for a pass). Pure.
    """
    ok_exit = exit_code in block.accepted_exit_codes
    expectations = [
        Expectation("exit", ",".join(map(str, block.accepted_exit_codes)), ok_exit and not timed_out and not interrupted, str(exit_code))
    ]
    expectations += output
    if interrupted:
        return BlockStatus.INTERRUPTED, expectations, f"interrupted by {interrupted}; the block's process group was stopped"
    if timed_out:
        expectations.append(Expectation("timeout", f"{block.timeout_s:g} s", False, f"{duration_s:.1f} s"))
        return BlockStatus.TIMED_OUT, expectations, f"timed out after {block.timeout_s:g} s; the block's process group was stopped"
    unmet = [e for e in expectations if not e.met]
    return (BlockStatus.PASSED if not unmet else BlockStatus.FAILED), expectations, "; ".join(describe_unmet(e) for e in unmet) or None


__all__ = ["HEAD_CHARS", "REGEX_TIMEOUT_S", "TAIL_CHARS", "BoundedCapture", "OutputMatcher", "describe_unmet", "judge"]
