"""``python -m runbook_checks``: the ``runbook-checks`` command line."""

from runbook_checks.cli import main

main(prog_name="runbook-checks")
