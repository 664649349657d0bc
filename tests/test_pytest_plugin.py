"""The pytest plugin, through pytest's own pytester: collection, gates, redaction, ledger."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# pytester's in-process runs drop the modules they import; PyYAML's libyaml binding (a C
# extension) does not survive being imported again, so the library is loaded once, here
import runbook_checks.lint  # noqa: F401

from .conftest import fence, front

SECRET = "plugin-s3cret-Value"


@pytest.fixture
def runbook(pytester: pytest.Pytester) -> Path:
    marks = pytester.path / "marks"
    marks.mkdir()
    body = (
        fence("pre", "check", f'touch {marks}/pre; echo "using $TOK"', 'phase=prep criterion="Pre"')
        + fence("apply", "step", f"touch {marks}/apply", "phase=work")
        + fence("post", "check", f"touch {marks}/post; echo all good", 'phase=verify expect="all good"')
    )
    text = front(
        body,
        secrets="[TOK]",
        extra="  phases:\n    - {id: prep, name: Prep, estimate: 1 min}\n"
        "    - {id: work, name: Work, estimate: 1 min}\n    - {id: verify, name: Verify, estimate: 1 min}",
    )
    return pytester.makefile(".md", RB=text)


def ran(pytester: pytest.Pytester) -> list[str]:
    return sorted(p.name for p in (pytester.path / "marks").iterdir())


def test_collects_one_item_per_block_in_document_order(pytester, runbook):
    result = pytester.runpytest("--runbooks", str(runbook), "--collect-only", "-q")
    assert result.outlines[:3] == ["RB.md::pre", "RB.md::apply", "RB.md::post"]


def test_checks_run_steps_skip_and_the_ledger_verifies(pytester, runbook, monkeypatch):
    monkeypatch.setenv("TOK", SECRET)
    result = pytester.runpytest("--runbooks", str(runbook), "-rs")
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(["*RB.md:15: mutating step: runs only with the confirmation token (run --execute*"])
    assert ran(pytester) == ["post", "pre"]
    [record] = [json.loads(line) for line in (pytester.path / "runbook-results" / "rb.jsonl").read_text().splitlines()]
    assert {b["id"]: b["status"] for b in record["blocks"]} == {"pre": "passed", "apply": "skipped", "post": "passed"}
    assert record["options"]["runner"] == "pytest" and record["blocks"][0]["output"] == "using ***\n"
    verify = subprocess.run([sys.executable, "-m", "runbook_checks", "verify"], cwd=pytester.path, capture_output=True, text=True)
    assert verify.returncode == 0 and "chain intact" in verify.stdout


def test_missing_secret_skips_or_fails_strict(pytester, runbook, monkeypatch):
    monkeypatch.delenv("TOK", raising=False)
    skipped = pytester.runpytest("--runbooks", str(runbook), "-rs")
    skipped.assert_outcomes(skipped=3)
    skipped.stdout.fnmatch_lines(["*secret(s) not set: TOK*"])
    strict = pytester.runpytest("--runbooks", str(runbook), "--runbooks-strict")
    assert strict.ret == pytest.ExitCode.USAGE_ERROR and ran(pytester) == []
    strict.stderr.fnmatch_lines(["*needs the secret(s) TOK, which are not set (--runbooks-strict)*"])


def test_the_short_test_summary_says_why_a_block_failed(pytester):
    """``-rf`` lists each failure with its reason, as for any pytest failure (the repr's ``reprcrash``)."""
    path = pytester.makefile(".md", FAIL=front(fence("bad", "check", "exit 3")))
    result = pytester.runpytest("--runbooks", str(path), "-rf", "-vv")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"FAILED *FAIL.md::bad - {path}:8: block 'bad' failed: exit code 3, expected 0"])


@pytest.mark.parametrize("token", ["go-ok", "GO-OK ", "nope"])
def test_wrong_token_stops_the_session_before_any_item(pytester, runbook, monkeypatch, token):
    monkeypatch.setenv("TOK", SECRET)
    result = pytester.runpytest("--runbooks", str(runbook), "--runbooks-execute", "--runbooks-confirm", token)
    assert result.ret == pytest.ExitCode.USAGE_ERROR and ran(pytester) == []
    result.stderr.fnmatch_lines(["*the confirmation token does not match*type exactly GO-OK*"])


def test_exact_token_runs_the_steps(pytester, runbook, monkeypatch):
    monkeypatch.setenv("TOK", SECRET)
    result = pytester.runpytest("--runbooks", str(runbook), "--runbooks-execute", "--runbooks-confirm", "GO-OK")
    result.assert_outcomes(passed=3)
    assert ran(pytester) == ["apply", "post", "pre"]


def test_a_failing_check_names_path_line_command_and_redacted_output(pytester, monkeypatch):
    monkeypatch.setenv("TOK", SECRET)
    path = pytester.makefile(
        ".md", FAIL=front(fence("bad", "check", 'echo "token is $TOK" >&2; exit 3', 'expect="never"'), secrets="[TOK]")
    )
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest("--runbooks", str(path), f"--junitxml={junit}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"{path}:8: block 'bad' failed: exit code 3, expected 0; output does not contain 'never'",
            "  exit code: 3",
            "  command:",
            '    $ echo "token is $TOK" >&2; exit 3',
            "*token is ****",
        ]
    )
    text = result.stdout.str() + junit.read_text()
    assert SECRET not in text and "Traceback" not in result.stdout.str()
    assert '<property name="block" value="bad" />' in junit.read_text() and "token is ***" in junit.read_text()


def test_k_and_m_selection(pytester, runbook, monkeypatch):
    monkeypatch.setenv("TOK", SECRET)
    by_marker = pytester.runpytest("--runbooks", str(runbook), "-m", "runbook and phase_verify")
    by_marker.assert_outcomes(passed=1)
    assert ran(pytester) == ["post"]
    by_name = pytester.runpytest("--runbooks", str(runbook), "-k", "pre", "--strict-markers")
    by_name.assert_outcomes(passed=1)


def test_ini_key(pytester, runbook, monkeypatch):
    monkeypatch.setenv("TOK", SECRET)
    pytester.makeini(f"[pytest]\nrunbooks = {runbook.name}\nrunbooks_results = ledgers\n")
    pytester.runpytest().assert_outcomes(passed=2, skipped=1)
    assert (pytester.path / "ledgers" / "rb.jsonl").exists()


def test_unrelated_project_is_unaffected(pytester):
    pytester.makepyfile(
        test_plain=textwrap.dedent("""
        import sys

        def test_nothing_heavy_imported():
            assert "markdown_it" not in sys.modules and "runbook_checks.parse" not in sys.modules
    """)
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "runbook-results").exists()


def test_xdist_never_runs_two_blocks_of_a_runbook_at_once(pytester):
    log = pytester.path / "log"
    body = "".join(fence(f"b{i}", "check", f"echo start {i} >> {log}; sleep 0.3; echo end {i} >> {log}") for i in range(4))
    path = pytester.makefile(".md", PAR=front(body))
    result = pytester.runpytest_subprocess("--runbooks", str(path), "-n", "2", "--dist", "loadgroup", "-p", "xdist")
    result.assert_outcomes(passed=4)
    lines = log.read_text().split("\n")[:-1]
    assert lines == [f"{what} {i}" for i in range(4) for what in ("start", "end")]  # one at a time, in document order


def test_directories_and_several_files(pytester, monkeypatch):
    monkeypatch.setenv("TOK", SECRET)
    folder = pytester.mkdir("books")
    for name in ("one", "two"):
        (folder / f"{name}.md").write_text(front(fence(f"{name}-check", "check", "true"), id=name))
    pytester.runpytest("--runbooks", str(folder)).assert_outcomes(passed=2)
    pytester.runpytest("--runbooks", str(folder / "one.md"), "--runbooks", str(folder / "two.md")).assert_outcomes(passed=2)


def test_ctrl_c_stops_the_session_before_later_steps(pytester):
    marks = pytester.path / "marks"
    marks.mkdir()
    body = fence("interrupt", "check", "kill -INT $PPID; sleep 5") + fence("apply", "step", f"touch {marks}/apply")
    path = pytester.makefile(".md", INT=front(body))
    result = pytester.runpytest_subprocess("--runbooks", str(path), "--runbooks-execute", "--runbooks-confirm", "GO-OK")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert not (marks / "apply").exists()
    [record] = [json.loads(line) for line in (pytester.path / "runbook-results" / "rb.jsonl").read_text().splitlines()]
    assert record["status"] == "interrupted" and {b["id"]: b["status"] for b in record["blocks"]} == {
        "interrupt": "interrupted",
        "apply": "not-run",
    }


def test_a_session_that_executed_nothing_records_nothing(pytester, runbook, monkeypatch):
    monkeypatch.delenv("TOK", raising=False)
    pytester.runpytest("--runbooks", str(runbook)).assert_outcomes(skipped=3)
    assert not (pytester.path / "runbook-results" / "rb.jsonl").exists()


def test_without_xdist_the_group_mark_is_declared(pytester, runbook, monkeypatch):
    """Each item carries ``xdist_group``; without pytest-xdist (which declares it) the plugin
    declares it, so ``--strict-markers`` collects and no unknown-mark warning is shown."""
    monkeypatch.setenv("TOK", SECRET)
    # in a subprocess: pytest's mark generator keeps the names it has seen declared for the whole process
    result = pytester.runpytest_subprocess("--runbooks", str(runbook), "-p", "no:xdist", "--strict-markers")
    result.assert_outcomes(passed=2, skipped=1)
    assert "PytestUnknownMarkWarning" not in result.stdout.str()
    markers = pytester.runpytest_subprocess("--runbooks", str(runbook), "--markers").stdout.str()
    assert markers.count("@pytest.mark.xdist_group") == 1  # xdist's own declaration, not a second one


def test_a_runbook_named_through_a_link_is_collected(pytester, monkeypatch, tmp_path_factory):
    """A link to a runbook, under another name, is collected as the runbook it points to (the
    plugin matches files by their resolved path; most files are ruled out by name first)."""
    monkeypatch.setenv("TOK", SECRET)
    target = tmp_path_factory.mktemp("store") / "real.md"  # outside the session's directory
    target.write_text(front(fence("only", "check", "true")))
    link = pytester.path / "linked.md"
    link.symlink_to(target)
    result = pytester.runpytest("--runbooks", str(link), "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*::only PASSED*"])


def test_a_file_with_a_runbooks_name_elsewhere_is_not_collected(pytester, monkeypatch):
    """Only the runbooks named are collected: another file of the same name, in a folder pytest
    also walks, is not (the name only rules files out; the resolved path decides)."""
    monkeypatch.setenv("TOK", SECRET)
    for folder in ("named", "other"):
        pytester.mkdir(folder)
        (pytester.path / folder / "same.md").write_text(front(fence(f"{folder}-check", "check", "true"), id=folder))
    result = pytester.runpytest("--runbooks", str(pytester.path / "named" / "same.md"), "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*named/same.md::named-check PASSED*"])


def test_a_failure_shows_what_would_act_on_a_terminal_as_escapes(pytester):
    """A failure's lines (its command from the runbook, its reason) are shown as the CLI shows
    them (``streams.visible``): a runbook's ESC or BEL cannot retitle or clear the terminal
    of whoever runs pytest, in the report and in the short test summary alike."""
    path = pytester.makefile(".md", FAIL=front(fence("bad", "check", "exit 3  # \x1b]0;pwned\x07\x1b[2J")))
    result = pytester.runpytest("--runbooks", str(path), "-rf")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert not any(c in out for c in "\x1b\x07"), out
    result.stdout.fnmatch_lines(["    $ exit 3  # \\u001b]0;pwned\\u0007\\u001b[2J"])


def test_skip_reasons_and_collection_errors_show_control_characters_as_escapes(pytester):
    """The plugin's other words on pytest's terminal: a skip's reason (here it quotes a
    pending check's output, whose C1 controls the recorded output keeps) and a runbook's
    problems (here its file name holds ESC and BEL) are shown as escapes too (the test id
    pytest prints is pytest's)."""
    pending = fence("status", "check", "printf 'pending \\302\\2332J\\302\\2350;T\\302\\234 done\\n'; exit 3", "pending-exit=3")
    path = pytester.makefile(".md", RB=front(pending + fence("deploy", "step", "true") + fence("verify", "check", "true", "after=deploy")))
    result = pytester.runpytest("--runbooks", str(path), "-rs")
    out = result.stdout.str()
    assert "says: pending \\u009b2J\\u009d0;T\\u009c done" in out and not any(c in out for c in "\x9b\x9c\x9d"), out
    hostile = pytester.path / "bad\x1b]0;T\x07.md"
    hostile.write_text(front(fence("b", "check", "true", "timeout=soon")))
    result = pytester.runpytest("--runbooks", str(hostile))
    ours = [line for line in result.outlines if "block 'b'" in line]  # the plugin's words (the test id is pytest's own)
    assert any("bad\\u001b]0;T\\u0007.md:8: block 'b'" in line for line in ours), result.outlines
    assert not any(c in line for line in ours for c in "\x1b\x07"), ours


def test_a_refused_session_shows_control_characters_as_escapes(pytester):
    """A session the plugin refuses (here ``--runbooks-target`` with a name holding ESC and
    BEL, which no runbook declares) says why with them as escapes."""
    path = pytester.makefile(".md", RB=front(fence("a", "check", "true")))
    result = pytester.runpytest("--runbooks", str(path), "--runbooks-target", "t\x1b]0;T\x07")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "--runbooks-target t\\u001b]0;T\\u0007: no runbook collected declares 'targets'" in err and "\x1b" not in err, err
