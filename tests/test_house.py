"""The house rules a newcomer relies on: every module names its one job, every public
definition says what it takes and gives, and no module grows past what one sitting reads."""

from __future__ import annotations

import ast
from pathlib import Path

import runbook_checks

PACKAGE = Path(runbook_checks.__file__).parent
#: lines a module may have (the issue: "every module under ~300 lines")
MAX_LINES = 320


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")


def public_definitions(tree: ast.Module) -> list[ast.AST]:
    """Public functions and classes at module level, and public methods of public classes."""
    out: list[ast.AST] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and not node.name.startswith("_"):
            out.append(node)
            if isinstance(node, ast.ClassDef):
                out += [m for m in node.body if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef) and not m.name.startswith("_")]
    return out


def test_every_module_names_its_job():
    missing = [str(p.relative_to(PACKAGE)) for p in modules() if not ast.get_docstring(ast.parse(p.read_text()))]
    assert not missing, f"modules without a docstring: {missing}"


def test_every_public_definition_has_a_docstring():
    missing = []
    for path in modules():
        for node in public_definitions(ast.parse(path.read_text())):
            if not ast.get_docstring(node):  # type: ignore[arg-type]
                missing.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.name}")  # type: ignore[attr-defined]
    assert not missing, "public definitions without a docstring:\n" + "\n".join(missing)


def test_every_module_reads_in_one_sitting():
    long = [f"{p.relative_to(PACKAGE)}: {n} lines" for p in modules() if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert not long, "\n".join(long)


def test_the_docstring_rule_can_fail():
    tree = ast.parse("def f():\n    pass\n\nclass C:\n    '''doc'''\n    def m(self):\n        pass\n")
    assert [n.name for n in public_definitions(tree) if not ast.get_docstring(n)] == ["f", "m"]
