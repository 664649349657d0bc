"""runbook-checks: runbook-as-code for database migrations.

The library flow is one direction, one module per job::

    parse.parse_runbook  ->  lint.load_runbook (refuses whatever lint reports)
                         ->  execute.plan_run / execute.RunSession  (runner.run_block per block)
                         ->  ledger.append_record / ledger.verify_ledger
                         ->  evidence (attempts, verdicts: the one evidence policy)
                         ->  report.build_report

The CLI (``cli.py``) and the plugins call these functions; nothing here imports mkdocs.

Layers, lowest first. A module imports only from its own layer or a lower one (a
package counts as one module); ``tests/test_imports.py`` enforces this list, and a module
missing from it fails that test::

    1. errors units status
    2. model context procgroup target
    3. redact streams github
    4. parse oracle
    5. lint
    6. runner ledger evidence
    7. troubleshoot failure gates sandbox migration_lint
    8. execute drift
    9. report render console site attempt preview outputs
    10. cli pytest_plugin plugin __main__
"""

__version__ = "0.1.0"
