"""pytest plugin: a runbook's tagged blocks as pytest items, with the CLI's safety rules.

``pytest --runbooks PATH`` collects every tagged block as one item
(``DB-MIGRATION-STAGING.md::migrate-status``). ``.check`` blocks run; ``.step`` blocks are
skipped unless ``--runbooks-execute --runbooks-confirm TOKEN`` carries the exact token
(a wrong token stops the session before any item runs). Missing secrets skip a
runbook's items (``--runbooks-strict``: the session fails instead). Every runbook that
ran is appended to the same ledger as a CLI run. Nothing is imported until enabled.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("runbook-checks", "runbook-checks: run runbooks' tagged blocks as tests")
    group.addoption(
        "--runbooks",
        action="append",
        default=[],
        metavar="PATH",
        help="Runbook file or directory to collect (repeatable; also the 'runbooks' ini key).",
    )
    group.addoption("--runbooks-execute", action="store_true", help="Also run .step blocks (needs --runbooks-confirm).")
    group.addoption("--runbooks-confirm", metavar="TOKEN", help="The runbook's exact confirmation token for --runbooks-execute.")
    group.addoption(
        "--runbooks-strict",
        action="store_true",
        help="Fail the session when a declared secret is missing (default: skip that runbook's items).",
    )
    group.addoption("--runbooks-results", metavar="DIR", help="Directory of the ledgers (default: runbook-results, or the ini key).")
    group.addoption(
        "--runbooks-attempt", metavar="ID", help="The migration attempt the session's runs belong to (as runbook-checks run --attempt)."
    )
    parser.addini("runbooks", "Runbook files or directories to collect", type="paths", default=[])
    parser.addini("runbooks_results", "Directory of the ledgers", default="runbook-results")


def _paths(config: pytest.Config) -> list[Path]:
    return [Path(p) for p in config.getoption("runbooks")] + list(config.getini("runbooks"))


def pytest_configure(config: pytest.Config) -> None:
    paths = _paths(config)
    if not paths:
        return  # not enabled: nothing imported, nothing changed
    from .lint import discover

    files, problems = discover([str(p) for p in paths])
    if problems:
        raise pytest.UsageError("\n".join(str(p) for p in problems))
    config.stash[_STATE] = state = _Session(config, [f.resolve() for f in files])
    from .runner import signals_interrupt

    # SIGTERM, SIGHUP (the terminal closed) and SIGQUIT stop the session as Ctrl-C does: the
    # running block's processes are stopped and the runbook's run is recorded as interrupted
    state.signals.enter_context(signals_interrupt())
    config.addinivalue_line("markers", "runbook: a tagged block of a runbook (runbook-checks)")
    config.addinivalue_line("markers", "check: a read-only runbook block")
    config.addinivalue_line("markers", "step: a mutating runbook block")
    config.args.extend(str(f) for f in files if str(f) not in config.args)


class _Session:
    """Per-session state: runbooks, their runs and locks (no state outlives the session)."""

    def __init__(self, config: pytest.Config, files: list[Path]):
        self.config = config
        self.files = set(files)
        self.runs: dict[str, Any] = {}  # runbook id -> _RunbookRun
        self.signals = contextlib.ExitStack()  # the session's signal handlers, restored at unconfigure
        results = config.getoption("runbooks_results") or config.getini("runbooks_results")
        self.results = Path(results)
        if not self.results.is_absolute():
            self.results = Path(config.rootpath) / self.results


_STATE = pytest.StashKey[_Session]()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    state = parent.config.stash.get(_STATE, None)
    if state is None or file_path.resolve() not in state.files:
        return None
    return RunbookFile.from_parent(parent, path=file_path)


class RunbookFile(pytest.File):
    def collect(self) -> Any:
        from .errors import RunbookInvalid
        from .lint import load_runbook

        try:
            runbook = load_runbook(self.path)
        except RunbookInvalid as exc:  # whatever lint reports, as the CLI refuses it
            raise pytest.UsageError("runbook has problems:\n" + "\n".join(str(p) for p in exc.problems)) from None
        self.runbook = runbook
        for block in runbook.blocks:
            item = RunbookItem.from_parent(self, name=block.id, block=block)
            item.add_marker("runbook")
            item.add_marker(block.kind)
            item.add_marker(pytest.mark.xdist_group(runbook.id))  # with --dist loadgroup, one worker runs a runbook in order
            if block.phase:
                self.config.addinivalue_line("markers", f"phase_{block.phase}: blocks of the {block.phase} phase")
                item.add_marker(f"phase_{block.phase}")
            yield item


class BlockFailed(Exception):
    pass


class RunbookItem(pytest.Item):
    def __init__(self, *, block: Any, **kw: Any):
        super().__init__(**kw)
        self.block = block

    @property
    def runbook(self) -> Any:
        return self.parent.runbook  # type: ignore[attr-defined]

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.block.line - 1, self.block.id

    def runtest(self) -> None:
        state = self.config.stash[_STATE]
        run = state.runs.get(self.runbook.id) or _RunbookRun.start(state, self.runbook)
        state.runs[self.runbook.id] = run
        result = run.run(self.block)
        if result.status == "interrupted":  # Ctrl-C stopped the block: stop the session, as the CLI does
            raise KeyboardInterrupt
        self.user_properties += [
            ("runbook", self.runbook.id),
            ("block", self.block.id),
            ("line", self.block.line),
            ("output", result.output),
        ]
        self.user_properties += [("troubleshooting", entry_id) for entry_id in result.troubleshooting]
        if result.status in ("skipped", "not-run"):
            raise pytest.skip.Exception(result.reason or result.status, _use_item_location=True)
        if result.status != "passed":
            raise BlockFailed(result)

    def repr_failure(self, excinfo: Any, style: Any = None) -> Any:
        from .errors import RunbookChecksError
        from .failure import failure_report

        if isinstance(excinfo.value, RunbookChecksError):  # a refused gate or a held lock: the message, no traceback
            return f"{self.path}:{self.block.line}: {excinfo.value}"
        if not isinstance(excinfo.value, BlockFailed):
            return super().repr_failure(excinfo)
        run = self.config.stash[_STATE].runs[self.runbook.id]
        return failure_report(
            self.runbook,
            excinfo.value.args[0],
            path=str(self.path),
            mode=run.session.mode,
            redact=run.redactor,
            first_failure=run.session.failed_at,
        ).text()


class _RunbookRun:
    """One runbook's run inside a pytest session: its lock, its ``RunSession`` (the CLI's
    run engine: the same skip rules, statuses, reasons and record) and its secrets."""

    @classmethod
    def start(cls, state: _Session, runbook: Any) -> _RunbookRun:
        from .execute import RunSession, plan_run
        from .gates import RunLock, missing_secrets
        from .ledger import last_hash, ledger_path, verified_records
        from .model import MODE_CHECK, MODE_EXECUTE
        from .redact import Redactor

        self = cls()
        self.state, self.runbook = state, runbook
        self.execute = bool(state.config.getoption("runbooks_execute"))
        self.missing = missing_secrets(runbook, os.environ)
        self.redactor = Redactor.for_secrets(runbook.secrets, os.environ)
        self.lock = RunLock(state.results, runbook.id, runbook.environment).__enter__()
        try:
            ledger = ledger_path(state.results, runbook.id)
            last_hash(ledger)  # a ledger that cannot take the record: nothing runs
            prior = verified_records(ledger)[0] if any(b.after for b in runbook.blocks) else []
            self.session = RunSession(
                runbook,
                plan_run(runbook, execute=self.execute),
                environ=os.environ,
                redactor=self.redactor,
                mode=MODE_EXECUTE if self.execute else MODE_CHECK,
                attempt=state.config.getoption("runbooks_attempt"),
                prior=prior,
                runner="pytest",
            )
        except BaseException:
            self.lock.__exit__(None, None, None)
            raise
        return self

    def run(self, block: Any) -> Any:
        from .execute import not_run

        if self.missing:  # nothing runs and nothing is recorded (--runbooks-strict refuses instead)
            return not_run(block, "skipped", f"secret(s) not set: {', '.join(self.missing)}")
        return self.session.run(block)

    def finish(self) -> None:
        from .ledger import append_record
        from .model import EXECUTED

        try:
            if not any(r.status in EXECUTED for r in self.session.results.values()):
                return  # nothing executed (secrets missing, steps skipped): nothing to record
            append_record(self.state.results, self.session.record(), self.redactor)
        finally:
            self.lock.__exit__(None, None, None)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Gates that refuse the whole session before any item runs."""
    state = session.config.stash.get(_STATE, None)
    if state is None:
        return
    from .errors import GateRefused
    from .gates import check_confirmation, check_requirements, check_secret_encoding, missing_secrets
    from .redact import secret_notes

    runbooks = {item.runbook.id: item.runbook for item in session.items if isinstance(item, RunbookItem)}
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    try:
        for runbook in runbooks.values():
            check_secret_encoding(runbook, os.environ)
            for note in secret_notes(runbook.secrets, os.environ):  # as the CLI warns before a run
                if reporter is not None:
                    reporter.write_line(f"runbook-checks: warning: {runbook.path}: {note}", yellow=True)
                else:
                    print(f"runbook-checks: warning: {runbook.path}: {note}", file=sys.stderr)
            if session.config.getoption("runbooks_execute"):
                check_confirmation(runbook, session.config.getoption("runbooks_confirm"), os.environ)
                check_requirements(runbook, state.results, os.environ)
            missing = missing_secrets(runbook, os.environ)
            if missing and session.config.getoption("runbooks_strict"):
                raise GateRefused(
                    f"{runbook.path}: runbook {runbook.id!r} needs the secret(s) {', '.join(missing)}, which are not set (--runbooks-strict)"
                )
    except GateRefused as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(_STATE, None)
    if state is None:
        return
    from .errors import NotRecorded

    for run in state.runs.values():
        try:
            run.finish()
        except NotRecorded as exc:  # the blocks ran but their record could not be written (the ledger was rolled back)
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(f"runbook-checks: {exc}", red=True, bold=True)
            else:
                print(f"runbook-checks: {exc}", file=sys.stderr)
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
    state.runs.clear()


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is not None:
        state.signals.close()
