"""Putting rendered HTML into a page: placeholders that hold its place until the page is finished, the banner after the title, a badge and evidence around each tagged block.

What the plugin renders goes into each page after search has indexed it: an HTML comment
(a *slot*) holds its place from ``on_page_markdown``/``on_page_content`` until
``on_post_page``, so search finds the runbook's prose, not run results that change with
every run. The comment carries a token random per build, so no page text can fake one.

A slot whose pieces include UTF-8 bytes (a runbook's part of the audit page: megabytes in
all) is filled in the page's written file instead, after the build (``Slots.splice``), when
no plugin rewrites finished pages after this one: the page is then never held whole with
them, as text or as bytes.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

#: a slot's piece: HTML text, or HTML as UTF-8 bytes (as MkDocs writes a page: ``xmlcharrefreplace``)
Piece = str | bytes

H1_END_RE = re.compile(r"</h1\s*>", re.I)


class Slots:
    """The HTML waiting to go into each page of one build, by the page's source path."""

    def __init__(self) -> None:
        """No page has a slot yet; the placeholders' token is drawn now."""
        self.pattern = re.compile(f"<!--rbc-{secrets.token_hex(4)}-(\\d+)-->")
        self._pages: dict[str, list[tuple[Piece, ...]]] = {}
        #: the written pages whose slots of bytes are still to fill: their file, and the slots by number
        self._later: list[tuple[Path, dict[int, tuple[Piece, ...]]]] = []

    def slot(self, src: str, *html: Piece) -> str:
        """A comment holding the place of ``html`` (its pieces, one after the other) in the page
        ``src`` (its ``src_uri``) until ``fill``."""
        items = self._pages.setdefault(src, [])
        items.append(html)
        return self.pattern.pattern.replace("(\\d+)", str(len(items) - 1))

    def defer(self, src: str, *html: Piece) -> str:
        """``slot`` as a Markdown block of its own (blank lines around it) for the pieces of
        ``html``, put together only when the page is filled (a piece kept elsewhere is not copied)."""
        return f"\n\n{self.slot(src, *html)}\n\n"

    def fill(self, src: str, output: str, written_to: Path | None = None) -> str:
        """The finished page ``output`` with each of its slots replaced by the HTML it holds
        (a slot of another number is left alone); the page's slots are then forgotten. With
        ``written_to`` (the file MkDocs writes ``output`` to, when nothing changes it before),
        a slot holding bytes is left in place, to be filled in that file by ``splice``."""
        items = self._pages.pop(src, None)
        if not items:
            return output
        found = list(self.pattern.finditer(output))
        # a slot of bytes is left for the file only when it is in the page (a template may show a page's content twice, or not at all)
        shown = {int(m.group(1)) for m in found}
        later = {n: p for n, p in enumerate(items) if n in shown and any(isinstance(x, bytes) for x in p)} if written_to else {}
        if written_to is not None and later:
            self._later.append((written_to, later))
        parts, at = [], 0  # the page's text and the slots' pieces, joined once: no piece is copied before
        for m in found:
            if (n := int(m.group(1))) < len(items) and n not in later:
                parts += (output[at : m.start()], *(p.decode() if isinstance(p, bytes) else p for p in items[n]))
                at = m.end()
        parts.append(output[at:])
        return "".join(parts)

    def splice(self) -> None:
        """Fill the slots ``fill`` left in written pages, in their files: each file is read,
        then written again in place as MkDocs writes a page (links, owner and mode kept), the
        page's bytes with the pieces at every place of their slot. Raises ``ValueError`` when
        a slot is no longer in its file (something rewrote the written page), and ``OSError``
        when a file cannot be read or written."""
        pattern = re.compile(self.pattern.pattern.encode())
        while self._later:
            path, later = self._later.pop()
            page = path.read_bytes()
            found = [m for m in pattern.finditer(page) if int(m.group(1)) in later]
            if {int(m.group(1)) for m in found} != set(later):
                raise ValueError(f"{path}: the place of the audit page's runs is gone from the written page (something rewrote it)")
            with open(path, "wb") as out:
                at = 0
                for m in found:
                    out.write(page[at : m.start()])
                    for piece in later[int(m.group(1))]:
                        out.write(piece if isinstance(piece, bytes) else piece.encode("utf-8", "xmlcharrefreplace"))
                    at = m.end()
                out.write(page[at:])


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
    found = _block_tag(html, block_id)
    if found is None:
        return html
    name, start, after_id = found
    if name == "code":  # <pre><code id=...>: decorate around the <pre>
        start = html.rfind("<pre", 0, start)
    end = html.find("</pre>", after_id)
    if end < 0:
        return html
    end += len("</pre>")
    if name == "div" and html.startswith("</div>", end):
        end += len("</div>")
    return html[:start] + badge + html[start:end] + evidence + html[end:]


#: the start of a tag a block's ``id`` may be on
_TAG_RE = re.compile(r"<(div|pre|code)\b")


def _block_tag(html: str, block_id: str) -> tuple[str, int, int] | None:
    """The first ``div``, ``pre`` or ``code`` tag of ``html`` with ``id="block_id"``: its
    name, where it starts and where its last such attribute ends — what
    ``re.search(r'<(div|pre|code)\\b[^>]*\\bid="ID"', html)`` finds (its group, start and
    end), found from the attribute's text (``str.find``) instead of trying the pattern at
    every tag of the page: a page has hundreds of tags and a runbook page a dozen blocks."""
    attribute = re.compile(r'\bid="' + re.escape(block_id) + '"')
    text = f'id="{block_id}"'
    at = html.find(text)
    while at >= 0:
        if attribute.match(html, at):  # a whole attribute name: ``data-id=`` counts, as ``\\b`` lets it
            tag = _TAG_RE.search(html, html.rfind(">", 0, at) + 1, at)  # a tag the attribute is in: no ">" between
            if tag is not None:
                close = html.find(">", at)
                end = at + len(text)
                for later in attribute.finditer(html, end, close if close >= 0 else len(html)):
                    end = later.end()  # the pattern's ``[^>]*`` is greedy: its match ends at the tag's last such attribute
                return tag.group(1), tag.start(), end
        at = html.find(text, at + 1)
    return None
