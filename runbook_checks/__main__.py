from runbook_checks.cli import main

main(prog_name="runbook-checks")
