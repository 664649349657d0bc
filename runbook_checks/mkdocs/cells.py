"""The small pieces every rendered part of the site is made of (pure): escaping, table cells, status words and icons, attempt links.

How a status reads and which icon it has come from ``status.PRESENTATION``, the one place
they are written; everything here returns HTML text and runs nothing.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from ..evidence import utc_text
from ..ledger import Verification
from ..render import short_commit
from ..status import EvidenceStatus, Mode, presentation

#: how a badge or banner names the kind of run its evidence comes from (a migration needs no prefix)
MODE_LABELS = {Mode.REHEARSAL: "rehearsal", Mode.CHECK: "read-only check"}


def e(value: object) -> str:
    """``value`` as text, escaped for HTML text and attribute values (quotes too)."""
    return html.escape(str(value), quote=True)


def status_label(status: str, mode: str | None) -> str:
    """A badge's or banner's words: the status, prefixed by the kind of run (``mode``) unless it was a migration."""
    words = presentation(status).label
    return f"{MODE_LABELS[mode]} {words}" if mode in MODE_LABELS else words


def status_cell(status: str) -> str:
    """A table cell for a status: its icon and its recorded value (``"⏱️ timed-out"``)."""
    return f"{presentation(status).icon} {e(status)}"


def or_dash(value: object) -> str:
    """``value`` escaped, or ``—`` when it is ``None`` or empty."""
    return "—" if value is None or value == "" else e(value)


def when_cell(stamp: str | None) -> str:
    """An ISO timestamp as a ``<time>`` element in the site's one format (``evidence.utc_text``), or ``—``."""
    return f'<time datetime="{e(stamp)}">{e(utc_text(stamp))}</time>' if stamp else "—"


def commit_cell(commit: str | None) -> str:
    """A commit, shortened (``render.short_commit``), in a ``code`` element that never wraps; ``—`` when none was recorded."""
    return f'<code class="rbc-commit">{e(short_commit(commit))}</code>' if commit else "—"


def table_html(headers: Sequence[str], rows: Sequence[Sequence[str]], css: str = "") -> str:
    """A table of cells that are already HTML (escape values with ``e``), in a ``div`` of
    class ``css``: Material styles (and scrolls) only tables without a class."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="rbc-table {css}">{table}</div>' if css else table


def attempt_anchor(runbook_id: str, environment: str, attempt_id: str) -> str:
    """The id of an attempt's details on the audit page: unique across runbooks and
    environments (one attempt id may name attempts of several)."""
    return f"attempt-{runbook_id}-{environment}-{attempt_id}"


def attempt_link(runbook_id: str, environment: str, attempt_id: str, audit_link: str | None) -> str:
    """An attempt id as code, linking to its details at ``audit_link#attempt-…`` (``""``:
    this page; ``None``: the site has no audit page, so no link)."""
    code = f'<code class="rbc-id">{e(attempt_id)}</code>'
    return code if audit_link is None else f'<a href="{e(audit_link)}#{e(attempt_anchor(runbook_id, environment, attempt_id))}">{code}</a>'


def verification_text(v: Verification | None) -> str:
    """A ledger's verification in a line of HTML: no ledger yet, the chain intact with its
    record count, or ``file:N``: the problem at the first bad line."""
    if v is None:
        return f"{presentation(EvidenceStatus.NEVER_RUN).icon} no ledger yet"
    if v.ok:
        return f"{presentation(EvidenceStatus.PASSED).icon} chain intact ({v.records} records)"
    return f"{presentation(EvidenceStatus.FAILED).icon} <code>{e(v.path.name)}:{v.bad_line}</code>: {e(v.problem)}"
