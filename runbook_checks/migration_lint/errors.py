"""Migration lint, its one error: the lint could not be done."""

from __future__ import annotations

from ..errors import EXIT_FAILED, RunbookChecksError


class MigrationLintError(RunbookChecksError):
    """The lint could not be done (squawk missing or failing, the pending-migrations
    command failed); exit 1 (``errors.EXIT_FAILED``): the check did not pass."""

    exit_code = EXIT_FAILED


__all__ = ["MigrationLintError"]
