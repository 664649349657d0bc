"""The fleet view as text: the Markdown ``report --fleet`` prints (JSON is ``Fleet.to_dict``)."""

from __future__ import annotations

from ..evidence import utc_text
from ..render import cell, seconds
from ..status import Mode, presentation
from .view import Fleet, FleetRow

#: the fleet table's columns, as Markdown and the site show them
HEADERS = ("Target", "Labels", "Verdict", "When", "Duration", "Migrations", "Drift check", "Pending", "CI job")


def pending_text(row: FleetRow) -> str:
    """A row's pending migrations in words: ``none``, ``2: a, b``, ``yes`` (number not recorded) or ``—``."""
    if row.pending is None:
        return "—"
    if row.pending == 0:
        return "none"
    if row.pending < 0:
        return "yes"
    return f"{row.pending}: {', '.join(row.pending_names)}" if row.pending_names else str(row.pending)


def labels_text(row: FleetRow) -> str:
    """A row's labels as ``key=value`` words (``—``: none)."""
    return " ".join(f"{k}={v}" for k, v in row.labels.items()) or "—"


def counts_text(fleet: Fleet) -> str:
    """``12 targets: 10 passed, 1 failed, 1 never-run`` (each verdict with its icon)."""
    parts = ", ".join(f"{presentation(v).icon} {n} {v}" for v, n in fleet.counts)
    return f"{len(fleet.rows)} target(s){': ' + parts if parts else ''}"


def fleet_markdown(fleet: Fleet) -> str:
    """The ``report --fleet`` Markdown: title, counts, the slowest targets, one table row per target."""
    out = [f"# {fleet.title}: fleet ({fleet.environment})", "", f"**{counts_text(fleet)}**", ""]
    if fleet.slowest:
        out.append("Slowest: " + ", ".join(f"`{r.target}` {seconds(r.duration_s)}" for r in fleet.slowest))
        out.append("")
    out.append("| " + " | ".join(HEADERS) + " |")
    out.append("|" + "---|" * len(HEADERS))
    for r in fleet.rows:
        verdict = f"{presentation(r.verdict).icon} {r.verdict}" + (f" ({r.mode})" if r.mode and r.mode != Mode.EXECUTE else "")
        cells = [
            f"`{r.target}`",
            cell(labels_text(r)),
            cell(verdict + (" — ledger fails verification" if r.problem else "")),
            cell(utc_text(r.finished_at)),
            seconds(r.duration_s),
            f"`{r.fingerprint}`" if r.fingerprint else "—",
            cell(r.drift),
            cell(pending_text(r)),
            f"[job]({r.ci_url})" if r.ci_url else "—",
        ]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"
