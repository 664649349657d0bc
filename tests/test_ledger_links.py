"""No write follows a symbolic link planted in the results directory: the ledger, its
lock, the run lock's holder file and its temporary name. A link refuses the run (exit 2)
before anything runs, naming the path; its target is left untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runbook_checks.errors import EXIT_USAGE

from .conftest import clean_env
from .test_ledger_edges import LEDGER, executed, marker_runbook, recorded  # noqa: F401  (recorded: a fixture)


@pytest.fixture
def victim(tmp_path) -> Path:
    path = tmp_path / "victim"
    path.write_text("not yours\n")
    return path


@pytest.mark.parametrize(
    "name, what",
    [
        (".rb.test.holder.tmp", "runbook-checks does not write its lock's holder file through a link"),
        (".rb.test.holder.json", "runbook-checks does not write its lock's holder file through a link"),
        ("rb.jsonl", "runbook-checks does not write a ledger through a link"),
        ("rb.jsonl.lock", "runbook-checks does not open the ledger's lock file through a link"),
    ],
)
def test_a_planted_link_refuses_the_run_before_anything_runs(cli, write, tmp_path, victim, name, what):
    path = marker_runbook(write, tmp_path)
    results = tmp_path / "runbook-results"
    results.mkdir()
    (results / name).symlink_to(victim)
    result = cli("run", path)
    assert result.returncode == EXIT_USAGE and executed(tmp_path) == 0, result.stderr
    assert result.stderr.startswith(f"Error: runbook-results/{name}: is a symbolic link; {what}")
    assert "nothing was executed" in result.stderr.lower() and "Traceback" not in result.stderr
    assert victim.read_text() == "not yours\n" and (results / name).is_symlink()
    (results / name).unlink()  # the lock was released: with the link gone, the run goes ahead
    assert cli("run", path).returncode == 0 and executed(tmp_path) == 1
    assert victim.read_text() == "not yours\n"


def test_a_symlinked_ledger_to_a_real_ledger_is_refused_too(cli, tmp_path, recorded):
    elsewhere = tmp_path / "elsewhere.jsonl"
    recorded.rename(elsewhere)
    recorded.symlink_to(elsewhere)
    before = elsewhere.read_bytes()
    result = cli("run", tmp_path / "runbook.md")
    assert result.returncode == EXIT_USAGE and executed(tmp_path) == 2
    assert result.stderr.startswith(f"Error: {LEDGER}: is a symbolic link; runbook-checks does not write a ledger through a link")
    assert elsewhere.read_bytes() == before


def test_a_hard_link_at_the_holders_temporary_name_is_not_written_through(cli, write, tmp_path, victim):
    path = marker_runbook(write, tmp_path)
    results = tmp_path / "runbook-results"
    results.mkdir()
    os.link(victim, results / ".rb.test.holder.tmp")
    assert cli("run", path).returncode == 0
    assert victim.read_text() == "not yours\n"


def test_a_pytest_session_refuses_a_planted_holder_link(tmp_path, write, victim):
    path = marker_runbook(write, tmp_path)
    results = tmp_path / "runbook-results"
    results.mkdir()
    (results / ".rb.test.holder.tmp").symlink_to(victim)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--runbooks", str(path), "-p", "no:cacheprovider", f"--rootdir={tmp_path}"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and executed(tmp_path) == 0
    assert f"{results / '.rb.test.holder.tmp'}: is a symbolic link" in result.stdout
    assert victim.read_text() == "not yours\n" and not (results / "rb.jsonl").exists()
