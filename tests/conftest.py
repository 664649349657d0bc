"""Shared helpers: run the real CLI in a subprocess, write fixture runbooks."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

# Imported once for the whole test process, before any in-process ``pytester`` run: such a run
# drops the modules it imported when it ends, and PyYAML imported again would meet the libyaml
# extension module of the first import (an extension is never loaded twice), whose nodes are
# the first import's classes: the next run's front matter would then fail to load.
import yaml  # noqa: F401

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "pa$$w0rd-Sup3r/s3cret"
DB_URL = "postgresql://app:p%40ss%2Fw0rd-XyZ@db.internal:5432/dixis"


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if (not k.startswith(("GITHUB_", "DEMO_", "RUNBOOK_")) or k == "RUNBOOK_CHECKS_CACHE_DIR") and k not in ("CI", "NO_COLOR")
    }
    env.update(extra)
    return env


def pytest_configure(config: pytest.Config) -> None:
    """Tests send Ctrl-C (SIGINT) to runs. A suite started as a background job of a
    non-interactive shell (``.ci/run &``) inherits SIGINT ignored, and so would every run
    it starts: Python keeps an inherited "ignore", as it should. Undo that here."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    # the runs the suite starts keep their cache (runbook_checks.cachedir) out of the user's own
    if "RUNBOOK_CHECKS_CACHE_DIR" not in os.environ:
        os.environ["RUNBOOK_CHECKS_CACHE_DIR"] = _OWN_CACHE[0] = tempfile.mkdtemp(prefix="rbc-test-cache-")


#: the cache folder this process made for the suite, if it made one
_OWN_CACHE: list[str] = [""]


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the cache folder ``pytest_configure`` made."""
    if _OWN_CACHE[0]:
        shutil.rmtree(_OWN_CACHE[0], ignore_errors=True)


@pytest.fixture
def cli(tmp_path: Path):
    """Run ``python -m runbook_checks ARGS`` in ``tmp_path``; returns CompletedProcess."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120, cwd: Path | None = None, **kw):
        return subprocess.run(
            [sys.executable, "-m", "runbook_checks", *map(str, args)],
            cwd=cwd or tmp_path,
            env=env if env is not None else clean_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            **kw,
        )

    return run


@pytest.fixture
def write(tmp_path: Path):
    """Write a runbook (dedented) into tmp_path and return its path."""

    def _write(text: str, name: str = "runbook.md") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


def front(body: str = "", *, id: str = "rb", confirm: str | None = "GO-OK", secrets: str = "[]", extra: str = "") -> str:
    """Front matter for small test runbooks."""
    lines = ["---", "runbook:", f"  id: {id}", "  environment: test"]
    if confirm:
        lines.append(f"  confirm: {confirm}")
    lines.append(f"  secrets: {secrets}")
    if extra:
        lines.append(extra)
    lines.append("---")
    return "\n".join(lines) + "\n" + textwrap.dedent(body)


def fence(block_id: str, kind: str, code: str, attrs: str = "") -> str:
    return f"```bash {{#{block_id} .{kind}{' ' + attrs if attrs else ''}}}\n{textwrap.dedent(code).strip()}\n```\n"
