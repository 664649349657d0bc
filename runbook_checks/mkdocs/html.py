"""Putting rendered HTML into a page: placeholders that hold its place until the page is finished, the banner after the title, a badge and evidence around each tagged block.

What the plugin renders goes into each page after search has indexed it: an HTML comment
(a *slot*) holds its place from ``on_page_markdown``/``on_page_content`` until
``on_post_page``, so search finds the runbook's prose, not run results that change with
every run. The comment carries a token random per build, so no page text can fake one.
"""

from __future__ import annotations

import re
import secrets

H1_END_RE = re.compile(r"</h1\s*>", re.I)


class Slots:
    """The HTML waiting to go into each page of one build, by the page's source path."""

    def __init__(self) -> None:
        """No page has a slot yet; the placeholders' token is drawn now."""
        self.pattern = re.compile(f"<!--rbc-{secrets.token_hex(4)}-(\\d+)-->")
        self._pages: dict[str, list[tuple[str, ...]]] = {}

    def slot(self, src: str, *html: str) -> str:
        """A comment holding the place of ``html`` (its pieces, one after the other) in the page
        ``src`` (its ``src_uri``) until ``fill``."""
        items = self._pages.setdefault(src, [])
        items.append(html)
        return self.pattern.pattern.replace("(\\d+)", str(len(items) - 1))

    def defer(self, src: str, *html: str) -> str:
        """``slot`` as a Markdown block of its own (blank lines around it) for the pieces of
        ``html``, put together only when the page is filled (a piece kept elsewhere is not copied)."""
        return f"\n\n{self.slot(src, *html)}\n\n"

    def fill(self, src: str, output: str) -> str:
        """The finished page ``output`` with each of its slots replaced by the HTML it holds
        (a slot of another number is left alone); the page's slots are then forgotten."""
        items = self._pages.pop(src, None)
        if not items:
            return output
        parts, at = [], 0  # the page's text and the slots' pieces, joined once: no piece is copied before
        for m in self.pattern.finditer(output):
            if (n := int(m.group(1))) < len(items):
                parts += (output[at : m.start()], *items[n])
                at = m.end()
        parts.append(output[at:])
        return "".join(parts)


def after_title(html: str, banner: str) -> str:
    """``html`` with ``banner`` right after its first ``</h1>`` (at the start when it has none)."""
    h1 = H1_END_RE.search(html)
    return html[: h1.end()] + banner + html[h1.end() :] if h1 else banner + html


def around_block(html: str, block_id: str, badge: str, evidence: str) -> str:
    """``html`` with ``badge`` before the code block whose ``id`` is ``block_id`` and
    ``evidence`` after it; unchanged when no such block is found.

    pymdownx.superfences puts a fence's ``{#id}`` on the ``<code>`` inside the ``<pre>``
    (or on a wrapping ``div``): the badge and evidence go around the whole ``<pre>`` (or
    ``div``)."""
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
