"""The state of runbooks in HTML (pure): a block's badge and evidence, a page's status banner with its gate, and the home page's list of runbooks.

What the state is comes from the evidence policy (``evidence``, through ``report``) and the
gate (``gates.requirement_problems``); this module only words and marks it up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..evidence import Evidence, overdue, utc_text
from ..model import Requirement
from ..render import short_commit
from ..report import Report
from ..status import EvidenceStatus
from ..units import format_duration
from .cells import attempt_link, e, status_label, table_html

#: how the home page marks a ``requires`` gate; a gate is not a recorded status, so it has no
#: row in ``status.PRESENTATION``
GATE_OPEN_ICON = "✅"
GATE_CLOSED_ICON = "⛔"

#: what a site build cannot check of the ``requires`` gate (it has no secrets)
GATE_NOTE = (
    "Checked from the ledgers when this site was built. Whether the required pass ran against another database than "
    "this runbook's target is checked at run time, when the secrets are set."
)


def badge_status(ev: Evidence, max_age_s: float, now: datetime | None = None) -> str:
    """The evidence's status, or ``overdue`` when it is a pass older than ``max_age_s``
    seconds at ``now`` (default: the current time)."""
    return EvidenceStatus.OVERDUE if ev.status == EvidenceStatus.PASSED and overdue(ev.when, max_age_s, now) else ev.status


def badge_html(ev: Evidence, status: str, evidence_anchor: str | None, titles: dict[str, str] | None = None) -> str:
    """The badge above a tagged block: ``status`` in words (prefixed by the kind of run
    unless a migration), when, by whom, the commit, the duration and environment of the run,
    a link to the evidence at ``#evidence_anchor`` and, unless the result is stale, links to
    the troubleshooting entries it matched (``titles``: entry id -> its heading)."""
    words = status_label(status, ev.mode if ev.when else None)
    parts = [f'<strong class="rbc-status">{e(words)}</strong>']
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
    for entry_id in ev.troubleshooting if status != EvidenceStatus.STALE else ():
        parts.append(f'<a class="rbc-troubleshoot" href="#{e(entry_id)}">troubleshooting: {e((titles or {}).get(entry_id, entry_id))}</a>')
    mode = f" rbc-mode-{e(ev.mode)}" if ev.mode else ""
    return (
        f'<div class="rbc-badge rbc-{e(status)}{mode}" data-block="{e(ev.block_id)}" data-status="{e(status)}" data-mode="{e(ev.mode or "")}">'
        + " · ".join(parts)
        + "</div>"
    )


def evidence_html(ev: Evidence, anchor: str) -> str:
    """The evidence below a tagged block, with id ``anchor``: exit code, run id and
    environment, opening up to the redacted output; empty when the block never ran."""
    if not ev.when:
        return ""
    return (
        f'<details class="rbc-evidence" id="{e(anchor)}"><summary>Evidence: exit code {e(ev.exit_code)}, run <code>{e(ev.run_id)}</code> '
        f"({e(ev.environment)})</summary><pre><code>{e(ev.output or '(no output)')}</code></pre></details>"
    )


def _requirement(req: Requirement, pages: dict[str, str]) -> str:
    """``runbook 'x' (staging)``, linked to its page when the site has it."""
    name = f"runbook <code>{e(req.runbook)}</code>" + (f" ({e(req.environment)})" if req.environment else "")
    return f'<a href="{e(pages[req.runbook])}">{name}</a>' if req.runbook in pages else name


def gate_html(requires: Sequence[Requirement], problems: Sequence[str], pages: dict[str, str]) -> str:
    """Whether ``--execute`` would pass the ``requires`` gate: open, or closed and why
    (``problems`` from ``gates.requirement_problems``, one sentence per unmet requirement;
    ``pages``: runbook id -> its page's link)."""
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
            f"attempt {attempt_link(report.runbook_id, a.environment, a.id, audit_link)}" + (f" ({a.runs} runs)" if a.runs != 1 else "")
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
                f'<div class="rbc-gate-closed" data-gate="closed"><strong>{GATE_CLOSED_ICON} closed</strong>'
                + "".join(f"<p>This runbook {e(p)}</p>" for p in problems)
                + "</div>"
            )
        else:
            gate = (
                f'<span class="rbc-gate-open" data-gate="open">{GATE_OPEN_ICON} open: '
                + "; ".join(_requirement(r, pages) for r in requires)
                + " passed</span>"
            )
        cells.append(
            [
                f'<a href="{e(link)}">{e(title)}</a>',
                e(report.environment),
                state,
                gate,
                attempt_link(report.runbook_id, a.environment, a.id, audit_link) if a else "—",
            ]
        )
    if not cells:
        cells = [["—", "—", "no runbook pages on this site", "—", "—"]]
    return table_html(["Runbook", "Environment", "State", "Gate", "Latest attempt"], cells, "rbc-runbooks")
