"""Output streams that a command outlives, and that show text rather than act on it.

``runbook-checks run … | head -1`` closes the command's output after one line; a closed
terminal (SSH dropped) makes every write to it fail; a redirect's disk may fill. None of
these may stop the blocks or lose the run's record: the CLI wraps ``sys.stdout`` and
``sys.stderr`` in ``KeptStream`` (``keep_streams``) before any command runs.

What a command prints comes in part from files and the environment: a ledger's actor is
the login name of whoever ran it, a runbook's title its author's, a path whatever the
file system holds. A control character there (``ESC]0;…BEL`` retitles a terminal,
``ESC[2J`` clears it, a carriage return overwrites the line) would act on the terminal
of whoever reads the report, and a right-to-left override reorders what follows it.
``KeptStream`` therefore writes every such character as its escape (``visible``), and a
character its encoding cannot hold as an escape too; only a writer that makes its own
escapes (rich's styles and cursor moves, through ``terminal``) writes past that, on
``KeptStream.styled``, and shows its text the same way.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import threading
from collections.abc import Iterable
from typing import IO, Any

#: what a terminal acts on instead of showing: C0 controls but tab and newline, DEL, C1
#: controls, and the bidirectional formatting characters (ALM, LRM, RLM, the embeddings and
#: overrides U+202A-U+202E, the isolates U+2066-U+2069), which reorder the text after them
#: on a terminal that lays out right-to-left text (Unicode's list for "Trojan Source")
_ACTING_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """``text`` with every character a terminal would act on (``_ACTING_RE``: ESC, carriage
    return, backspace, BEL…) written as its escape, ``\\u001b``; tab and newline kept. The
    escape is JSON's: in a JSON string (DEL and C1 are left unescaped by ``json.dumps`` with
    ``ensure_ascii=False``) it still reads back as the character."""
    return _ACTING_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class KeptStream:
    """A text stream whose first failed write or flush (EPIPE: the reader went away; EIO:
    the terminal closed; ENOSPC…) drops that text and everything written later, and
    points the descriptor at /dev/null: the command goes on, exits with its own code,
    and Python reports nothing about the stream at exit."""

    def __init__(self, stream: IO[str]):
        self._stream = stream
        self._lock = threading.Lock()
        #: why the stream is gone, once it is
        self.lost: OSError | None = None

    def write(self, text: str) -> int:
        """Write ``text`` as ``visible`` shows it; returns its length even once the stream is
        lost. Raises ``TypeError`` for anything but a ``str``, as a text stream does."""
        if not isinstance(text, str):  # as a text stream does (click tells text streams from binary ones this way)
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.write_styled(visible(text))
        return len(text)

    def write_styled(self, text: str) -> None:
        """Write ``text`` as it is (its escapes act on a terminal), unless the stream is lost."""
        if self.lost is None:
            try:
                self._stream.write(text)
            except OSError as exc:
                self._lose(exc)

    @property
    def styled(self) -> _Styled:
        """This stream for a writer that makes its own escapes: its ``write`` is ``write_styled``."""
        return _Styled(self)

    def writelines(self, lines: Any) -> None:
        """``write`` each of ``lines``."""
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Flush the stream, unless it is lost; a failure loses it."""
        if self.lost is None:
            try:
                self._stream.flush()
            except OSError as exc:
                self._lose(exc)

    def isatty(self) -> bool:
        """Whether the stream is a terminal still there."""
        return self.lost is None and self._stream.isatty()

    def _lose(self, exc: OSError) -> None:
        """Note why the stream is gone and point its descriptor at /dev/null (once)."""
        with self._lock:
            if self.lost is not None:
                return
            self.lost = exc
            try:
                fd = self._stream.fileno()
            except (OSError, ValueError, AttributeError):
                return  # no descriptor (a test's capture): dropping is enough
            try:
                null = os.open(os.devnull, os.O_WRONLY)
                try:
                    os.dup2(null, fd)
                finally:
                    os.close(null)
                self._stream.flush()  # what is still buffered goes to /dev/null now, not at exit
            except (OSError, ValueError):
                pass

    def __getattr__(self, name: str) -> Any:
        """Everything else (``encoding``, ``fileno``…) is the wrapped stream's, but its
        ``buffer``: click writes to a text stream it finds misconfigured (an ASCII locale)
        through a wrapper of its own around the ``buffer``, which would pass this one by."""
        if name == "buffer":
            raise AttributeError(name)
        return getattr(self._stream, name)


def terminal(file: IO[str] | None = None, **options: Any) -> Any:
    """A rich ``Console(file=…, **options)`` on ``file`` (by default ``sys.stdout``) that acts
    on the terminal only with its own styles and cursor moves: the text it prints is shown as
    ``visible`` shows it, and it writes past a ``KeptStream``'s escaping on its
    ``styled`` side (see the module)."""
    file = file or sys.stdout
    return _shown_console()(file=getattr(file, "styled", file), **options)


@functools.cache
def _shown_console() -> type:
    """rich's ``Console`` with every text segment shown (``visible``) as it is rendered;
    rich's own control segments (cursor moves, the live display's redraws) act as made."""
    from rich.console import Console
    from rich.segment import Segment

    class ShownConsole(Console):
        def _render_buffer(self, buffer: Iterable[Any]) -> str:  # rich 15: every print and redraw becomes text here
            return super()._render_buffer(s if s.control else Segment(visible(s.text), s.style) for s in buffer)

    return ShownConsole


class _Styled:
    """A ``KeptStream`` whose ``write`` is its ``write_styled`` (everything else is the stream's)."""

    def __init__(self, kept: KeptStream):
        self._kept = kept

    def write(self, text: str) -> int:
        """Write ``text`` as it is; returns its length."""
        self._kept.write_styled(text)
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._kept, name)


def keep_streams() -> None:
    """Wrap ``sys.stdout`` and ``sys.stderr`` in ``KeptStream`` (once); a stream that was
    closed when the process started (``>&-``) is /dev/null. A character the stream's
    encoding cannot hold (a lone surrogate; anything but ASCII under an ASCII locale) is
    written as its escape, ``\\udc80``, never an error."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:
            stream = open(os.devnull, "w", encoding="utf-8")  # lives as long as the process
        if not isinstance(stream, KeptStream):
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(errors="backslashreplace")
            setattr(sys, name, KeptStream(stream))
