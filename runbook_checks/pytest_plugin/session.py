"""pytest plugin, the session: the plugin object registered in ``pytest_configure``.

It holds what one pytest session knows — the runbook files, their runs, the ledger
directory, the signal handlers — and implements the session-wide hooks: collecting the
runbook files, the gates that refuse the whole session before any item runs, recording
each run at the end. Nothing outlives the session. The shape is pytest's own
``StepwisePlugin`` (``_pytest/stepwise.py``).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from ..errors import GateRefused, NotRecorded, UsageProblem
from ..gates import check_confirmation, check_requirements, check_secret_encoding, missing_secrets
from ..lint import discover
from ..model import Runbook
from ..redact import secret_notes
from ..signals import signals_gated, signals_interrupt
from ..streams import visible
from ..targets import select
from .items import RunbookFile, RunbookItem
from .run import RunbookRun, unselected


class RunbookSession:
    """The session's runbook state and hooks; built by :meth:`start`.

    ``files``: the runbook files collected (resolved paths); ``runs``: runbook id → its
    :class:`~.run.RunbookRun`, started on the runbook's first item; ``results``: the ledger
    directory (``--runbooks-results``, else the ``runbooks_results`` ini key, relative to
    the rootdir)."""

    def __init__(self, config: pytest.Config, files: Sequence[Path]) -> None:
        self.config = config
        self.files = set(files)
        #: the runbook files' names: a file's own name is its resolved path's unless the file is a link
        self.names = {f.name for f in self.files}
        self.runs: dict[str, RunbookRun] = {}
        #: why the session is refused, found while collecting (a target a fleet runbook does not declare)
        self.refusals: list[str] = []
        #: the session's signal handlers, restored at unconfigure
        self.signals = contextlib.ExitStack()
        results = Path(config.getoption("runbooks_results") or config.getini("runbooks_results"))
        self.results = results if results.is_absolute() else Path(config.rootpath) / results

    @classmethod
    def start(cls, config: pytest.Config, paths: Sequence[Path]) -> RunbookSession:
        """Find the runbooks under ``paths`` (``lint.discover``), make SIGTERM, SIGHUP (the
        terminal closed) and SIGQUIT stop the session as Ctrl-C does (the running block's
        processes are stopped and the run is recorded as interrupted), declare the
        ``runbook``/``check``/``step`` markers (and ``xdist_group`` when pytest-xdist, which
        declares it, is not loaded: else every item's group mark is unknown, a warning and,
        under ``--strict-markers``, a collection error) and add the files to pytest's arguments.
        Raises ``pytest.UsageError`` with every problem ``discover`` reports."""
        files, problems = discover([str(p) for p in paths])
        if problems:
            raise pytest.UsageError(visible("\n".join(str(p) for p in problems)))
        self = cls(config, [f.resolve() for f in files])
        self.signals.enter_context(signals_interrupt())
        self.signals.enter_context(signals_gated())  # one handler for the session: switched around each block, not replaced
        config.addinivalue_line("markers", "runbook: a tagged block of a runbook (runbook-checks)")
        config.addinivalue_line("markers", "check: a read-only runbook block")
        config.addinivalue_line("markers", "step: a mutating runbook block")
        if not config.pluginmanager.hasplugin("xdist"):  # pytest-xdist declares the mark it reads; without it, an unknown mark
            config.addinivalue_line("markers", "xdist_group(name): the runbook of a block (read by pytest-xdist's --dist loadgroup)")
        config.args.extend(str(f) for f in files if str(f) not in config.args)
        return self

    def select(self, runbook: Runbook) -> Runbook:
        """``runbook`` as this session runs it: with ``--runbooks-target NAME``, a fleet runbook
        (one declaring ``targets``) with that target selected (``targets.select``, as ``run
        --target``); a runbook without targets, or any runbook when no target is named, as
        it is. A fleet runbook that declares no target of that name is returned as it is and
        the refusal kept in ``refusals`` (``pytest_collection_finish`` refuses the session
        with it: pytest's exit 4, not a collection error)."""
        name = self.config.getoption("runbooks_target")
        if name is None or not runbook.targets:
            return runbook
        try:
            return select(runbook, name)
        except UsageProblem as exc:
            self.refusals.append(str(exc))
            return runbook

    def run_of(self, runbook: Runbook) -> RunbookRun:
        """``runbook``'s run in this session, started (lock taken, session opened) on first
        use. Raises what ``RunbookRun.start`` raises."""
        if runbook.id not in self.runs:
            self.runs[runbook.id] = RunbookRun.start(
                runbook,
                results=self.results,
                execute=bool(self.config.getoption("runbooks_execute")),
                attempt=self.config.getoption("runbooks_attempt"),
            )
        return self.runs[runbook.id]

    def _say(self, session: pytest.Session, text: str, **markup: bool) -> None:
        """A line on pytest's terminal (stderr when there is no terminal reporter), shown as the CLI shows text (``streams.visible``)."""
        text = visible(text)
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(text, **markup)
        else:
            print(text, file=sys.stderr)

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        """pytest's ``pytest_collect_file`` hook: a :class:`~.items.RunbookFile` for each
        runbook named, ``None`` for every other file. pytest calls it for every file it walks:
        a file that is not a link and whose name no runbook has is ruled out without resolving
        its path (about 20 µs a file: a ``stat`` of every directory above it)."""
        if file_path.name not in self.names and not file_path.is_symlink():
            return None
        if file_path.resolve() not in self.files:
            return None
        return RunbookFile.from_parent(parent, path=file_path, plugin=self)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """pytest's ``pytest_collection_finish`` hook: the gates that refuse the whole session
        before any item runs, per collected runbook — ``refusals`` (a target a fleet runbook
        does not declare), ``--runbooks-target`` when no runbook declares targets; secrets that are not UTF-8; with ``--runbooks-execute`` or
        ``--runbooks-strict`` a fleet runbook with no target named; with
        ``--runbooks-execute`` the confirmation token and ``requires``; with
        ``--runbooks-strict`` a missing secret — and the CLI's warnings about secrets.
        Raises ``pytest.UsageError`` (pytest's exit 4) with the gate's message."""
        runbooks = {item.runbook.id: item.runbook for item in session.items if isinstance(item, RunbookItem)}
        if self.refusals:
            raise pytest.UsageError(visible(self.refusals[0]))
        name = session.config.getoption("runbooks_target")
        if name is not None and runbooks and not any(r.targets for r in runbooks.values()):
            raise pytest.UsageError(
                visible(f"--runbooks-target {name}: no runbook collected declares 'targets', so it names nothing; drop it")
            )
        try:
            for runbook in runbooks.values():
                why = unselected(runbook)
                if why and (session.config.getoption("runbooks_execute") or session.config.getoption("runbooks_strict")):
                    raise GateRefused(f"{runbook.path}: {why}. Nothing was executed.")
                check_secret_encoding(runbook, os.environ)
                for note in secret_notes(runbook.secrets, os.environ):  # as the CLI warns before a run
                    self._say(session, f"runbook-checks: warning: {runbook.path}: {note}", yellow=True)
                if session.config.getoption("runbooks_execute"):
                    check_confirmation(runbook, session.config.getoption("runbooks_confirm"), os.environ)
                    check_requirements(runbook, self.results, os.environ)
                missing = missing_secrets(runbook, os.environ)
                if missing and session.config.getoption("runbooks_strict"):
                    raise GateRefused(
                        f"{runbook.path}: runbook {runbook.id!r} needs the secret(s) {', '.join(missing)}, which are not set "
                        f"(--runbooks-strict)"
                    )
        except GateRefused as exc:
            raise pytest.UsageError(visible(str(exc))) from None

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """pytest's ``pytest_sessionfinish`` hook: record each runbook's run in its ledger and
        release its lock. A record that could not be written (``NotRecorded``) is said on
        the terminal and fails a session that had passed (pytest's exit 1)."""
        for run in self.runs.values():
            try:
                run.finish()
            except NotRecorded as exc:  # the blocks ran but their record could not be written (the ledger was rolled back)
                self._say(session, f"runbook-checks: {exc}", red=True, bold=True)
                if session.exitstatus == pytest.ExitCode.OK:
                    session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self.runs.clear()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """pytest's ``pytest_unconfigure`` hook: restore the signal handlers."""
        self.signals.close()


__all__ = ["RunbookSession"]
