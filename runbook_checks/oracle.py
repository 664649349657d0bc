"""The site's reading of a runbook: which fences the published page shows as tagged blocks.

The checker finds tagged blocks with markdown-it-py (``parse``); the site renders the
page with Python-Markdown and pymdown-extensions. ``lint`` compares the two readings
through ``rendered_blocks`` so a block runs only if the page shows it as tagged
(``docs/reference/runbook-format.md``). Where Python-Markdown or pymdown-extensions is
not installed (the core package without the ``site`` extra), there is no oracle and
``rendered_blocks`` returns ``None``. The page's HTML is read with html5lib, as a browser
parses it.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import cachedir
from .status import Kind

#: the Markdown extensions used when the project has no ``mkdocs.yml`` (this project's own)
EXTENSIONS: tuple[Any, ...] = (
    "admonition",
    "attr_list",
    "tables",
    "pymdownx.details",
    "pymdownx.superfences",
    {"pymdownx.tabbed": {"alternate_style": True}},
)
#: what MkDocs puts before a site's own ``markdown_extensions`` (mkdocs.config.defaults)
MKDOCS_BUILTIN: tuple[str, ...] = ("toc", "tables", "fenced_code")
#: extensions whose output depends on files other than the page: their pages are never cached
NOT_CACHED = frozenset({"pymdownx.snippets", "pymdownx.b64"})
#: the classes that make an element a tagged block (its kind)
_KINDS = frozenset(Kind)
#: elements whose content a browser does not show as part of the page (raw text, embedded
#: content's fallback, form controls, a closed dialog)
_UNSHOWN = frozenset(
    {
        "script",
        "style",
        "template",
        "textarea",
        "title",
        "noscript",
        "iframe",
        "xmp",
        "head",
        "noembed",
        "noframes",
        "plaintext",
        "canvas",
        "video",
        "audio",
        "object",
        "select",
        "option",
        "datalist",
        "progress",
        "meter",
        "rp",
    }
)
#: an inline style that hides an element
_HIDING_STYLE = re.compile(r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)|content-visibility\s*:\s*hidden)\b", re.I)


def _hidden(element: Any) -> bool:
    """Whether ``element`` hides itself and what it holds: an unshown kind, ``hidden``, a
    closed ``dialog``, or an inline style that hides it."""
    return (
        element.tag in _UNSHOWN
        or "hidden" in element.attrib
        or (element.tag == "dialog" and "open" not in element.attrib)
        or bool(_HIDING_STYLE.search(element.get("style", "")))
    )


class SiteConfigError(Exception):
    """The site's ``mkdocs.yml`` cannot be turned into its Markdown renderer (a broken
    file, an extension that is not installed): the page cannot be read as the site would."""


@dataclass(frozen=True)
class PageBlock:
    """A tagged code block as the page shows it: an element with an id and a ``check`` or
    ``step`` class (a ``Kind`` value, kept a plain ``str``) that holds a ``<code>`` element
    (``code``: that element's text)."""

    id: str
    kind: str
    code: str


def _page_blocks(html: str) -> list[PageBlock]:
    """The tagged code blocks of rendered ``html``, read with html5lib (the HTML5 parsing
    algorithm browsers use: a ``<p>`` closed by a block, a self-closing ``<div/>`` left
    open, comments and raw text as such); what a reader never sees is left out."""
    import html5lib

    found: list[PageBlock] = []

    def walk(element: Any, shown: bool) -> None:
        for child in element:
            if not isinstance(child.tag, str):  # a comment
                continue
            visible = shown and not _hidden(child)
            kinds = [c for c in child.get("class", "").split() if c in _KINDS]
            if visible and child.get("id") and kinds:
                code = child if child.tag == "code" else child.find(".//code")
                if code is not None:
                    found.append(PageBlock(child.get("id"), kinds[0], "".join(code.itertext())))
            walk(child, visible)

    walk(html5lib.parseFragment(html, treebuilder="etree", namespaceHTMLElements=False), True)
    return found


class _Loader(yaml.SafeLoader):
    """A quick read of mkdocs.yml: a YAML tag (``!ENV``, ``!!python/name``) is read as
    nothing and noted in ``tagged``, so that MkDocs' own loader reads such a file."""

    tagged = False


def _tag(loader: _Loader, suffix: str, node: Any) -> None:
    """Read a tagged YAML node as nothing, and note that the file has tags."""
    loader.tagged = True


_Loader.add_multi_constructor("", _tag)


def available() -> bool:
    """Whether the site's renderer is installed (the ``site`` extra: pymdownx and html5lib)."""
    return all(importlib.util.find_spec(name) is not None for name in ("pymdownx", "html5lib"))


def site_config(start: Path, root: Path | None = None) -> Path | None:
    """The configuration the site builds a page under ``start`` with: the nearest
    ``mkdocs.yml`` (or ``mkdocs.yaml``) at or above ``start``, no higher than ``root``
    (the project root); ``None`` when there is none."""
    start = start.resolve()
    for d in (start, *start.parents):
        for name in ("mkdocs.yml", "mkdocs.yaml"):
            if (d / name).is_file():
                return d / name
        if root is not None and d == root.resolve():
            break
    return None


def site_extensions(path: Path | None) -> list[Any]:
    """The Markdown extensions the site renders its pages with: MkDocs' own
    (``MKDOCS_BUILTIN``) and the ``markdown_extensions`` of the configuration at ``path``
    (``site_config``; names, or one-key mappings of a name to its options), else, with no
    configuration, ``EXTENSIONS``. A file with YAML tags (``!ENV``, ``!!python/name``) or
    ``INHERIT`` is read with MkDocs' own loader. Raises ``SiteConfigError`` when the file
    cannot be read or an entry is not an extension."""
    if path is None:
        return list(MKDOCS_BUILTIN) + list(EXTENSIONS)
    try:
        with open(path, encoding="utf-8-sig") as fh:
            loader = _Loader(fh)
            try:
                config = loader.get_single_data()
            finally:
                loader.dispose()
        if isinstance(config, dict) and (loader.tagged or "INHERIT" in config):
            config = _mkdocs_config(path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SiteConfigError(f"{path}: {exc}") from None
    if not isinstance(config, dict):
        raise SiteConfigError(f"{path}: not a mapping")
    found = config.get("markdown_extensions") or []
    if isinstance(found, dict):  # MkDocs also takes {name: options, ...}
        found = [{name: options} if options else name for name, options in found.items()]
    if not isinstance(found, list):
        raise SiteConfigError(f"{path}: markdown_extensions is not a list")
    for n, entry in enumerate(found, start=1):
        if not (isinstance(entry, str) and entry) and not (
            isinstance(entry, dict) and len(entry) == 1 and isinstance(next(iter(entry)), str)
        ):
            raise SiteConfigError(f"{path}: markdown_extensions entry {n} is not a name or {{name: options}}: {str(entry)[:80]!r}")
    return list(MKDOCS_BUILTIN) + found


def _mkdocs_config(path: Path) -> Any:
    """``path`` read with MkDocs' YAML loader (``!ENV``, ``!relative``, Python tags and
    ``INHERIT`` resolved; the configuration is not validated). Raises ``SiteConfigError``."""
    from mkdocs.exceptions import ConfigurationError
    from mkdocs.utils.yaml import yaml_load

    try:
        with open(path, "rb") as fh:
            return yaml_load(fh)
    except (ConfigurationError, ImportError, AttributeError, ValueError) as exc:
        raise SiteConfigError(f"{path}: {exc}") from None


def _renderer(extensions: list[Any]) -> Any:
    """A Python-Markdown instance with ``extensions`` (as ``site_extensions`` gives them).
    Raises ``SiteConfigError`` when one cannot be loaded (not installed, bad options)."""
    import markdown

    names = [next(iter(e)) if isinstance(e, dict) else e for e in extensions]
    configs = {next(iter(e)): (next(iter(e.values())) or {}) for e in extensions if isinstance(e, dict)}
    try:
        return markdown.Markdown(extensions=names, extension_configs=configs)
    except ImportError as exc:
        raise SiteConfigError(f"a Markdown extension of the site is not installed: {exc}") from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise SiteConfigError(f"the site's Markdown extensions cannot be loaded: {exc}") from None


def _cache_key(body: str, extensions: list[Any], site_dir: Path | None) -> str | None:
    """The ``cachedir`` key of the page blocks of ``body`` rendered with ``extensions`` in
    ``site_dir``: everything the rendering depends on (this module's source, the renderer's
    installed packages (``_installed``), the extensions and their options, the folder, the
    text). ``None`` when the result may depend on something else: an extension that reads
    files (``NOT_CACHED``) or is not Python-Markdown's or pymdownx's (its code is not in the
    key), options that are not plain data (a Python object from a ``!!python/name`` tag), or
    a renderer package not installed as a folder."""
    for entry in extensions:
        name = next(iter(entry)) if isinstance(entry, dict) else entry
        short = name.removeprefix("markdown.extensions.")
        if name in NOT_CACHED or not (short in _builtin_extensions() or name.startswith("pymdownx.")):
            return None
    try:
        config = json.dumps(extensions, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        return None
    installed = [_installed(name) for name in _DISTRIBUTIONS]
    return None if None in installed else cachedir.key("page-blocks 2", _own_source(), *installed, config, str(site_dir or ""), body)  # type: ignore[arg-type]


#: the distribution (its ``.dist-info`` folder's name, normalised) of each package of the renderer
_DISTRIBUTIONS = {"markdown": "markdown", "pymdownx": "pymdown_extensions", "pygments": "pygments", "html5lib": "html5lib"}


@functools.cache  # once a process: a package upgraded since is not the code this process runs
def _installed(package: str) -> str | None:
    """Where the renderer's ``package`` is installed, its ``.dist-info`` folders there (they
    name its version) and when its folder last had a file added or removed (reinstalling
    replaces its files); ``None`` when it is no package folder. Read without importing it or
    ``importlib.metadata`` (a tenth of a run's start-up)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder, name = next(iter(spec.submodule_search_locations)), _DISTRIBUTIONS[package] + "-"
    try:
        dists = [d for d in os.listdir(os.path.dirname(folder)) if d.lower().startswith(name) and d.endswith((".dist-info", ".egg-info"))]
        return f"{folder} {os.stat(folder).st_mtime_ns} {' '.join(dists)}"
    except OSError:
        return None


@functools.cache
def _own_source() -> bytes:
    """This module's source: how a page is read may change with it at any version."""
    return Path(__file__).read_bytes()


@functools.cache
def _builtin_extensions() -> frozenset[str]:
    """The short names of Python-Markdown's own extensions: the modules of its
    ``markdown.extensions`` package (what its entry points name)."""
    import markdown.extensions

    modules = map(os.path.splitext, os.listdir(Path(markdown.extensions.__file__).parent))
    return frozenset(name for name, ext in modules if ext == ".py" and name != "__init__")


def rendered_blocks(body: str, extensions: list[Any] | None = None, site_dir: Path | None = None) -> list[PageBlock] | None:
    """The tagged code blocks the site's page shows, in page order (an id may appear more
    than once), from the page's Markdown ``body`` (front matter removed) rendered with the
    site's ``extensions`` (``site_extensions``; default ``EXTENSIONS``) in ``site_dir`` (the
    folder of the site's configuration, where ``mkdocs build`` runs: relative paths such as
    pymdownx.snippets' ``base_path`` are resolved there); ``None`` when the
    site's renderer is not installed (``available``). Raises ``SiteConfigError`` when an
    extension cannot be loaded.

    Rendering costs about 0.6 ms per block (Pygments, html5lib), so the result is kept in
    the user's cache (``cachedir``) under a key of everything it depends on
    (``_cache_key``); a page whose rendering may depend on anything else is rendered every time."""
    if not available():
        return None
    extensions = list(EXTENSIONS) if extensions is None else extensions
    entry = _cache_key(body, extensions, site_dir)
    cached = cachedir.load("page-blocks", entry) if entry is not None else None
    if isinstance(cached, list) and all(
        isinstance(item, list) and len(item) == 3 and all(isinstance(v, str) for v in item) for item in cached
    ):
        return [PageBlock(*item) for item in cached]
    found = _render(body, extensions, site_dir)
    if entry is not None:
        cachedir.store("page-blocks", entry, [[b.id, b.kind, b.code] for b in found])
    return found


def _render(body: str, extensions: list[Any], site_dir: Path | None) -> list[PageBlock]:
    """``rendered_blocks`` without the cache. Raises ``SiteConfigError``."""
    md = _renderer(extensions)
    try:
        with contextlib.chdir(site_dir) if site_dir is not None else contextlib.nullcontext():
            html = md.convert(body)
    except Exception as exc:  # an extension's own error (a missing snippet with check_paths): the page cannot be built
        raise SiteConfigError(f"the page cannot be rendered as the site does: {type(exc).__name__}: {str(exc)[:200]}") from None
    return _page_blocks(html)


__all__ = ["EXTENSIONS", "MKDOCS_BUILTIN", "PageBlock", "SiteConfigError", "available", "rendered_blocks", "site_config", "site_extensions"]
