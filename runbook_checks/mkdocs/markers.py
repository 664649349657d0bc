"""Finding the ``<!-- runbook-checks: NAME args -->`` markers in a page and putting what they render in their place.

A marker is an HTML comment on a line of its own (invisible on GitHub), validated the way
mkdocs-material validates its ``<!-- material/tags -->`` comment: an unknown or misspelt
marker, or one with bad arguments, fails the build naming the page and line. A marker
shown inside a code block (fenced or indented, in a container too) is left as written;
which lines are code is read with the checker's own parser (``runbook_checks.parse``),
so the plugin and the checker agree on a page's block structure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from mkdocs.exceptions import PluginError

from ..parse import code_lines

MARKER_RE = re.compile(r"^[ \t]*<!--\s*runbook-checks\s*:?\s*(?P<name>[\w-]*)(?P<args>.*?)-->[ \t]*$")
#: a line that looks meant as a marker (any spelling of "runbook checks" and a colon)
NEAR_MARKER_RE = re.compile(r"^[ \t]*<!--\s*runbook[\s_-]*checks?\s*:", re.I)
#: the same anywhere in a page: a page without one is left alone, unparsed
NEAR_MARKER_ANYWHERE_RE = re.compile(r"<!--\s*runbook[\s_-]*checks?\s*:", re.I)

#: markers that belong on a runbook page (one with ``runbook:`` front matter)
RUNBOOK_MARKERS = ("success-criteria", "timeline", "history")
#: every marker name, in the order the documentation lists them
MARKERS = (*RUNBOOK_MARKERS, "comparison", "audit", "runbooks", "fleet")
#: markers that take no arguments
BARE_MARKERS = (*RUNBOOK_MARKERS, "audit", "runbooks")


@dataclass(frozen=True)
class Marker:
    """One valid marker found in a page."""

    #: the marker's name, one of ``MARKERS``
    name: str
    #: the words after the name (paths for ``comparison``, a runbook id for ``fleet``; empty for the others)
    args: tuple[str, ...]
    #: 1-based line of the Markdown MkDocs hands the plugin (front matter left out)
    line: int


def replace_markers(
    markdown: str, runbook_page: bool, render: Callable[[Marker], str], where: Callable[[int], str], code: Collection[int] | None = None
) -> str:
    """``markdown`` with every marker line replaced by ``render(marker)``, at the marker's
    indentation (a marker in a list item or an admonition keeps what follows it inside).

    ``runbook_page``: whether the page has ``runbook:`` front matter (the runbook markers
    belong there only). ``where(n)`` names line ``n`` as ``docs/page.md:N`` for an error.
    ``code``: the 0-based lines of ``markdown`` inside code blocks when the caller has them
    (``Runbook.code_lines``, from the parse it already made), else ``parse.code_lines``.
    Markers are rendered in page order, each right after it is validated. Raises
    ``PluginError`` for a misspelt or unknown marker, a runbook marker elsewhere, or
    arguments given to a marker that takes none.
    """
    if not NEAR_MARKER_ANYWHERE_RE.search(markdown):
        return markdown
    lines = markdown.split("\n")
    code = code_lines(lines) if code is None else code
    out = []
    for n, line in enumerate(lines, start=1):
        if "<!--" not in line or n - 1 in code:  # no marker (nor one misspelt); markers shown in code blocks stay as written
            out.append(line)
            continue
        m = MARKER_RE.match(line)
        if not m and NEAR_MARKER_RE.match(line):
            raise PluginError(f"{where(n)}: misspelt marker {line.strip()!r}: write <!-- runbook-checks: NAME -->")
        if not m:
            out.append(line)
            continue
        name, args = m.group("name"), tuple(m.group("args").split())
        if name not in MARKERS:
            raise PluginError(f"{where(n)}: unknown runbook-checks marker {name!r}; known: {', '.join(MARKERS)}")
        if name in RUNBOOK_MARKERS and not runbook_page:
            raise PluginError(f"{where(n)}: the {name!r} marker belongs on a runbook page (one with 'runbook:' front matter)")
        if name in BARE_MARKERS and args:
            raise PluginError(f"{where(n)}: the {name!r} marker takes no arguments")
        if name == "fleet" and len(args) != 1:
            raise PluginError(f"{where(n)}: the 'fleet' marker takes one runbook id: <!-- runbook-checks: fleet RUNBOOK-ID -->")
        rendered = render(Marker(name, args, n))
        indent = line[: len(line) - len(line.lstrip(" \t"))]  # a marker in a container or list item stays in it
        out.append("\n".join(indent + part if part else part for part in rendered.split("\n")))
    return "\n".join(out)
