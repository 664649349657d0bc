"""`runbook-checks run`: document order, gates, selection, resume, outputs, exit codes."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from .conftest import clean_env, fence, front


def ledger(tmp_path: Path, runbook_id: str = "rb") -> list[dict]:
    path = tmp_path / "runbook-results" / f"{runbook_id}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def statuses(record: dict) -> dict[str, str]:
    return {b["id"]: b["status"] for b in record["blocks"]}


@pytest.fixture
def marked(write, tmp_path):
    """A runbook whose every block leaves a marker file when it runs."""
    m = tmp_path / "marks"
    m.mkdir()
    body = (
        fence("pre", "check", f"touch {m}/pre; echo pre-ok", 'criterion="Pre-check passes"')
        + fence("apply", "step", f"touch {m}/apply; echo applied")
        + fence("post", "check", f"touch {m}/post; echo 'all good'", 'expect="all good"')
    )
    return write(front(body)), m


def ran(m: Path) -> list[str]:
    return sorted(p.name for p in m.iterdir())


def test_checks_run_by_default_steps_are_skipped(cli, marked, tmp_path):
    path, m = marked
    result = cli("run", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ran(m) == ["post", "pre"]
    [record] = ledger(tmp_path)
    assert statuses(record) == {"pre": "passed", "apply": "skipped", "post": "passed"}
    assert record["mode"] == "check" and record["status"] == "passed" and record["exit_code"] == 0
    apply = record["blocks"][1]
    assert apply["reason"] == (
        "mutating step: runs only with the confirmation token "
        "(run --execute --confirm TOKEN; pytest --runbooks-execute --runbooks-confirm TOKEN)"
    )
    assert record["blocks"][0]["output"] == "pre-ok\n"
    assert record["environment"] == "test" and record["runbook_id"] == "rb"
    assert "▶ pre (check)" in result.stdout and "PASSED: 2 passed, 1 skipped" in result.stdout


def test_execute_with_exact_token_runs_steps_in_order(cli, marked, tmp_path):
    path, m = marked
    result = cli("run", path, "--execute", "--confirm", "GO-OK")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ran(m) == ["apply", "post", "pre"]
    [record] = ledger(tmp_path)
    assert [b["id"] for b in record["blocks"]] == ["pre", "apply", "post"]
    assert set(statuses(record).values()) == {"passed"} and record["mode"] == "execute"
    starts = [b["started_at"] for b in record["blocks"]]
    assert starts == sorted(starts)


@pytest.mark.parametrize(
    "token, why",
    [
        (None, "--execute needs the confirmation token. Run again with --confirm GO-OK"),
        ("go-ok", "(the letter case differs); type exactly GO-OK"),
        ("GO-OK ", "(it has extra whitespace); type exactly GO-OK"),
        (" GO-OK", "(it has extra whitespace); type exactly GO-OK"),
        ("GO-OK\n", "(it has extra whitespace); type exactly GO-OK"),
        ("GO-0K", "(it is a different word); type exactly GO-OK"),
        ("GO\u2011OK", "(it is a different word); type exactly GO-OK"),  # non-breaking hyphen
        ("", "(it is a different word); type exactly GO-OK"),
    ],
)
def test_wrong_or_missing_token_executes_nothing(cli, marked, tmp_path, token, why):
    path, m = marked
    args = ["run", path, "--execute"] + (["--confirm", token] if token is not None else [])
    result = cli(*args)
    assert result.returncode == 2
    assert why in result.stderr and "Nothing was executed." in result.stderr
    assert ran(m) == [] and ledger(tmp_path) == []
    assert "Traceback" not in result.stderr


def test_confirm_without_execute_is_a_usage_error(cli, marked, tmp_path):
    path, m = marked
    result = cli("run", path, "--confirm", "GO-OK")
    assert result.returncode == 2 and "--confirm is only used with --execute" in result.stderr
    assert ran(m) == []


def test_runbook_without_confirm_cannot_execute(cli, write, tmp_path):
    path = write(front(fence("c", "check", f"touch {tmp_path}/ran"), confirm=None))
    result = cli("run", path, "--execute", "--confirm", "anything")
    assert result.returncode == 2 and "declares no 'runbook.confirm' token" in result.stderr
    assert not (tmp_path / "ran").exists()


def test_missing_or_empty_secret_refuses_before_anything_runs(cli, write, tmp_path):
    path = write(front(fence("c", "check", f'touch {tmp_path}/ran; echo "$DB_SECRET"'), secrets="[DB_SECRET]"))
    for env in (clean_env(), clean_env(DB_SECRET="  ")):
        result = cli("run", path, env=env)
        assert result.returncode == 2
        assert "needs the secret(s) DB_SECRET, which are not set" in result.stderr
        assert not (tmp_path / "ran").exists() and ledger(tmp_path) == []


def test_invalid_runbook_refuses_with_problems(cli, write, tmp_path):
    path = write(front(fence("c", "check", f"touch {tmp_path}/ran") + fence("d", "check", "true", "bogus=1")))
    result = cli("run", path)
    assert result.returncode == 2
    assert f"{path}:11: block 'd': unknown attribute 'bogus'" in result.stderr
    assert "nothing was executed" in result.stderr and not (tmp_path / "ran").exists()


def test_after_a_failed_step_later_steps_do_not_run_but_checks_report(cli, write, tmp_path):
    body = (
        fence("s1", "step", "echo migrating; exit 4")
        + fence("c1", "check", "echo still checking")
        + fence("s2", "step", f"touch {tmp_path}/s2")
        + fence("c2", "check", "false")
    )
    result = cli("run", write(front(body)), "--execute", "--confirm", "GO-OK")
    assert result.returncode == 1
    [record] = ledger(tmp_path)
    assert statuses(record) == {"s1": "failed", "c1": "passed", "s2": "not-run", "c2": "failed"}
    blocks = {b["id"]: b for b in record["blocks"]}
    assert blocks["s1"]["exit_code"] == 4 and blocks["s1"]["reason"] == "exit code 4, expected 0"
    assert blocks["c1"]["after_failure"] is True and blocks["s1"]["after_failure"] is False
    assert blocks["s2"]["reason"] == "not run: block 's1' failed earlier"
    assert not (tmp_path / "s2").exists()
    # the failure names the block, the command and the next thing to try
    assert f"✘ {tmp_path}/runbook.md:8: block 's1' failed: exit code 4, expected 0" in result.stdout
    assert "$ echo migrating; exit 4" in result.stdout
    assert f"then run: runbook-checks run {tmp_path}/runbook.md --from s1 --execute --confirm <token>" in result.stdout


def test_failed_check_before_a_step_keeps_the_step_from_running(cli, write, tmp_path):
    body = fence("pre", "check", "exit 1") + fence("apply", "step", f"touch {tmp_path}/applied")
    result = cli("run", write(front(body)), "--execute", "--confirm", "GO-OK")
    assert result.returncode == 1 and not (tmp_path / "applied").exists()


def test_expectations(cli, write, tmp_path):
    body = (
        fence("exit3", "check", "exit 3", "exit=3")
        + fence("text-missing", "check", "echo hello", 'expect="goodbye"')
        + fence("regex", "check", "echo 'migrations: 3 applied'", 'expect-regex="^migrations: \\d+ applied$"')
        + fence("forbidden", "check", "echo 'Error: drift detected'", 'forbid="Error"')
    )
    result = cli("run", write(front(body)))
    assert result.returncode == 1
    record = ledger(tmp_path)[0]
    assert statuses(record) == {"exit3": "passed", "text-missing": "failed", "regex": "passed", "forbidden": "failed"}
    blocks = {b["id"]: b for b in record["blocks"]}
    assert blocks["text-missing"]["reason"] == "output does not contain 'goodbye'"
    assert {"name": "expect", "expected": "goodbye", "met": False, "actual": None} in blocks["text-missing"]["expectations"]
    assert blocks["forbidden"]["reason"] == "output contains forbidden text 'Error'"


def test_retries(cli, write, tmp_path):
    counter = tmp_path / "count"
    code = f"n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; [ $n -ge 2 ]"
    result = cli("run", write(front(fence("flaky", "check", code, 'retries=2 retry-delay="0.1"'))))
    assert result.returncode == 0, result.stdout
    block = ledger(tmp_path)[0]["blocks"][0]
    assert (block["status"], block["attempts"]) == ("passed", 2)
    assert "↻ flaky attempt 1 failed" in result.stdout


@pytest.mark.parametrize("option", ["--only", "--skip", "--from"])
def test_unknown_block_id_is_a_usage_error(cli, marked, option):
    path, m = marked
    result = cli("run", path, option, "psot")
    assert result.returncode == 2 and f"{option} psot: no block with that id" in result.stderr and "did you mean 'post'?" in result.stderr
    assert ran(m) == []


def test_only_and_skip(cli, marked, tmp_path):
    path, m = marked
    assert cli("run", path, "--only", "post").returncode == 0
    assert ran(m) == ["post"]
    assert statuses(ledger(tmp_path)[0]) == {"pre": "skipped", "apply": "skipped", "post": "passed"}
    assert cli("run", path, "--skip", "post").returncode == 0
    assert statuses(ledger(tmp_path)[1]) == {"pre": "passed", "apply": "skipped", "post": "skipped"}
    # a selection that leaves nothing to run is refused, not reported as a pass
    nothing = cli("run", path, "--skip", "post", "--skip", "pre")
    assert nothing.returncode == 2 and "nothing to run: every block is skipped" in nothing.stderr
    assert cli("run", path, "--only", "apply").returncode == 2  # a step without --execute
    assert len(ledger(tmp_path)) == 2


def test_from_resumes_a_failed_run(cli, write, tmp_path):
    flag = tmp_path / "fixed"
    body = fence("one", "step", f"echo one >> {tmp_path}/log") + fence("two", "step", f"test -e {flag}") + fence("three", "check", "true")
    path = write(front(body))
    first = cli("run", path, "--execute", "--confirm", "GO-OK")
    assert first.returncode == 1
    flag.touch()
    second = cli("run", path, "--execute", "--confirm", "GO-OK", "--from", "two")
    assert second.returncode == 0, second.stdout
    r1, r2 = ledger(tmp_path)
    assert r2["resumes"] == r1["run_id"] and r2["not_rerun"] == ["one"]
    assert statuses(r2) == {"one": "skipped", "two": "passed", "three": "passed"}
    assert (tmp_path / "log").read_text() == "one\n"  # step one was not re-run


def test_dry_run_prints_plan_and_executes_nothing(cli, marked, tmp_path):
    path, m = marked
    result = cli("run", path, "--dry-run", "--execute")
    assert result.returncode == 0
    assert "RUN  apply (step) (after confirmation)" in result.stdout
    assert f"$ touch {m}/apply; echo applied" in result.stdout
    assert ran(m) == [] and ledger(tmp_path) == []
    plain = cli("run", path, "--dry-run", "--format", "json")
    plan = json.loads(plain.stdout)["plan"]
    assert [(p["id"], p["run"]) for p in plan] == [("pre", True), ("apply", False), ("post", True)]


def test_json_junit_and_step_summary(cli, write, tmp_path):
    body = fence("good", "check", "echo fine", 'criterion="Things are fine"') + fence("bad", "check", "echo broken >&2; exit 2")
    summary = tmp_path / "summary.md"
    env = clean_env(
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_ACTOR="octocat",
        GITHUB_RUN_ID="42",
        GITHUB_REPOSITORY="acme/app",
        GITHUB_SERVER_URL="https://github.com",
    )
    result = cli("run", write(front(body)), "--format", "json", "--junit", tmp_path / "out/junit.xml", env=env)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["status"] == "failed" and [b["status"] for b in data["blocks"]] == ["passed", "failed"]
    assert "▶ good" in result.stderr  # progress goes to stderr with --format json
    record = ledger(tmp_path)[0]
    assert data["hash"] == record["hash"]
    assert record["actor"] == "octocat"
    assert record["ci"]["run_url"] == "https://github.com/acme/app/actions/runs/42"
    junit = (tmp_path / "out/junit.xml").read_text()
    assert 'testcase name="bad"' in junit and 'failure message="' in junit and "broken" in junit and 'line="11"' in junit
    text = summary.read_text()
    assert "Runbook `rb` — failed" in text and "| `bad` | check | ❌ failed | 2 |" in text
    assert "| Things are fine | `good` | ✅ passed |" in text


def test_no_color_and_plain_output_when_not_a_tty(cli, marked):
    path, _ = marked
    result = cli("run", path, env=clean_env(NO_COLOR="1"))
    assert "\x1b[" not in result.stdout


def test_quiet_hides_block_output_but_shows_failure_tail(cli, write):
    body = fence("noisy", "check", "echo chatter-line") + fence("bad", "check", "echo why-it-failed; exit 1")
    result = cli("run", write(front(body)), "--quiet")
    assert result.returncode == 1
    assert result.stdout.count("chatter-line") == 0
    assert "output (last lines, redacted):" in result.stdout and "why-it-failed" in result.stdout


def test_block_environment_and_workdir(cli, write, tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "app").mkdir()
    path = write(
        front(fence("where", "check", 'pwd; echo "$RUNBOOK_ID/$RUNBOOK_ENVIRONMENT/$RUNBOOK_BLOCK_ID"'), extra="  workdir: app"),
        "docs/rb.md",
    )
    assert cli("run", path).returncode == 0
    output = ledger(tmp_path)[0]["blocks"][0]["output"]
    assert output == f"{tmp_path / 'app'}\nrb/test/where\n"


def test_record_names_the_git_commit_and_hashes(cli, write, tmp_path):
    path = write(front(fence("c", "check", "true")))
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "runbook.md"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert cli("run", path).returncode == 0
    record = ledger(tmp_path)[0]
    assert record["git"] == {"commit": head, "dirty": False}
    assert record["runbook_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record["runbook_path"] == "runbook.md"


def test_needs_runs_a_block_only_after_the_block_it_needs_passed(cli, write, tmp_path):
    body = fence("write", "step", f"echo on > {tmp_path}/flag") + fence(
        "read-back", "check", f"cat {tmp_path}/flag", 'needs=write expect="on"'
    )
    path = write(front(body))
    assert cli("run", path).returncode == 0  # checks only: the step is skipped, so is its read-back
    assert statuses(ledger(tmp_path)[0]) == {"write": "skipped", "read-back": "skipped"}
    assert ledger(tmp_path)[0]["blocks"][1]["reason"] == "needs 'write', which did not pass in this run"
    assert cli("run", path, "--execute", "--confirm", "GO-OK").returncode == 0
    assert statuses(ledger(tmp_path)[1]) == {"write": "passed", "read-back": "passed"}
    bad = write(front(fence("a", "check", "true", "needs=b") + fence("b", "check", "true")), "bad.md")
    assert ":8: block 'a': needs='b' is not the id of an earlier block" in cli("lint", bad).stdout


def test_user_mistakes_with_files_give_messages_not_tracebacks(cli, write, tmp_path):
    path = write(front(fence("c", "check", f"touch {tmp_path}/ran")))
    for args in (["--results", "/proc/no/such/dir"], ["--junit", str(path / "junit.xml")]):
        result = cli("run", path, *args)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert not (tmp_path / "ran").exists()
    result = cli("run", path, env=clean_env(GITHUB_STEP_SUMMARY=str(tmp_path / "no" / "dir" / "summary.md")))
    assert result.returncode == 0 and "warning: cannot append to GITHUB_STEP_SUMMARY" in result.stdout


def test_a_missing_bash_is_a_failed_block_not_a_crash(cli, write, tmp_path):
    result = cli("run", write(front(fence("c", "check", "true"))), env=clean_env(PATH="/nonexistent"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert ledger(tmp_path)[0]["blocks"][0]["reason"].startswith("cannot start bash")


def test_a_cut_ledger_refuses_the_run_before_any_step(cli, write, tmp_path):
    path = write(front(fence("s", "step", f"touch {tmp_path}/applied")))
    results = tmp_path / "runbook-results"
    results.mkdir()
    (results / "rb.jsonl").write_text('{"half": ')
    result = cli("run", path, "--execute", "--confirm", "GO-OK")
    assert result.returncode == 2 and "the last line is cut or half-written" in result.stderr  # refused: nothing was executed
    assert not (tmp_path / "applied").exists()


def test_junit_is_valid_xml_whatever_the_output(cli, write, tmp_path):
    import xml.etree.ElementTree as ET

    code = "python3 -c 'import sys; sys.stdout.write(\"odd \\uffff \\ufffe chars\\n\"); sys.exit(1)'"
    cli("run", write(front(fence("odd", "check", code))), "--junit", tmp_path / "j.xml")
    case = ET.parse(tmp_path / "j.xml").getroot().find(".//testcase")
    assert case.get("name") == "odd" and "odd" in case.find("failure").text


def test_requires_counts_only_runs_that_ran_every_step(cli, write, tmp_path):
    (tmp_path / "data.txt").write_text("v1")
    first = write(
        front(fence("c", "check", "true") + fence("s", "step", "true"), id="first", extra="  fingerprint: [data.txt]"), "first.md"
    )
    second = write(
        front(
            fence("t", "step", f"touch {tmp_path}/second-ran"),
            id="second",
            extra=("  fingerprint: [data.txt]\n  requires:\n    - {runbook: first, same: [data.txt], path: first.md}"),
        ),
        "second.md",
    )
    go = ["--execute", "--confirm", "GO-OK"]
    assert cli("run", first, *go, "--only", "c").returncode == 0  # an execute run that ran no step
    refused = cli("run", second, *go)
    assert refused.returncode == 2 and "(verdict: incomplete)" in refused.stderr  # the attempt ran no step
    assert cli("run", first, *go).returncode == 0
    assert cli("run", second, *go).returncode == 0 and (tmp_path / "second-ran").exists()
    (tmp_path / "data.txt").write_text("v2")
    changed = cli("run", second, *go)
    assert changed.returncode == 2 and "was for different content of data.txt" in changed.stderr


def test_dry_run_with_the_token_applies_the_gates(cli, write, tmp_path):
    (tmp_path / "data.txt").write_text("v1")
    first = write(front(fence("s", "step", "true"), id="first", extra="  fingerprint: [data.txt]"), "first.md")
    second = write(
        front(
            fence("t", "step", "true"),
            id="second",
            extra=("  fingerprint: [data.txt]\n  requires:\n    - {runbook: first, same: [data.txt]}"),
        ),
        "second.md",
    )
    assert cli("run", second, "--dry-run", "--execute", "--confirm", "nope").returncode == 2
    assert cli("run", second, "--dry-run", "--execute", "--confirm", "GO-OK").returncode == 2  # first has not passed
    assert cli("run", second, "--dry-run", "--execute").returncode == 0  # without the token: just the plan
    assert cli("run", first, "--execute", "--confirm", "GO-OK").returncode == 0
    assert cli("run", second, "--dry-run", "--execute", "--confirm", "GO-OK").returncode == 0
    # a failed run of the required runbook after its pass withdraws the pass
    first.write_text(first.read_text().replace("true", "false"))
    assert cli("run", first, "--execute", "--confirm", "GO-OK").returncode == 1
    refused = cli("run", second, "--dry-run", "--execute", "--confirm", "GO-OK")
    assert refused.returncode == 2 and "did not pass (verdict: failed)" in refused.stderr


def test_a_failing_read_only_run_does_not_withdraw_a_required_pass(cli, write, tmp_path):
    (tmp_path / "data.txt").write_text("v1")
    first = write(
        front(
            fence("c", "check", f"test ! -e {tmp_path}/broken") + fence("s", "step", "true"), id="first", extra="  fingerprint: [data.txt]"
        ),
        "first.md",
    )
    second = write(
        front(
            fence("t", "step", "true"),
            id="second",
            extra="  fingerprint: [data.txt]\n  requires:\n    - {runbook: first, same: [data.txt]}",
        ),
        "second.md",
    )
    assert cli("run", first, "--execute", "--confirm", "GO-OK").returncode == 0
    (tmp_path / "broken").touch()
    assert cli("run", first).returncode == 1  # a read-only check run fails later (drift job, typo...)
    assert cli("run", second, "--dry-run", "--execute", "--confirm", "GO-OK").returncode == 0


@pytest.mark.parametrize("url", ["postgresql://u:p@h:abc/db", "postgresql://u:p@[::1/db", "mysql://h/db"])
def test_rehearse_rejects_a_bad_database_url_cleanly(cli, write, url):
    path = write(front(fence("c", "check", 'echo "$DATABASE_URL_X"'), secrets="[DATABASE_URL_X]"))
    result = cli("rehearse", path, "--database-url", url)
    assert result.returncode == 2 and "--database-url" in result.stderr and "Traceback" not in result.stderr


def test_rehearse_refuses_a_database_url_that_names_a_declared_secrets_database(cli, write, tmp_path):
    path = write(
        front(
            fence("s", "step", f"touch {tmp_path}/stepped"),
            secrets="[DATABASE_URL_PROD]",
            extra="  env:\n    DATABASE_URL: ${DATABASE_URL_PROD}",
        )
    )
    env = clean_env(DATABASE_URL_PROD="postgresql://app:prod-pw@db.prod.internal:5432/shop")
    result = cli("rehearse", path, "--database-url", "postgres://other@DB.prod.internal/shop", env=env)
    assert result.returncode == 2 and "names the same database as $DATABASE_URL_PROD" in result.stderr
    assert not (tmp_path / "stepped").exists() and not (tmp_path / "runbook-results").exists() and "prod-pw" not in result.stderr


def test_an_output_that_cannot_be_written_after_the_run_is_not_exit_2(cli, write, tmp_path):
    junit = tmp_path / "out.xml"
    path = write(front(fence("c", "check", f"mkdir {junit}")))  # the block takes the JUnit file's place
    result = cli("run", path, "--junit", junit)
    assert result.returncode == 1 and "the run executed and is recorded in" in result.stderr and "Traceback" not in result.stderr
    assert len(ledger(tmp_path)) == 1


def test_the_junit_file_stays_xml_whatever_the_runbook_is_named(cli, write, tmp_path):
    import xml.etree.ElementTree as ET

    path = write(front(fence("bad", "check", "exit 3")))
    named = path.rename(tmp_path / "run\x1bbook\x07.md")
    result = cli("run", named, "--junit", tmp_path / "junit.xml")
    assert result.returncode == 1, result
    [case] = ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")
    assert case.get("file").endswith("/run\ufffdbook\ufffd.md") and "run\ufffdbook\ufffd.md:" in case.find("failure").get("message")
