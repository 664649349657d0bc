"""The ``runbook-checks`` MkDocs plugin's hooks: when MkDocs calls each, and what of the build it hands on.

Hooks only, as mkdocs-material writes its plugins (``material/plugins/*/plugin.py``): each
hook makes or hands on the build's state — the options (``config``), the runbooks and
ledgers (``cache``), what the markers and pages show (``renderer``), the placeholders
(``html``), the published ledgers (``publish``). MkDocs makes a new plugin object for every
build, ``mkdocs serve``'s rebuilds too; ``on_config`` starts each build's state afresh.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File

from ..parse import is_runbook
from .cache import BuildCache
from .config import RunbookChecksConfig
from .css import CSS, STYLESHEET
from .html import Slots
from .publish import Publisher
from .renderer import Renderer, build_errors

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.livereload import LiveReloadServer
    from mkdocs.structure.files import Files
    from mkdocs.structure.nav import Navigation
    from mkdocs.structure.pages import Page


class RunbookChecksPlugin(BasePlugin[RunbookChecksConfig]):
    """Runbook pages show what the ledgers recorded: markers become tables, each runbook
    page gets a status banner and a badge at every tagged block. The build executes
    nothing: it reads runbooks and ledgers (see ``docs/reference/site.md``)."""

    #: the ledgers' directory, absolute (``results_dir`` from ``mkdocs.yml``'s folder)
    results: Path
    #: this build's runbooks, ledgers and what was made of them
    cache: BuildCache
    #: where rendered HTML waits for the finished page
    slots: Slots
    #: writes the ledgers into the site
    publisher: Publisher
    #: renders markers and runbook pages
    renderer: Renderer

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        """MkDocs calls this once per build, after validating ``mkdocs.yml`` (this plugin's
        options included) and before reading any page: start this build's state and add the
        plugin's stylesheet to ``extra_css``."""
        if not self.config.enabled:
            return config
        self.results = Path(config.config_file_path).parent / self.config.results_dir
        options = repr(sorted(self.config.items()))  # part of every memo key of rendered HTML
        self.cache = BuildCache(self.results, self.config.strict, options)
        self.slots = Slots()
        self.publisher = Publisher(Path(config.site_dir))
        self.renderer = Renderer(self.config, self.cache, self.slots, self.publisher, datetime.now(UTC))
        if STYLESHEET not in config.extra_css:
            config.extra_css.append(STYLESHEET)
        return config

    def on_files(self, files: Files, config: MkDocsConfig) -> Files:
        """MkDocs calls this with the site's files, before the navigation is built: parse
        every runbook page (a page with ``runbook:`` front matter; an invalid one ends the
        build with its ``path:line`` problems) and add the stylesheet file."""
        if not self.config.enabled:
            return files
        for f in files.documentation_pages():
            path = Path(f.abs_src_path)
            if is_runbook(path):
                self.cache.add_runbook(f.src_uri, path, f"{config.docs_dir}/{f.src_uri}")
        self.renderer.files = files
        if files.get_file_from_path(STYLESHEET) is None:
            files.append(File.generated(config, STYLESHEET, content=CSS))
        return files

    def on_nav(self, nav: Navigation, config: MkDocsConfig, files: Files) -> Navigation:
        """MkDocs calls this with the site's navigation: the ``audit`` and ``runbooks``
        markers list runbooks in its order."""
        if self.config.enabled:
            self.renderer.nav_order = {page.file.src_uri: i for i, page in enumerate(nav.pages)}
        return nav

    def on_serve(self, server: LiveReloadServer, config: MkDocsConfig, builder: object) -> LiveReloadServer:
        """``mkdocs serve`` calls this once, after the first build: watch ``results_dir`` too,
        so the site rebuilds when a run is recorded, not only when a page is edited (only a
        directory that exists when ``serve`` starts can be watched)."""
        if self.config.enabled and self.results.is_dir():
            server.watch(str(self.results))
        return server

    def on_page_markdown(self, markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
        """MkDocs calls this with each page's Markdown (front matter removed), before
        rendering it: replace the markers (their HTML goes in as slots, so search does not
        index it); a bad marker ends the build naming the page and line."""
        if not self.config.enabled:
            return markdown
        with build_errors(page):
            return self.renderer.markdown(markdown, page, config.docs_dir)

    def on_page_content(self, html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
        """MkDocs calls this with each page's rendered HTML (search indexes it after): on a
        runbook page, put the status banner after the title and a badge and the evidence at
        every tagged block, as slots."""
        if not self.config.enabled or (runbook := self.cache.runbooks.get(page.file.src_uri)) is None:
            return html
        with build_errors(page):
            return self.renderer.decorate(html, page, runbook)

    @event_priority(50)  # before plugins that minify or rewrite the finished page
    def on_post_page(self, output: str, page: Page, config: MkDocsConfig) -> str:
        """MkDocs calls this with each finished page (theme applied, search done): fill the
        page's slots with the HTML they hold. When no other plugin sees the finished page after
        this, nor the written one before this plugin's ``on_post_build``, the audit page's runs
        are left to fill in its written file (``on_post_build``)."""
        if not self.config.enabled:
            return output
        events = config.plugins.events
        alone = events["post_page"][-1:] == [self.on_post_page] and events["post_build"][:1] == [self.on_post_build]
        return self.slots.fill(page.file.src_uri, output, Path(page.file.abs_dest_path) if alone else None)

    def on_build_error(self, error: Exception) -> None:
        """MkDocs calls this when the build fails: wait for the ledgers being published, so
        nothing writes into the site after the build ends, and fill the slots left in the pages
        written so far (a failed ``mkdocs serve`` rebuild keeps serving them)."""
        if self.config.enabled:
            self.publisher.stop()
            with contextlib.suppress(OSError, ValueError):  # the pages written so far get their runs
                self.slots.splice()

    @event_priority(50)  # before plugins that read or rewrite the written pages
    def on_post_build(self, config: MkDocsConfig) -> None:
        """MkDocs calls this after every page is written: fill the slots left in written pages
        (``Slots.splice``), keep in the memo only what this build used, and wait for the
        published ledgers (a failed write ends the build)."""
        if not self.config.enabled:
            return
        try:
            self.slots.splice()
        except (OSError, ValueError) as exc:
            raise PluginError(f"runbook-checks: {exc}") from None
        self.cache.finish()
        self.publisher.finish()
