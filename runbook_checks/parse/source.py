"""A page's source as the site reads it: bytes -> lines, front-matter bounds, containers, fences.

The one reading of a runbook page's text below the front matter's content, shared by the
parser, ``lint`` and the site plugin: where the front matter ends (MkDocs' rule), which
lines are code (the one fence scanner, ``fence_opening``/``closes_fence``), container
bodies unwrapped (Python-Markdown's admonition and pymdownx's details/tabbed headers), the
markdown-it instance, and an attribute block read with the site's own ``attr_list`` scanner.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from markdown.extensions import attr_list
from markdown_it import MarkdownIt

#: a container header as the site's extensions read one (the header patterns of Python-Markdown's
#: admonition and pymdownx.details / pymdownx.tabbed, one line each): ``!!!note`` and
#: ``===! "T"`` are headers, a bare ``!!!`` is not; after the site expands tabs, so a tab is a space
_CONTAINER_RE = re.compile(
    r'^( *)(?:!!! ?[\w-]+(?: +[\w-]+)*(?: +".*?")?'
    r'|\?{3}\+? ?(?:(?:[\w-]+(?: +[\w-]+)*?)?(?: +".*?")|[\w-]+(?: +[\w-]+)*?)'
    r'|={3}(?:\+|\+!|!\+|!)? +".*?") *$'
)
#: what may stand before a fence's markup on its line: indentation and block-quote markers
_FENCE_PREFIX = " \t>"
#: a run of fence markup (CommonMark: three or more backticks or tildes)
FENCE_RUN_RE = re.compile(r"`{3,}|~{3,}")
_FENCE_OPEN_RE = re.compile(r"^(`{3,}|~{3,})")
#: block-quote markers as Python-Markdown strips them (up to 3 spaces, ``>``, one optional space)
_QUOTE_RE = re.compile(r"^(?: {0,3}> ?)*")
#: a front-matter delimiter line (mkdocs.utils.meta.YAML_RE): ``---`` or ``...``, then only spaces or tabs
_DELIMITER_RE = re.compile(r"(?:-{3}|\.{3})[ \t]*")


def split_lines(raw: bytes) -> list[str]:
    """A Markdown file's bytes as the lines MkDocs reads: UTF-8 (a byte-order mark dropped)
    with universal newlines — CRLF and a lone CR are line ends, as LF is — and nothing else
    (not ``splitlines()``: U+2028, form feeds... belong to the code). Raises
    ``UnicodeDecodeError`` for bytes that are not UTF-8."""
    return raw.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def read_lines(path: Path) -> list[str]:
    """The lines of the file at ``path`` (``split_lines``); raises ``OSError`` or ``UnicodeDecodeError``."""
    return split_lines(path.read_bytes())


def opens_front_matter(lines: list[str]) -> bool:
    """Whether the first line opens front matter as MkDocs reads it: ``---`` with only
    spaces or tabs after (mkdocs.utils.meta.YAML_RE; ``---`` and a no-break space is text)."""
    return bool(lines) and _DELIMITER_RE.fullmatch(lines[0]) is not None and lines[0].startswith("---")


def front_matter_end(lines: list[str]) -> int | None:
    """0-based index of the ``---``/``...`` line that closes the front matter, as MkDocs finds
    it (mkdocs.utils.meta.YAML_RE: at least one line of content, only spaces or tabs after
    the delimiter, a line end after it); ``None`` when the file has no front matter or it
    is never closed."""
    if not opens_front_matter(lines):
        return None
    return next((i for i in range(2, len(lines) - 1) if _DELIMITER_RE.fullmatch(lines[i])), None)


def body_start(lines: list[str]) -> int:
    """0-based index of the page's first line after its front matter (0 when it has none,
    or front matter that is never closed): the line MkDocs hands to ``on_page_markdown`` as
    its first, so a line ``n`` (1-based) of that Markdown is line ``n + body_start`` of the file."""
    end = front_matter_end(lines)
    return end + 1 if end is not None else 0


def page_body(lines: list[str]) -> list[str]:
    """``lines`` with the front matter blanked (same length, so line numbers stay the file's):
    the page MkDocs renders."""
    start = body_start(lines)
    return [""] * start + lines[start:]


def fence_opening(line: str) -> str | None:
    """The fence markup (three or more backticks or tildes) that opens on ``line`` after its
    indentation and quote markers, else ``None``. The one fence scanner: container
    unwrapping, the unterminated-fence rule and ``lint`` all read fences with it."""
    m = _FENCE_OPEN_RE.match(line.lstrip(_FENCE_PREFIX))
    return m.group(1) if m else None


def closes_fence(line: str, markup: str) -> bool:
    """Whether ``line`` closes a fence opened with ``markup``: after indentation and quote
    markers, only that character, at least as many (CommonMark's closing fence)."""
    bare = line.lstrip(_FENCE_PREFIX).rstrip()
    return bare.startswith(markup) and bare.count(markup[0]) == len(bare)


def mentions_fence(text: str) -> bool:
    """Whether ``text`` holds fence markup anywhere (a fence the checker may not read as
    one, e.g. after a list marker): how ``lint`` places a block only the page shows."""
    return FENCE_RUN_RE.search(text) is not None


def read_attributes(text: str, *, heading: bool = False) -> tuple[dict[str, str | None], list[str], str]:
    """An attribute block's text (between its braces) read as the site reads it: with
    Python-Markdown's ``attr_list`` scanner, which ``pymdownx.superfences`` uses for fences
    and ``attr_list`` for headings (tabs count as 4 spaces). Returns ``(attributes,
    classes, unread)``; on a ``heading`` a leading ``:`` (attr_list's ``{: #x}``) is allowed, on a
    fence a lone ``:`` word is dropped as the site drops it. ``#x`` and ``id=x`` give ``attributes["id"]``, a later value
    replacing an earlier one; a bare word's value is ``None``; ``unread`` is the text
    from where the scanner stopped (the site drops it)."""
    text = text.replace("\t", "    ").lstrip()
    if heading and text.startswith(":"):  # attr_list's "{: ...}" spelling; on a fence superfences keeps ":" as a word
        text = text[1:]
    tokens, unread = attr_list._scanner.scan(text)  # the function the site calls hides what it drops
    attributes: dict[str, str | None] = {}
    classes: list[str] = []
    for key, value in tokens:
        if key == ".":
            classes.append(value)
        elif key != ":":  # "{: #x}" on a fence: superfences passes ":" on as an attribute no one reads
            attributes[key] = value
    return attributes, classes, unread.strip()


def unwrap_containers(lines: list[str]) -> list[str]:
    """Dedent admonition (``!!!``, ``???``) and content-tab (``===``) bodies; returns new lines.

    With the commonmark preset their 4-space indented bodies would be paragraphs or
    indented code; unwrapping them lets fences inside be found. A container inside a block
    quote is read after the quote's markers, which are kept. Line numbers are kept: the
    header line becomes blank (its quote markers only) and no line is added or removed.
    """
    out = list(lines)
    fence: str | None = None
    i = 0
    while i < len(out):
        if fence is not None:  # inside a code block: nothing here is a container header
            if closes_fence(out[i], fence):
                fence = None
            i += 1
            continue
        fence = fence_opening(out[i])
        if fence is not None:
            i += 1
            continue
        quote = _QUOTE_RE.match(out[i]).group()  # a container in a block quote: read after its markers
        m = _CONTAINER_RE.match(out[i][len(quote) :].expandtabs(4))
        if m:
            indent, depth = len(m.group(1)), quote.count(">")
            out[i] = quote.rstrip()  # a blank line would end the quote
            j = i + 1
            while j < len(out):
                marks = _QUOTE_RE.match(out[j]).group()
                rest = out[j][len(marks) :]
                if marks.count(">") != depth or (rest.strip() and (body := _dedent_columns(rest, indent)) is None):
                    break
                out[j] = marks + body if rest.strip() else marks.rstrip()
                j += 1
        i += 1
    return out


def _dedent_columns(line: str, indent: int) -> str | None:
    """``line`` without the 4 columns of indentation after its first ``indent`` spaces
    (a tab reaches the next multiple of 4, as in Python-Markdown and CommonMark), or
    ``None`` when it is not indented that far."""
    if not line.startswith(" " * indent):
        return None
    col, pos = indent, indent
    while col < indent + 4 and pos < len(line) and line[pos] in " \t":
        col = col + 1 if line[pos] == " " else (col // 4 + 1) * 4
        pos += 1
    if col < indent + 4:
        return None
    return " " * (col - indent - 4) + line[:indent] + line[pos:] if col > indent + 4 else line[:indent] + line[pos:]


@cache
def _markdown() -> MarkdownIt:
    """One CommonMark parser for every runbook (parsing keeps no state in it). Only block
    structure matters (fences, headings, paragraphs: their ``content`` is the raw text),
    so inline parsing is left out."""
    return MarkdownIt("commonmark").disable("inline")


def parse_markdown(lines: list[str]) -> list[Any]:
    """markdown-it tokens of a page's lines, container bodies unwrapped (``unwrap_containers``):
    the one reading of a page's block structure, for the checker and the site plugin alike.
    Token ``map`` rows are 0-based line indexes of ``lines``."""
    return _markdown().parse("\n".join(unwrap_containers(lines)))


def code_lines(lines: list[str]) -> frozenset[int]:
    """0-based indexes of the lines inside code blocks — fenced or indented, in containers
    too — as the checker reads the page (``parse_markdown``): where the site plugin leaves
    a marker as written."""
    return code_lines_of(parse_markdown(lines))


def code_lines_of(tokens: list[Any]) -> frozenset[int]:
    """``code_lines`` from the page's tokens, already parsed (``parse_markdown``)."""
    return frozenset(i for tok in tokens if tok.type in ("fence", "code_block") and tok.map for i in range(*tok.map))
