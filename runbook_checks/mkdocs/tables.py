"""The tables the markers render (pure): success criteria, the timeline with its chart, the history of attempts, and an attempt's runs for the audit page.

Every figure comes from a ``report.Report`` or ``evidence.Attempt``; this module only lays
them out.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..evidence import Attempt, utc_text
from ..model import RunRecord
from ..render import seconds
from ..report import Report
from ..status import EvidenceStatus, presentation
from ..units import format_duration
from .cells import attempt_anchor, attempt_link, commit_cell, e, or_dash, status_cell, table_html, when_cell

#: the timeline chart's legend: (css class of the swatch, what it means)
LEGEND = (
    ("rbc-estimate", "estimate range"),
    ("rbc-within", "measured, within the estimate"),
    ("rbc-over", "measured, over it"),
    ("rbc-under", "measured, under it"),
)


def criteria_html(report: Report) -> str:
    """The ``success-criteria`` table: each criterion, its evidence blocks, status, when, by whom, commit and environment."""
    rows = [
        [
            e(r.criterion),
            ", ".join(f"<code>{e(b)}</code>" for b in r.blocks),
            status_cell(r.status),
            when_cell(r.when),
            or_dash(r.actor),
            commit_cell(r.commit),
            or_dash(r.environment),
        ]
        for r in report.criteria
    ]
    if not rows:
        rows = [["—", "no block declares a criterion", "—", "—", "—", "—", "—"]]
    return table_html(["Criterion", "Evidence", "Status", "When", "By", "Commit", "Environment"], rows, "rbc-criteria")


def timeline_svg(report: Report) -> str:
    """Measured phase durations against their estimate ranges, as an inline SVG chart.

    Each phase is a line of text (name, measured of estimated) over its bar, so the chart
    is narrow enough to scale down to a phone and keep its text legible. Empty when the
    runbook has no phases."""
    rows = list(report.timeline)
    if not rows:
        return ""
    top = max([r.estimate_s[1] for r in rows] + [r.measured_s or 0 for r in rows]) or 1.0
    width, row_h = 420, 46
    height = row_h * len(rows) + 22
    out = [
        f'<svg class="rbc-timeline" role="img" viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg"><title>Measured phase durations against their estimates</title>'
    ]
    for i, r in enumerate(rows):
        y = i * row_h
        lo, hi = (r.estimate_s[0] / top * width, r.estimate_s[1] / top * width)
        text = f"{format_duration(r.measured_s)} of {r.estimate}" if r.measured_s is not None else f"not measured ({r.estimate})"
        out.append(
            f'<text x="0" y="{y + 14}" class="rbc-label">{e(r.name)}</text>'
            f'<text x="{width}" y="{y + 14}" class="rbc-value" text-anchor="end">{e(text)}</text>'
        )
        out.append(
            f'<rect class="rbc-track" x="0" y="{y + 20}" width="{width}" height="18" rx="3"/>'
            f'<rect class="rbc-estimate" x="{min(lo, width - 2):.1f}" y="{y + 20}" width="{max(hi - lo, 2):.1f}" height="18" rx="3">'
            f"<title>estimate {e(r.estimate)}</title></rect>"
        )
        if r.measured_s is not None:
            w = max(r.measured_s / top * width, 2)
            out.append(
                f'<rect class="rbc-measured rbc-{e(r.verdict)}" x="0" y="{y + 25}" width="{w:.1f}" height="8" rx="2" '
                f'data-phase="{e(r.phase)}"><title>measured {e(format_duration(r.measured_s))} ({e(r.verdict)} the estimate)</title></rect>'
            )
    out.append(
        f'<text x="0" y="{height - 4}" class="rbc-axis">0</text>'
        f'<text x="{width}" y="{height - 4}" class="rbc-axis" text-anchor="end">{e(format_duration(top))}</text></svg>'
    )
    return "".join(out)


def timeline_legend() -> str:
    """The chart's legend: a swatch and its meaning per entry of ``LEGEND``."""
    items = "".join(f'<li><span class="rbc-swatch {css}" aria-hidden="true"></span>{e(text)}</li>' for css, text in LEGEND)
    return f'<ul class="rbc-legend" aria-label="Legend">{items}</ul>'


def timeline_html(report: Report) -> str:
    """The ``timeline`` marker: the chart, then the same figures as a table with the total,
    and which attempt they were measured over."""
    rows = [[e(r.name), e(r.estimate), e(seconds(r.measured_s)), e(r.verdict)] for r in report.timeline]
    rows.append(
        [
            f"<strong>{cell}</strong>"
            for cell in ("Total", e(report.total_estimate), e(seconds(report.total_measured_s)), e(report.total_verdict))
        ]
    )
    measured = (
        f"<p>Measured over attempt <code>{e(report.timeline_attempt)}</code> ({e(report.attempt.mode if report.attempt else '')}).</p>"
        if report.timeline_attempt
        else ""
    )
    chart = f'<div class="rbc-timeline-chart">{timeline_svg(report)}{timeline_legend()}</div>' if report.timeline else ""
    return chart + table_html(["Phase", "Estimate", "Measured", "Verdict"], rows, "rbc-timeline-table") + measured


#: one row of the history table, page-independent: the attempt's (runbook id, environment,
#: id) for its link, and its other cells (HTML)
HistoryRow = tuple[tuple[str, str, str], tuple[str, ...]]


def history_rows(attempts: Sequence[Attempt], limit: int | None = None) -> list[HistoryRow]:
    """The newest attempts (``limit`` of them; all when ``None`` or 0), newest first, as
    ``history_table`` rows: what a row shows of an attempt, wherever the table is."""
    return [
        (
            (a.first.runbook_id, a.environment, a.id),
            (
                e(utc_text(a.finished_at)),
                e(a.environment),
                e(a.mode),
                status_cell(a.verdict),
                e(len(a.runs)),
                e(a.actor),
                commit_cell(a.commit),
                e(format_duration(a.duration_s)),
                f'<a href="{e(a.ci_url)}">CI run</a>' if a.ci_url else "—",
            ),
        )
        for a in reversed(attempts[-limit:] if limit else attempts)
    ]


def history_table(rows: Sequence[HistoryRow], run_link: str | None) -> str:
    """The history table of ``rows`` (``history_rows``), each attempt's id linking to its
    details at ``run_link#attempt-…`` (``cells.attempt_anchor``) when there is a page with
    them (``""``: this page; ``None``: no link)."""
    cells = [[attempt_link(*ids, run_link), *rest] for ids, rest in rows]
    if not cells:
        cells = [["—", presentation(EvidenceStatus.NEVER_RUN).label, "—", "—", "—", "—", "—", "—", "—", "—"]]
    return table_html(["Attempt", "When", "Environment", "Mode", "Verdict", "Runs", "By", "Commit", "Duration", "CI"], cells, "rbc-history")


def run_details(record: RunRecord) -> str:
    """One run on the audit page: a ``details`` element opening up to its blocks (kind,
    status, exit code, duration, note) and each block's redacted output."""
    rows = [
        [
            f"<code>{e(b.id)}</code>",
            e(b.kind),
            status_cell(b.status),
            e(b.exit_code if b.exit_code is not None else "—"),
            e(format_duration(b.duration_s)),
            e(b.reason or ""),
        ]
        for b in record.blocks
    ]
    outputs = "".join(
        f"<details><summary>Output of <code>{e(b.id)}</code> (redacted{', cut' if b.output_truncated else ''})</summary><pre><code>{e(b.output)}</code></pre></details>"
        for b in record.blocks
        if b.output
    )
    return (
        f'<details class="rbc-run" id="run-{e(record.run_id)}"><summary>Run <code>{e(record.run_id)}</code> — {status_cell(record.status)}, '
        f"{e(record.environment)}, {e(record.mode)}, {e(utc_text(record.finished_at))}</summary>"
        f"{table_html(['Block', 'Kind', 'Status', 'Exit', 'Duration', 'Note'], rows, 'rbc-run-blocks')}{outputs}</details>"
    )


def attempt_details(a: Attempt) -> str:
    """An attempt that opens up into its runs, each opening up block by block (its id is
    ``cells.attempt_anchor``, what history rows and banners link to)."""
    ci = f', <a href="{e(a.ci_url)}">CI run</a>' if a.ci_url else ""
    return (
        f'<details class="rbc-attempt" id="{e(attempt_anchor(a.first.runbook_id, a.environment, a.id))}"><summary>Attempt <code>{e(a.id)}</code> — {status_cell(a.verdict)}, {e(a.environment)}, '
        f"{e(a.mode)}, {len(a.runs)} run(s), {e(utc_text(a.finished_at))}{ci}</summary>{''.join(run_details(r) for r in a.runs)}</details>"
    )
