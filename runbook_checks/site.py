"""HTML for the published site (pure): badges, evidence, the timeline chart, history and
audit tables. The MkDocs plugin (``plugin.py``) places them; nothing here runs anything.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

from .evidence import INCOMPLETE, NEVER_RUN, OVERDUE, Attempt, Evidence, overdue, utc_text
from .ledger import Verification
from .model import MODE_CHECK, MODE_REHEARSAL, Requirement, RunRecord
from .render import ICONS, seconds, short_commit
from .report import Report
from .units import format_duration

LABELS = {
    "passed": "passed",
    "failed": "failed",
    "timed-out": "timed out",
    "interrupted": "interrupted",
    "stale": "stale",
    NEVER_RUN: "never run",
    OVERDUE: "overdue",
    INCOMPLETE: "incomplete",
}
#: how a badge names the kind of run its evidence comes from (a migration needs no prefix)
MODE_LABELS = {MODE_REHEARSAL: "rehearsal", MODE_CHECK: "read-only check"}


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


def badge_status(ev: Evidence, max_age_s: float, now: datetime | None = None) -> str:
    """The evidence's status, or ``overdue`` when a pass is older than ``max_age_s``."""
    return OVERDUE if ev.status == "passed" and overdue(ev.when, max_age_s, now) else ev.status


def status_label(status: str, mode: str | None) -> str:
    """A badge's words: the status, prefixed by the kind of run unless it was a migration."""
    label = LABELS.get(status, status)
    return f"{MODE_LABELS[mode]} {label}" if mode in MODE_LABELS else label


def badge_html(ev: Evidence, status: str, evidence_anchor: str | None, titles: dict[str, str] | None = None) -> str:
    label = status_label(status, ev.mode if ev.when else None)
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
    return (
        f'<div class="rbc-badge rbc-{e(status)}{mode}" data-block="{e(ev.block_id)}" data-status="{e(status)}" data-mode="{e(ev.mode or "")}">'
        + " · ".join(parts)
        + "</div>"
    )


def evidence_html(ev: Evidence, anchor: str) -> str:
    if not ev.when:
        return ""
    return (
        f'<details class="rbc-evidence" id="{e(anchor)}"><summary>Evidence: exit code {e(ev.exit_code)}, run <code>{e(ev.run_id)}</code> '
        f"({e(ev.environment)})</summary><pre><code>{e(ev.output or '(no output)')}</code></pre></details>"
    )


def timeline_svg(report: Report) -> str:
    """Measured phase durations against their estimate ranges, as an inline SVG chart.

    Each phase is a line of text (name, measured of estimated) over its bar, so the chart
    is narrow enough to scale down to a phone and keep its text legible."""
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


#: the timeline chart's legend: (css class of the swatch, what it means)
LEGEND = (
    ("rbc-estimate", "estimate range"),
    ("rbc-within", "measured, within the estimate"),
    ("rbc-over", "measured, over it"),
    ("rbc-under", "measured, under it"),
)


def timeline_legend() -> str:
    items = "".join(f'<li><span class="rbc-swatch {css}" aria-hidden="true"></span>{e(text)}</li>' for css, text in LEGEND)
    return f'<ul class="rbc-legend" aria-label="Legend">{items}</ul>'


def table_html(headers: Sequence[str], rows: Sequence[Sequence[str]], css: str = "") -> str:
    """A table of cells that are already HTML (escape values with ``e``), in a ``div`` of
    class ``css``: Material styles (and scrolls) only tables without a class."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="rbc-table {css}">{table}</div>' if css else table


def _status(status: str) -> str:
    return f"{ICONS.get(status, '')} {e(status)}"


def _or_dash(value: object) -> str:
    return "—" if value is None or value == "" else e(value)


def _when(stamp: str | None) -> str:
    return f'<time datetime="{e(stamp)}">{e(utc_text(stamp))}</time>' if stamp else "—"


def criteria_html(report: Report) -> str:
    rows = [
        [
            e(r.criterion),
            ", ".join(f"<code>{e(b)}</code>" for b in r.blocks),
            _status(r.status),
            _when(r.when),
            _or_dash(r.actor),
            f'<code class="rbc-commit">{e(short_commit(r.commit))}</code>' if r.commit else "—",
            _or_dash(r.environment),
        ]
        for r in report.criteria
    ]
    if not rows:
        rows = [["—", "no block declares a criterion", "—", "—", "—", "—", "—"]]
    return table_html(["Criterion", "Evidence", "Status", "When", "By", "Commit", "Environment"], rows, "rbc-criteria")


def timeline_html(report: Report) -> str:
    """The chart, then the same figures as a table."""
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


def attempt_anchor(runbook_id: str, environment: str, attempt_id: str) -> str:
    """The id of an attempt's details on the audit page: unique across runbooks and
    environments (one attempt id may name attempts of several)."""
    return f"attempt-{runbook_id}-{environment}-{attempt_id}"


def history_html(attempts: Sequence[Attempt], run_link: str | None, limit: int | None = None) -> str:
    """The newest attempts (``limit`` of them), one row each, linking to their details at
    ``run_link#attempt-…`` (``attempt_anchor``) when there is a page with them (``""``: this page)."""

    def link(a: Attempt) -> str:
        return _attempt_link(a.first.runbook_id, a.environment, a.id, run_link)

    shown = list(reversed(attempts[-limit:] if limit else attempts))
    rows = [
        [
            link(a),
            e(utc_text(a.finished_at)),
            e(a.environment),
            e(a.mode),
            _status(a.verdict),
            e(len(a.runs)),
            e(a.actor),
            f'<code class="rbc-commit">{e(short_commit(a.commit))}</code>' if a.commit else "—",
            e(format_duration(a.duration_s)),
            f'<a href="{e(a.ci_url)}">CI run</a>' if a.ci_url else "—",
        ]
        for a in shown
    ]
    if not rows:
        rows = [["—", "never run", "—", "—", "—", "—", "—", "—", "—", "—"]]
    return table_html(["Attempt", "When", "Environment", "Mode", "Verdict", "Runs", "By", "Commit", "Duration", "CI"], rows, "rbc-history")


def run_details(record: RunRecord) -> str:
    rows = [
        [
            f"<code>{e(b.id)}</code>",
            e(b.kind),
            _status(b.status),
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
        f'<details class="rbc-run" id="run-{e(record.run_id)}"><summary>Run <code>{e(record.run_id)}</code> — {_status(record.status)}, '
        f"{e(record.environment)}, {e(record.mode)}, {e(utc_text(record.finished_at))}</summary>"
        f"{table_html(['Block', 'Kind', 'Status', 'Exit', 'Duration', 'Note'], rows, 'rbc-run-blocks')}{outputs}</details>"
    )


def attempt_details(a: Attempt) -> str:
    """An attempt that opens up into its runs, each opening up block by block."""
    ci = f', <a href="{e(a.ci_url)}">CI run</a>' if a.ci_url else ""
    return (
        f'<details class="rbc-attempt" id="{e(attempt_anchor(a.first.runbook_id, a.environment, a.id))}"><summary>Attempt <code>{e(a.id)}</code> — {_status(a.verdict)}, {e(a.environment)}, '
        f"{e(a.mode)}, {len(a.runs)} run(s), {e(utc_text(a.finished_at))}{ci}</summary>{''.join(run_details(r) for r in a.runs)}</details>"
    )


def _attempt_link(runbook_id: str, environment: str, attempt_id: str, audit_link: str | None) -> str:
    code = f'<code class="rbc-id">{e(attempt_id)}</code>'
    return code if audit_link is None else f'<a href="{e(audit_link)}#{e(attempt_anchor(runbook_id, environment, attempt_id))}">{code}</a>'


def _requirement(req: Requirement, pages: dict[str, str]) -> str:
    """``runbook 'x' (staging)``, linked to its page when the site has it."""
    name = f"runbook <code>{e(req.runbook)}</code>" + (f" ({e(req.environment)})" if req.environment else "")
    return f'<a href="{e(pages[req.runbook])}">{name}</a>' if req.runbook in pages else name


#: what a site build cannot check of the ``requires`` gate (it has no secrets)
GATE_NOTE = (
    "Checked from the ledgers when this site was built. Whether the required pass ran against another database than "
    "this runbook's target is checked at run time, when the secrets are set."
)


def gate_html(requires: Sequence[Requirement], problems: Sequence[str], pages: dict[str, str]) -> str:
    """Whether ``--execute`` would pass the ``requires`` gate: open, or closed and why
    (``problems`` from ``gates.requirement_problems``, one sentence per unmet requirement)."""
    if problems:
        reasons = "".join(f"<li>This runbook {e(p)}</li>" for p in problems)
        return (
            f'<div class="rbc-gate rbc-gate-closed" data-gate="closed"><p><strong>Gate closed:</strong> <code>--execute</code> is refused.</p>'
            f'<ul>{reasons}</ul><p class="rbc-gate-note">{e(GATE_NOTE)}</p></div>'
        )
    needs = "; ".join(
        _requirement(r, pages) + (f" for the current {', '.join(f'<code>{e(p)}</code>' for p in r.same)}" if r.same else "")
        for r in requires
    )
    return (
        f'<div class="rbc-gate rbc-gate-open" data-gate="open"><p><strong>Gate open:</strong> the ledger holds the passing migration this '
        f'runbook requires: {needs}.</p><p class="rbc-gate-note">{e(GATE_NOTE)}</p></div>'
    )


def banner_html(
    report: Report,
    audit_link: str | None,
    requires: Sequence[Requirement] = (),
    problems: Sequence[str] | None = None,
    pages: dict[str, str] | None = None,
) -> str:
    """The status banner at the top of a runbook page: the state of its environment as
    ``evidence.headline`` words it, the attempt shown (commit, duration, CI run) and, for a
    runbook with ``requires``, whether its gate is open (``problems is None``: not asked)."""
    a = report.attempt
    mode = a.mode if a else ""
    facts = []
    if a is not None:
        # when and by whom are in the headline
        facts.append(
            f"attempt {_attempt_link(report.runbook_id, a.environment, a.id, audit_link)}" + (f" ({a.runs} runs)" if a.runs != 1 else "")
        )
        facts.append(f'commit <code class="rbc-commit">{e(short_commit(a.commit))}</code>' if a.commit else "no commit recorded")
        facts.append(f"took {e(format_duration(a.duration_s))}")
        if a.ci_url:
            facts.append(f'<a class="rbc-ci" href="{e(a.ci_url)}">CI run</a>')
    body = (
        f'<p class="rbc-banner-state"><strong class="rbc-status">{e(status_label(report.verdict, mode or None))}</strong> '
        f'<span class="rbc-headline">{e(report.headline)}</span></p>'
    )
    if facts:
        body += f'<p class="rbc-banner-facts">{" · ".join(facts)}</p>'
    if requires and problems is not None:
        body += gate_html(requires, problems, pages or {})
    mode_class = f" rbc-mode-{e(mode)}" if mode else ""
    return (
        f'<div class="rbc-banner rbc-{e(report.verdict)}{mode_class}" role="status" data-verdict="{e(report.verdict)}" '
        f'data-mode="{e(mode)}" data-runbook="{e(report.runbook_id)}">{body}</div>'
    )


def runbooks_html(
    rows: Sequence[tuple[str, str, Report, Sequence[Requirement], Sequence[str] | None]], audit_link: str | None, pages: dict[str, str]
) -> str:
    """The home page's list of runbooks: each (title, link, report, requires, gate problems)
    with its banner line, its gate and its latest attempt's evidence on the audit page."""
    cells = []
    for title, link, report, requires, problems in rows:
        a = report.attempt
        mode = f" rbc-mode-{e(a.mode)}" if a else ""
        state = (
            f'<span class="rbc-state rbc-{e(report.verdict)}{mode}" data-verdict="{e(report.verdict)}" data-mode="{e(a.mode if a else "")}">'
            f"{e(report.headline)}</span>"
        )
        if not requires or problems is None:
            gate = "—"
        elif problems:
            gate = (
                '<div class="rbc-gate-closed" data-gate="closed"><strong>⛔ closed</strong>'
                + "".join(f"<p>This runbook {e(p)}</p>" for p in problems)
                + "</div>"
            )
        else:
            gate = (
                '<span class="rbc-gate-open" data-gate="open">✅ open: '
                + "; ".join(_requirement(r, pages) for r in requires)
                + " passed</span>"
            )
        cells.append(
            [
                f'<a href="{e(link)}">{e(title)}</a>',
                e(report.environment),
                state,
                gate,
                _attempt_link(report.runbook_id, a.environment, a.id, audit_link) if a else "—",
            ]
        )
    if not cells:
        cells = [["—", "—", "no runbook pages on this site", "—", "—"]]
    return table_html(["Runbook", "Environment", "State", "Gate", "Latest attempt"], cells, "rbc-runbooks")


def verification_text(v: Verification | None) -> str:
    if v is None:
        return "⚪ no ledger yet"
    return f"✅ chain intact ({v.records} records)" if v.ok else f"❌ <code>{e(v.path.name)}:{v.bad_line}</code>: {e(v.problem)}"


CSS = """
/* verdict colours: a border colour and a faint background; a pass of a rehearsal or of
   read-only checks is never green: dashed, blue (rehearsal) or blue-grey (checks) */
.rbc-badge,.rbc-banner,.rbc-state{--rbc-c:#9e9e9e;--rbc-bg:var(--md-code-bg-color,#f5f5f5);border-left:.3em solid var(--rbc-c);background:var(--rbc-bg)}
.rbc-passed{--rbc-c:#2e7d32;--rbc-bg:rgba(46,125,50,.09)}
.rbc-failed,.rbc-timed-out,.rbc-interrupted{--rbc-c:#c62828;--rbc-bg:rgba(198,40,40,.08)}
.rbc-stale,.rbc-overdue,.rbc-incomplete{--rbc-c:#ef6c00;--rbc-bg:rgba(239,108,0,.09)}
.rbc-never-run{--rbc-c:#9e9e9e}.rbc-banner.rbc-never-run .rbc-status{color:inherit}
.rbc-badge.rbc-mode-rehearsal,.rbc-banner.rbc-mode-rehearsal,.rbc-state.rbc-mode-rehearsal,
.rbc-badge.rbc-mode-check,.rbc-banner.rbc-mode-check,.rbc-state.rbc-mode-check{border:.1em dashed var(--rbc-c);border-left:.3em dashed var(--rbc-c)}
.rbc-passed.rbc-mode-rehearsal{--rbc-c:#1565c0;--rbc-bg:rgba(21,101,192,.09)}
.rbc-passed.rbc-mode-check{--rbc-c:#607d8b;--rbc-bg:rgba(96,125,139,.13)}
.rbc-badge{font-size:.72rem;margin:.6em 0 -.4em;padding:.2em .6em;border-radius:.3em;overflow-wrap:anywhere}
.rbc-badge .rbc-status,.rbc-banner .rbc-status{text-transform:uppercase;letter-spacing:.03em}
.rbc-evidence{font-size:.72rem;margin-top:-.4em}
/* the status banner at the top of a runbook page */
.md-typeset .rbc-banner{font-size:.74rem;margin:0 0 1.5em;padding:.5em .9em;border-radius:.3em;overflow-wrap:anywhere}
.md-typeset .rbc-banner p,.md-typeset .rbc-banner ul{margin:.3em 0}
.rbc-banner .rbc-status{color:var(--rbc-c);margin-right:.3em}.rbc-banner .rbc-headline{font-weight:600}
.rbc-banner .rbc-banner-facts{color:var(--md-default-fg-color--light,#666)}
.md-typeset .rbc-gate{border-top:.05rem solid var(--md-default-fg-color--lightest,#ddd);margin-top:.5em;padding-top:.2em}
.rbc-gate-closed strong{color:#c62828}.rbc-gate-open strong{color:#2e7d32}.rbc-gate-note{font-size:.9em;color:var(--md-default-fg-color--light,#666)}
.rbc-state{display:inline-block;padding:.1em .4em;border-radius:.2em}
/* tables fit the content column: compact cells, long codes and links may break; when a
   table still cannot fit (a phone), Material's wrapper scrolls it inside the column */
.md-typeset .rbc-table table:not([class]){font-size:.62rem}
.md-typeset .rbc-table table:not([class]) th,.md-typeset .rbc-table table:not([class]) td{padding:.5em .7em;min-width:0}
.md-typeset .rbc-table td code{word-break:normal}.md-typeset .rbc-table td code.rbc-id{overflow-wrap:anywhere}
.md-typeset .rbc-audit td code{word-break:break-all}
.md-typeset .rbc-table td code.rbc-commit{overflow-wrap:normal;word-break:normal;white-space:nowrap}
.md-typeset .rbc-runbooks td{min-width:6em}.md-typeset .rbc-runbooks td:nth-child(4){min-width:14em}
.md-typeset .rbc-runbooks .rbc-gate-closed p{margin:.3em 0 0;font-size:.95em}
/* the timeline chart: text over bars, so it scales down to a phone legibly */
.rbc-timeline-chart{max-width:24rem;margin:1em 0}
.rbc-timeline{display:block;width:100%;height:auto;font:12px sans-serif}.rbc-timeline .rbc-label,.rbc-timeline .rbc-value,.rbc-timeline .rbc-axis{fill:currentColor}
@media screen and (max-width:44.9375em){.rbc-timeline{font-size:14px}}
.rbc-timeline .rbc-label{font-weight:600}.rbc-timeline .rbc-axis{opacity:.7}
.rbc-timeline .rbc-track{fill:currentColor;opacity:.06}
.rbc-timeline .rbc-estimate,.rbc-legend .rbc-estimate{fill:#90caf9;background:#90caf9;opacity:.7}
.rbc-timeline .rbc-within,.rbc-legend .rbc-within{fill:#2e7d32;background:#2e7d32}
.rbc-timeline .rbc-over,.rbc-legend .rbc-over{fill:#c62828;background:#c62828}
.rbc-timeline .rbc-under,.rbc-legend .rbc-under{fill:#6a1b9a;background:#6a1b9a}
.md-typeset ul.rbc-legend{list-style:none;margin:.4em 0 0;padding:0;display:flex;flex-wrap:wrap;gap:.2em 1em;font-size:.64rem}
.md-typeset ul.rbc-legend li{margin:0;display:flex;align-items:center;gap:.4em}
.rbc-swatch{display:inline-block;width:1.4em;height:.6em;border-radius:.15em}.rbc-swatch.rbc-estimate{height:1em}
"""
