"""What each marker and each runbook page shows: asks the build's cache for reports, gates and ledgers, and puts the HTML made of them into slots.

The hooks (``plugin.py``) hand pages here; the HTML itself is made by the pure modules
(``badges``, ``tables``, ``cells``) and placed by ``html``. What is shown is decided by the
evidence policy (``evidence``) and the gate (``gates``), never here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mkdocs.exceptions import PluginError
from mkdocs.utils import get_relative_url

from ..errors import LedgerError
from ..model import Runbook
from ..parse import body_start, read_lines, split_lines
from ..render import comparison_markdown
from ..report import comparison
from .badges import badge_html, badge_status, banner_html, evidence_html, runbooks_html
from .cache import BuildCache
from .cells import e, table_html, verification_text
from .fleet import fleet_html
from .html import Slots, after_title, around_block
from .markers import Marker, replace_markers
from .publish import Publisher, published_path
from .tables import criteria_html, history_table, timeline_html
from .views import ReadOnce, Views

if TYPE_CHECKING:
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page

    from .config import RunbookChecksConfig


class Renderer:
    """Renders one build's markers and runbook pages.

    ``config``: the plugin's validated options. ``cache``: the build's runbooks and ledgers.
    ``slots``: where rendered HTML waits for the finished page. ``publisher``: writes the
    ledgers the audit page links to. ``now``: the build's time (for ``overdue``).
    """

    def __init__(self, config: RunbookChecksConfig, cache: BuildCache, slots: Slots, publisher: Publisher, now: datetime) -> None:
        """A renderer for one build; ``files`` and ``nav_order`` are set when MkDocs has them."""
        self.config = config
        self.cache = cache
        self.slots = slots
        self.publisher = publisher
        self.now = now
        #: the site's files (``on_files``)
        self.files: Files | None = None
        #: source path -> position in the navigation (``on_nav``)
        self.nav_order: dict[str, int] = {}

    # -- the site's runbooks ------------------------------------------------------------
    def _url(self, src: str, page: Page) -> str:
        """The page of source path ``src``, relative to ``page``."""
        assert self.files is not None
        return get_relative_url(self.files.get_file_from_path(src).url, page.url)

    def ordered(self) -> list[tuple[str, Runbook]]:
        """The runbook pages (source path, runbook) as the navigation lists them, then the others by path."""
        order = self.nav_order
        return sorted(self.cache.runbooks.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))

    def runbook_pages(self, page: Page) -> dict[str, str]:
        """Runbook id -> its page, relative to ``page``."""
        out: dict[str, str] = {}
        for src, rb in sorted(self.cache.runbooks.items()):
            out.setdefault(rb.id, self._url(src, page))
        return out

    def audit_link(self, page: Page) -> str | None:
        """The audit page (option ``audit_page``) relative to ``page``; ``None`` when the site has no such page."""
        assert self.files is not None
        audit = self.files.get_file_from_path(self.config.audit_page)
        return None if audit is None else get_relative_url(audit.url, page.url)

    def _where(self, page: Page) -> tuple[str, str]:
        """Where HTML rendered for ``page`` is shown, for its memo key: the page's URL and the audit page's link from it."""
        return (page.url, str(self.audit_link(page)))

    # -- markers --------------------------------------------------------------------------
    def markdown(self, markdown: str, page: Page, docs_dir: str) -> str:
        """``page``'s Markdown with its markers replaced and, on a runbook page whose ledger
        failed verification, a warning at the end. Raises ``PluginError`` naming
        ``docs_dir/page.md:N`` for a bad marker."""
        src = page.file.src_uri
        runbook = self.cache.runbooks.get(src)

        def where(n: int) -> str:
            """``docs/page.md:N`` for line ``n`` of the Markdown MkDocs hands over (front matter left out)."""
            start = body_start(read_lines(Path(page.file.abs_src_path)))  # read again only to report a problem
            return f"{docs_dir}/{src}:{n + start}"

        def render(marker: Marker) -> str:
            """What replaces ``marker``, as ``Renderer.marker`` renders it, with its line named for errors."""
            return self.marker(marker.name, list(marker.args), runbook, page, lambda: where(marker.line))

        out = replace_markers(markdown, runbook is not None, render, where, self._code_lines(markdown, page, runbook))
        return out + ("\n" + self.ledger_warning(runbook) if runbook is not None else "")

    def _code_lines(self, markdown: str, page: Page, runbook: Runbook | None) -> frozenset[int] | None:
        """The lines of a runbook page's ``markdown`` inside code blocks, from the parse the
        build already made of its file (``Runbook.code_lines``), when ``markdown`` is exactly
        that file's body (from the bytes parsed: ``BuildCache.sources``); ``None`` (parse it)
        for any other page, or Markdown another plugin has changed."""
        raw = self.cache.sources.pop(page.file.src_uri, None)
        if runbook is None or not runbook.code_lines or raw is None:
            return None
        lines = split_lines(raw)
        start = body_start(lines)
        if "\n".join(lines[start:]) != markdown:
            return None
        return frozenset(i - start for i in runbook.code_lines if i >= start)

    def ledger_warning(self, runbook: Runbook) -> str:
        """A danger admonition when the runbook's ledger failed verification (with ``strict: false``); else empty."""
        _, verification = self.cache.ledger(runbook)
        if verification is None or verification.ok:
            return ""
        return (
            f'\n!!! danger "Ledger failed verification"\n    {verification_text(verification)} — results from that line on are not shown.\n'
        )

    def marker(self, name: str, args: list[str], runbook: Runbook | None, page: Page, where: Callable[[], str]) -> str:
        """The Markdown that replaces marker ``name`` (rendered HTML goes in as a slot);
        ``where()`` names the marker's line for an error. Raises ``PluginError`` when a
        ``comparison`` names fewer than two runbooks or a page that is not a runbook."""
        src = page.file.src_uri
        if name == "comparison":
            if len(args) < 2:
                raise PluginError(f"{where()}: 'comparison' needs two or more runbook paths, relative to the page")
            base = Path(page.file.abs_src_path).parent
            found = []
            for arg in args:
                target = (base / arg).resolve()
                match = next((rb for rb in self.cache.runbooks.values() if rb.path.resolve() == target), None)
                if match is None:
                    raise PluginError(f"{where()}: comparison: {arg} is not a runbook page")
                found.append(match)
            return comparison_markdown(found, comparison(found))
        if name == "audit":
            return self.audit(page)
        if name == "runbooks":
            return self.slots.defer(src, self.runbooks_table(page))
        if name == "fleet":
            return self.slots.defer(src, self.fleet(args[0], where))
        assert runbook is not None
        cache = self.cache
        if name == "success-criteria":
            return self.slots.defer(src, cache.rendered(name, runbook, self._where(page), lambda: criteria_html(cache.report(runbook))))
        if name == "timeline":
            return self.slots.defer(src, cache.rendered(name, runbook, self._where(page), lambda: timeline_html(cache.report(runbook))))
        return self.slots.defer(
            src, cache.rendered(name, runbook, self._where(page), lambda: history_table(self.views(runbook).history, self.audit_link(page)))
        )

    def views(self, runbook: Runbook, audit: bool = False) -> Views:
        """The runbook's history rows and, when ``audit`` or when the site has an audit page
        (which shows the same attempts: made in the same reading), its audit part."""
        assert self.files is not None
        with_audit = audit or self.files.get_file_from_path(self.config.audit_page) is not None
        return self.cache.views(runbook, self.config.history_limit, self.config.audit_runs if with_audit else None)

    def fleet(self, runbook_id: str, where: Callable[[], str]) -> str:
        """The ``fleet`` marker: the fleet view (``fleet.view``) of the site's runbook
        ``runbook_id``, one row per target ledger. Raises ``PluginError`` when no runbook
        page has that id, or (``strict``) when a target ledger fails verification."""
        runbook = next((rb for _, rb in self.ordered() if rb.id == runbook_id), None)
        if runbook is None:
            known = ", ".join(sorted({rb.id for rb in self.cache.runbooks.values()})) or "none"
            raise PluginError(f"{where()}: fleet: no runbook page has the id {runbook_id!r} (known: {known})")
        return self.cache.fleet(runbook, fleet_html)

    def runbooks_table(self, page: Page) -> str:
        """The ``runbooks`` marker: every runbook page with its banner line, its gate and its latest attempt."""
        pages = self.runbook_pages(page)
        rows = []
        for src, runbook in self.ordered():
            rows.append((runbook.title, self._url(src, page), self.cache.report(runbook), runbook.requires, self.cache.gate(runbook)))
        return runbooks_html(rows, self.audit_link(page), pages)

    def audit(self, page: Page) -> str:
        """The ``audit`` marker, as Markdown: the overview table, then per runbook a heading
        and its latest attempts; publishes each runbook's ledger into the site."""
        src = page.file.src_uri
        rows, details = [], []
        for runbook_src, runbook in self.ordered():
            _, verification = self.cache.ledger(runbook)
            link = e(self._url(runbook_src, page))
            head = f"<code>{e(verification.head)}</code>" if verification is not None and verification.head else "—"
            rows.append(
                [
                    f'<a href="{link}">{e(runbook.title)}</a>',
                    e(runbook.environment),
                    e(self.cache.report(runbook).headline),
                    verification_text(verification),
                    head,
                ]
            )
            self.publish(runbook)
            details.append(f"\n### {runbook.title}\n\n" + self.slots.defer(src, *self.audit_runs(runbook, page)))
        overview = self.slots.defer(
            src, table_html(["Runbook", "Environment", "State", "Ledger", "Head hash (for verify --anchor)"], rows, "rbc-audit")
        )
        return overview + "\n".join(details)

    def audit_runs(self, runbook: Runbook, page: Page) -> tuple[str, bytes, str]:
        """A runbook's part of the audit page, in three pieces (the last two the same on every
        page): its latest ``audit_runs`` attempts (and the one its page's banner shows), a link
        to its published ledger, and each attempt's runs."""
        part = self.views(runbook, audit=True).audit
        assert part is not None
        published = self.ledger_url(runbook, page)
        full = (
            f"<p>Latest {part.latest} of {part.total} attempts{part.also}. The whole ledger, to verify yourself: "
            f'<a href="{e(published)}"><code>{e(runbook.id)}.jsonl</code></a></p>'
            if published
            else ""
        )
        return f'<div class="rbc-audit-runs">{full}', part.body, "</div>"

    def ledger_url(self, runbook: Runbook, page: Page) -> str | None:
        """Where ``page`` finds the runbook's published ledger (``None``: it has none)."""
        if self.cache.ledger(runbook)[1] is None:
            return None
        return get_relative_url(published_path(runbook.id), page.url)

    def publish(self, runbook: Runbook) -> None:
        """Put the ledger, as read and verified for this build (its SHA-256), into the site while the pages build."""
        records, verification = self.cache.ledger(runbook)
        if isinstance(records, ReadOnce) and records.lines.path is not None and verification is not None and verification.file_sha256:
            self.publisher.publish(runbook.id, records.lines.path, verification.file_sha256)

    # -- runbook pages --------------------------------------------------------------------
    def decorate(self, html: str, page: Page, runbook: Runbook) -> str:
        """The page's HTML with the banner after its title and a badge and evidence at every tagged block (all as slots)."""
        src = page.file.src_uri
        report = self.cache.report(runbook)
        gate = self.cache.gate(runbook)
        pages = self.runbook_pages(page) if gate is not None else {}
        html = after_title(html, self.slots.slot(src, banner_html(report, self.audit_link(page), runbook.requires, gate, pages)))
        titles = {entry.id: entry.title for entry in runbook.entries}
        for ev in report.blocks:
            anchor = f"evidence-{ev.block_id}"
            badge = badge_html(ev, badge_status(ev, self.config.max_age, self.now), anchor, titles)
            html = around_block(html, ev.block_id, self.slots.slot(src, badge), self.slots.slot(src, evidence_html(ev, anchor)))
        return html


@contextlib.contextmanager
def build_errors(page: Page) -> Iterator[None]:
    """Ledger problems, and values in a verified record that no run writes (a forger who
    recomputed the hashes: the build checks hashes, not the schema), end the build with a
    ``PluginError`` naming the page, never a traceback."""
    try:
        yield
    except LedgerError as exc:
        raise PluginError(f"runbook-checks: {exc}") from exc
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise PluginError(
            f"runbook-checks: {page.file.src_uri}: cannot render the recorded results ({type(exc).__name__}: {exc}); a ledger "
            "record holds values no run writes: run 'runbook-checks verify', which checks every record against the schema"
        ) from exc
