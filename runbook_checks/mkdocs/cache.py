"""What a build reads and makes, remembered by content: parsed runbooks, verified ledgers, reports, gates and rendered HTML.

``mkdocs serve`` rebuilds in one process after every edit and every recorded run. A file
whose bytes are unchanged is not parsed or verified again, and nothing made from it is
made again: every value is kept under a key of all it was made from (content hashes, not
file times). Only what the latest build used is kept; each ``mkdocs build`` process
starts from nothing and verifies every ledger in full.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from mkdocs.exceptions import PluginError

from ..context import find_root, fingerprints, sha256_text
from ..evidence import Attempts
from ..fleet.collect import target_ledgers
from ..fleet.view import Fleet, FleetRow, build_fleet, fleet_row
from ..gates import requirement_problems
from ..ledger import LazyRecords, Verification, ledger_path, verify_ledger
from ..model import Runbook, RunRecord
from ..parse import parse_runbook
from ..report import Report, build_report
from .views import ReadOnce, Views, views

T = TypeVar("T")
#: a memo key: what kind of value, then everything the value was made from
Key = tuple[str, ...]


class Memo:
    """Values by the content they were made from, kept across the builds of one process."""

    def __init__(self) -> None:
        """An empty memo."""
        self._values: dict[Key, Any] = {}

    def get(self, key: Key, make: Callable[[], T]) -> T:
        """The value kept under ``key``, made by ``make()`` (and kept) the first time it is asked for."""
        if key not in self._values:
            self._values[key] = make()
        return self._values[key]

    def keep_only(self, keys: set[Key]) -> None:
        """Drop every value whose key is not in ``keys`` (what the build that just ended used)."""
        for key in set(self._values) - keys:
            del self._values[key]

    def clear(self) -> None:
        """Drop everything: the next build starts as cold as a fresh process."""
        self._values.clear()


#: The process's memo. MkDocs makes a new plugin object for every build (``mkdocs serve``
#: loads the configuration again before each rebuild), so what outlives a build cannot live
#: on the plugin: this is the one value the plugin keeps between builds.
MEMO = Memo()


def forget() -> None:
    """Empty the process's memo (the next build starts as cold as a fresh process; ``bench/bench_site.py`` uses it)."""
    MEMO.clear()


class BuildCache:
    """What one build read — its runbooks, their ledgers — and what it made of them, drawn
    from the process's memo where the bytes are unchanged.

    ``results``: the ledgers' directory (absolute). ``strict``: a ledger failing verification
    ends the build. ``options``: the plugin's options as text, part of the key of everything
    rendered (a changed option renders again).
    """

    def __init__(self, results: Path, strict: bool, options: str, memo: Memo = MEMO) -> None:
        """A build's cache, empty but for what ``memo`` holds from earlier builds."""
        self.results = results
        self.strict = strict
        self.options = options
        self.memo = memo
        #: the site's runbook pages: source path (``src_uri``) -> runbook
        self.runbooks: dict[str, Runbook] = {}
        #: source path -> the bytes its runbook was parsed from, until the page's Markdown is
        #: compared with them (``Renderer._code_lines``: ``pop``, so none is held to the build's end)
        self.sources: dict[str, bytes] = {}
        #: runbook id -> (its records up to the first bad line, its verification; ``None``: no ledger)
        self.ledgers: dict[str, tuple[Sequence[RunRecord], Verification | None]] = {}
        #: runbook id -> SHA-256 of its ledger's bytes as read for this build
        self.ledger_sha: dict[str, str] = {}
        #: the memo keys this build used (``finish`` drops the others)
        self.used: set[Key] = set()

    def remember(self, key: Key, make: Callable[[], T]) -> T:
        """``make()``, or what the memo holds under ``key`` (all it is made from); marked as used by this build."""
        self.used.add(key)
        return self.memo.get(key, make)

    def finish(self) -> None:
        """The build ended: keep in the memo only what it used."""
        self.memo.keep_only(self.used)

    def add_runbook(self, src: str, path: Path, display: str) -> Runbook:
        """Parse the runbook page ``path`` (shown in messages as ``display``) and hold it under
        ``src``. Raises ``PluginError`` listing every ``path:line: problem`` the parser reports."""
        data = path.read_bytes()

        def make() -> Runbook:
            """The parsed runbook, or ``PluginError`` with the parser's problems."""
            runbook, problems = parse_runbook(path, display, data)
            if problems or runbook is None:
                raise PluginError("runbook-checks: invalid runbook:\n" + "\n".join(str(p) for p in problems))
            return runbook

        # the repository root is part of the key: a runbook's workdir is relative to it
        key = ("runbook", str(path.resolve()), display, str(find_root(path.parent)), sha256_text(data))
        self.runbooks[src] = self.remember(key, make)
        self.sources[src] = data
        return self.runbooks[src]

    def ledger(self, runbook: Runbook) -> tuple[Sequence[RunRecord], Verification | None]:
        """The runbook's records (only those before a first bad line: nothing after it is
        trusted) and its ledger's verification (``None``: it has no ledger yet), read and
        verified once per build. Raises ``PluginError`` when the ledger path is not a file, or
        when it fails verification under ``strict``."""
        if runbook.id not in self.ledgers:
            path = ledger_path(self.results, runbook.id)
            if path.exists() and not path.is_file():
                raise PluginError(f"runbook-checks: {path} is not a ledger file")
            if not path.exists():
                self.ledgers[runbook.id] = ([], None)
            else:

                def verify() -> tuple[LazyRecords, Verification]:
                    """The ledger's records and its verification, the file streamed once: only the
                    records shown are read again (each checked to be the line verified)."""
                    records = LazyRecords(path, streamed=True)  # only records before the first bad line: nothing after it is trusted
                    return records, verify_ledger(path, validate_schema=False, records=records, keep_hashes=False, file_sha256=True)

                st = path.stat()  # a file rewritten in place gets another size, mtime or ctime
                key = ("ledger", str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
                records, verification = self.remember(key, verify)
                self.ledger_sha[runbook.id] = verification.file_sha256 or ""
                if not verification.ok and self.strict:
                    raise PluginError(f"runbook-checks: ledger failed verification: {path}:{verification.bad_line}: {verification.problem}")
                self.ledgers[runbook.id] = (ReadOnce(records), verification)  # records parsed when read, not kept
        return self.ledgers[runbook.id]

    def rendered(self, kind: str, runbook: Runbook, where: tuple[str, str], make: Callable[[], T]) -> T:
        """``make()``, remembered by all it depends on: ``kind``, ``where`` it is shown (the
        page's URL and the audit page's link from it; empty when not on a page), the plugin's
        options, and the runbook's and its ledger's content."""
        self.ledger(runbook)
        key = (kind, *where, self.options, str(runbook.path), runbook.sha256, self.ledger_sha.get(runbook.id, ""))
        return self.remember(key, make)

    def report(self, runbook: Runbook) -> Report:
        """The runbook's report from its verified records, as the evidence policy decides it
        (the records it reads are not kept: ``views.ReadOnce``)."""
        return self.rendered("report", runbook, ("", ""), lambda: build_report(runbook, Attempts(self.ledger(runbook)[0])))

    def views(self, runbook: Runbook, history_limit: int, audit_runs: int | None) -> Views:
        """``views.views`` of the runbook's verified records: its history rows and (unless
        ``audit_runs`` is ``None``) its part of the audit page, made from one reading of them."""
        kind = "views" if audit_runs is None else "views+audit"
        banner = self.report(runbook).attempt
        return self.rendered(kind, runbook, ("", ""), lambda: views(self.ledger(runbook)[0], banner, history_limit, audit_runs))

    def fleet(self, runbook: Runbook, render: Callable[[Fleet], str]) -> str:
        """``render(fleet)``: the fleet view of ``runbook`` from its target ledgers
        (``<results>/<id>/*.jsonl``), each read and verified once per build and its row
        remembered by its bytes; the HTML remembered by all the rows. Raises ``PluginError``
        when a target ledger fails verification under ``strict``."""
        rows, shas = [], []
        folders: dict[Path, Path] = {}  # each folder resolved once: a ledger file is no link (``collect``)
        for stem, path in target_ledgers(self.results, runbook.id):
            if (folder := folders.get(path.parent)) is None:
                folder = folders[path.parent] = path.parent.resolve()
            data = path.read_bytes()
            shas.append(f"{path.name}:{sha256_text(data)}")

            def row(stem: str = stem, path: Path = path, data: bytes = data) -> tuple[FleetRow, Verification]:
                """The target's row and its ledger's verification, on the bytes just read."""
                records = LazyRecords(path)
                verification = verify_ledger(path, validate_schema=False, records=records, data=data)
                return fleet_row(runbook, stem, path, records, verification), verification

            made, verification = self.remember(("fleet-row", str(folder / path.name), runbook.sha256, shas[-1]), row)
            if not verification.ok and self.strict:
                raise PluginError(f"runbook-checks: ledger failed verification: {verification}")
            rows.append(made)
        key = ("fleet", self.options, str(runbook.path), runbook.sha256, *shas)
        return self.remember(key, lambda: render(build_fleet(runbook, rows)))

    def gate(self, runbook: Runbook) -> tuple[str, ...] | None:
        """Why ``--execute`` of ``runbook`` would be refused by its ``requires`` gate (empty:
        open; ``None``: it has no gate), as ``gates.requirement_problems`` says with no
        secrets (so the target rule is left to run time). Remembered by all it reads: this
        runbook, the content it fingerprints and the required ledgers' bytes."""
        if not runbook.requires:
            return None
        by_id = {rb.id: rb for rb in self.runbooks.values()}
        ledgers = []
        for req in runbook.requires:
            if req.runbook in by_id:  # read (and verified) once per build anyway
                self.ledger(by_id[req.runbook])
                ledgers.append(self.ledger_sha.get(req.runbook, ""))
            else:
                path = ledger_path(self.results, req.runbook)
                ledgers.append(sha256_text(path.read_bytes()) if path.is_file() else "")
        # the results directory as an operator would type it where the build runs (its reasons name it)
        results = Path(os.path.relpath(self.results))
        key = (
            "gate",
            str(runbook.path),
            runbook.sha256,
            str(self.results),
            str(results),
            repr(sorted(fingerprints(runbook).items())),
            *ledgers,
        )
        return self.remember(key, lambda: tuple(requirement_problems(runbook, results, {})))
