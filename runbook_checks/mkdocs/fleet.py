"""The fleet page's HTML (pure): counts per verdict, the slowest targets, a label filter that needs no JavaScript, one table row per target.

The rows are ``fleet.view``'s (the same as ``report --fleet``). The filter is plain HTML
and CSS: per label, a radio button for each value (and "all"), hidden but for their
``<label>``s, and a CSS rule per value hiding the rows without it (``:checked ~``), so it
works with scripts off; the table is the site's compact table that fits the content
column (``css.py``), and scrolls inside it on a phone.
"""

from __future__ import annotations

import re

from ..fleet.text import HEADERS, counts_text, labels_text, pending_text
from ..fleet.view import Fleet, FleetRow
from ..render import seconds
from ..status import Mode
from .cells import e, or_dash, status_cell, when_cell


def _labels(fleet: Fleet) -> list[tuple[str, list[str]]]:
    """Each label key of the fleet's targets, with its values, both sorted."""
    values: dict[str, set[str]] = {}
    for row in fleet.rows:
        for k, v in row.labels.items():
            values.setdefault(k, set()).add(v)
    return [(k, sorted(values[k])) for k in sorted(values)]


def _cells(row: FleetRow) -> list[str]:
    """A target's table cells (HTML)."""
    verdict = status_cell(row.verdict) + (f" ({e(row.mode)})" if row.mode and row.mode != Mode.EXECUTE else "")
    if row.problem:
        verdict += ' <span class="rbc-fleet-problem">ledger fails verification</span>'
    names = " ".join(f'<code class="rbc-id rbc-pending">{e(n)}</code>' for n in row.pending_names)
    pending = f"{row.pending}: {names}" if names else e(pending_text(row))
    return [
        f'<code class="rbc-id">{e(row.target)}</code>',
        " ".join(f'<code class="rbc-id">{e(k)}={e(v)}</code>' for k, v in row.labels.items()) or e(labels_text(row)),
        verdict,
        when_cell(row.finished_at),
        e(seconds(row.duration_s)),
        f'<code class="rbc-id">{e(row.fingerprint)}</code>' if row.fingerprint else "—",
        or_dash(row.drift),
        pending,
        f'<a href="{e(row.ci_url)}">job</a>' if row.ci_url else "—",
    ]


def fleet_html(fleet: Fleet) -> str:
    """The ``fleet`` marker's HTML for ``fleet``: counts, slowest targets, the label filter and the table."""
    base = "rbc-fleet-" + re.sub(r"[^A-Za-z0-9_-]", "_", fleet.runbook_id)  # usable as is in CSS selectors
    labels = _labels(fleet)
    index = {k: (n, {v: m for m, v in enumerate(vs, start=1)}) for n, (k, vs) in enumerate(labels)}
    radios, filters, rules = [], [], []
    for n, (key, values) in enumerate(labels):
        group = f"{base}-{n}"
        radios.append(f'<input class="rbc-fleet-radio" type="radio" name="{e(group)}" id="{e(group)}-0" checked>')
        choices = [f'<label for="{e(group)}-0">all</label>']
        for m, value in enumerate(values, start=1):
            radios.append(f'<input class="rbc-fleet-radio" type="radio" name="{e(group)}" id="{e(group)}-{m}">')
            count = sum(r.labels.get(key) == value for r in fleet.rows)
            choices.append(f'<label for="{e(group)}-{m}">{e(value)} ({count})</label>')
            rules.append(f'#{group}-{m}:checked~.rbc-fleet-table tbody tr:not([data-f{n}="{m}"]){{display:none}}')
        filters.append(f"<p><strong>{e(key)}</strong>: {' '.join(choices)}</p>")
    selected = ",".join(
        f'#{base}-{n}-{m}:checked~.rbc-fleet-filters label[for="{base}-{n}-{m}"]'
        for n, (_, vs) in enumerate(labels)
        for m in range(len(vs) + 1)
    )
    if selected:
        rules.append(selected + "{font-weight:700;text-decoration:underline}")
    body = []
    for row in fleet.rows:  # each row carries its label values (``data-fN``), for the filter's rules
        attrs = "".join(f' data-f{index[k][0]}="{index[k][1][v]}"' for k, v in row.labels.items())
        body.append(f"<tr{attrs}>" + "".join(f"<td>{c}</td>" for c in _cells(row)) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in HEADERS)
    table = f'<div class="rbc-table rbc-fleet-table"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
    slowest = ", ".join(f'<code class="rbc-id">{e(r.target)}</code> {e(seconds(r.duration_s))}' for r in fleet.slowest)
    parts = [
        f'<div class="rbc-fleet" id="{e(base)}">',
        *radios,
        f'<p class="rbc-fleet-counts"><strong>{e(counts_text(fleet))}</strong></p>',
        f'<p class="rbc-fleet-slowest">Slowest: {slowest}</p>' if slowest else "",
        f'<div class="rbc-fleet-filters">{"".join(filters)}</div>' if filters else "",
        f"<style>{''.join(rules)}</style>" if rules else "",
        table,
        "</div>",
    ]
    return "".join(parts)
