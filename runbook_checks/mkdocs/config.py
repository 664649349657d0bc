"""The plugin's options as ``mkdocs.yml`` declares them: the config class and its duration option type.

Declared, not parsed, the way mkdocs-material declares its plugins' options
(``material/plugins/tags/config.py``): ``enabled`` first, one docstring per option, and an
option type of its own (``material/plugins/tags/structure/tag/options.py``'s ``TagSet``)
where a value needs more than a type check. MkDocs validates them before any hook runs
and reports a bad value as ``Plugin 'runbook-checks' option 'max_age': …``.
"""

from __future__ import annotations

from mkdocs.config import config_options as c
from mkdocs.config.base import BaseConfigOption, Config, ValidationError

from ..units import parse_duration


class Duration(BaseConfigOption[float]):
    """An option written as a duration (``"7 days"``, ``"12 h"``, ``"30 min"``, ``"0s"``),
    validated to its length in seconds (a float).

    Read with ``units.parse_duration``, the reader of every duration in runbooks, so the
    site and the runbooks accept the same spellings; a range (``"1-2 days"``) counts as its
    low end, as it always has here.
    """

    def __init__(self, default: str) -> None:
        """``default``: the duration, as written, that an absent or empty option means."""
        super().__init__()
        self.default = default

    def run_validation(self, value: object) -> float:
        """``value`` as written in ``mkdocs.yml`` -> seconds.

        ``None`` (the option absent or empty) takes the default. Raises MkDocs'
        ``ValidationError`` for anything that is not text or not a duration.
        """
        if value is None:
            value = self.default
        if not isinstance(value, str):
            raise ValidationError(f"expected a duration as text (e.g. '7 days', '12 h'), but received: {value!r}")
        span = parse_duration(value)
        if span is None:
            raise ValidationError(f"{value!r} is not a duration (e.g. '7 days', '12 h')")
        return span[0]


class RunbookChecksConfig(Config):
    """The options of ``- runbook-checks:`` under ``plugins:`` in ``mkdocs.yml``
    (documented, one row each, in ``docs/reference/site.md``; a test keeps them in step)."""

    enabled = c.Type(bool, default=True)
    """Turn the plugin off without removing it from ``mkdocs.yml``."""
    results_dir = c.Type(str, default="runbook-results")
    """Directory of the ledgers (``<id>.jsonl``), relative to ``mkdocs.yml``."""
    max_age = Duration(default="7 days")
    """How old a passing result may be before its badge says ``overdue``: written as a
    duration, read as seconds."""
    strict = c.Type(bool, default=True)
    """Fail the build when a ledger fails verification (it is reported on the audit page either way)."""
    audit_page = c.Type(str, default="audit.md")
    """The page holding ``<!-- runbook-checks: audit -->``; history rows link to its run details."""
    history_limit = c.Type(int, default=10)
    """How many attempts the ``history`` marker shows."""
    prefer_environment = c.Deprecated(
        message="runbook-checks: 'prefer_environment' is gone: the evidence policy always shows the "
        "runbook's own environment, and a rehearsal only when that has no attempt. Remove the option."
    )
    """Removed (the evidence policy decides which runs a page shows); accepted with a warning."""
    audit_runs = c.Type(int, default=10)
    """How many of each runbook's latest attempts the audit page lists, each opening up run
    by run and block by block; the audit page also publishes each whole ledger beside the site."""
