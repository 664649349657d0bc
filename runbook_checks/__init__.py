"""runbook-checks: runbook-as-code for database migrations.

The library flow is one direction, one module per job::

    parse.parse_runbook  ->  lint.load_runbook (refuses whatever lint reports)
                         ->  execute.plan_run / execute.RunSession  (runner.run_block per block)
                         ->  ledger.append_record / ledger.verify_ledger
                         ->  evidence (attempts, verdicts: the one evidence policy)
                         ->  report.build_report

The CLI (``cli.py``) and the plugins call these functions; nothing here imports mkdocs.
"""

__version__ = "0.1.0"
