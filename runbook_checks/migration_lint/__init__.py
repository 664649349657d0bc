"""Lint the pending migrations with squawk, and judge the findings by a policy.

One job: given the migrations that are pending on the target (their directory names
under the migrations folder), run the pinned ``squawk`` (PyPI ``squawk-cli``, its binary
ships in the wheel and needs no network) over their ``migration.sql`` files with the
app's squawk config, and say which findings a production run refuses.

- **Which rules run** is squawk's config file in the app (``.squawk.toml``:
  ``excluded_rules``, ``pg_version``, ``assume_in_transaction``...), never code.
- **Which findings are destructive or blocking** is the list ``refuse`` in that same file's
  ``[runbook-checks]`` table (squawk ignores tables it does not know); without it,
  ``DEFAULT_REFUSE``. Squawk's ``syntax-error`` is always refused: a migration PostgreSQL
  cannot parse fails the deploy halfway.
- **Policy**: ``warn`` shows every finding and passes (staging); ``refuse`` fails when a
  refused finding is not acknowledged for its migration and rule (production), see
  ``Acknowledgement`` and ``runbook.acknowledge``.

Which migrations are pending is not decided here: ``pending_from_command`` reads it from
the app's own command (``scripts/pending-migrations.mjs``: exit 0 nothing pending, exit 3
pending, their names one per line), the one the runbooks' ``list-pending`` check runs.

One job per module: ``pending`` (which migrations, and their files), ``squawk`` (the
binary, its run and its JSON findings), ``config`` (the refuse list), ``policy`` (the
verdict and the report), ``errors``. Everything the CLI uses is importable from here.
"""

from __future__ import annotations

from .config import CONFIG_TABLE, DEFAULT_REFUSE, LintConfig, load_config
from .errors import MigrationLintError
from .pending import migration_file, pending_from_command
from .policy import POLICIES, REFUSE, WARN, Policy, Verdict, judge, report_lines
from .squawk import SYNTAX_ERROR, Finding, run_squawk, squawk_binary, unknown_rules

__all__ = [
    "CONFIG_TABLE",
    "DEFAULT_REFUSE",
    "POLICIES",
    "REFUSE",
    "SYNTAX_ERROR",
    "WARN",
    "Finding",
    "LintConfig",
    "MigrationLintError",
    "Policy",
    "Verdict",
    "judge",
    "load_config",
    "migration_file",
    "pending_from_command",
    "report_lines",
    "run_squawk",
    "squawk_binary",
    "unknown_rules",
]
