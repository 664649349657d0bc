"""`runbook-checks lint`: every problem as path:line: message, exit 2; clean runbooks exit 0."""

from __future__ import annotations

import pytest

from .conftest import FIXTURES, fence, front

CASES = [
    # (runbook text, expected "line: message" lines)
    ("---\nrunbook:\n  id: x\n  secrets: [A, B\n---\n" + fence("a", "check", "true"),
     ["4: front matter is not valid YAML: expected ',' or ']', but got '<stream end>'"]),
    ("---\nrunbook:\n  id: x\n", ["1: front matter is not closed: add a '---' line after it"]),
    (front(fence("a", "check", "true") + fence("a", "check", "false")),
     ["11: duplicate block id 'a' (first used at line 8)"]),
    (front(fence("a", "chek", "true")),
     ["8: unknown kind '.chek' (did you mean 'check'?): use .check (read-only) or .step (mutating)"]),
    (front(fence("a", "check", "true", "timout=5")),
     ["8: block 'a': unknown attribute 'timout' (did you mean 'timeout'?)"]),
    (front(fence("a", "check", "true", "phase=deploy")),
     ["8: block 'a': phase='deploy' is not a phase declared in the front matter (declared: none)"]),
    (front(fence("a", "check", "true", "timeout=soon") + fence("b", "check", "true", "retries=many") + fence("c", "check", "true", "exit=300")),
     ["8: block 'a': timeout='soon' is not a duration (e.g. 120, 90s, 2min)",
      "11: block 'b': retries='many' must be a whole number from 0 to 10",
      "14: block 'c': exit='300' must be exit codes 0-255, comma-separated"]),
    (front(fence("a", "check", "true", 'expect-regex="(unclosed"')),
     ["8: block 'a': expect-regex='(unclosed' is not a valid regular expression: missing ) at position 9"]),
    (front("```bash {#a .check}\necho never closed\n"), ["8: unterminated code fence: add a closing ``` line"]),
    (front(fence("a", "step", "true"), confirm=None),
     ["7: block 'a' is a .step but the runbook declares no 'runbook.confirm' token"]),
    (front(fence("a", "check", "echo $USED ${ALSO}"), secrets="[USED, ALSO, UNUSED]"),
     ["6: secret 'UNUSED' is declared but no block references $UNUSED"]),
    (front(fence("a", "check", "true"), extra="  confrim: X\n  phases:\n    - {id: p, name: P, estimate: whenever}"),
     ["7: unknown front-matter key 'runbook.confrim' (did you mean 'confirm'?)",
      "9: phase 'p': estimate 'whenever' is not a duration range (e.g. '1-2 min', '30 s')"]),
    (front(fence("a", "check", "true"), extra="  workdir: no/such/dir"), ["7: workdir {workdir} does not exist"]),
    (front("```python {#a .check}\nprint(1)\n```\n"),
     ["8: block 'a': language 'python' cannot run; tagged blocks are bash, sh, shell"]),
    (front("```bash {#a .check .step}\ntrue\n```\n"), ["8: a block is either .check or .step, not both"]),
    (front("```bash {.check}\ntrue\n```\n"), ["8: tagged block has no id: add {#some-id ...}"]),
    (front("```bash {#a .check} trailing\ntrue\n```\n"), ["8: unexpected text after the attributes: 'trailing'"]),
    (front("# nothing tagged\n"), ["1: no tagged blocks: tag a fence with {#id .check} or {#id .step}"]),
]


@pytest.mark.parametrize("text, expected", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_lint_reports_each_problem_with_path_and_line(cli, write, tmp_path, text, expected):
    path = write(text)
    result = cli("lint", path)
    expected = [f"{path}:{e.replace('{workdir}', str(tmp_path / 'no/such/dir'))}" for e in expected]
    assert result.stdout.splitlines() == expected
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_clean_runbook_and_directory_discovery(cli, tmp_path, write):
    write(front(fence("a", "check", "true")), "docs/ok.md")
    write("# Just prose\n\n```bash\nls\n```\n", "docs/prose.md")
    result = cli("lint", tmp_path / "docs")
    assert (result.returncode, result.stdout) == (0, "")
    assert "1 runbook(s) checked, 0 problem(s)" in result.stderr


def test_directory_with_a_bad_runbook_fails(cli, tmp_path, write):
    write(front(fence("a", "check", "true")), "docs/ok.md")
    bad = write(front(fence("a", "check", "true", "color=red")), "docs/sub/bad.md")
    result = cli("lint", tmp_path / "docs")
    assert result.returncode == 2
    assert result.stdout == f"{bad}:8: block 'a': unknown attribute 'color'\n"


def test_missing_path(cli, tmp_path):
    result = cli("lint", "nowhere.md")
    assert result.returncode == 2 and result.stdout == "nowhere.md:0: no such file or directory\n"


def test_demo_fixture_is_clean(cli):
    result = cli("lint", FIXTURES / "demo.md")
    assert result.returncode == 0, result.stdout
