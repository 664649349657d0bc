"""HTML for the published site (pure): badges, evidence, the timeline chart, history and
audit tables. The MkDocs plugin (``plugin.py``) places them; nothing here runs anything.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime, timezone

from .ledger import Verification
from .model import RunRecord
from .parse import format_duration
from .render import ICONS
from .report import NEVER_RUN, Evidence, Report

OVERDUE = "overdue"
LABELS = {"passed": "passed", "failed": "failed", "timed-out": "timed out", "interrupted": "interrupted", "stale": "stale", NEVER_RUN: "never run", OVERDUE: "overdue"}


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


def parse_time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def badge_status(ev: Evidence, max_age_s: float, now: datetime | None = None) -> str:
    """The evidence's status, or ``overdue`` when a pass is older than ``max_age_s``."""
    if ev.status == "passed" and ev.when:
        age = ((now or datetime.now(timezone.utc)) - parse_time(ev.when)).total_seconds()
        if age > max_age_s:
            return OVERDUE
    return ev.status


def badge_html(ev: Evidence, status: str, evidence_anchor: str | None, titles: dict[str, str] | None = None) -> str:
    parts = [f'<strong class="rbc-status">{e(LABELS.get(status, status))}</strong>']
    if ev.when:
        parts.append(f'<time datetime="{e(ev.when)}">{e(ev.when[:16].replace("T", " "))} UTC</time>')
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
    return f'<div class="rbc-badge rbc-{e(status)}" data-block="{e(ev.block_id)}" data-status="{e(status)}">' + " · ".join(parts) + "</div>"


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


def history_rows(records: Sequence[RunRecord], run_link: str | None, limit: int | None = None) -> str:
    lines = ["| Run | When (UTC) | Environment | Mode | Status | By | Commit | Duration |", "|---|---|---|---|---|---|---|---|"]
    shown = list(reversed(records[-limit:] if limit else records))
    for r in shown:
        run = f"[`{r.run_id}`]({run_link}#run-{r.run_id})" if run_link else f"`{r.run_id}`"
        commit = f"`{(r.git or {}).get('commit', '')[:12]}`" if r.git else "—"
        lines.append(f"| {run} | {r.finished_at[:19].replace('T', ' ')} | {r.environment} | {r.mode} | {ICONS.get(r.status, '')} {r.status} | {e(r.actor)} | {commit} | {format_duration(r.duration_s)} |")
    if not records:
        lines.append("| — | never run | — | — | — | — | — | — |")
    return "\n".join(lines)


def history_html(records: Sequence[RunRecord]) -> str:
    """Runs as HTML table rows, each linking to its details on the same page."""
    if not records:
        return "<p>never run</p>"
    rows = []
    for r in reversed(records):
        run = f'<a href="#run-{e(r.run_id)}"><code>{e(r.run_id)}</code></a>'
        commit = e((r.git or {}).get("commit", "")[:12])
        rows.append(f"<tr><td>{run}</td><td>{e(r.finished_at[:19].replace('T', ' '))}</td><td>{e(r.environment)}</td><td>{e(r.mode)}</td>"
                    f"<td>{ICONS.get(r.status, '')} {e(r.status)}</td><td>{e(r.actor)}</td><td><code>{commit}</code></td>"
                    f"<td>{e(format_duration(r.duration_s))}</td></tr>")
    return ("<table><thead><tr><th>Run</th><th>When (UTC)</th><th>Environment</th><th>Mode</th><th>Status</th><th>By</th><th>Commit</th>"
            f"<th>Duration</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def run_details(record: RunRecord) -> str:
    rows = "".join(
        f"<tr><td><code>{e(b.id)}</code></td><td>{e(b.kind)}</td><td>{ICONS.get(b.status, '')} {e(b.status)}</td><td>{e(b.exit_code if b.exit_code is not None else '—')}</td>"
        f"<td>{e(format_duration(b.duration_s))}</td><td>{e(b.reason or '')}</td></tr>"
        for b in record.blocks
    )
    outputs = "".join(
        f"<details><summary>Output of <code>{e(b.id)}</code> (redacted{', cut' if b.output_truncated else ''})</summary><pre><code>{e(b.output)}</code></pre></details>"
        for b in record.blocks if b.output
    )
    return (f'<details class="rbc-run" id="run-{e(record.run_id)}"><summary>Run <code>{e(record.run_id)}</code> — {ICONS.get(record.status, "")} '
            f"{e(record.status)}, {e(record.environment)}, {e(record.finished_at)}</summary>"
            f"<table><thead><tr><th>Block</th><th>Kind</th><th>Status</th><th>Exit</th><th>Duration</th><th>Note</th></tr></thead><tbody>{rows}</tbody></table>"
            f"{outputs}</details>")


def verification_text(v: Verification | None) -> str:
    if v is None:
        return "⚪ no ledger yet"
    return f"✅ chain intact ({v.records} records)" if v.ok else f"❌ `{v.path.name}:{v.bad_line}`: {e(v.problem)}"


CSS = """
.rbc-badge{font-size:.72rem;margin:.6em 0 -.4em;padding:.2em .6em;border-radius:.3em;border-left:.3em solid #9e9e9e;background:var(--md-code-bg-color,#f5f5f5)}
.rbc-badge.rbc-passed{border-left-color:#2e7d32}.rbc-badge.rbc-failed,.rbc-badge.rbc-timed-out,.rbc-badge.rbc-interrupted{border-left-color:#c62828}
.rbc-badge .rbc-status{text-transform:uppercase;letter-spacing:.03em}
.rbc-badge.rbc-stale,.rbc-badge.rbc-overdue{border-left-color:#ef6c00}.rbc-badge.rbc-never-run{border-left-color:#9e9e9e}
.rbc-evidence{font-size:.72rem;margin-top:-.4em}
.rbc-timeline{max-width:46rem;font:12px sans-serif}.rbc-timeline .rbc-label,.rbc-timeline .rbc-value,.rbc-timeline .rbc-axis{fill:currentColor}
.rbc-timeline .rbc-estimate{fill:#90caf9;opacity:.55}.rbc-timeline .rbc-measured{fill:#2e7d32}.rbc-timeline .rbc-over{fill:#c62828}.rbc-timeline .rbc-under{fill:#1565c0}
"""
