"""Renderers: report and run record -> Markdown, JSON, JUnit XML, GitHub step summary.

Everything rendered here comes from records that are already redacted; the CLI still
passes the text through the run's redactor before writing it. A status is shown as its
icon (``status.PRESENTATION``) and its recorded value (``timed-out``, ``never-run``), as
the tables have always shown it; which outcomes are JUnit failures is the presentation
row's ``failure``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .failure import FailureReport
from .model import RunRecord
from .report import AttemptSummary, Report
from .status import EXECUTED, FAILURES, PRESENTATION, BlockStatus, presentation
from .units import format_duration

#: the mark before a failed block's report in the step summary (the terminal's mark for a failure)
_FAILED_MARK = PRESENTATION[BlockStatus.FAILED].mark


def cell(value: Any) -> str:
    """A Markdown table cell: ``—`` for nothing, ``|`` escaped, line ends as spaces."""
    if value is None or value == "":
        return "—"
    return str(value).replace("|", "\\|").replace("\n", " ")


def short_commit(commit: str | None) -> str | None:
    """The first 12 hex digits of a git commit (``None`` stays ``None``)."""
    return commit[:12] if commit else None


def seconds(value: float | None) -> str:
    """A duration in seconds as ``units.format_duration`` words it; ``—`` for ``None``."""
    return format_duration(value) if value is not None else "—"


def criteria_markdown(report: Report) -> str:
    """The criteria table of ``report`` (Markdown, no trailing newline)."""
    lines = ["| Criterion | Evidence | Status | When | By | Commit | Environment |", "|---|---|---|---|---|---|---|"]
    for row in report.criteria:
        evidence = ", ".join(f"`{b}`" for b in row.blocks)
        lines.append(
            f"| {cell(row.criterion)} | {evidence} | {presentation(row.status).icon} {row.status} | {cell(row.when)} | {cell(row.actor)} | "
            f"{cell(short_commit(row.commit))} | {cell(row.environment)} |"
        )
    if not report.criteria:
        lines.append("| — | no block declares a criterion | — | — | — | — | — |")
    return "\n".join(lines)


def timeline_markdown(report: Report) -> str:
    """The timeline table of ``report`` with its total row, and the attempt it is measured over (Markdown)."""
    lines = ["| Phase | Estimate | Measured | Verdict |", "|---|---|---|---|"]
    for row in report.timeline:
        lines.append(f"| {cell(row.name)} | {cell(row.estimate)} | {seconds(row.measured_s)} | {row.verdict} |")
    lines.append(f"| **Total** | **{report.total_estimate}** | **{seconds(report.total_measured_s)}** | **{report.total_verdict}** |")
    if report.timeline_attempt:
        lines.append(f"\nMeasured over attempt `{report.timeline_attempt}` ({report.attempt.mode if report.attempt else ''}).")
    return "\n".join(lines)


def comparison_markdown(runbooks: list[Any], rows: list[tuple[str, list[str]]]) -> str:
    """The comparison table (``report.comparison`` rows): one column per runbook (Markdown)."""
    head = "| Aspect | " + " | ".join(f"{cell(rb.title)} (`{rb.id}`)" for rb in runbooks) + " |"
    lines = [head, "|---" * (len(runbooks) + 1) + "|"]
    lines += [f"| **{cell(aspect)}** | " + " | ".join(cell(v) for v in values) + " |" for aspect, values in rows]
    return "\n".join(lines)


def attempt_markdown(report: Report) -> str:
    """The verdict line: the state of the environment and the attempt shown."""
    a = report.attempt
    if a is None:
        return f"**{report.headline}**"
    ci = f", [CI run]({a.ci_url})" if a.ci_url else ""
    return (
        f"{presentation(a.verdict).icon} **{report.headline}** — attempt `{a.id}` ({a.mode}, {a.runs} run(s), {seconds(a.duration_s)}, "
        f"commit {cell(short_commit(a.commit))}{ci})"
    )


def report_markdown(report: Report) -> str:
    """The ``report`` command's Markdown: title, verdict line, criteria and timeline."""
    return (
        f"# {report.title}\n\n{attempt_markdown(report)}\n\n## Success criteria\n\n{criteria_markdown(report)}\n\n"
        f"## Timeline\n\n{timeline_markdown(report)}\n"
    )


def record_summary(record: RunRecord, ledger: Path | None = None) -> dict[str, Any]:
    """A compact machine-readable summary of a run (``run --format json``)."""
    return {
        "run_id": record.run_id,
        "runbook_id": record.runbook_id,
        "environment": record.environment,
        "mode": record.mode,
        "status": record.status,
        "exit_code": record.exit_code,
        "duration_s": record.duration_s,
        "ledger": str(ledger) if ledger else None,
        "resumes": record.resumes,
        "not_rerun": list(record.not_rerun),
        "blocks": [
            {
                "id": b.id,
                "kind": b.kind,
                "status": b.status,
                "exit_code": b.exit_code,
                "duration_s": b.duration_s,
                "attempts": b.attempts,
                "reason": b.reason,
                "after_failure": b.after_failure,
            }
            for b in record.blocks
        ],
    }


def see_also(ids: tuple[str, ...], titles: dict[str, str] | None) -> str:
    """``see: Title (#id)`` for the troubleshooting entries that explain a failure."""
    return "; ".join(f"see: {(titles or {}).get(i, i)} (#{i})" for i in ids)


def record_markdown(
    record: RunRecord,
    report: Report | None = None,
    titles: dict[str, str] | None = None,
    failures: Sequence[FailureReport] = (),
    attempt: AttemptSummary | None = None,
) -> str:
    """The GitHub step summary of one run; ``titles`` names troubleshooting entries by id;
    ``failures``: the failure report of each failed block (``failure.failures``); ``attempt``:
    the summary of the run's attempt."""
    out = [
        f"## {presentation(record.status).icon} Runbook `{record.runbook_id}` — {record.status}",
        "",
        f"Environment **{record.environment}**, mode **{record.mode}**, run `{record.run_id}` by {cell(record.actor)}, "
        f"commit {cell(short_commit((record.git or {}).get('commit')))}, {seconds(record.duration_s)}"
        + (
            f"; attempt `{attempt.id}` so far: {presentation(attempt.verdict).icon} {attempt.verdict} ({attempt.runs} run(s))."
            if attempt
            else "."
        ),
        "",
        "| Block | Kind | Status | Exit | Duration | Note |",
        "|---|---|---|---|---|---|",
    ]
    for b in record.blocks:
        note = "; ".join(
            x for x in (b.reason or ("after an earlier failure" if b.after_failure else ""), see_also(b.troubleshooting, titles)) if x
        )
        duration = seconds(b.duration_s) if b.status in EXECUTED else "—"
        out.append(f"| `{b.id}` | {b.kind} | {presentation(b.status).icon} {b.status} | {cell(b.exit_code)} | {duration} | {cell(note)} |")
    for f in failures:
        out += [
            "",
            f"<details><summary>{_FAILED_MARK} <code>{f.block_id}</code> {f.status}: {html.escape(f.reason)}</summary>",
            "",
            "```text",
            f.text().replace("```", "'''"),
            "```",
            "</details>",
        ]
    reported = {f.block_id for f in failures}
    for b in record.blocks:
        if b.status in EXECUTED and b.status != BlockStatus.PASSED and b.output and b.id not in reported:
            out += [
                "",
                f"<details><summary>Output of <code>{b.id}</code> (redacted)</summary>",
                "",
                "```text",
                b.output[-4000:].replace("```", "'''"),
                "```",
                "</details>",
            ]
    if report is not None:
        out += [
            "",
            "### Attempt",
            "",
            attempt_markdown(report),
            "",
            "### Success criteria",
            "",
            criteria_markdown(report),
            "",
            "### Timeline",
            "",
            timeline_markdown(report),
        ]
    return "\n".join(out) + "\n"


#: what XML 1.0 forbids: the complement of its Char production (written as the complement:
#: a class of every allowed range costs some 5 ms to compile, on every command's start-up)
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """Text XML 1.0 can carry: characters it forbids (U+FFFE, U+FFFF, C0 controls...) become U+FFFD."""
    return _XML_INVALID.sub("\ufffd", text)


def junit_xml(
    record: RunRecord,
    runbook_path: str,
    titles: dict[str, str] | None = None,
    attempt: AttemptSummary | None = None,
    failures: Sequence[FailureReport] = (),
) -> str:
    """JUnit XML: one test case per block, named by block id; failures name their troubleshooting entries
    and carry the failure report (``failure.failures``). The suite's properties name the run, its attempt
    and (given ``attempt``, the summary of the run's attempt) that attempt's verdict."""
    from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

    by_id = {f.block_id: f for f in failures}
    suite = TestSuite(f"runbook:{record.runbook_id}")
    suite.timestamp = record.started_at
    suite.hostname = xml_text(record.host)
    suite.add_property("run-id", record.run_id)
    suite.add_property("attempt-id", record.attempt)
    if attempt is not None:
        suite.add_property("attempt-verdict", attempt.verdict)
    for b in record.blocks:
        case = TestCase(b.id, classname=f"{record.runbook_id}.{record.environment}", time=b.duration_s)
        case._elem.set("file", xml_text(runbook_path))  # read by GitHub/GitLab test reporters
        case._elem.set("line", str(b.line))
        if b.status in FAILURES:
            hint = f" — {see_also(b.troubleshooting, titles)}" if b.troubleshooting else ""
            failure = Failure(xml_text(f"{runbook_path}:{b.line}: {b.id} {b.status}: {b.reason}{hint}"), b.status)
            failure.text = xml_text(by_id[b.id].text() if b.id in by_id else b.output)
            case.result = [failure]
        elif b.status == BlockStatus.INTERRUPTED:
            case.result = [Error(xml_text(f"{runbook_path}:{b.line}: {b.id} {BlockStatus.INTERRUPTED}"), str(BlockStatus.INTERRUPTED))]
        elif b.status in (BlockStatus.SKIPPED, BlockStatus.NOT_RUN):
            case.result = [Skipped(xml_text(b.reason or b.status))]
        if b.output:
            case.system_out = xml_text(b.output)
        suite.add_testcase(case)
    xml = JUnitXml(f"runbook-checks {record.run_id}")
    xml.add_testsuite(suite)
    xml.update_statistics()
    return xml.tostring().decode("utf-8")
