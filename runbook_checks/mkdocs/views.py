"""What a build shows of one runbook's attempts (its history rows and its part of the
audit page), made in one pass over them.

A site over a long ledger shows each runbook's newest attempts twice: in the history on
its page and, with every run's blocks and output, on the audit page. Both are made here
from one reading of those attempts, as HTML that does not depend on the page it goes on
(``history_rows``; the audit part without the link to the published ledger), so each record
shown is parsed once a build and no parsed record is kept after: memory holds what the pages
show, not the records it was made from. ``ReadOnce`` gives the records to the evidence policy
without keeping them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..evidence import Attempts
from ..ledger import LazyRecords
from ..model import RunRecord
from ..model.headers import Headers
from ..report import AttemptSummary
from .cells import e
from .tables import HistoryRow, attempt_details, history_rows, history_table


class ReadOnce(Sequence[RunRecord]):
    """A verified ledger's records (a ``LazyRecords``), each parsed from its verified line
    every time it is read and never kept (``LazyRecords`` keeps every record it makes, and
    its JSON, for as long as it lives; a build keeps the ledger for ``mkdocs serve``).

    Reads as ``LazyRecords`` does: indexes (negative from the newest), ``len``, and
    ``headers()`` for ``evidence.Attempts``; a line that is no run record raises the same
    ``LedgerError`` naming ``path:N``."""

    def __init__(self, lines: LazyRecords) -> None:
        """The records of ``lines``, verified (``verify_ledger`` filled it)."""
        self.lines = lines

    def __len__(self) -> int:
        """The number of verified lines."""
        return len(self.lines)

    def headers(self) -> Headers:
        """``LazyRecords.headers``: each line's environment, attempt and mode."""
        return self.lines.headers()

    def __getitem__(self, index: Any) -> Any:
        """The ``RunRecord`` at ``index`` (negative counts from the newest), made afresh, or a
        list for a slice. Raises ``IndexError``, or ``LedgerError`` for a line that is no run record."""
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self.lines.fresh(index)


@dataclass(frozen=True)
class AuditPart:
    """A runbook's part of the audit page, but for the link to its published ledger."""

    #: how many of the latest attempts it lists (the banner's, when listed besides them, not counted)
    latest: int
    #: how many attempts the runbook has
    total: int
    #: HTML: ``, and attempt X, which the runbook page shows`` when the banner's attempt is listed besides them
    also: str
    #: HTML as UTF-8 (as MkDocs writes a page: ``xmlcharrefreplace``): the attempts' table, then
    #: each attempt's runs, newest first; bytes, half the memory of the text it is (it holds
    #: characters beyond Latin-1), kept for ``mkdocs serve`` and filled into the written page
    body: bytes


@dataclass(frozen=True)
class Views:
    """What a build shows of one runbook's attempts (``views``)."""

    #: its history's rows, newest first (``history_limit`` of them)
    history: tuple[HistoryRow, ...]
    #: its part of the audit page (``None``: not asked for)
    audit: AuditPart | None


def views(records: Sequence[RunRecord], banner: AttemptSummary | None, history_limit: int, audit_runs: int | None) -> Views:
    """The history rows of the newest ``history_limit`` attempts (all: 0) of ``records``
    (verified, ledger order) and, unless ``audit_runs`` is ``None``, the audit part: the
    newest ``audit_runs`` attempts and the ``banner``'s (the attempt the runbook page shows)."""
    attempts = Attempts(records)
    audit = None
    if audit_runs is not None:
        shown = attempts[-audit_runs:] if audit_runs > 0 else []
        also = ""
        if banner is not None and not any(a.id == banner.id and a.environment == banner.environment for a in shown):
            # the runbook page's banner links to the attempt it shows: list it too
            shown = [attempts.find(banner.environment, banner.id)] + shown
            also = f", and attempt <code>{e(banner.id)}</code>, which the runbook page shows"
        html = history_table(history_rows(shown), "") + "".join(attempt_details(a) for a in reversed(shown))
        body = html.encode("utf-8", "xmlcharrefreplace")
        audit = AuditPart(len(shown) - bool(also), len(attempts), also, body)
    return Views(tuple(history_rows(attempts, history_limit)), audit)
