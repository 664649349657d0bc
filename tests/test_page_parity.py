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
