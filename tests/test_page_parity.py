"""Differential: the checker and the published page never silently disagree on a runbook's
tagged blocks (docs/reference/runbook-format.md, "What the page shows is what runs").

Each document is read twice: by the checker (``parse_runbook``, markdown-it-py) and by the
site's renderer — Python-Markdown with the project's own ``mkdocs.yml`` extensions, its HTML
read here with the standard library's parser (independent of ``oracle``, which lint uses).
Where the two readings differ, lint must report a problem; where they agree on a runbook that
lint passes, the checker runs exactly the code the page shows. The documents are seeded
generated ones, the real pages of the Python-Markdown and pymdown-extensions documentation
(their source archives, downloaded by scripts/setup.sh into .cache/pages), and each minimal
shape found so far (tests/fixtures/parity, one file per shape, with its expected outcome).
"""

from __future__ import annotations

import random
import re
import tarfile
from pathlib import Path

import html5lib
import markdown
import pytest
import yaml

from runbook_checks.lint import lint_runbook
from runbook_checks.parse import front_matter_end, parse_runbook, split_lines

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / ".cache" / "pages"
SHAPES = Path(__file__).parent / "fixtures" / "parity"
FRONT = "---\nrunbook:\n  id: gen\n  confirm: GO\n---\n# Generated\n\n"


def project_extensions() -> list:
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text())["markdown_extensions"]


UNSHOWN = {
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


def tagged_elements(html: str) -> list[tuple[str, str, str]]:
    """``(id, kind, code)`` of each element with an id and a check/step class that is or
    holds a ``<code>``, outside what a reader never sees. The HTML is parsed as a browser
    parses it (html5lib); the walk is written apart from ``oracle`` so the two can be compared."""
    tree = html5lib.parseFragment(html, treebuilder="etree", namespaceHTMLElements=False)
    hidden = set()
    for element in tree.iter():
        style = element.get("style", "").replace(" ", "").lower() if isinstance(element.tag, str) else ""
        if isinstance(element.tag, str) and (
            element.tag in UNSHOWN
            or "hidden" in element.attrib
            or "display:none" in style
            or (element.tag == "dialog" and "open" not in element.attrib)
        ):
            hidden |= {id(e) for e in element.iter()}
    found = []
    for element in tree.iter():
        if not isinstance(element.tag, str) or id(element) in hidden or not element.get("id"):
            continue
        kinds = [c for c in element.get("class", "").split() if c in ("check", "step")]
        codes = [e for e in element.iter() if e.tag == "code"]
        if kinds and codes:
            found.append((element.get("id"), kinds[0], "".join(codes[0].itertext())))
    return found


def page_reading(body: str, extensions: list) -> list[tuple[str, str, str]]:
    """``(id, kind, code)`` of each tagged code block the page shows, in page order."""
    names = [next(iter(e)) if isinstance(e, dict) else e for e in extensions]
    configs = {next(iter(e)): next(iter(e.values())) for e in extensions if isinstance(e, dict)}
    html = markdown.Markdown(extensions=["toc", "tables", "fenced_code", *names], extension_configs=configs).convert(body)
    return sorted((i, kind, code.rstrip("\n")) for i, kind, code in tagged_elements(html))


def readings(path: Path, extensions: list) -> tuple[list, list, list]:
    """(checker's blocks, page's blocks, lint problems) for the runbook at ``path``, each
    block as (id, kind, code), sorted."""
    runbook, _ = parse_runbook(path)
    checker = sorted((b.id, b.kind, b.code.rstrip("\n")) for b in runbook.blocks) if runbook else []
    lines = split_lines(path.read_bytes())
    end = front_matter_end(lines)
    body = "\n".join(lines[end + 1 :] if end is not None else lines)
    return checker, page_reading(body, extensions), lint_runbook(path)


# -- generated documents -----------------------------------------------------------------

INDENTS = ["    ", "\t", "  ", "   ", "  \t"]
CONTAINERS = ["!!! note", "???+ note", '??? note "Title"', '=== "Tab"', '===! "Tab"', "!!!note", '!!! warning "Mind"', "!!!"]
FENCES = ["```", "~~~", "````", "~~~~"]
INFOS = [
    "bash {{#{id} .{kind}}}",
    "bash {{#{id} .{kind} timeout=5}}",
    "bash{{#{id} .{kind}}}",
    "sh {{#{id} .{kind}}}",
    "bash {{: #{id} .{kind} }}",
    "bash {{#{id} .{kind} expect='one'}}",
    " {{#{id} .{kind}}}",
    ".bash {{#{id} .{kind}}}",
    "bash {{#{id} .{kind}}} x",
]
BODIES = ["echo one", "echo one\necho two", "printf '%s\\n' a\tb", "echo one\n\necho after a blank line", "cat <<'EOF'\n    indented\nEOF"]
LIST_MARKERS = ["* ", "- ", "1. ", "10) "]


def fence(rng: random.Random, block_id: str, indent: str) -> str:
    mark = rng.choice(FENCES)
    closing = rng.choice([mark, mark, mark, mark + mark[0], " " + mark, mark[:3] if len(mark) > 3 else mark])
    info = rng.choice(INFOS).format(id=block_id, kind=rng.choice(["check", "check", "step"]))
    lines = [f"{mark}{info}", *rng.choice(BODIES).split("\n"), closing]
    return "\n".join(indent + line if line else line for line in lines) + "\n"


def shape(rng: random.Random, block_id: str, depth: int) -> str:
    """One tagged fence in a random context: top level, containers nested to ``depth``, a
    block quote, a list item (fence after the marker's line or on it) or an HTML block."""
    kind = rng.choice(["top", "container", "quote", "list", "html"])
    if kind == "container" and depth > 0:
        indent = rng.choice(INDENTS)
        inner = shape(rng, block_id, depth - 1)
        body = "\n".join(indent + line if line.strip() else line for line in inner.split("\n"))
        return f"{rng.choice(CONTAINERS)}\n{rng.choice(['', chr(10)])}{body}"
    if kind == "quote":
        return "".join(rng.choice(["> ", ">", "> > "]) + line + "\n" for line in shape(rng, block_id, depth - 1).rstrip("\n").split("\n"))
    if kind == "list":
        marker = rng.choice(LIST_MARKERS)
        if rng.random() < 0.3:  # the fence on the marker's line
            text = fence(rng, block_id, "")
            first, _, rest = text.partition("\n")
            return marker + first + "\n" + "".join(" " * len(marker) + line + "\n" for line in rest.rstrip("\n").split("\n"))
        indent = rng.choice(["  ", "   ", "    ", "\t"])
        return f"{marker}item\n\n" + fence(rng, block_id, indent)
    if kind == "html":
        tag = rng.choice(["<div markdown>", '<div markdown="1">', "<details markdown>\n<summary>More</summary>", "<div>"])
        return f"{tag}\n\n{fence(rng, block_id, '')}\n</{tag[1:].split()[0].rstrip('>')}>\n"
    return fence(rng, block_id, "")


def document(seed: int) -> str:
    rng = random.Random(seed)
    parts = ["\ufeff" if rng.random() < 0.1 else "", FRONT]
    for n in range(rng.randint(1, 3)):
        parts.append(shape(rng, f"b{n}", rng.randint(0, 3)))
        parts.append(rng.choice(["\n", "\nSome prose.\n\n", "\n\n"]))
    return "".join(parts).replace("\n", rng.choice(["\n", "\n", "\r\n", "\r"]))


def assert_never_silent(checker: dict, page: dict, problems: list, what: str) -> None:
    if checker != page:
        assert problems, f"{what}: silent disagreement\nchecker={checker}\npage={page}"
    elif not problems:  # lint passes: what runs is what the page shows, block for block
        assert checker == page


@pytest.mark.parametrize("seed", range(400))
def test_generated_documents_are_read_alike_or_reported(tmp_path, seed):
    path = tmp_path / "gen.md"
    path.write_bytes(document(seed).encode())
    assert_never_silent(*readings(path, project_extensions()), what=f"seed {seed}\n{document(seed)!r}")


def test_the_generator_reaches_both_outcomes(tmp_path):
    """The generated documents hold both agreements and reported disagreements (a generator
    whose documents all agree, or all fail to parse, would prove nothing)."""
    outcomes = {"agree": 0, "reported": 0}
    for seed in range(400):
        path = tmp_path / f"{seed}.md"
        path.write_bytes(document(seed).encode())
        checker, page, problems = readings(path, project_extensions())
        outcomes["agree" if checker == page and checker and not problems else "reported"] += 1
    assert outcomes["agree"] >= 20 and outcomes["reported"] >= 20, outcomes


# -- real documentation pages --------------------------------------------------------------

#: a fence opener with a language and nothing else, after quote markers, indentation or a list marker
_UNTAGGED = re.compile(r"^((?:[ \t]*>)*[ \t]*(?:(?:[*+-]|\d+[.)])[ \t]+)?(?:`{3,}|~{3,})\.?[\w+-]+)[ \t]*$")


def tag_every_fence(text: str) -> tuple[str, int]:
    """``text`` with ``{#pN .check}`` added to each fence opener that names a language and
    nothing more (the page's own examples, at any depth): the number tagged."""
    out, n = [], 0
    for line in text.split("\n"):
        if m := _UNTAGGED.match(line):
            n += 1
            line = f"{m.group(1)} {{#p{n} .check}}"
        out.append(line)
    return "\n".join(out), n


def real_pages() -> list[tuple[str, str]]:
    """(name, text) of every Markdown page in the downloaded documentation archives."""
    archives = sorted(PAGES.glob("*.tar.gz"))
    wanted = [
        line.split("==")[0]
        for line in (Path(__file__).parent / "pages" / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert len(archives) == len(wanted), f"run scripts/setup.sh: it downloads {', '.join(wanted)} into {PAGES}"
    pages = []
    for archive in archives:
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.endswith(".md") and "/docs/" in member.name:
                    pages.append((member.name, tar.extractfile(member).read().decode("utf-8-sig")))
    return pages


def test_real_documentation_pages_are_read_alike_or_reported(tmp_path):
    tagged_pages = fences = 0
    for name, text in real_pages():
        tagged, n = tag_every_fence(text.replace("\r\n", "\n"))
        if not n:
            continue
        path = tmp_path / "page.md"
        path.write_text("---\nrunbook:\n  id: page\n---\n" + tagged)
        assert_never_silent(*readings(path, project_extensions()), what=name)
        tagged_pages, fences = tagged_pages + 1, fences + n
    assert tagged_pages >= 40 and fences >= 300, (tagged_pages, fences)  # the archives hold what they held when pinned


# -- minimal shapes, one file each -------------------------------------------------------


def expected(path: Path) -> str:
    """A shape file's first line: ``<!-- expect: agree -->`` or ``<!-- expect: LINE: message start -->``."""
    return re.match(r"<!-- expect: (.*) -->", path.read_text().split("\n", 1)[0]).group(1)


@pytest.mark.parametrize("shape_file", sorted(SHAPES.glob("*.md")), ids=lambda p: p.stem)
@pytest.mark.parametrize("extensions", ["project", "with md_in_html"])
def test_each_minimal_shape_has_its_outcome(tmp_path, shape_file, extensions):
    path = tmp_path / "shape.md"
    path.write_bytes(FRONT.encode() + shape_file.read_bytes())
    exts = project_extensions() + (["md_in_html"] if extensions != "project" else [])
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump({"site_name": "s", "markdown_extensions": exts}))
    checker, page, problems = readings(path, exts)
    want = expected(shape_file)
    if want == "agree":
        assert checker == page and checker and not problems, (checker, page, problems)
    else:
        line, message = want.split(": ", 1)
        where = int(line) + FRONT.count("\n")
        assert [p for p in problems if p.line == where and p.message.startswith(message)], problems


# -- the whole file and the site's configuration ---------------------------------------------


@pytest.mark.parametrize("space", ["\xa0", "\x85", "\u2028", "\x0b", "\x0c", "\u3000"])
@pytest.mark.parametrize("where", ["opening", "closing"])
def test_front_matter_is_front_matter_only_where_mkdocs_reads_it_so(tmp_path, space, where):
    """MkDocs takes ``---`` with only spaces or tabs after it as a delimiter; with other
    whitespace the "front matter" is Markdown on the page, and its fences are blocks there."""
    opening, closing = ("---" + space, "---") if where == "opening" else ("---", "---" + space)
    text = f"{opening}\nrunbook:\n  id: gen\ndoc: |\n  ```bash {{#x .step}}\n  echo hidden\n  ```\n{closing}\n```bash {{#y .check}}\necho ok\n```\n"
    path = tmp_path / "fm.md"
    path.write_bytes(text.encode())
    assert_never_silent(*readings(path, project_extensions()), what=repr(text))


def test_front_matter_closed_by_dots_is_read_alike(tmp_path):
    path = tmp_path / "dots.md"
    path.write_text("---\nrunbook:\n  id: gen\n...\n```bash {#y .check}\necho ok\n```\n")
    checker, page, problems = readings(path, project_extensions())
    assert checker == page == [("y", "check", "echo ok")] and not problems


LIST_MARKER_FENCE = "---\nrunbook:\n  id: gen\n---\n* ```bash {#x .check}\n  echo hi\n  ```\n"


@pytest.mark.parametrize(
    "yml, problem",
    [
        # Material's own emoji configuration: YAML tags that only MkDocs resolves
        (
            "markdown_extensions:\n  - attr_list\n  - pymdownx.superfences\n  - pymdownx.emoji:\n"
            "      emoji_index: !!python/name:material.extensions.emoji.twemoji\n"
            "      emoji_generator: !!python/name:material.extensions.emoji.to_svg\n",
            None,
        ),
        ("INHERIT: base.yml\n", None),
        ("markdown_extensions: [attr_list, pymdownx.superfences, no_such_extension]\n", "cannot render the page as the site does"),
        ("markdown_extensions: [attr_list\n", "cannot render the page as the site does"),
    ],
)
def test_the_sites_configuration_is_read_as_mkdocs_reads_it_or_reported(cli, tmp_path, yml, problem):
    (tmp_path / "base.yml").write_text("site_name: s\nmarkdown_extensions: [attr_list, pymdownx.superfences]\n")
    (tmp_path / "mkdocs.yml").write_text("site_name: s\n" + yml)
    (tmp_path / "docs").mkdir()
    path = tmp_path / "docs" / "rb.md"
    path.write_text(LIST_MARKER_FENCE)
    linted = cli("lint", path)
    assert linted.returncode == 2
    assert (problem or "block 'x': the published page does not show this fence as a tagged block") in linted.stdout


def test_the_nearest_mkdocs_yml_is_the_sites(cli, tmp_path):
    """A repository whose site lives in a sub-folder: its mkdocs.yml, not this project's list."""
    (tmp_path / ".git").mkdir()
    site = tmp_path / "site"
    (site / "docs").mkdir(parents=True)
    (site / "mkdocs.yml").write_text("site_name: s\nmarkdown_extensions: [attr_list, pymdownx.superfences]\n")  # no admonition
    path = site / "docs" / "rb.md"
    path.write_text("---\nrunbook:\n  id: gen\n---\n!!! note\n\n    ```bash {#x .check}\n    echo hi\n    ```\n")
    linted = cli("lint", path)
    assert linted.returncode == 2 and f"{path}:7: block 'x': the published page does not show" in linted.stdout


def test_what_the_page_shows_is_what_chromium_shows(tmp_path):
    """The page reading lint trusts (``oracle``) against a real headless Chromium: for every
    minimal shape, the tagged code blocks a reader can see, and their text."""
    from playwright.sync_api import sync_playwright

    from runbook_checks.oracle import rendered_blocks

    from .test_site import CHROMIUM

    names = [next(iter(e)) if isinstance(e, dict) else e for e in project_extensions()]
    configs = {next(iter(e)): next(iter(e.values())) for e in project_extensions() if isinstance(e, dict)}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        tab = browser.new_page()
        for shape_file in sorted(SHAPES.glob("*.md")):
            body = shape_file.read_text()
            html = markdown.Markdown(extensions=["toc", "tables", "fenced_code", *names], extension_configs=configs).convert(body)
            tab.set_content(f"<!doctype html><html><body>{html}</body></html>")
            seen = tab.evaluate("""() => [...document.querySelectorAll('[id].check, [id].step')]
                .filter(e => e.checkVisibility() && (e.matches('code') || e.querySelector('code')))
                .map(e => [e.id, e.classList.contains('check') ? 'check' : 'step',
                           (e.matches('code') ? e : e.querySelector('code')).textContent])""")
            oracle = [[b.id, b.kind, b.code] for b in rendered_blocks(body, ["toc", "tables", "fenced_code", *project_extensions()])]
            assert sorted(seen) == sorted(oracle), shape_file.stem
        browser.close()
