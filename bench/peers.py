"""Peers from PyPI for the block-running rows: pytest-codeblocks, sybil (with a small bash evaluator)
and markdown-exec (inside `mkdocs build`).

They are installed on first use into a venv of their own, ``${TMPDIR:-/tmp}/rbc-bench-peers``
(``--peers-venv`` overrides it), at the pinned versions below, with mkdocs, Material,
pymdown-extensions and pytest pinned to the versions the product's own environment has, so
that the build and the test runner around each peer are the same as around the product.
When the venv cannot be made (no network, no registry), `ensure_venv` says why and the bench
prints a "not available" line for each peer instead.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

from measure import Case

PINS = ["pytest-codeblocks==0.18.0", "markdown-exec==1.12.6", "sybil==10.1.0"]
SHARED = ["mkdocs", "mkdocs-material", "pymdown-extensions", "pytest"]
NAMES = ["pytest-codeblocks", "sybil (bash evaluator)", "markdown-exec (mkdocs build)"]

SYBIL_CONFTEST = '''"""Sybil runs each bash block as the product does: bash -euo pipefail, own session, output captured."""
import subprocess

from sybil import Sybil
from sybil.parsers.markdown import CodeBlockParser


def run_bash(example):
    subprocess.run(["bash", "-euo", "pipefail", "-c", example.parsed], stdin=subprocess.DEVNULL,
                   capture_output=True, start_new_session=True, check=True)


pytest_collect_file = Sybil(parsers=[CodeBlockParser(language="bash", evaluator=run_bash)], patterns=["*.md"]).pytest()
'''


def shared_pins() -> list[str]:
    """mkdocs, Material, pymdown-extensions and pytest at the product environment's versions."""
    pins = []
    for name in SHARED:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pins.append(name)
    return pins


def ensure_venv(venv: Path) -> str | None:
    """Make VENV with the pinned peers unless it is there; None when ready, else why not."""
    bin_dir = venv / "bin"
    if (bin_dir / "pytest").exists() and (bin_dir / "mkdocs").exists() and (venv / ".pins-ok").exists():
        return None
    print(f"bench: installing the peers into {venv} ({', '.join(PINS)})", file=sys.stderr, flush=True)
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", *PINS, *shared_pins()],
    ]
    for step in steps:
        try:
            proc = subprocess.run(step, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"could not install the peers ({exc})"
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return f"could not install the peers into {venv} (registry unreachable?): {last}"
    (venv / ".pins-ok").write_text("\n".join(PINS) + "\n")
    return None


def _put(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    return directory


def peer_cases(venv: Path, n: int, root: Path) -> list[Case]:
    """The three peers' own input for N trivial `echo x` blocks, and their commands."""
    bin_dir = venv / "bin"
    bash_md = "".join("```bash\necho x\n```\n\n" for _ in range(n))
    ini = {"pytest.ini": "[pytest]\n"}
    pytest = [str(bin_dir / "pytest"), "-q", "-p", "no:cacheprovider"]
    exec_md = "# Bench\n\n" + "".join('```bash exec="1"\necho x\n```\n\n' for _ in range(n))
    mkdocs_yml = (
        "site_name: bench\ntheme: {name: material}\nplugins:\n  - search\n  - markdown-exec\n"
        "markdown_extensions: [attr_list, pymdownx.superfences]\n"
    )
    return [
        Case(
            NAMES[0],
            [*pytest, "--codeblocks", "blocks.md"],
            _put(root / "codeblocks", {"blocks.md": bash_md, **ini}),
            expect=rf"\b{n} passed",
        ),
        Case(
            NAMES[1],
            [*pytest, "blocks.md"],
            _put(root / "sybil", {"blocks.md": bash_md, "conftest.py": SYBIL_CONFTEST, **ini}),
            expect=rf"\b{n} passed",
        ),
        Case(
            NAMES[2],
            [str(bin_dir / "mkdocs"), "build", "-q"],
            _put(root / "markdown-exec", {"docs/index.md": exec_md, "mkdocs.yml": mkdocs_yml}),
            env={"NO_MKDOCS_2_WARNING": "1"},
            fresh="site",
        ),
    ]
