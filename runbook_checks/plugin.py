"""The ``runbook-checks`` MkDocs plugin: runbook pages show what the ledger recorded.

Marker comments in a page are replaced at build time:

- ``<!-- runbook-checks: success-criteria -->``, ``timeline``, ``history`` (runbook pages);
- ``<!-- runbook-checks: comparison A.md B.md -->`` (paths relative to the page);
- ``<!-- runbook-checks: audit -->`` (every runbook, its ledger verification, its runs);
- ``<!-- runbook-checks: runbooks -->`` (every runbook with its state and gate, for a home page).

Every runbook page starts with a status banner (the state of its environment, the attempt
shown, and for a runbook with ``requires`` whether that gate is open), and every tagged
block gets a status badge (passed, failed, stale, never run, overdue) linking to its
evidence. The build executes nothing: it reads ledgers and runbooks. What is shown is
decided by the evidence policy (``evidence.py``) and the gate (``gates.py``), not here.

What the plugin renders goes into each page after search has indexed it (a comment
holds its place until ``on_post_page``): search finds the runbook's prose, not run
results that change with every run.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File
from mkdocs.utils import get_relative_url

from .context import find_root, fingerprints, sha256_text
from .errors import LedgerError
from .evidence import Attempts
from .gates import requirement_problems
from .ledger import LazyRecords, Verification, ledger_path, verify_ledger
from .model import Runbook, RunRecord
from .parse import front_matter_end, is_runbook, parse_markdown, parse_runbook, read_lines
from .render import comparison_markdown
from .report import Report, build_report, comparison
from .site import (
    CSS,
    attempt_details,
    badge_html,
    badge_status,
    banner_html,
    criteria_html,
    e,
    evidence_html,
    history_html,
    runbooks_html,
    table_html,
    timeline_html,
    verification_text,
)
from .units import parse_duration

MARKER_RE = re.compile(r"^[ \t]*<!--\s*runbook-checks\s*:?\s*(?P<name>[\w-]*)(?P<args>.*?)-->[ \t]*$")
NEAR_MARKER_RE = re.compile(r"^[ \t]*<!--\s*runbook[\s_-]*checks?\s*:", re.I)
NEAR_MARKER_ANYWHERE_RE = re.compile(r"<!--\s*runbook[\s_-]*checks?\s*:", re.I)


def code_lines(lines: list[str]) -> set[int]:
    """0-based indexes of the lines inside code blocks — fenced or indented, in
    containers too — as the checker's own parser (``parse``) sees the page."""
    tokens = parse_markdown(lines)
    return {i for tok in tokens if tok.type in ("fence", "code_block") and tok.map for i in range(*tok.map)}


RUNBOOK_MARKERS = ("success-criteria", "timeline", "history")
MARKERS = (*RUNBOOK_MARKERS, "comparison", "audit", "runbooks")
#: markers that take no arguments
BARE_MARKERS = (*RUNBOOK_MARKERS, "audit", "runbooks")
H1_END_RE = re.compile(r"</h1\s*>", re.I)
STYLESHEET = "assets/runbook-checks.css"

# Parsed runbooks and verified ledgers, by their content, kept across the builds of one
# process (``mkdocs serve`` rebuilds after every edit): a file whose bytes are unchanged
# is not parsed or verified again. Only what the latest build used is kept.
_MEMO: dict[tuple[str, ...], Any] = {}


def forget() -> None:
    """Empty the memo (the next build starts as cold as a fresh process)."""
    _MEMO.clear()


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
    """How many attempts the ``history`` marker shows."""
    prefer_environment = c.Deprecated(
        message="runbook-checks: 'prefer_environment' is gone: the evidence policy always shows the "
        "runbook's own environment, and a rehearsal only when that has no attempt. Remove the option."
    )
    """Removed (the evidence policy decides which runs a page shows); accepted with a warning."""
    audit_runs = c.Type(int, default=10)
    """How many of each runbook's latest attempts the audit page lists, each opening up run
    by run and block by block; the audit page also publishes each whole ledger beside the site."""


class RunbookChecksPlugin(BasePlugin[RunbookChecksConfig]):
    def on_config(self, config: Any) -> Any:
        if not self.config.enabled:
            return config
        self.results = Path(config.config_file_path).parent / self.config.results_dir
        rng = parse_duration(self.config.max_age)
        if rng is None:
            raise PluginError(f"runbook-checks: max_age {self.config.max_age!r} is not a duration (e.g. '7 days', '12 h')")
        self.max_age_s = rng[0]
        self.now = datetime.now(UTC)
        # state for this build only
        self.runbooks: dict[str, Runbook] = {}
        self.ledgers: dict[str, tuple[Sequence[RunRecord], Verification | None]] = {}
        self.ledger_sha: dict[str, str] = {}
        self.slots: dict[str, list[str]] = {}
        self.nav_order: dict[str, int] = {}
        self.slot_re = re.compile(f"<!--rbc-{secrets.token_hex(4)}-(\\d+)-->")
        self.used: set[tuple[str, ...]] = set()
        self.options = repr(sorted(self.config.items()))  # part of every memo key of rendered HTML
        self.site_dir = Path(config.site_dir)
        self.publishing: ThreadPoolExecutor | None = None
        self.published: dict[str, Future[None]] = {}
        if STYLESHEET not in config.extra_css:
            config.extra_css.append(STYLESHEET)
        return config

    def on_files(self, files: Any, config: Any) -> Any:
        if not self.config.enabled:
            return files
        for f in files.documentation_pages():
            path = Path(f.abs_src_path)
            if is_runbook(path):
                self.runbooks[f.src_uri] = self.parse(path, f"{config.docs_dir}/{f.src_uri}")
        self.files = files
        if files.get_file_from_path(STYLESHEET) is None:
            files.append(File.generated(config, STYLESHEET, content=CSS))
        return files

    def on_nav(self, nav: Any, config: Any, files: Any) -> Any:
        if self.config.enabled:
            self.nav_order = {page.file.src_uri: i for i, page in enumerate(nav.pages)}
        return nav

    def ordered(self) -> list[tuple[str, Runbook]]:
        """The runbook pages (source path, runbook) as the navigation lists them, then the others by path."""
        order = self.nav_order
        return sorted(self.runbooks.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))

    def remember(self, key: tuple[str, ...], make: Any) -> Any:
        self.used.add(key)
        if key not in _MEMO:
            _MEMO[key] = make()
        return _MEMO[key]

    def parse(self, path: Path, display: str) -> Runbook:
        data = path.read_bytes()

        def make() -> Runbook:
            runbook, problems = parse_runbook(path, display, data)
            if problems or runbook is None:
                raise PluginError("runbook-checks: invalid runbook:\n" + "\n".join(str(p) for p in problems))
            return runbook

        # the repository root is part of the key: a runbook's workdir is relative to it
        return self.remember(("runbook", str(path.resolve()), display, str(find_root(path.parent)), sha256_text(data)), make)

    def on_serve(self, server: Any, config: Any, builder: Any) -> Any:
        """``mkdocs serve`` rebuilds when a run is recorded, not only when a page is edited."""
        if self.config.enabled and self.results.is_dir():
            server.watch(str(self.results))
        return server

    # -- ledgers ----------------------------------------------------------------------
    def ledger(self, runbook: Runbook) -> tuple[Sequence[RunRecord], Verification | None]:
        if runbook.id not in self.ledgers:
            path = ledger_path(self.results, runbook.id)
            if path.exists() and not path.is_file():
                raise PluginError(f"runbook-checks: {path} is not a ledger file")
            if not path.exists():
                self.ledgers[runbook.id] = ([], None)
            else:
                data = path.read_bytes()

                def verify() -> tuple[LazyRecords, Verification]:
                    records = LazyRecords(path)  # only records before the first bad line: nothing after it is trusted
                    return records, verify_ledger(path, validate_schema=False, records=records, data=data)

                self.ledger_sha[runbook.id] = sha256_text(data)
                records, verification = self.remember(("ledger", str(path.resolve()), self.ledger_sha[runbook.id]), verify)
                if not verification.ok and self.config.strict:
                    raise PluginError(f"runbook-checks: ledger failed verification: {path}:{verification.bad_line}: {verification.problem}")
                self.ledgers[runbook.id] = (records, verification)
        return self.ledgers[runbook.id]

    def report(self, runbook: Runbook) -> Report:
        """The runbook's report from its verified records, as the evidence policy decides it."""
        return self.rendered("report", runbook, None, lambda: build_report(runbook, self.attempts(runbook)))

    def attempts(self, runbook: Runbook) -> Attempts:
        return self.rendered("attempts", runbook, None, lambda: Attempts(self.ledger(runbook)[0]))

    def gate(self, runbook: Runbook) -> tuple[str, ...] | None:
        """Why ``--execute`` of ``runbook`` would be refused by its ``requires`` gate (empty:
        open; ``None``: it has no gate), as ``gates.requirement_problems`` says with no
        secrets (so the target rule is left to run time). Remembered by all it reads: this
        runbook, the content it fingerprints and the required ledgers' bytes."""
        if not runbook.requires:
            return None
        by_id = {rb.id: rb for rb in self.runbooks.values()}
        ledgers = []
        for req in runbook.requires:
            if req.runbook in by_id:  # read (and verified) once per build anyway
                self.ledger(by_id[req.runbook])
                ledgers.append(self.ledger_sha.get(req.runbook, ""))
            else:
                path = ledger_path(self.results, req.runbook)
                ledgers.append(sha256_text(path.read_bytes()) if path.is_file() else "")
        # the results directory as an operator would type it where the build runs (its reasons name it)
        results = Path(os.path.relpath(self.results))
        key = (
            "gate",
            str(runbook.path),
            runbook.sha256,
            str(self.results),
            str(results),
            repr(sorted(fingerprints(runbook).items())),
            *ledgers,
        )
        return self.remember(key, lambda: tuple(requirement_problems(runbook, results, {})))

    def runbook_pages(self, page: Any) -> dict[str, str]:
        """Runbook id -> its page, relative to ``page``."""
        out: dict[str, str] = {}
        for src, rb in sorted(self.runbooks.items()):
            out.setdefault(rb.id, get_relative_url(self.files.get_file_from_path(src).url, page.url))
        return out

    # -- markers ------------------------------------------------------------------------
    def on_page_markdown(self, markdown: str, page: Any, config: Any, files: Any) -> str:
        if not self.config.enabled:
            return markdown
        with _build_error(page):
            return self.replace_markers(markdown, page, config)

    def replace_markers(self, markdown: str, page: Any, config: Any) -> str:
        src = page.file.src_uri
        runbook = self.runbooks.get(src)

        def where(n: int) -> str:
            """``docs/page.md:N`` for line ``n`` of the Markdown MkDocs hands over (front matter left out)."""
            end = front_matter_end(read_lines(Path(page.file.abs_src_path)))  # read again only to report a problem
            return f"{config.docs_dir}/{src}:{n + (end + 1 if end is not None else 0)}"

        lines = markdown.split("\n")
        if not NEAR_MARKER_ANYWHERE_RE.search(markdown):
            return markdown + ("\n" + self.ledger_warning(runbook) if runbook is not None else "")
        code = code_lines(lines)
        out = []
        for n, line in enumerate(lines, start=1):
            if n - 1 in code:  # markers shown in code blocks (fenced or indented) stay as written
                out.append(line)
                continue
            m = MARKER_RE.match(line)
            if not m and NEAR_MARKER_RE.match(line):
                raise PluginError(f"{where(n)}: misspelt marker {line.strip()!r}: write <!-- runbook-checks: NAME -->")
            if not m:
                out.append(line)
                continue
            name, args = m.group("name"), m.group("args").split()
            if name not in MARKERS:
                raise PluginError(f"{where(n)}: unknown runbook-checks marker {name!r}; known: {', '.join(MARKERS)}")
            if name in RUNBOOK_MARKERS and runbook is None:
                raise PluginError(f"{where(n)}: the {name!r} marker belongs on a runbook page (one with 'runbook:' front matter)")
            if name in BARE_MARKERS and args:
                raise PluginError(f"{where(n)}: the {name!r} marker takes no arguments")
            rendered = self.render_marker(name, args, runbook, page, lambda n=n: where(n))
            indent = line[: len(line) - len(line.lstrip(" \t"))]  # a marker in a container or list item stays in it
            out.append("\n".join(indent + part if part else part for part in rendered.split("\n")))
        return "\n".join(out) + ("\n" + self.ledger_warning(runbook) if runbook is not None else "")

    def ledger_warning(self, runbook: Runbook) -> str:
        _, verification = self.ledger(runbook)
        if verification is None or verification.ok:
            return ""
        return (
            f'\n!!! danger "Ledger failed verification"\n    {verification_text(verification)} — results from that line on are not shown.\n'
        )

    def _audit_link(self, page: Any) -> str | None:
        audit = self.files.get_file_from_path(self.config.audit_page)
        return None if audit is None else get_relative_url(audit.url, page.url)

    def render_marker(self, name: str, args: list[str], runbook: Runbook | None, page: Any, where: Callable[[], str]) -> str:
        """The Markdown that replaces a marker (rendered HTML goes in as a placeholder: ``defer``);
        ``where()`` names the marker's line for an error."""
        if name == "comparison":
            if len(args) < 2:
                raise PluginError(f"{where()}: 'comparison' needs two or more runbook paths, relative to the page")
            base = Path(page.file.abs_src_path).parent
            found = []
            for arg in args:
                target = (base / arg).resolve()
                match = next((rb for rb in self.runbooks.values() if rb.path.resolve() == target), None)
                if match is None:
                    raise PluginError(f"{where()}: comparison: {arg} is not a runbook page")
                found.append(match)
            return comparison_markdown(found, comparison(found))
        if name == "audit":
            return self.audit(page)
        if name == "runbooks":
            return self.defer(page, self.runbooks_table(page))
        assert runbook is not None
        if name == "success-criteria":
            return self.defer(page, self.rendered(name, runbook, page, lambda: criteria_html(self.report(runbook))))
        if name == "timeline":
            return self.defer(page, self.rendered(name, runbook, page, lambda: timeline_html(self.report(runbook))))
        return self.defer(
            page,
            self.rendered(
                name, runbook, page, lambda: history_html(self.attempts(runbook), self._audit_link(page), self.config.history_limit)
            ),
        )

    def rendered(self, kind: str, runbook: Runbook, page: Any, make: Any) -> Any:
        """``make()``, remembered by all it depends on: the runbook's and its ledger's
        content, the page it is on (if any), where the audit page is and the plugin's options."""
        self.ledger(runbook)
        where = (page.url, str(self._audit_link(page))) if page is not None else ("", "")
        key = (kind, *where, self.options, str(runbook.path), runbook.sha256, self.ledger_sha.get(runbook.id, ""))
        return self.remember(key, make)

    def runbooks_table(self, page: Any) -> str:
        """Every runbook page: its banner line, its gate, its latest attempt."""
        pages = self.runbook_pages(page)
        rows = []
        for src, runbook in self.ordered():
            link = get_relative_url(self.files.get_file_from_path(src).url, page.url)
            rows.append((runbook.title, link, self.report(runbook), runbook.requires, self.gate(runbook)))
        return runbooks_html(rows, self._audit_link(page), pages)

    def audit(self, page: Any) -> str:
        """Markdown: the overview table, then per runbook a heading and its latest runs."""
        rows, details = [], []
        for src, runbook in self.ordered():
            records, verification = self.ledger(runbook)
            link = e(get_relative_url(self.files.get_file_from_path(src).url, page.url))
            head = f"<code>{e(verification.hashes[-1])}</code>" if verification is not None and verification.hashes else "—"
            rows.append(
                [
                    f'<a href="{link}">{e(runbook.title)}</a>',
                    e(runbook.environment),
                    e(self.report(runbook).headline),
                    verification_text(verification),
                    head,
                ]
            )
            self.publish(runbook)
            details.append(
                f"\n### {runbook.title}\n\n"
                + self.defer(page, self.rendered("audit", runbook, page, lambda runbook=runbook: self.audit_runs(runbook, page)))
            )
        overview = self.defer(
            page, table_html(["Runbook", "Environment", "State", "Ledger", "Head hash (for verify --anchor)"], rows, "rbc-audit")
        )
        return overview + "\n".join(details)

    def audit_runs(self, runbook: Runbook, page: Any) -> str:
        attempts = self.attempts(runbook)
        shown = attempts[-self.config.audit_runs :] if self.config.audit_runs > 0 else []
        also = ""
        banner = self.report(runbook).attempt
        if banner is not None and not any(a.id == banner.id and a.environment == banner.environment for a in shown):
            # the runbook page's banner links to the attempt it shows: list it too
            shown = [attempts.find(banner.environment, banner.id)] + shown
            also = f", and attempt <code>{e(banner.id)}</code>, which the runbook page shows"
        published = self.ledger_url(runbook, page)
        full = (
            f"<p>Latest {len(shown) - bool(also)} of {len(attempts)} attempts{also}. The whole ledger, to verify yourself: "
            f'<a href="{e(published)}"><code>{e(runbook.id)}.jsonl</code></a></p>'
            if published
            else ""
        )
        body = full + history_html(shown, "") + "".join(attempt_details(a) for a in reversed(shown))
        return f'<div class="rbc-audit-runs">{body}</div>'

    def ledger_url(self, runbook: Runbook, page: Any) -> str | None:
        """Where ``page`` finds the runbook's published ledger (``None``: it has none)."""
        if self.ledger(runbook)[1] is None:
            return None
        return get_relative_url(f"runbook-results/{runbook.id}.jsonl", page.url)

    def publish(self, runbook: Runbook) -> None:
        """Put the ledger's bytes, as read and verified for this build, into the site, while
        the pages build (``on_post_build`` waits for it)."""
        records, _ = self.ledger(runbook)
        if not isinstance(records, LazyRecords) or runbook.id in self.published:
            return
        if self.publishing is None:
            self.publishing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="runbook-checks-publish")
        target = self.site_dir / "runbook-results" / f"{runbook.id}.jsonl"
        self.published[runbook.id] = self.publishing.submit(_write, target, records.buffer)

    def finish_publishing(self) -> None:
        if self.publishing is not None:
            self.publishing.shutdown(wait=True)
            self.publishing = None

    def on_build_error(self, error: Exception) -> None:
        if self.config.enabled:
            self.finish_publishing()  # nothing may write into the site after the build ends

    def on_post_build(self, config: Any) -> None:
        if not self.config.enabled:
            return
        for key in set(_MEMO) - self.used:
            del _MEMO[key]
        self.finish_publishing()
        for future in self.published.values():
            if (error := future.exception()) is not None:
                raise PluginError(f"runbook-checks: could not publish the ledgers into the site: {error}")

    def slot(self, page: Any, html: str) -> str:
        """A comment holding ``html``'s place until ``on_post_page`` puts it in."""
        items = self.slots.setdefault(page.file.src_uri, [])
        items.append(html)
        return self.slot_re.pattern.replace("(\\d+)", str(len(items) - 1))

    def defer(self, page: Any, html: str) -> str:
        """``slot`` as a Markdown block of its own."""
        return f"\n\n{self.slot(page, html)}\n\n"

    # -- badges ---------------------------------------------------------------------------
    def on_page_content(self, html: str, page: Any, config: Any, files: Any) -> str:
        if not self.config.enabled or (runbook := self.runbooks.get(page.file.src_uri)) is None:
            return html
        with _build_error(page):
            return self.decorate(html, page, runbook)

    def decorate(self, html: str, page: Any, runbook: Runbook) -> str:
        """The page's HTML with the banner after its title and a badge and evidence at every tagged block."""
        report = self.report(runbook)
        gate = self.gate(runbook)
        banner = self.slot(
            page, banner_html(report, self._audit_link(page), runbook.requires, gate, self.runbook_pages(page) if gate is not None else {})
        )
        h1 = H1_END_RE.search(html)
        html = html[: h1.end()] + banner + html[h1.end() :] if h1 else banner + html
        titles = {entry.id: entry.title for entry in runbook.entries}
        for ev in report.blocks:
            anchor = f"evidence-{ev.block_id}"
            badge = badge_html(ev, badge_status(ev, self.max_age_s, self.now), anchor, titles)
            html = _decorate(html, ev.block_id, self.slot(page, badge), self.slot(page, evidence_html(ev, anchor)))
        return html

    @event_priority(50)  # before plugins that minify or rewrite the finished page
    def on_post_page(self, output: str, page: Any, config: Any) -> str:
        if not self.config.enabled or not (items := self.slots.pop(page.file.src_uri, None)):
            return output
        return self.slot_re.sub(lambda m: items[int(m.group(1))] if int(m.group(1)) < len(items) else m.group(0), output)


@contextlib.contextmanager
def _build_error(page: Any) -> Iterator[None]:
    """Ledger problems, and values in a verified record that no run writes (a forger who
    recomputed the hashes: the build checks hashes, not the schema), end the build with a
    message naming the page, never a traceback."""
    try:
        yield
    except LedgerError as exc:
        raise PluginError(f"runbook-checks: {exc}") from exc
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise PluginError(
            f"runbook-checks: {page.file.src_uri}: cannot render the recorded results ({type(exc).__name__}: {exc}); a ledger "
            "record holds values no run writes: run 'runbook-checks verify', which checks every record against the schema"
        ) from exc


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


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
