"""The files a recorded run leaves for CI: the JUnit XML (``--junit``), the GitHub step
summary (``$GITHUB_STEP_SUMMARY``) and the step outputs (``$GITHUB_OUTPUT``), all built
from the redacted record and the verified ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import github
from .evidence import Attempts
from .failure import failures
from .ledger import verified_records
from .model import Runbook, RunRecord
from .render import junit_xml, record_markdown
from .report import AttemptSummary, build_report


def wanted(junit: str | None, environ: Mapping[str, str]) -> bool:
    """Whether a run writes files that show the ledger (``write_run_files``): a JUnit file,
    or GitHub's step summary or step outputs."""
    return bool(junit or environ.get("GITHUB_STEP_SUMMARY") or environ.get("GITHUB_OUTPUT"))


def write_run_files(
    runbook: Runbook,
    record: RunRecord,
    sealed: Mapping[str, Any],
    *,
    path: str,
    junit: str | None,
    ledger: Path,
    redact: Callable[[str], str],
    environ: Mapping[str, str],
    warn: Callable[[str], None],
    records: Sequence[RunRecord] | None = None,
) -> None:
    """Write the run's files: ``junit`` (when given), then append the step summary and the
    step outputs when ``environ`` names their files (GitHub's ``GITHUB_STEP_SUMMARY`` and
    ``GITHUB_OUTPUT`` conventions).

    ``record`` is the redacted record; ``sealed`` the record as appended (its ``hash`` is the
    ledger's head); ``path`` the runbook's path as given. A step summary that cannot be
    appended is a ``warn(text)``; a JUnit or outputs file that cannot be written raises
    ``OSError`` (the run is recorded by then: see ``attempt.Progress``). ``records``: the
    ledger's records with this one (``attempt.Outcome.records``), else the ledger is read.
    """
    titles = {e.id: e.title for e in runbook.entries}
    summary_file = environ.get("GITHUB_STEP_SUMMARY")
    failed = failures(runbook, record.blocks, path=path, mode=record.mode, redact=redact)
    outputs_file = environ.get("GITHUB_OUTPUT")
    if wanted(junit, environ):
        records = records if records is not None else verified_records(ledger)[0]
        report = build_report(runbook, records, record.environment)
        mine = Attempts(records).find(record.environment, record.attempt)
        attempt = AttemptSummary.of(mine) if mine else None
    if junit:
        Path(junit).write_text(junit_xml(record, path, titles, attempt, failed), encoding="utf-8")
    if summary_file:
        text = record_markdown(record, report, titles, failed, attempt) + f"\nLedger `{ledger}` head: `{sealed['hash']}`\n"
        try:
            with open(summary_file, "a", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            warn(f"warning: cannot append to GITHUB_STEP_SUMMARY ({summary_file}): {exc.strerror or exc}")
    if outputs_file:  # the step's outputs: what a later step or job decides on
        github.write_outputs(
            {
                "status": record.status,
                "exit-code": str(record.exit_code),
                "run-id": record.run_id,
                "attempt-id": record.attempt,
                "verdict": attempt.verdict if attempt else record.status,
                "ledger": str(ledger),
                "ledger-head": sealed["hash"],
            },
            environ,
        )


__all__ = ["wanted", "write_run_files"]
