"""The ``mkdocs.plugins`` entry point ``runbook_checks.plugin:RunbookChecksPlugin``: a re-export of ``runbook_checks.mkdocs``.

The plugin lives in the package ``runbook_checks/mkdocs/`` (config, hooks, cache, markers,
HTML, publishing); this module keeps the entry point and the names other code imports
(``tests/test_docs.py``: ``MARKERS``, ``RunbookChecksConfig``; ``bench/bench_site.py``: ``forget``).
"""

from .mkdocs.cache import forget
from .mkdocs.config import RunbookChecksConfig
from .mkdocs.markers import MARKERS
from .mkdocs.plugin import RunbookChecksPlugin

__all__ = ["MARKERS", "RunbookChecksConfig", "RunbookChecksPlugin", "forget"]
