"""Stop signals: how SIGTERM, SIGHUP and SIGQUIT stop a run as Ctrl-C does, and how they are
held back or ignored while something must not be cut short.

Python raises ``KeyboardInterrupt`` for SIGINT only; ``signals_interrupt`` makes the other
stop signals raise ``Interrupted`` (a ``KeyboardInterrupt``), so the CLI, the pytest plugin
and the run engine handle every stop alike. Signal handlers can only be set in the main
thread: in any other thread each context manager here does nothing.

A run installs one handler for the stop signals for its whole length (``signals_gated``);
while it is in place, holding the signals back or ignoring them around each block is a
switch of that handler's mode, not eight ``signal.signal`` calls per block.
"""

from __future__ import annotations

import _signal  # the C module under ``signal``: its getsignal returns a handler as it is
import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

#: signals that stop a run as Ctrl-C does (the CLI and the pytest plugin turn them into
#: ``Interrupted``); held back while a block's process starts, ignored during clean-up
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


class Interrupted(KeyboardInterrupt):
    """A stop signal other than Ctrl-C (SIGTERM, SIGHUP, SIGQUIT), raised where Ctrl-C
    raises ``KeyboardInterrupt`` so that both are handled alike.

    ``signum``: the signal's number; the exception's text is its name (``"SIGTERM"``).
    """

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def interrupted_by(exc: BaseException) -> str:
    """How a run was interrupted, for a result's reason: the signal's name for an
    ``Interrupted`` (SIGHUP explained as a closed terminal), ``"SIGINT (Ctrl-C)"`` for any
    other exception (a plain ``KeyboardInterrupt``)."""
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
    SIGHUP, a script's background job SIGINT and SIGQUIT. The previous handlers are
    restored on leaving."""
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


class _Gate:
    """The stop signals' handler while a run lasts: passes a signal on to the handler that
    was in place before (``pass``), holds it back (``defer``, into ``caught``) or drops it
    (``ignore``). A signal ignored before (``SIG_IGN``) is left to the kernel to ignore."""

    def __init__(self) -> None:
        self.mode = "pass"
        self.caught: list[int] = []
        self.old: dict[int, Any] = {}

    def handler(self, signum: int, frame: object) -> None:
        """The Python-level handler of each gated signal."""
        if self.mode == "defer":
            self.caught.append(signum)
        elif self.mode == "pass":
            old = self.old[signum]
            if callable(old):
                old(signum, frame)
            else:  # SIG_DFL: the default action (the process ends), as before the run
                signal.signal(signum, signal.SIG_DFL)
                signal.raise_signal(signum)

    def active(self) -> bool:
        """Whether every gated signal's handler is still this one (nobody replaced it) and
        the gate is passing signals on (not inside another hold or ignore)."""
        # Asked twice per block: ``signal.getsignal`` would first try to make each handler an enum member.
        return self.mode == "pass" and all(_signal.getsignal(sig) == self.handler for sig in self.old)


_gate: _Gate | None = None


@contextlib.contextmanager
def signals_gated() -> Iterator[None]:
    """For a run's length (main thread only): one handler for the stop signals that
    ``signals_deferred`` and ``signals_ignored`` switch between passing signals on to the
    handlers in place now, holding them back and dropping them, instead of replacing every
    handler around each block. The handlers in place now are restored on leaving; nested
    uses are one."""
    global _gate
    if threading.current_thread() is not threading.main_thread() or _gate is not None:
        yield
        return
    gate = _Gate()
    for sig in STOP_SIGNALS:
        old = signal.getsignal(sig)
        if old is None or old is signal.SIG_IGN:  # not Python's to restore, or ignored: left as it is
            continue
        gate.old[sig] = signal.signal(sig, gate.handler)
    _gate = gate
    try:
        yield
    finally:
        _gate = None
        for sig, handler in gate.old.items():
            signal.signal(sig, handler)


def _open_gate() -> _Gate | None:
    """The run's gate when it can serve this thread now, else ``None``."""
    gate = _gate
    if gate is None or threading.current_thread() is not threading.main_thread() or not gate.active():
        return None
    return gate


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Ignore the stop signals (``STOP_SIGNALS``) for a moment (cleanup must finish); main
    thread only. A signal that arrives meanwhile is lost; the previous handlers are restored."""
    if (gate := _open_gate()) is not None:
        gate.mode = "ignore"
        try:
            yield
        finally:
            gate.mode = "pass"
        return
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
    them from the yielded list of signal numbers): a Ctrl-C while a block's process starts
    must not lose sight of the process, nor one while the run's record is written lose the
    record. A signal ignored before stays ignored. Yields ``[]`` outside the main thread."""
    if (gate := _open_gate()) is not None:
        gate.mode, gate.caught = "defer", []
        try:
            yield gate.caught
        finally:
            gate.mode = "pass"
            for sig in gate.caught if deliver else ():
                signal.raise_signal(sig)
        return
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


__all__ = ["STOP_SIGNALS", "Interrupted", "interrupted_by", "signals_deferred", "signals_gated", "signals_ignored", "signals_interrupt"]
