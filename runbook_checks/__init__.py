"""runbook-checks: runbook-as-code for database migrations.

The library flow is one direction, one module per job::

    parse.parse_runbook  ->  lint.load_runbook (refuses whatever lint reports)
                         ->  plan.plan_run / session.RunSession  (runner.run_block per block;
                             execute.run_plan drives a whole plan)
                         ->  ledger.append_record / ledger.verify_ledger
                         ->  evidence (attempts, verdicts: the one evidence policy)
                         ->  report.build_report

The CLI (``cli/``) and the plugins call these functions; nothing here imports mkdocs.

Layers, lowest first. A module imports only from its own layer or a lower one (a
package counts as one module); ``tests/test_imports.py`` enforces this list, and a module
missing from it fails that test::

    1. errors units status signals
    2. model context proctree procgroup target targets
    3. redact streams github capture lock cachedir
    4. parse oracle
    5. lint
    6. runner ledger evidence plan lifecycle
    7. troubleshoot failure gates sandbox migration_lint resume
    8. session execute drift
    9. report render console attempt preview outputs fleet
    10. cli pytest_plugin plugin mkdocs __main__
"""

__version__ = "0.1.0"
