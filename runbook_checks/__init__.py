"""runbook-checks: runbook-as-code for database migrations.

The library flow is one direction, one module per job::

    parse.load_runbook  ->  lint.lint_runbook
                        ->  execute.plan_run / execute.run_plan  (runner.run_block per block)
                        ->  ledger.append_record / ledger.verify_ledger
                        ->  report.build_report

The CLI (``cli.py``) and the plugins call these functions; nothing here imports mkdocs.
"""

__version__ = "0.1.0"
