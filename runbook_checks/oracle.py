"""The site's reading of a runbook: which fences the published page shows as tagged blocks.

The checker finds tagged blocks with markdown-it-py (``parse``); the site renders the
page with Python-Markdown and pymdown-extensions. ``lint`` compares the two readings
through ``rendered_blocks`` so a block runs only if the page shows it as tagged
(``docs/reference/runbook-format.md``). Where Python-Markdown or pymdown-extensions is
not installed (the core package without the ``site`` extra), there is no oracle and
``rendered_blocks`` returns ``None``.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import yaml

#: the Markdown extensions used when the project has no ``mkdocs.yml`` (this project's own)
EXTENSIONS: tuple[Any, ...] = ("admonition", "attr_list", "tables", "pymdownx.details", "pymdownx.superfences",
                               {"pymdownx.tabbed": {"alternate_style": True}})

_OPEN_RE = re.compile(r"<(div|pre|code)\b([^>]*)>")
_ID_RE = re.compile(r'\bid="([^"]*)"')
_CLASS_RE = re.compile(r'\bclass="([^"]*)"')
_TAG_RE = re.compile(r"<[^>]+>")
KINDS = ("check", "step")


class _Loader(yaml.SafeLoader):
    """mkdocs.yml may hold ``!ENV`` or ``!!python/name`` tags: read them as nothing."""


_Loader.add_multi_constructor("", lambda loader, suffix, node: None)


def site_extensions(root: Path) -> list[Any]:
    """The ``markdown_extensions`` of ``root/mkdocs.yml`` (names, or one-key mappings of a
    name to its options), else ``EXTENSIONS``; an unreadable file gives ``EXTENSIONS``."""
    try:
        config = yaml.load((root / "mkdocs.yml").read_text(encoding="utf-8-sig"), Loader=_Loader)
        found = config.get("markdown_extensions") if isinstance(config, dict) else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        found = None
    return list(found) if isinstance(found, list) else list(EXTENSIONS)


def _renderer(extensions: list[Any]) -> Any:
    try:
        import markdown
    except ImportError:
        return None
    names = [next(iter(e)) if isinstance(e, dict) else e for e in extensions if isinstance(e, (str, dict)) and e]
    configs = {next(iter(e)): (next(iter(e.values())) or {}) for e in extensions if isinstance(e, dict) and e}
    try:
        return markdown.Markdown(extensions=names, extension_configs=configs)
    except (ImportError, TypeError, ValueError, KeyError, AttributeError):  # an extension this machine does not have
        return None


def rendered_blocks(body: str, extensions: list[Any] | None = None) -> dict[str, tuple[str, str]] | None:
    """``{block id: (kind, code)}`` of the fences the site renders with an id and a
    ``check``/``step`` class, from the page's Markdown ``body`` (front matter removed),
    with the site's ``extensions`` (``site_extensions``); ``None`` when the site's renderer
    or one of its extensions is not installed."""
    md = _renderer(list(EXTENSIONS) if extensions is None else extensions)
    if md is None:
        return None
    out = md.convert(body)
    found: dict[str, tuple[str, str]] = {}
    for m in _OPEN_RE.finditer(out):
        ident, classes = _ID_RE.search(m.group(2)), _CLASS_RE.search(m.group(2))
        kinds = [c for c in (classes.group(1).split() if classes else ()) if c in KINDS]
        if ident is None or not kinds:
            continue
        start = out.find("<code", m.start())
        start = out.find(">", start) + 1
        end = out.find("</code>", start)
        code = html.unescape(_TAG_RE.sub("", out[start:end])) if start > 0 and end > 0 else ""
        found.setdefault(html.unescape(ident.group(1)), (kinds[0], code))
    return found


__all__ = ["EXTENSIONS", "rendered_blocks", "site_extensions"]
