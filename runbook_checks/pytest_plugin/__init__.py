"""pytest plugin: a runbook's tagged blocks as pytest items, with the CLI's safety rules.

``pytest --runbooks PATH`` collects every tagged block as one item
(``DB-MIGRATION-STAGING.md::migrate-status``). ``.check`` blocks run; ``.step`` blocks are
skipped unless ``--runbooks-execute --runbooks-confirm TOKEN`` carries the exact token
(a wrong token stops the session before any item runs). Missing secrets skip a
runbook's items (``--runbooks-strict``: the session fails instead). Every runbook that
ran is appended to the same ledger as a CLI run. Nothing is imported until enabled.

This module is the entry point (``pytest11``): it declares the options and, when
runbooks are named, registers the session's plugin object, as pytest's own ``stepwise``
plugin does. One job per module: ``session`` (the plugin object: the session's state and
its session-wide hooks and gates), ``items`` (runbook files and block items), ``run``
(one runbook's run: lock, ``execute.RunSession``, record), ``reprs`` (a failure as pytest
shows it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: the name the session's plugin object is registered under (``config.pluginmanager.get_plugin``)
SESSION_PLUGIN = "runbook-checks-session"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare the ``--runbooks*`` options and the ``runbooks``/``runbooks_results`` ini keys
    (pytest's ``pytest_addoption`` hook; see docs/reference/pytest.md)."""
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
    group.addoption(
        "--runbooks-target",
        metavar="NAME",
        help="The target (runbook.targets) of the fleet runbooks collected to run on, as runbook-checks run --target "
        "(runbooks without targets are unaffected; a fleet runbook's items are skipped without it).",
    )
    parser.addini("runbooks", "Runbook files or directories to collect", type="paths", default=[])
    parser.addini("runbooks_results", "Directory of the ledgers", default="runbook-results")


def runbook_paths(config: pytest.Config) -> list[Path]:
    """The runbook files and directories named: every ``--runbooks`` (as given), then the
    ``runbooks`` ini key's paths (relative to the ini file, as pytest resolves ``paths``)."""
    return [Path(p) for p in config.getoption("runbooks")] + list(config.getini("runbooks"))


def pytest_configure(config: pytest.Config) -> None:
    """pytest's ``pytest_configure`` hook: when runbooks are named, register the session's
    plugin object (``session.RunbookSession``) under :data:`SESSION_PLUGIN`; otherwise
    nothing is imported and nothing changes. Raises ``pytest.UsageError`` (pytest's exit 4)
    when a named path is not a runbook."""
    paths = runbook_paths(config)
    if not paths:
        return
    from .session import RunbookSession

    config.pluginmanager.register(RunbookSession.start(config, paths), SESSION_PLUGIN)


__all__ = ["SESSION_PLUGIN", "pytest_addoption", "pytest_configure", "runbook_paths"]
