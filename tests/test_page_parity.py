"""Differential: the checker and the published page never silently disagree on a runbook's
tagged blocks. Seeded generated documents, each read by the checker (``parse``) and by the
site's renderer (``oracle``): lint is clean only where both find the same blocks, kinds and code."""

from __future__ import annotations

import random
import textwrap

import pytest

from runbook_checks.oracle import EXTENSIONS, rendered_blocks
from runbook_checks.parse import parse_runbook
from runbook_checks.lint import check_runbook

FRONT = "---\nrunbook:\n  id: gen\n  confirm: GO\n---\n# Generated\n\n"
INDENTS = ["    ", "\t", "  ", "   "]
CONTAINERS = ['!!! note', '???+ note', '=== "Tab"', "!!!note", "> !!! note", "* item"]
FENCES = ["```", "~~~", "````"]
INFOS = ["bash {{#{id} .{kind}}}", "bash {{#{id} .{kind} timeout=5}}", "bash{{#{id} .{kind}}}", "sh {{#{id} .{kind}}}"]


def fence(rng: random.Random, block_id: str, indent: str) -> str:
    mark = rng.choice(FENCES)
    closing = rng.choice([mark, mark, mark + mark[0], " " + mark])
    info = rng.choice(INFOS).format(id=block_id, kind=rng.choice(["check", "check", "step"]))
    body = rng.choice(["echo one", "echo one\necho two", "printf '%s\\n' a\tb"])
    lines = [f"{mark}{info}", *body.split("\n"), closing]
    return "\n".join(indent + line for line in lines) + "\n"


def document(seed: int) -> str:
    rng = random.Random(seed)
    parts = [FRONT]
    for n in range(rng.randint(1, 3)):
        block_id = f"b{n}"
        shape = rng.choice(["top", "container", "nested", "quote"])
        if shape == "top":
            parts.append(fence(rng, block_id, ""))
        elif shape == "container":
            parts.append(rng.choice(CONTAINERS) + "\n\n" + fence(rng, block_id, rng.choice(INDENTS)))
        elif shape == "nested":
            outer, inner = rng.choice(CONTAINERS[:3]), rng.choice(CONTAINERS[:3])
            indent = rng.choice(INDENTS)
            parts.append(f"{outer}\n\n{indent}{inner}\n\n" + fence(rng, block_id, indent * 2))
        else:
            parts.append(textwrap.indent(fence(rng, block_id, ""), "> "))
        parts.append(rng.choice(["\n", "\nSome prose.\n\n", "\n\n"]))
    text = "".join(parts)
    return text.replace("\n", rng.choice(["\n", "\n", "\r\n"]))


@pytest.mark.parametrize("seed", range(300))
def test_lint_is_clean_only_where_checker_and_page_agree(tmp_path, seed):
    path = tmp_path / "gen.md"
    path.write_bytes(document(seed).encode())
    runbook, problems = parse_runbook(path)
    if runbook is None:
        return
    problems += check_runbook(runbook, str(path), parsed_cleanly=not problems)
    text = path.read_bytes().decode().replace("\r\n", "\n")
    rendered = rendered_blocks(text.split("\n---\n", 1)[1], list(EXTENSIONS))
    assert rendered is not None, "the site extra is a test dependency"
    checker = {b.id: (b.kind, b.code.rstrip("\n")) for b in runbook.blocks}
    page = {i: (kind, code.rstrip("\n")) for i, (kind, code) in rendered.items()}
    if checker != page:  # the two readings differ: lint must say so
        assert problems, f"seed {seed}: silent disagreement\n{document(seed)}\nchecker={checker}\npage={page}"


#: the shapes the issue names (\t is a tab): each must be read alike by both, or reported
ISSUE_SHAPES = {
    "tab-indented tab": '=== "T"\n\t```bash {#x .check}\n\techo x\n\t```\n',
    "tab-indented admonition": "!!! note\n\t```bash {#x .check}\n\techo x\n\t```\n",
    "tab-indented details": "???+ note\n\t```bash {#x .check}\n\techo x\n\t```\n",
    "html block with markdown": "<div markdown>\n\n```bash {#x .check}\necho x\n```\n\n</div>\n",
    "header without space": "!!!note\n    ```bash {#x .check}\n    echo x\n    ```\n",
    "tab header without space": '===! "T"\n    ```bash {#x .check}\n    echo x\n    ```\n',
    "container in a quote": "> !!! note\n>     ```bash {#x .check}\n>     echo x\n>     ```\n",
    "attr_list colon form": "```bash {: #x .check }\necho x\n```\n",
    "single-quoted value": "```bash {#x .check expect='x'}\necho x\n```\n",
    "closing fence indented differently": "```bash {#x .check}\necho x\n ```\n",
    "closing fence longer": "```bash {#x .check}\necho x\n````\n",
    "no space before attributes": "```bash{#x .check}\necho x\n```\n",
    "fence on a list marker": "* ```bash {#x .check}\n  echo x\n  ```\n",
    "no language": "``` {#x .check}\necho x\n```\n",
}


@pytest.mark.parametrize("shape", sorted(ISSUE_SHAPES))
@pytest.mark.parametrize("extensions", ["project", "with md_in_html"])
def test_the_issues_shapes_are_read_alike_or_reported(tmp_path, shape, extensions):
    path = tmp_path / "shape.md"
    path.write_text(FRONT + ISSUE_SHAPES[shape])
    exts = list(EXTENSIONS) + (["md_in_html"] if extensions != "project" else [])
    if extensions != "project":
        (tmp_path / "mkdocs.yml").write_text("site_name: s\nmarkdown_extensions: [" + ", ".join(
            e if isinstance(e, str) else "{pymdownx.tabbed: {alternate_style: true}}" for e in exts) + "]\n")
    runbook, problems = parse_runbook(path)
    problems += check_runbook(runbook, str(path), parsed_cleanly=not problems) if runbook else []
    rendered = rendered_blocks(path.read_text().split("\n---\n", 1)[1], exts)
    checker = {b.id: (b.kind, b.code.rstrip("\n")) for b in runbook.blocks} if runbook else {}
    page = {i: (kind, code.rstrip("\n")) for i, (kind, code) in rendered.items()}
    assert checker == page or problems, f"{shape}: checker={checker} page={page}"
