"""The ``mkdocs.plugins`` entry point ``runbook_checks.plugin:RunbookChecksPlugin``.

The plugin lives in the package ``runbook_checks/mkdocs/`` (config, hooks, cache, markers,
HTML, publishing); this module only keeps the entry point's path stable for installed sites.
"""

from .mkdocs.plugin import RunbookChecksPlugin

__all__ = ["RunbookChecksPlugin"]
