"""The ``runbook-checks`` MkDocs plugin: runbook pages show what the ledger recorded.

Marker comments in a page are replaced at build time:

- ``<!-- runbook-checks: success-criteria -->``, ``timeline``, ``history`` (runbook pages);
- ``<!-- runbook-checks: comparison A.md B.md -->`` (paths relative to the page);
- ``<!-- runbook-checks: audit -->`` (every runbook, its ledger verification, its runs).

Every tagged block gets a status badge (passed, failed, stale, never run, overdue)
linking to its evidence. The build executes nothing: it reads ledgers and runbooks.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime, timezone
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin

from .ledger import LazyRecords, Verification, ledger_path, verify_ledger
from .model import Runbook, RunRecord
from .parse import front_matter_end, is_runbook, parse_duration, parse_runbook, read_lines
from .render import comparison_markdown, criteria_markdown, timeline_markdown
from .report import build_report, comparison
from .site import CSS, badge_html, e, badge_status, evidence_html, history_html, history_rows, run_details, timeline_svg, verification_text

MARKER_RE = re.compile(r"^[ \t]*<!--\s*runbook-checks\s*:?\s*(?P<name>[\w-]*)(?P<args>.*?)-->[ \t]*$")
NEAR_MARKER_RE = re.compile(r"^[ \t]*<!--\s*runbook[\s_-]*checks?\s*:", re.I)
FENCE_RE = re.compile(r"^[ \t>]*(`{3,}|~{3,})")
RUNBOOK_MARKERS = ("success-criteria", "timeline", "history")
MARKERS = (*RUNBOOK_MARKERS, "comparison", "audit")


class RunbookChecksConfig(Config):
    enabled = c.Type(bool, default=True)
    """Turn the plugin off without removing it from ``mkdocs.yml``."""
    results_dir = c.Type(str, default="runbook-results")
    """Directory of the ledgers (``<id>.jsonl``), relative to ``mkdocs.yml``."""
    max_age = c.Type(str, default="7 days")
    """How old a passing result may be before its badge says ``overdue``."""
    strict = c.Type(bool, default=True)
    """Fail the build when a ledger fails verification (it is reported on the audit page either way)."""
    audit_page = c.Type(str, default="audit.md")
    """The page holding ``<!-- runbook-checks: audit -->``; history rows link to its run details."""
    history_limit = c.Type(int, default=10)
    """How many runs the ``history`` marker shows."""
    prefer_environment = c.Type(bool, default=True)
    """Badges and tables use only runs of the runbook's own environment when there are any
    (rehearsals then never stand in for, or hide, real runs)."""
    audit_runs = c.Type(int, default=10)
    """How many of each runbook's latest runs the audit page lists, each opening up block
    by block; the whole ledger is published beside the site for every run."""


class RunbookChecksPlugin(BasePlugin[RunbookChecksConfig]):
    def on_config(self, config: Any) -> Any:
        if not self.config.enabled:
            return config
        self.results = Path(config.config_file_path).parent / self.config.results_dir
        rng = parse_duration(self.config.max_age)
        if rng is None:
            raise PluginError(f"runbook-checks: max_age {self.config.max_age!r} is not a duration (e.g. '7 days', '12 h')")
        self.max_age_s = rng[0]
        self.now = datetime.now(timezone.utc)
        # state for this build only
        self.runbooks: dict[str, Runbook] = {}
        self.ledgers: dict[str, tuple[Sequence[RunRecord], Verification | None]] = {}
        self.deferred: dict[str, list[str]] = {}
        self.published: dict[str, Path] = {}
        self.docs_dir = Path(config.docs_dir)
        return config

    def on_files(self, files: Any, config: Any) -> Any:
        if not self.config.enabled:
            return files
        for f in files.documentation_pages():
            path = Path(f.abs_src_path)
            if is_runbook(path):
                runbook, problems = parse_runbook(path, f"{config.docs_dir}/{f.src_uri}")
                if problems or runbook is None:
                    raise PluginError("runbook-checks: invalid runbook:\n" + "\n".join(str(p) for p in problems))
                self.runbooks[f.src_uri] = runbook
        return files

    # -- ledgers ----------------------------------------------------------------------
    def ledger(self, runbook: Runbook) -> tuple[Sequence[RunRecord], Verification | None]:
        if runbook.id not in self.ledgers:
            path = ledger_path(self.results, runbook.id)
            if path.exists() and not path.is_file():
                raise PluginError(f"runbook-checks: {path} is not a ledger file")
            if not path.exists():
                self.ledgers[runbook.id] = ([], None)
            else:
                records = LazyRecords()  # only records before the first bad line: nothing after it is trusted
                verification = verify_ledger(path, validate_schema=False, records=records)
                if not verification.ok and self.config.strict:
                    raise PluginError(f"runbook-checks: ledger failed verification: {path}:{verification.bad_line}: {verification.problem}")
                self.ledgers[runbook.id] = (records, verification)
        return self.ledgers[runbook.id]

    def evidence_records(self, runbook: Runbook) -> Sequence[RunRecord]:
        """The records a runbook page shows: its own environment's when it has any, so a
        rehearsal never hides or stands in for a real run; otherwise all of them."""
        records, _ = self.ledger(runbook)
        if not self.config.prefer_environment:
            return records
        own = records.where("environment", runbook.environment) if isinstance(records, LazyRecords) else []
        return own if len(own) else records

    # -- markers ------------------------------------------------------------------------
    def on_page_markdown(self, markdown: str, page: Any, config: Any, files: Any) -> str:
        if not self.config.enabled:
            return markdown
        src = page.file.src_uri
        runbook = self.runbooks.get(src)
        offset = _front_matter_lines(Path(page.file.abs_src_path))
        out = []
        fence: str | None = None
        for n, line in enumerate(markdown.split("\n"), start=1):
            opening = FENCE_RE.match(line)
            if fence is not None or opening:  # markers shown inside code blocks stay as written
                if fence is None:
                    fence = opening.group(1)
                elif line.strip().startswith(fence) and set(line.strip()) == {fence[0]}:
                    fence = None
                out.append(line)
                continue
            m = MARKER_RE.match(line)
            where = f"{config.docs_dir}/{src}:{n + offset}"
            if not m and NEAR_MARKER_RE.match(line):
                raise PluginError(f"{where}: misspelt marker {line.strip()!r}: write <!-- runbook-checks: NAME -->")
            if not m:
                out.append(line)
                continue
            name, args = m.group("name"), m.group("args").split()
            if name not in MARKERS:
                raise PluginError(f"{where}: unknown runbook-checks marker {name!r}; known: {', '.join(MARKERS)}")
            if name in RUNBOOK_MARKERS and runbook is None:
                raise PluginError(f"{where}: the {name!r} marker belongs on a runbook page (one with 'runbook:' front matter)")
            if name in RUNBOOK_MARKERS + ("audit",) and args:
                raise PluginError(f"{where}: the {name!r} marker takes no arguments")
            out.append(self.render_marker(name, args, runbook, page, where))
        if runbook is not None:
            out.append(self.ledger_warning(runbook))
        return "\n".join(out)

    def ledger_warning(self, runbook: Runbook) -> str:
        _, verification = self.ledger(runbook)
        if verification is None or verification.ok:
            return ""
        return f'\n!!! danger "Ledger failed verification"\n    {verification_text(verification)} — results from that line on are not shown.\n'

    def _audit_link(self, page: Any) -> str | None:
        audit = self.docs_dir / self.config.audit_page
        if not audit.exists():
            return None
        return os.path.relpath(audit, Path(page.file.abs_src_path).parent).replace(os.sep, "/")

    def render_marker(self, name: str, args: list[str], runbook: Runbook | None, page: Any, where: str) -> str:
        if name == "comparison":
            if len(args) < 2:
                raise PluginError(f"{where}: 'comparison' needs two or more runbook paths, relative to the page")
            base = Path(page.file.abs_src_path).parent
            found = []
            for arg in args:
                target = (base / arg).resolve()
                match = next((rb for rb in self.runbooks.values() if rb.path.resolve() == target), None)
                if match is None:
                    raise PluginError(f"{where}: comparison: {arg} is not a runbook page")
                found.append(match)
            return comparison_markdown(found, comparison(found))
        if name == "audit":
            return self.audit(page)
        assert runbook is not None
        records = self.evidence_records(runbook)
        report = build_report(runbook, records)
        if name == "success-criteria":
            return criteria_markdown(report)
        if name == "timeline":
            return f'<div class="rbc-timeline-chart" markdown="0">{timeline_svg(report)}</div>\n\n{timeline_markdown(report)}'
        return history_rows(records, self._audit_link(page), self.config.history_limit)

    def audit(self, page: Any) -> str:
        lines = ["| Runbook | Environment | Latest run | Ledger |", "|---|---|---|---|"]
        details = []
        for src, runbook in sorted(self.runbooks.items()):
            records, verification = self.ledger(runbook)
            link = os.path.relpath(self.docs_dir / src, Path(page.file.abs_src_path).parent).replace(os.sep, "/")
            latest = f"{records[-1].status} ({records[-1].finished_at[:16].replace('T', ' ')}, {records[-1].environment})" if records else "never run"
            lines.append(f"| [{runbook.title}]({link}) | {runbook.environment} | {latest} | {verification_text(verification)} |")
            shown = records[-self.config.audit_runs:] if self.config.audit_runs > 0 else []
            published = self.publish(runbook, page)
            full = (f'<p>Latest {len(shown)} of {len(records)} runs. The whole ledger, to verify yourself: '
                    f'<a href="{e(published)}"><code>{e(runbook.id)}.jsonl</code></a></p>' if published else "")
            # run details are put in as HTML after the Markdown conversion (see on_page_content)
            body = full + history_html(shown) + "".join(run_details(r) for r in reversed(shown))
            details.append(f"\n### {runbook.title}\n\n" + self.defer(page, f'<div class="rbc-audit-runs">{body}</div>'))
        return "\n".join(lines) + "\n" + "\n".join(details)

    def publish(self, runbook: Runbook, page: Any) -> str | None:
        """Copy the runbook's ledger into the built site (after the build); returns its URL from ``page``."""
        source = ledger_path(self.results, runbook.id)
        if not source.exists():
            return None
        self.published[runbook.id] = source
        depth = page.url.count("/") if page.url else 0
        return "../" * depth + f"runbook-results/{runbook.id}.jsonl"

    def on_post_build(self, config: Any) -> None:
        if not self.config.enabled:
            return
        target = Path(config.site_dir) / "runbook-results"
        for runbook_id, source in self.published.items():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target / f"{runbook_id}.jsonl")

    def defer(self, page: Any, html: str) -> str:
        """A placeholder paragraph that ``on_page_content`` replaces with ``html``."""
        items = self.deferred.setdefault(page.file.src_uri, [])
        items.append(html)
        return f"\n\nRBCDEFERRED{len(items) - 1}X\n\n"

    # -- badges ---------------------------------------------------------------------------
    def on_page_content(self, html: str, page: Any, config: Any, files: Any) -> str:
        if not self.config.enabled:
            return html
        for i, item in enumerate(self.deferred.pop(page.file.src_uri, [])):
            html = html.replace(f"<p>RBCDEFERRED{i}X</p>", item, 1)
        runbook = self.runbooks.get(page.file.src_uri)
        if runbook is None:
            return html if "rbc-" not in html else f"<style>{CSS}</style>{html}"
        report = build_report(runbook, self.evidence_records(runbook))
        titles = {entry.id: entry.title for entry in runbook.entries}
        for ev in report.blocks:
            html = _decorate(html, ev.block_id, badge_html(ev, badge_status(ev, self.max_age_s, self.now), f"evidence-{ev.block_id}", titles),
                             evidence_html(ev, f"evidence-{ev.block_id}"))
        return f"<style>{CSS}</style>{html}"


def _front_matter_lines(path: Path) -> int:
    end = front_matter_end(read_lines(path))
    return end + 1 if end is not None else 0


def _decorate(html: str, block_id: str, badge: str, evidence: str) -> str:
    """Put the badge before the element with ``id=block_id`` and the evidence after it."""
    m = re.search(r'<(div|pre|code)\b[^>]*\bid="' + re.escape(block_id) + r'"', html)
    if not m:
        return html
    start = m.start()
    if m.group(1) == "code":  # <pre><code id=...>: decorate around the <pre>
        start = html.rfind("<pre", 0, start)
    end = html.find("</pre>", m.end())
    if end < 0:
        return html
    end += len("</pre>")
    if m.group(1) == "div" and html.startswith("</div>", end):
        end += len("</div>")
    return html[:start] + badge + html[start:end] + evidence + html[end:]
