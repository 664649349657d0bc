"""HTML for the published site (pure): badges, evidence, the timeline chart, history and
audit tables. The MkDocs plugin (``plugin.py``) places them; nothing here runs anything.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime, timezone

from .evidence import INCOMPLETE, NEVER_RUN, OVERDUE, Attempt, Evidence, overdue, utc_text
from .ledger import Verification
from .model import MODE_CHECK, MODE_REHEARSAL, RunRecord
from .parse import format_duration
from .render import ICONS, seconds, short_commit
from .report import Report

LABELS = {"passed": "passed", "failed": "failed", "timed-out": "timed out", "interrupted": "interrupted", "stale": "stale", NEVER_RUN: "never run",
          OVERDUE: "overdue", INCOMPLETE: "incomplete"}
#: how a badge names the kind of run its evidence comes from (a migration needs no prefix)
MODE_LABELS = {MODE_REHEARSAL: "rehearsal", MODE_CHECK: "read-only check"}


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


def badge_status(ev: Evidence, max_age_s: float, now: datetime | None = None) -> str:
    """The evidence's status, or ``overdue`` when a pass is older than ``max_age_s``."""
    return OVERDUE if ev.status == "passed" and overdue(ev.when, max_age_s, now) else ev.status


def badge_html(ev: Evidence, status: str, evidence_anchor: str | None, titles: dict[str, str] | None = None) -> str:
    label = LABELS.get(status, status)
    if ev.mode in MODE_LABELS and ev.when:
        label = f"{MODE_LABELS[ev.mode]} {label}"
    parts = [f'<strong class="rbc-status">{e(label)}</strong>']
    if ev.when:
        parts.append(f'<time datetime="{e(ev.when)}">{e(utc_text(ev.when))}</time>')
        parts.append(f"by {e(ev.actor)}")
        if ev.commit:
            parts.append(f"<code>{e(ev.commit[:12])}</code>")
        if ev.duration_s is not None:
            parts.append(e(format_duration(ev.duration_s)))
        if ev.environment:
            parts.append(e(ev.environment))
    if evidence_anchor and ev.when:
        parts.append(f'<a href="#{e(evidence_anchor)}">evidence</a>')
    for entry_id in ev.troubleshooting if status != "stale" else ():
        parts.append(f'<a class="rbc-troubleshoot" href="#{e(entry_id)}">troubleshooting: {e((titles or {}).get(entry_id, entry_id))}</a>')
    mode = f" rbc-mode-{e(ev.mode)}" if ev.mode else ""
    return (f'<div class="rbc-badge rbc-{e(status)}{mode}" data-block="{e(ev.block_id)}" data-status="{e(status)}" data-mode="{e(ev.mode or "")}">'
            + " · ".join(parts) + "</div>")


def evidence_html(ev: Evidence, anchor: str) -> str:
    if not ev.when:
        return ""
    return (
        f'<details class="rbc-evidence" id="{e(anchor)}"><summary>Evidence: exit code {e(ev.exit_code)}, run <code>{e(ev.run_id)}</code> '
        f"({e(ev.environment)})</summary><pre><code>{e(ev.output or '(no output)')}</code></pre></details>"
    )


def timeline_svg(report: Report) -> str:
    """Measured phase durations against their estimate ranges, as an inline SVG chart."""
    rows = list(report.timeline)
    if not rows:
        return ""
    top = max([r.estimate_s[1] for r in rows] + [r.measured_s or 0 for r in rows]) or 1.0
    label_w, chart_w, value_w, row_h = 170, 380, 190, 34
    height = row_h * len(rows) + 30
    out = [f'<svg class="rbc-timeline" role="img" viewBox="0 0 {label_w + chart_w + value_w} {height}" width="100%" '
           f'xmlns="http://www.w3.org/2000/svg"><title>Measured phase durations against their estimates</title>']
    for i, r in enumerate(rows):
        y = 10 + i * row_h
        lo, hi = (r.estimate_s[0] / top * chart_w, r.estimate_s[1] / top * chart_w)
        out.append(f'<text x="0" y="{y + 17}" class="rbc-label">{e(r.name)}</text>')
        out.append(f'<rect class="rbc-estimate" x="{label_w + lo:.1f}" y="{y + 2}" width="{max(hi - lo, 2):.1f}" height="22" rx="3">'
                   f"<title>estimate {e(r.estimate)}</title></rect>")
        if r.measured_s is not None:
            w = max(r.measured_s / top * chart_w, 2)
            out.append(f'<rect class="rbc-measured rbc-{e(r.verdict)}" x="{label_w}" y="{y + 8}" width="{w:.1f}" height="10" rx="2" '
                       f'data-phase="{e(r.phase)}"><title>measured {e(format_duration(r.measured_s))} ({e(r.verdict)} the estimate)</title></rect>')
        text = f"{format_duration(r.measured_s)} of {r.estimate}" if r.measured_s is not None else f"not measured ({r.estimate})"
        out.append(f'<text x="{label_w + chart_w + 12}" y="{y + 17}" class="rbc-value">{e(text)}</text>')
    out.append(f'<text x="{label_w}" y="{height - 4}" class="rbc-axis">0</text>'
               f'<text x="{label_w + chart_w}" y="{height - 4}" class="rbc-axis" text-anchor="end">{e(format_duration(top))}</text></svg>')
    return "".join(out)


def table_html(headers: Sequence[str], rows: Sequence[Sequence[str]], css: str = "") -> str:
    """A table of cells that are already HTML (escape values with ``e``), in a ``div`` of
    class ``css``: Material styles (and scrolls) only tables without a class."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="{css}">{table}</div>' if css else table


def _status(status: str) -> str:
    return f"{ICONS.get(status, '')} {e(status)}"


def _or_dash(value: object) -> str:
    return "—" if value is None or value == "" else e(value)


def criteria_html(report: Report) -> str:
    rows = [[e(r.criterion), ", ".join(f"<code>{e(b)}</code>" for b in r.blocks), _status(r.status), _or_dash(r.when), _or_dash(r.actor),
             _or_dash(short_commit(r.commit)), _or_dash(r.environment)] for r in report.criteria]
    if not rows:
        rows = [["—", "no block declares a criterion", "—", "—", "—", "—", "—"]]
    return table_html(["Criterion", "Evidence", "Status", "When", "By", "Commit", "Environment"], rows, "rbc-criteria")


def timeline_html(report: Report) -> str:
    """The chart, then the same figures as a table."""
    rows = [[e(r.name), e(r.estimate), e(seconds(r.measured_s)), e(r.verdict)] for r in report.timeline]
    rows.append([f"<strong>{cell}</strong>" for cell in ("Total", e(report.total_estimate), e(seconds(report.total_measured_s)), e(report.total_verdict))])
    measured = (f"<p>Measured over attempt <code>{e(report.timeline_attempt)}</code> ({e(report.attempt.mode if report.attempt else '')}).</p>"
                if report.timeline_attempt else "")
    chart = f'<div class="rbc-timeline-chart">{timeline_svg(report)}</div>' if report.timeline else ""
    return chart + table_html(["Phase", "Estimate", "Measured", "Verdict"], rows, "rbc-timeline-table") + measured


def history_html(attempts: Sequence[Attempt], run_link: str | None, limit: int | None = None) -> str:
    """The newest attempts (``limit`` of them), one row each, linking to their details at
    ``run_link#attempt-ID`` when there is a page with them (``""``: this page)."""
    def link(a: Attempt) -> str:
        code = f"<code>{e(a.id)}</code>"
        return code if run_link is None else f'<a href="{e(run_link)}#attempt-{e(a.id)}">{code}</a>'

    shown = list(reversed(attempts[-limit:] if limit else attempts))
    rows = [[link(a), e(utc_text(a.finished_at)), e(a.environment), e(a.mode), _status(a.verdict), e(len(a.runs)), e(a.actor),
             f"<code>{e(short_commit(a.commit))}</code>" if a.commit else "—", e(format_duration(a.duration_s)),
             f'<a href="{e(a.ci_url)}">CI run</a>' if a.ci_url else "—"] for a in shown]
    if not rows:
        rows = [["—", "never run", "—", "—", "—", "—", "—", "—", "—", "—"]]
    return table_html(["Attempt", "When", "Environment", "Mode", "Verdict", "Runs", "By", "Commit", "Duration", "CI"], rows, "rbc-history")


def run_details(record: RunRecord) -> str:
    rows = [[f"<code>{e(b.id)}</code>", e(b.kind), _status(b.status), e(b.exit_code if b.exit_code is not None else "—"),
             e(format_duration(b.duration_s)), e(b.reason or "")] for b in record.blocks]
    outputs = "".join(
        f"<details><summary>Output of <code>{e(b.id)}</code> (redacted{', cut' if b.output_truncated else ''})</summary><pre><code>{e(b.output)}</code></pre></details>"
        for b in record.blocks if b.output
    )
    return (f'<details class="rbc-run" id="run-{e(record.run_id)}"><summary>Run <code>{e(record.run_id)}</code> — {_status(record.status)}, '
            f"{e(record.environment)}, {e(record.mode)}, {e(utc_text(record.finished_at))}</summary>"
            f"{table_html(['Block', 'Kind', 'Status', 'Exit', 'Duration', 'Note'], rows)}{outputs}</details>")


def attempt_details(a: Attempt) -> str:
    """An attempt that opens up into its runs, each opening up block by block."""
    ci = f', <a href="{e(a.ci_url)}">CI run</a>' if a.ci_url else ""
    return (f'<details class="rbc-attempt" id="attempt-{e(a.id)}"><summary>Attempt <code>{e(a.id)}</code> — {_status(a.verdict)}, {e(a.environment)}, '
            f"{e(a.mode)}, {len(a.runs)} run(s), {e(utc_text(a.finished_at))}{ci}</summary>{''.join(run_details(r) for r in a.runs)}</details>")


def verification_text(v: Verification | None) -> str:
    if v is None:
        return "⚪ no ledger yet"
    return f"✅ chain intact ({v.records} records)" if v.ok else f"❌ <code>{e(v.path.name)}:{v.bad_line}</code>: {e(v.problem)}"


CSS = """
.rbc-badge{font-size:.72rem;margin:.6em 0 -.4em;padding:.2em .6em;border-radius:.3em;border-left:.3em solid #9e9e9e;background:var(--md-code-bg-color,#f5f5f5)}
.rbc-badge.rbc-passed{border-left-color:#2e7d32}.rbc-badge.rbc-failed,.rbc-badge.rbc-timed-out,.rbc-badge.rbc-interrupted{border-left-color:#c62828}
.rbc-badge .rbc-status{text-transform:uppercase;letter-spacing:.03em}
.rbc-badge.rbc-stale,.rbc-badge.rbc-overdue{border-left-color:#ef6c00}.rbc-badge.rbc-never-run{border-left-color:#9e9e9e}
.rbc-evidence{font-size:.72rem;margin-top:-.4em}
.rbc-timeline{max-width:46rem;font:12px sans-serif}.rbc-timeline .rbc-label,.rbc-timeline .rbc-value,.rbc-timeline .rbc-axis{fill:currentColor}
.rbc-timeline .rbc-estimate{fill:#90caf9;opacity:.55}.rbc-timeline .rbc-measured{fill:#2e7d32}.rbc-timeline .rbc-over{fill:#c62828}.rbc-timeline .rbc-under{fill:#1565c0}
"""
