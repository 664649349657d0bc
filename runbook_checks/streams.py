"""Output streams that a command outlives.

``runbook-checks run … | head -1`` closes the command's output after one line; a closed
terminal (SSH dropped) makes every write to it fail; a redirect's disk may fill. None of
these may stop the blocks or lose the run's record: the CLI wraps ``sys.stdout`` and
``sys.stderr`` in ``KeptStream`` (``keep_streams``) before any command runs.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import IO, Any


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
        """Write ``text``; returns its length even once the stream is lost. Raises
        ``TypeError`` for anything but a ``str``, as a text stream does."""
        if not isinstance(text, str):  # as a text stream does (click tells text streams from binary ones this way)
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if self.lost is None:
            try:
                return self._stream.write(text)
            except OSError as exc:
                self._lose(exc)
        return len(text)

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
        """Everything else (``encoding``, ``fileno``…) is the wrapped stream's."""
        return getattr(self._stream, name)


def keep_streams() -> None:
    """Wrap ``sys.stdout`` and ``sys.stderr`` in ``KeptStream`` (once); a stream that was
    closed when the process started (``>&-``) is /dev/null."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:
            stream = open(os.devnull, "w", encoding="utf-8")  # lives as long as the process
        if not isinstance(stream, KeptStream):
            setattr(sys, name, KeptStream(stream))
