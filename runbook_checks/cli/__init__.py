"""The ``runbook-checks`` command line: thin commands over the library.

Each command parses options, calls the library, formats the result. Library errors
become exit codes in one place, the command group (``group.RunbookChecksGroup``; the
codes are in ``errors.py`` and docs/reference/exit-codes.md). One module per concern:
``runs`` (run, dry run), ``rehearse``, ``diagnose`` (diagnose, drift), ``lints`` (lint,
list, lint-migrations), ``ledgers`` (verify, report, compare, schema), ``targets`` (a fleet's targets and matrix),
``fleet`` (merge: the fan-in of many jobs' ledgers).
"""

from __future__ import annotations

from .diagnose import diagnose_cmd, drift_cmd
from .fleet import merge_cmd
from .group import EXIT_CODES_HELP, CliError, main
from .ledgers import compare_cmd, report_cmd, schema_cmd, verify_cmd
from .lints import lint_cmd, lint_migrations_cmd, list_cmd
from .rehearse import rehearse_cmd
from .runs import run_cmd
from .targets import targets_cmd

for _command in (
    lint_cmd,
    list_cmd,
    run_cmd,
    rehearse_cmd,
    diagnose_cmd,
    drift_cmd,
    verify_cmd,
    report_cmd,
    compare_cmd,
    schema_cmd,
    lint_migrations_cmd,
    targets_cmd,
    merge_cmd,
):
    main.add_command(_command)

__all__ = ["EXIT_CODES_HELP", "CliError", "main"]
