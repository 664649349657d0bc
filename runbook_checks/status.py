"""The vocabulary: block kinds, run modes and every status, with one presentation row each.

Every enum is a ``StrEnum``: a member *is* its value as recorded in the ledger
(``BlockStatus.PASSED == "passed"``, ``json.dumps`` writes ``"passed"``), so records read
back as plain strings compare equal and the ledger's bytes do not depend on this module.

How a status looks — its label, its terminal mark, its Markdown/HTML icon, its terminal
style — and how it counts (executed, a failure) is written once, in ``PRESENTATION``; the
terminal, Markdown, HTML and JUnit views all read it from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class _Recorded(StrEnum):
    """A value as recorded: ``str()``, ``format()``, ``repr()`` and JSON all give the plain
    string, so a message or record reads the same whether it holds a member or a string read back."""

    def __repr__(self) -> str:
        return repr(self.value)


class Kind(_Recorded):
    """What a tagged block may do: ``check`` only reads, ``step`` changes the target."""

    CHECK = "check"
    STEP = "step"


class Mode(_Recorded):
    """The kind of run, as recorded in each record's ``mode``."""

    #: read-only checks only
    CHECK = "check"
    #: steps allowed: a migration
    EXECUTE = "execute"
    #: every block against a throwaway database
    REHEARSAL = "rehearsal"


class BlockStatus(_Recorded):
    """A block's outcome in one run, as recorded in ``blocks[].status``."""

    PASSED = "passed"
    FAILED = "failed"
    TIMED_OUT = "timed-out"
    SKIPPED = "skipped"
    NOT_RUN = "not-run"
    INTERRUPTED = "interrupted"


class RunStatus(_Recorded):
    """A run's outcome, as recorded in each record's ``status``."""

    PASSED = "passed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class EvidenceStatus(_Recorded):
    """What the ledger says of a criterion, a block or an attempt (see ``evidence``).

    The block outcomes that executed, plus the states only evidence has.
    """

    PASSED = "passed"
    FAILED = "failed"
    TIMED_OUT = "timed-out"
    INTERRUPTED = "interrupted"
    #: the newest pass was recorded against other migrations or another runbook
    STALE = "stale"
    #: no run of this block, criterion or attempt in the ledger
    NEVER_RUN = "never-run"
    #: a pass older than the page's ``max-age``
    OVERDUE = "overdue"
    #: an attempt that stopped before its steps ran
    INCOMPLETE = "incomplete"


class MergeOutcome(StrEnum):
    """What ``runbook-checks merge`` does with one ledger (its relative path) in the
    destination (``fleet.merge``); printed, never recorded."""

    #: the destination has no such ledger: the incoming one is copied
    NEW = "new"
    #: the destination's chain is a prefix of the incoming one (its head hash is the
    #: incoming chain's hash at the same line, ``verify --anchor``'s rule): replaced
    EXTENDED = "extended"
    #: the destination already holds this very chain
    UNCHANGED = "unchanged"
    #: the incoming chain is a prefix of the destination's (an artifact fetched before a
    #: later publication): the destination's is kept
    STALE = "stale"


@dataclass(frozen=True)
class Presentation:
    """How one status value is shown and counted, in every view."""

    #: words for people (badges, tables, summaries)
    label: str
    #: the terminal's one-character mark
    mark: str
    #: the Markdown/HTML icon
    icon: str
    #: the terminal style (a rich style name)
    style: str
    #: the block really executed, so its result is evidence
    executed: bool = False
    #: the outcome counts as a failure (a failed test in JUnit, exit 1)
    failure: bool = False


#: one row per status value, keyed by the value (members of every enum above look up here)
PRESENTATION: dict[str, Presentation] = {
    "passed": Presentation("passed", "✔", "✅", "green", executed=True),
    "failed": Presentation("failed", "✘", "❌", "red", executed=True, failure=True),
    "timed-out": Presentation("timed out", "⏱", "⏱️", "red", executed=True, failure=True),
    "interrupted": Presentation("interrupted", "■", "⛔", "yellow", executed=True),
    "skipped": Presentation("skipped", "–", "⏭️", "dim"),
    "not-run": Presentation("not run", "–", "⏹️", "dim"),
    "stale": Presentation("stale", "!", "⚠️", "yellow"),
    "never-run": Presentation("never run", "·", "⚪", "dim"),
    "overdue": Presentation("overdue", "!", "⚠️", "yellow"),
    "incomplete": Presentation("incomplete", "◐", "◐", "yellow"),
}

#: block statuses that mean the block really executed (its result is evidence)
EXECUTED = frozenset(s for s in BlockStatus if PRESENTATION[s].executed)
#: block statuses that are failures (exit 1, a failed JUnit case)
FAILURES = frozenset(s for s in BlockStatus if PRESENTATION[s].failure)


def presentation(status: str) -> Presentation:
    """The presentation row of ``status`` (a member of any enum above or its recorded value).

    A value no row knows (a record written by a newer version, a forged line) is shown as
    itself: its own text as the label, ``?`` as the mark, no icon and no style. Never raises.
    """
    row = PRESENTATION.get(status)
    return row if row is not None else Presentation(str(status), "?", "", "")
