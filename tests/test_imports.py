"""Imports point down the data flow: the layer order written once, in the package docstring."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import runbook_checks

PACKAGE = Path(runbook_checks.__file__).parent


def layers() -> dict[str, int]:
    """``{module: layer}`` from the numbered lines of the package docstring."""
    found = re.findall(r"^\s+(\d+)\.\s+(.+)$", runbook_checks.__doc__ or "", re.M)
    return {name: int(n) for n, names in found for name in names.split()}


def top_module(path: Path) -> str:
    """The first name under the package: ``parse/blocks.py`` -> ``parse``, ``cli.py`` -> ``cli``."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def imported(path: Path, source: str | None = None) -> set[str]:
    """The package's modules that ``path`` (or ``source`` placed there) imports (top names;
    ``TYPE_CHECKING`` imports do not count)."""
    tree = ast.parse(path.read_text() if source is None else source, str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for child in node.body for n in ast.walk(child)}
    depth = len(path.relative_to(PACKAGE).parts) - 1  # 0 for a module, 1 inside a sub-package
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against where the file sits
                base = list(path.relative_to(PACKAGE).parts[:-1])[: depth - (node.level - 1)] if node.level <= depth + 1 else None
                assert base is not None, f"{path}: import above the package"
                parts = base + (node.module.split(".") if node.module else [])
                names = [parts[0]] if parts else [a.name for a in node.names]
            elif node.module and node.module.split(".")[0] == "runbook_checks":
                rest = node.module.split(".")[1:]
                names = rest[:1] or [a.name for a in node.names]
            else:
                continue
            out.update(names)
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("runbook_checks."))
    return out - {"__init__"}


def test_every_module_has_a_layer():
    order = layers()
    missing = sorted({top_module(p) for p in PACKAGE.rglob("*.py")} - set(order) - {"__init__"})
    assert not missing, f"add these to the layers in runbook_checks/__init__.py: {missing}"


def test_imports_point_down_the_data_flow():
    order = layers()
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = top_module(path)
        if me == "__init__":
            continue
        for other in sorted(imported(path)):
            if other != me and order.get(other, 0) > order[me]:
                upward.append(f"{path.relative_to(PACKAGE)} (layer {order[me]}) imports {other} (layer {order[other]})")
    assert not upward, "\n".join(upward)


def test_the_check_sees_upward_imports_however_written():
    """The rule can fail: a function-level, an absolute and a sub-package import are all found."""
    late = "def _late():\n    from .cli import main\n"
    assert "cli" in imported(PACKAGE / "units.py", late)
    assert "ledger" in imported(PACKAGE / "units.py", "from runbook_checks.ledger import verify_ledger\n")
    assert "cli" in imported(PACKAGE / "parse" / "blocks.py", "from ..cli import main\n")
    assert "units" not in imported(PACKAGE / "units.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .units import x\n")
