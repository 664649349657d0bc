"""``python -m runbook_checks.parse [--write [PATH]]``: print the reference tables the spec
rows generate, or rewrite the generated regions of ``docs/reference/runbook-format.md``."""

import sys

from .spec import main

sys.exit(main(sys.argv[1:]))
