"""pytest plugin, failures as pytest shows them: ``TerminalRepr`` subclasses, no traceback.

pytest renders ``Item.repr_failure``'s value with its ``toterminal`` on the terminal;
``--junitxml`` and pytest-xdist use ``str()`` of it (``TerminalRepr.__str__`` renders it
without markup, stripped). The shape is pytest's own doctest ``ReprFailDoctest``
(``_pytest/doctest.py``); ``TerminalRepr`` is not re-exported by ``pytest``, so it is
imported from ``_pytest._code.code`` as plugins such as sybil do.

Each carries a ``reprcrash`` (``ReprFileLocation``), as pytest's own reprs do: its message
is the one line ``-ra``/``-rf``'s short test summary shows after the test's id. Every line
is shown as the CLI shows it (``streams.visible``): what would act on a terminal, written
as its escape (pytest writes what a repr gives as it is).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from _pytest._code.code import ReprFileLocation, TerminalRepr

from ..failure import FailureReport
from ..streams import visible

if TYPE_CHECKING:
    from _pytest._io import TerminalWriter


class BlockFailureRepr(TerminalRepr):
    """A failed or timed-out block: the lines of its ``failure.FailureReport`` — where
    (``path:line``), why, the exit code, the redacted command and output tail, the
    troubleshooting entries, the next command — the lines the CLI prints for the same
    failure (``tests/test_parity.py`` compares them)."""

    def __init__(self, report: FailureReport) -> None:
        self.report = report
        #: the short test summary's line: the report's first (``path:line: block 'x' failed: …``)
        self.reprcrash = ReprFileLocation(report.path, report.line, visible(report.lines()[0]))

    def toterminal(self, tw: TerminalWriter) -> None:
        """Write the report's lines to ``tw``, one ``tw.line`` each, without markup."""
        for line in self.report.lines():
            tw.line(visible(line))


class RefusalRepr(TerminalRepr):
    """A block refused before it ran (a gate, a held run lock: a ``RunbookChecksError``):
    ``location: message``, where ``location`` is the block's ``path:line``."""

    def __init__(self, location: str, message: str) -> None:
        self.location = location
        self.message = message
        path, _, line = location.rpartition(":")
        #: the short test summary's line: ``path:line: message``
        self.reprcrash = ReprFileLocation(path, int(line) if line.isdigit() else 0, visible(f"{location}: {message}"))

    def toterminal(self, tw: TerminalWriter) -> None:
        """Write ``location: message`` to ``tw``."""
        tw.line(visible(f"{self.location}: {self.message}"))


__all__ = ["BlockFailureRepr", "RefusalRepr"]
