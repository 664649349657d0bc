"""Exit codes are mapped in one place, the command group: a table per error class
(in-process, click's ``CliRunner``), the gate order of ``run``, and the ``OSError`` rule
(2 only before a block started) with real processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import click
import pytest
from click.testing import CliRunner

from runbook_checks import errors
from runbook_checks.attempt import Progress, check_gates
from runbook_checks.cli import main
from runbook_checks.cli.group import RunbookChecksGroup, progress
from runbook_checks.drift import DriftError
from runbook_checks.lint import load_runbook

from .conftest import clean_env, fence, front


def record(exit_code: int, status: str) -> Any:
    """A stand-in for a run record with this outcome (``Progress`` reads only these two)."""
    return SimpleNamespace(exit_code=exit_code, status=status)


def invoke(exc: BaseException, done: Progress | None = None):
    """Run a one-command group whose command raises ``exc`` after ``done`` (how far it got)."""

    @click.command("boom")
    @click.pass_context
    def boom(ctx: click.Context) -> None:
        if done is not None:
            vars(progress()).update(vars(done))
        raise exc

    group = RunbookChecksGroup("t")
    group.add_command(boom)
    return CliRunner().invoke(group, ["boom"])


@pytest.mark.parametrize(
    "exc, code, message",
    [
        (errors.UsageProblem("bad option"), 2, "Error: bad option"),
        (errors.GateRefused("wrong token"), 2, "Error: wrong token"),
        (errors.LockHeld("held by pid 1"), 3, "Error: held by pid 1"),
        (errors.LedgerError("x.jsonl:3: hash mismatch"), 1, "Error: x.jsonl:3: hash mismatch"),
        (errors.LedgerRefused("cannot take the record"), 2, "Error: cannot take the record"),
        (errors.NotRecorded("writing the record failed"), 4, "Error: writing the record failed"),
        (errors.InterruptedUnrecorded("interrupted at the prompt"), 130, "Error: interrupted at the prompt"),
        (DriftError("no pg_dump"), 2, "Error: no pg_dump"),
        (KeyboardInterrupt(), 130, "Error: interrupted before the run started; nothing was recorded"),
        (FileNotFoundError(2, "No such file or directory", "rb.md"), 2, "Error: rb.md: No such file or directory"),
    ],
)
def test_each_error_class_has_its_exit_code(exc, code, message):
    result = invoke(exc)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_an_invalid_runbook_prints_its_problems_then_exits_2():
    problems = [errors.Problem("rb.md", 9, "unknown attribute"), errors.Problem("rb.md", 3, "duplicate id")]
    result = invoke(errors.RunbookInvalid(problems))
    assert result.exit_code == 2
    assert result.output.index("rb.md:3: duplicate id") < result.output.index("rb.md:9: unknown attribute")
    assert "the runbook has 2 problem(s); nothing was executed" in result.output


@pytest.mark.parametrize(
    "done, code, message",
    [
        (Progress(), 2, "Error: j.xml: Permission denied\n"),
        (Progress(started=True), 1, "j.xml: Permission denied — blocks had started; nothing was recorded"),
        (Progress(True, record(0, "passed")), 1, "the blocks ran (passed); nothing was recorded"),
        (Progress(True, record(0, "passed"), Path("l.jsonl")), 1, "recorded in l.jsonl (passed, exit 0), but this output"),
        (Progress(True, record(1, "failed"), Path("l.jsonl")), 1, "recorded in l.jsonl (failed, exit 1)"),
        (Progress(True, record(130, "interrupted"), Path("l.jsonl")), 130, "recorded in l.jsonl (interrupted, exit 130)"),
    ],
)
def test_an_os_error_is_2_only_before_a_block_started(done, code, message):
    result = invoke(PermissionError(13, "Permission denied", "j.xml"), done)
    assert result.exit_code == code
    assert message in result.output


def test_a_late_ctrl_c_says_where_the_run_is_recorded():
    result = invoke(KeyboardInterrupt(), Progress(True, record(1, "failed"), Path("l.jsonl")))
    assert result.exit_code == 130
    assert "interrupted after the run: it is recorded in l.jsonl (failed, exit 1)" in result.output


def test_schema_is_mapped_too():
    """Every command goes through the group, ``schema`` included (it had no mapping)."""
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0 and json.loads(result.output)["type"] == "object"


@pytest.fixture
def gated(tmp_path: Path) -> Path:
    """A runbook with a confirmation token, a secret and a step."""
    (tmp_path / ".git").mkdir()
    path = tmp_path / "rb.md"
    path.write_text(front(fence("c", "check", 'test -n "$TOK"') + fence("s", "step", "true"), secrets="[TOK]"), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "args, env, refusal",
    [
        (["--confirm", "GO-OK"], {"TOK": "x"}, "--confirm is only used with --execute"),
        (["--no-preview"], {"TOK": "x"}, "--no-preview is only used with --dry-run"),
        (["--only", "nope"], {"TOK": "x"}, "nope"),
        # the token before the secret: a missing token refuses even when the secret is missing too
        (["--execute"], {}, "--execute needs the confirmation token"),
        (["--execute", "--confirm", "go-ok"], {}, "(the letter case differs); type exactly GO-OK"),
        (["--execute", "--confirm", "GO-OK"], {}, "TOK"),
        ([], {}, "TOK"),
    ],
)
def test_run_refuses_in_gate_order_before_anything_runs(gated, args, env, refusal, monkeypatch):
    for name in ("TOK", "CI"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(main, ["run", str(gated), *args], env=env)
    assert result.exit_code == 2, result.output
    assert refusal in result.output
    assert not (gated.parent / "runbook-results" / "rb.jsonl").exists()


def test_the_confirmation_question_names_the_target_after_the_secrets(gated, tmp_path):
    runbook = load_runbook(gated)
    asked: list[str] = []

    def ask(question: str) -> str:
        asked.append(question)
        return "GO-OK"

    with pytest.raises(errors.GateRefused, match="TOK"):  # the secret refuses before the question
        check_gates(runbook, execute=True, confirm=None, results_dir=tmp_path, environ={}, ask=ask)
    assert asked == []
    check_gates(runbook, execute=True, confirm=None, results_dir=tmp_path, environ={"TOK": "x"}, ask=ask)
    assert asked == ["Type GO-OK to run the mutating steps of rb on test"]
    check_gates(runbook, execute=False, confirm=None, results_dir=tmp_path, environ={"TOK": "x"}, ask=ask)
    assert len(asked) == 1  # checks only: no question


def test_the_failure_report_in_process(tmp_path):
    (tmp_path / ".git").mkdir()
    path = tmp_path / "rb.md"
    path.write_text(front(fence("a", "check", "echo oops; exit 3") + fence("b", "check", "exit 4")), encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(path), "-q"], env={"CI": "true"})
    assert result.exit_code == 1
    lines = result.output.splitlines()
    first = lines.index(f"✘ {path}:8: block 'a' failed: exit code 3, expected 0")
    assert lines[first + 1 : first + 6] == [
        "  exit code: 3",
        "  command:",
        "    $ echo oops; exit 3",
        "  output (last lines, redacted):",
        "    oops",
    ]
    assert f"  next: fix the cause (see {path}:8), then run: runbook-checks run {path} --from a" in lines
    assert "  ran after block 'a' failed: its next command, above, re-runs this block too" in lines
    assert any(line.startswith("FAILED: 2 failed in ") for line in lines)


def cli_process(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command line in a process, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "runbook_checks", *args], cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "code, exit_code, status",
    [
        ("true", 1, "passed"),  # the run passed, but the JUnit file asked for is missing: no success
        ("exit 5", 1, "failed"),
        ("kill -INT $PPID; sleep 5", 130, "interrupted"),  # the run's own code, not "nothing ran" (2) nor 1
    ],
)
def test_an_os_error_after_the_blocks_ran_keeps_the_runs_exit_code(tmp_path, code, exit_code, status):
    (tmp_path / ".git").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "rb.md").write_text(front(fence("a", "check", f"rm -rf out && touch out; {code}")), encoding="utf-8")
    result = cli_process(tmp_path, "run", "rb.md", "--junit", "out/j.xml")
    assert result.returncode == exit_code, result.stdout + result.stderr
    assert (
        f"Error: out/j.xml: Not a directory — the run executed and is recorded in runbook-results/rb.jsonl ({status}, exit "
        in result.stderr
    )
    [line] = (tmp_path / "runbook-results" / "rb.jsonl").read_text().splitlines()
    assert json.loads(line)["status"] == status


def test_an_os_error_before_anything_ran_is_2(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "afile").write_text("")
    (tmp_path / "rb.md").write_text(front(fence("a", "check", "touch ran")), encoding="utf-8")
    result = cli_process(tmp_path, "run", "rb.md", "--junit", "afile/j.xml")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("Error: afile")
    assert not (tmp_path / "ran").exists() and not (tmp_path / "runbook-results" / "rb.jsonl").exists()
