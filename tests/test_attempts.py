"""Attempts, the target digest, and the after=/pending-exit= rules (bash blocks; the
real-database versions are in test_attempts_e2e.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from runbook_checks import target
from runbook_checks.errors import UsageProblem
from runbook_checks.ledger import sealed_line
from runbook_checks.resume import attempt_id

from .conftest import clean_env, fence, front


def ledger(tmp_path: Path, name: str = "rb") -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "runbook-results" / f"{name}.jsonl").read_text().splitlines()]


# -- the target digest -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b",
    [
        ("postgresql://app:secret@DB.internal:5432/dixis", "postgres://other:pw@db.internal/dixis"),  # user, password, case, default port
        ("postgresql://app:secret@db.internal/dix%69s?schema=public", "postgresql://db.internal:5432/dixis"),  # percent-decoded name, query
    ],
)
def test_the_digest_names_host_port_and_database_only(a, b):
    assert target.digest(a) == target.digest(b) and len(target.digest(a) or "") == 64


@pytest.mark.parametrize(
    "b", ["postgresql://app:s@db.internal:5433/dixis", "postgresql://app:s@db2.internal/dixis", "postgresql://app:s@db.internal/other"]
)
def test_the_digest_tells_targets_apart(b):
    assert target.digest("postgresql://app:s@db.internal/dixis") != target.digest(b)


@pytest.mark.parametrize("value", ["", "not a url", "postgresql://u:p@h:port/db", "postgresql://u:p@[::1/db", "/var/run/postgresql"])
def test_a_value_that_is_not_a_url_has_no_digest(value):
    assert target.digest(value) is None


def test_resolve_records_the_variable_and_never_the_password():
    url = "postgresql://app:hunter2-very-secret@db.internal/dixis"
    found = target.resolve("${DATABASE_URL_X}", {"DATABASE_URL_X": url})
    assert found == {"from": "DATABASE_URL_X", "digest": target.digest(url)} and "hunter2" not in json.dumps(found)
    assert target.resolve("${DATABASE_URL_X}", {}) == {"from": "DATABASE_URL_X", "digest": None}
    assert target.resolve(None, {"DATABASE_URL_X": url}) is None


def test_runs_record_the_target_digest(cli, write, tmp_path):
    url = "postgresql://app:pw@db.internal/dixis"
    path = write(front(fence("c", "check", "true"), secrets="[DATABASE_URL_X]", extra="  target: ${DATABASE_URL_X}"))
    assert cli("run", path, env=clean_env(DATABASE_URL_X=url)).returncode == 0
    [record] = ledger(tmp_path)
    assert record["target"] == {"from": "DATABASE_URL_X", "digest": target.digest(url)}


def test_a_target_that_names_no_single_variable_is_a_runbook_problem(cli, write):
    path = write(front(fence("c", "check", "true"), extra="  target: postgresql://h/db"))
    result = cli("lint", path)
    assert result.returncode == 2 and ":7: 'runbook.target' 'postgresql://h/db' must name one variable" in result.stdout


# -- attempt ids ---------------------------------------------------------------------------------


class _Run:
    def __init__(self, run_id: str, attempt: str | None):
        self.run_id, self.attempt_id = run_id, attempt

    @property
    def attempt(self) -> str:
        return self.attempt_id or self.run_id


@pytest.mark.parametrize(
    "explicit, environ, resumes, expected",
    [
        ("mine", {"RUNBOOK_CHECKS_ATTEMPT": "env", "GITHUB_RUN_ID": "7"}, _Run("r0", "a0"), "mine"),
        (None, {"RUNBOOK_CHECKS_ATTEMPT": "env", "GITHUB_RUN_ID": "7"}, _Run("r0", "a0"), "env"),
        (None, {"GITHUB_RUN_ID": "7", "GITHUB_RUN_ATTEMPT": "2"}, _Run("r0", "a0"), "a0"),
        (None, {"GITHUB_RUN_ID": "7", "GITHUB_RUN_ATTEMPT": "2"}, _Run("r0", None), "r0"),  # a version-1 record is its own attempt
        (None, {"GITHUB_RUN_ID": "7", "GITHUB_RUN_ATTEMPT": "2"}, None, "github-7-2"),
        (None, {"GITHUB_RUN_ID": "7"}, None, "github-7-1"),
        (None, {"RUNBOOK_CHECKS_ATTEMPT": ""}, None, "new-run"),
    ],
)
def test_attempt_id_precedence(explicit, environ, resumes, expected):
    assert attempt_id(explicit, environ, resumes, "new-run") == expected


@pytest.mark.parametrize("bad", ["", " x", "a b", "x" * 201, "-leading", "line\nbreak", "trailing\n", "ü", "\x1b]0;title\x07"])
def test_a_bad_attempt_id_is_refused(bad):
    with pytest.raises(UsageProblem):
        attempt_id(bad, {}, None, "r")
    with pytest.raises(UsageProblem):
        attempt_id(None, {"RUNBOOK_CHECKS_ATTEMPT": bad} if bad else {"GITHUB_RUN_ID": "1 2"}, None, "r")
    with pytest.raises(UsageProblem):  # an id inherited from a (forged) record is checked too
        attempt_id(None, {}, _Run("r0", bad or "a b"), "r")


def test_a_bad_attempt_option_exits_2_and_runs_nothing(cli, write, tmp_path):
    path = write(front(fence("c", "check", f"touch {tmp_path}/ran")))
    result = cli("run", path, "--attempt", "two words")
    assert result.returncode == 2 and "--attempt 'two words'" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "ran").exists()


def test_a_resume_joins_the_attempt_it_resumes_and_the_attempt_passes(cli, write, tmp_path):
    flag = tmp_path / "fixed"
    body = (
        fence("c", "check", "true", 'criterion="Checked"')
        + fence("s", "step", f"test -e {flag}", 'criterion="Applied"')
        + fence("after", "check", "true")
    )
    path = write(front(body))
    go = ["--execute", "--confirm", "GO-OK"]
    assert cli("run", path, *go).returncode == 1
    flag.touch()
    assert cli("run", path, *go, "--from", "s").returncode == 0
    first, second = ledger(tmp_path)
    assert second["attempt_id"] == first["attempt_id"] == first["run_id"] and second["resumes"] == first["run_id"]
    report = json.loads(cli("report", path, "--format", "json").stdout)
    assert report["verdict"] == "passed" and report["attempt"]["runs"] == 2
    assert [c["status"] for c in report["criteria"]] == ["passed", "passed"]


def test_runs_of_one_github_workflow_run_are_one_attempt(cli, write, tmp_path):
    path = write(front(fence("c", "check", "echo $RUNBOOK_ATTEMPT_ID") + fence("s", "step", "true")))
    gh = clean_env(GITHUB_RUN_ID="9001", GITHUB_RUN_ATTEMPT="1", GITHUB_REPOSITORY="o/r", GITHUB_SERVER_URL="https://github.com")
    assert cli("run", path, "--only", "c", env=gh).returncode == 0
    assert cli("run", path, "--only", "s", "--execute", "--confirm", "GO-OK", env=gh).returncode == 0
    assert cli("run", path, "--only", "c", env=clean_env(RUNBOOK_CHECKS_ATTEMPT="by-hand")).returncode == 0
    records = ledger(tmp_path)
    assert [r["attempt_id"] for r in records] == ["github-9001-1", "github-9001-1", "by-hand"]
    assert records[0]["blocks"][0]["output"] == "github-9001-1\n"
    report = json.loads(cli("report", path, "--format", "json").stdout)
    assert report["attempt"]["id"] == "github-9001-1" and report["attempt"]["mode"] == "execute" and report["verdict"] == "passed"
    assert report["attempt"]["ci_url"] == "https://github.com/o/r/actions/runs/9001"


def test_version_1_records_still_verify_and_are_attempts_of_their_own(cli, write, tmp_path):
    path = write(front(fence("c", "check", "true", 'criterion="C"') + fence("s", "step", "true")))
    assert cli("run", path, "--execute", "--confirm", "GO-OK").returncode == 0
    [record] = ledger(tmp_path)
    old = {k: v for k, v in record.items() if k not in ("attempt_id", "target", "hash")}
    old["schema_version"], old["prev"] = 1, None
    ledger_file = tmp_path / "runbook-results" / "rb.jsonl"
    ledger_file.write_bytes(sealed_line(old))
    assert cli("run", path, "--execute", "--confirm", "GO-OK").returncode == 0  # a version-2 record chains onto it
    assert cli("verify", ledger_file).returncode == 0
    report = json.loads(cli("report", path, "--format", "json").stdout)
    assert report["attempt"]["id"] == ledger(tmp_path)[1]["attempt_id"] != record["run_id"]


# -- after= and pending-exit= ----------------------------------------------------------------------


def pending_runbook(write, tmp_path: Path, pending_code: int) -> Path:
    body = (
        fence("pending", "check", f'echo "2 pending migration(s):"; exit {pending_code}', "pending-exit=3")
        + fence("deploy", "step", f"touch {tmp_path}/deployed")
        + fence("status", "check", f"test -e {tmp_path}/deployed", 'after=deploy criterion="Status"')
        + fence("always", "check", "true")
    )
    return write(front(body))


def statuses(record: dict) -> dict[str, str]:
    return {b["id"]: b["status"] for b in record["blocks"]}


def test_a_read_only_run_with_pending_migrations_skips_the_checks_that_wait_for_the_deploy(cli, write, tmp_path):
    path = pending_runbook(write, tmp_path, 3)
    result = cli("run", path)
    assert result.returncode == 0, result.stdout
    [record] = ledger(tmp_path)
    assert statuses(record) == {"pending": "passed", "deploy": "skipped", "status": "skipped", "always": "passed"}
    status = record["blocks"][2]
    assert status["reason"] == (
        "checks the result of step 'deploy', which has not run in this attempt, and 'pending' says: "
        "2 pending migration(s): — apply them with --execute"
    )
    assert record["blocks"][0]["exit_code"] == 3


def test_the_checks_run_once_the_deploy_ran_in_the_attempt_or_nothing_is_pending(cli, write, tmp_path):
    path = pending_runbook(write, tmp_path, 3)
    assert cli("run", path, "--execute", "--confirm", "GO-OK").returncode == 0
    assert statuses(ledger(tmp_path)[-1])["status"] == "passed"
    # the deploy in an earlier run of the same attempt counts too
    env = clean_env(RUNBOOK_CHECKS_ATTEMPT="dispatch-1")
    (tmp_path / "deployed").unlink()
    assert cli("run", path, "--only", "deploy", "--execute", "--confirm", "GO-OK", env=env).returncode == 0
    assert cli("run", path, "--only", "pending", "--only", "status", env=env).returncode == 0
    assert statuses(ledger(tmp_path)[-1])["status"] == "passed"
    # nothing pending: the check runs, and fails when the state is wrong
    path = pending_runbook(write, tmp_path, 0)
    (tmp_path / "deployed").unlink()
    assert cli("run", path).returncode == 1
    assert statuses(ledger(tmp_path)[-1])["status"] == "failed"


@pytest.mark.parametrize(
    "attrs, message",
    [
        ("{#c .check after=c0}", "after='c0' is not the id of an earlier .step"),
        ("{#c .step pending-exit=3}", "pending-exit belongs on a .check"),
        ('{#c .check exit="0,3" pending-exit=3}', "pending-exit belongs on a .check, with a code that is not also in exit="),
        ("{#c .check pending-exit=0}", "pending-exit='0' must be an exit code from 1 to 255"),
    ],
)
def test_after_and_pending_exit_problems(cli, write, attrs, message):
    path = write(front(fence("c0", "check", "true") + f"```bash {attrs}\ntrue\n```\n"))
    result = cli("lint", path)
    assert result.returncode == 2 and message in result.stdout, result.stdout


# -- the requires gate, on bash runbooks ---------------------------------------------------------


@pytest.fixture
def gated(write, tmp_path):
    """A 'first' runbook (staging-like: a check, a step, a criterion check; target ${DB_FIRST})
    and a 'second' one (production-like) that requires it with the same data.txt."""
    (tmp_path / "data.txt").write_text("v1")
    flag = tmp_path / "fail"
    first = write(
        front(
            fence("c", "check", "true", 'criterion="Checked"') + fence("s", "step", f"test ! -e {flag}", 'criterion="Applied"'),
            id="first",
            secrets="[DB_FIRST]",
            extra="  fingerprint: [data.txt]\n  target: ${DB_FIRST}",
        ),
        "first.md",
    )
    second = write(
        front(
            fence("t", "step", "true"),
            id="second",
            secrets="[DB_SECOND]",
            extra=(
                "  fingerprint: [data.txt]\n  target: ${DB_SECOND}\n  requires:\n    - {runbook: first, same: [data.txt], path: first.md}"
            ),
        ),
        "second.md",
    )
    env = clean_env(DB_FIRST="postgresql://u:p@staging.db/app", DB_SECOND="postgresql://u:p@prod.db/app")
    return first, second, flag, env


GO = ["--execute", "--confirm", "GO-OK"]


def gate(cli, second, env) -> subprocess.CompletedProcess:
    return cli("run", second, "--dry-run", *GO, env=env)


def test_a_read_only_run_joining_an_old_attempt_does_not_reopen_the_gate(cli, gated):
    first, second, flag, env = gated
    assert cli("run", first, *GO, "--attempt", "A1", env=env).returncode == 0
    assert gate(cli, second, env).returncode == 0
    flag.touch()
    assert cli("run", first, *GO, "--attempt", "A2", env=env).returncode == 1
    assert gate(cli, second, env).returncode == 2
    assert cli("run", first, "--attempt", "A1", env=env).returncode == 0  # checks only, joining the old passing attempt
    refused = gate(cli, second, env)
    assert refused.returncode == 2 and "(A2) did not pass (verdict: failed)" in refused.stderr


def test_check_runs_never_open_the_gate_and_a_later_incomplete_attempt_closes_it(cli, gated):
    first, second, flag, env = gated
    assert cli("run", first, env=env).returncode == 0
    assert "holds no --execute attempt" in gate(cli, second, env).stderr
    assert cli("run", first, *GO, env=env).returncode == 0
    assert gate(cli, second, env).returncode == 0
    (first.parent / "data.txt").write_text("v2")
    assert cli("run", first, *GO, "--skip", "s", env=env).returncode == 0  # a migration attempt that applied nothing: incomplete
    (first.parent / "data.txt").write_text("v1")
    refused = gate(cli, second, env)
    assert refused.returncode == 2 and "(incomplete) came after the last pass" in refused.stderr


def test_an_attempt_whose_content_changed_between_its_runs_is_no_pass(cli, gated):
    first, second, flag, env = gated
    flag.touch()
    assert cli("run", first, *GO, env=env).returncode == 1
    (first.parent / "data.txt").write_text("v2")  # the migrations change before the resume
    flag.unlink()
    assert cli("run", first, *GO, "--from", "s", env=env).returncode == 0
    refused = gate(cli, second, env)  # the attempt began with v1: not a pass of the current v2
    assert refused.returncode == 2 and "was for different content of data.txt" in refused.stderr
    report = json.loads(cli("report", first, "--format", "json", env=env).stdout)
    assert report["verdict"] == "incomplete"


@pytest.mark.parametrize(
    "first_url, second_url, message",
    [
        ("postgresql://u:p@prod.db/app", "postgres://other:pw@PROD.db:5432/app", "ran against the very database this runbook targets"),
        ("postgresql://u:p@staging.db/app", "not-a-url", "is not a database URL"),
    ],
)
def test_the_target_rules(cli, gated, first_url, second_url, message):
    first, second, flag, env = gated
    assert cli("run", first, *GO, env={**env, "DB_FIRST": first_url}).returncode == 0
    refused = gate(cli, second, {**env, "DB_SECOND": second_url})
    assert refused.returncode == 2 and message in refused.stderr
    assert "u:p@" not in refused.stderr and "pw@" not in refused.stderr


def test_a_staging_pass_without_a_target_digest_does_not_open_a_targeted_gate(cli, gated):
    first, second, flag, env = gated
    first.write_text(first.read_text().replace("  target: ${DB_FIRST}\n", "  env:\n    DATABASE_URL: ${DB_FIRST}\n"))
    assert cli("run", first, *GO, env=env).returncode == 0
    refused = gate(cli, second, env)
    assert refused.returncode == 2 and "recorded no single target digest" in refused.stderr


def test_a_resealed_record_that_breaks_the_schema_closes_the_gate_and_report_has_no_traceback(cli, gated, tmp_path):
    first, second, flag, env = gated
    assert cli("run", first, *GO, env=env).returncode == 0
    path = tmp_path / "runbook-results" / "first.jsonl"
    record = json.loads(path.read_text())
    record.pop("hash")
    record.update(attempt_id=["not", "a", "string"], duration_s="x", finished_at="garbage")
    path.write_bytes(sealed_line(record))  # a forger who recomputes the hash
    refused = gate(cli, second, env)
    assert refused.returncode == 2 and "first.jsonl:1: does not match the record schema" in refused.stderr
    report = cli("report", first, env=env)
    assert (
        report.returncode == 1 and "Traceback" not in report.stderr and "first.jsonl:1: does not match the record schema" in report.stderr
    )
