"""The site's reading of a runbook: which fences the published page shows as tagged blocks.

The checker finds tagged blocks with markdown-it-py (``parse``); the site renders the
page with Python-Markdown and pymdown-extensions. ``lint`` compares the two readings
through ``rendered_blocks`` so a block runs only if the page shows it as tagged
(``docs/reference/runbook-format.md``). Where Python-Markdown or pymdown-extensions is
not installed (the core package without the ``site`` extra), there is no oracle and
``rendered_blocks`` returns ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml

#: the Markdown extensions used when the project has no ``mkdocs.yml`` (this project's own)
EXTENSIONS: tuple[Any, ...] = ("admonition", "attr_list", "tables", "pymdownx.details", "pymdownx.superfences",
                               {"pymdownx.tabbed": {"alternate_style": True}})
#: what MkDocs puts before a site's own ``markdown_extensions`` (mkdocs.config.defaults)
MKDOCS_BUILTIN: tuple[str, ...] = ("toc", "tables", "fenced_code")
KINDS = ("check", "step")
#: elements whose content a browser never shows as part of the page
_UNSHOWN = frozenset({"script", "style", "template", "textarea", "title", "noscript", "iframe", "xmp", "head"})
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})


class SiteConfigError(Exception):
    """The site's ``mkdocs.yml`` cannot be turned into its Markdown renderer (a broken
    file, an extension that is not installed): the page cannot be read as the site would."""


@dataclass(frozen=True)
class PageBlock:
    """A tagged code block as the page shows it: an element with an id and a ``check`` or
    ``step`` class that holds a ``<code>`` element (``code``: that element's text)."""

    id: str
    kind: str
    code: str


class _PageReader(HTMLParser):
    """Tagged elements holding code, outside comments, ``script``/``style``/``template``…
    content, attribute values and ``hidden`` subtrees (none of which the page shows)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[PageBlock] = []
        self.stack: list[tuple[str, bool]] = []  # open elements: (tag, shown)
        self.tagged: list[tuple[int, str, str, list[str] | None]] = []  # (stack depth, id, kind, code text once <code> opened)

    def _shown(self) -> bool:
        return not self.stack or self.stack[-1][1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        values = dict(attrs)
        shown = self._shown() and tag not in _UNSHOWN and "hidden" not in values
        self.stack.append((tag, shown))
        if not shown:
            return
        kinds = [c for c in (values.get("class") or "").split() if c in KINDS]
        if values.get("id") and kinds:
            self.tagged.append((len(self.stack), values["id"] or "", kinds[0], None))
        elif tag == "code" and self.tagged and self.tagged[-1][3] is None:
            depth, ident, kind, _ = self.tagged[-1]
            self.tagged[-1] = (depth, ident, kind, [])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_data(self, data: str) -> None:
        if self.tagged and self.tagged[-1][3] is not None and self._shown():
            self.tagged[-1][3].append(data)

    def handle_endtag(self, tag: str) -> None:
        if not any(t == tag for t, _ in self.stack):
            return
        while self.stack:
            depth = len(self.stack)
            if self.tagged and self.tagged[-1][0] == depth:
                _, ident, kind, code = self.tagged.pop()
                if code is not None:
                    self.found.append(PageBlock(ident, kind, "".join(code)))
            if self.stack.pop()[0] == tag:
                break


class _Loader(yaml.SafeLoader):
    """mkdocs.yml may hold ``!ENV`` or ``!!python/name`` tags: read them as nothing."""


_Loader.add_multi_constructor("", lambda loader, suffix, node: None)


def site_config(start: Path) -> Path | None:
    """The ``mkdocs.yml`` the site builds a page under ``start`` with: the nearest one at
    or above ``start``; ``None`` when there is none."""
    for d in (start.resolve(), *start.resolve().parents):
        if (d / "mkdocs.yml").is_file():
            return d / "mkdocs.yml"
    return None


def site_extensions(start: Path) -> list[Any]:
    """The Markdown extensions the site renders a page under ``start`` with: MkDocs'
    own (``MKDOCS_BUILTIN``) and the ``markdown_extensions`` of the nearest ``mkdocs.yml``
    (names, or one-key mappings of a name to its options), else ``EXTENSIONS``. A file
    with YAML tags (``!ENV``, ``!!python/name``) or ``INHERIT`` is read by MkDocs itself.
    Raises ``SiteConfigError`` when the file cannot be read."""
    path = site_config(start)
    if path is None:
        return list(MKDOCS_BUILTIN) + list(EXTENSIONS)
    try:
        text = path.read_text(encoding="utf-8-sig")
        config = yaml.load(text, Loader=_Loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SiteConfigError(f"{path}: {exc}") from None
    if not isinstance(config, dict):
        raise SiteConfigError(f"{path}: not a mapping")
    if "INHERIT" in config or "!" in text:
        return _mkdocs_extensions(path)
    found = config.get("markdown_extensions") or []
    if not isinstance(found, list):
        raise SiteConfigError(f"{path}: markdown_extensions is not a list")
    return list(MKDOCS_BUILTIN) + found


def _mkdocs_extensions(path: Path) -> list[Any]:
    try:
        from mkdocs.config import load_config
        from mkdocs.exceptions import MkDocsException
    except ImportError:
        raise SiteConfigError(f"{path}: needs MkDocs to be read (INHERIT or YAML tags); install the site extra") from None
    try:
        config = load_config(str(path))
    except (MkDocsException, OSError, ValueError, yaml.YAMLError) as exc:
        raise SiteConfigError(f"{path}: {exc}") from None
    return [{name: config.mdx_configs[name]} if name in config.mdx_configs else name for name in config.markdown_extensions]


def _renderer(extensions: list[Any]) -> Any:
    try:
        import markdown
    except ImportError:
        return None
    names = [next(iter(e)) if isinstance(e, dict) else e for e in extensions if isinstance(e, (str, dict)) and e]
    configs = {next(iter(e)): (next(iter(e.values())) or {}) for e in extensions if isinstance(e, dict) and e}
    try:
        return markdown.Markdown(extensions=names, extension_configs=configs)
    except ImportError as exc:
        try:
            import pymdownx  # noqa: F401  (without the site extra there is no oracle)
        except ImportError:
            return None
        raise SiteConfigError(f"a Markdown extension of the site is not installed: {exc}") from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise SiteConfigError(f"the site's Markdown extensions cannot be loaded: {exc}") from None


def rendered_blocks(body: str, extensions: list[Any] | None = None) -> list[PageBlock] | None:
    """The tagged code blocks the site's page shows, in page order (an id may appear more
    than once), from the page's Markdown ``body`` (front matter removed) rendered with
    the site's ``extensions`` (``site_extensions``); ``None`` when the site's renderer is
    not installed. Raises ``SiteConfigError`` when an extension cannot be loaded."""
    md = _renderer(list(EXTENSIONS) if extensions is None else extensions)
    if md is None:
        return None
    reader = _PageReader()
    reader.feed(md.convert(body))
    reader.close()
    return reader.found


__all__ = ["EXTENSIONS", "MKDOCS_BUILTIN", "PageBlock", "SiteConfigError", "rendered_blocks", "site_config", "site_extensions"]
