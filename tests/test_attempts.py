"""Attempts, the target digest, and the after=/pending-exit= rules (bash blocks; the
real-database versions are in test_attempts_e2e.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runbook_checks import target
from runbook_checks.errors import UsageProblem
from runbook_checks.execute import attempt_id
from runbook_checks.ledger import sealed_line

from .conftest import clean_env, fence, front


def ledger(tmp_path: Path, name: str = "rb") -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "runbook-results" / f"{name}.jsonl").read_text().splitlines()]


# -- the target digest -------------------------------------------------------------------------

@pytest.mark.parametrize("a, b", [
    ("postgresql://app:secret@DB.internal:5432/dixis", "postgres://other:pw@db.internal/dixis"),  # user, password, case, default port
    ("postgresql://app:secret@db.internal/dix%69s?schema=public", "postgresql://db.internal:5432/dixis"),  # percent-decoded name, query
])
def test_the_digest_names_host_port_and_database_only(a, b):
    assert target.digest(a) == target.digest(b) and len(target.digest(a) or "") == 64


@pytest.mark.parametrize("b", ["postgresql://app:s@db.internal:5433/dixis", "postgresql://app:s@db2.internal/dixis", "postgresql://app:s@db.internal/other"])
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


@pytest.mark.parametrize("explicit, environ, resumes, expected", [
    ("mine", {"RUNBOOK_CHECKS_ATTEMPT": "env", "GITHUB_RUN_ID": "7"}, _Run("r0", "a0"), "mine"),
    (None, {"RUNBOOK_CHECKS_ATTEMPT": "env", "GITHUB_RUN_ID": "7"}, _Run("r0", "a0"), "env"),
    (None, {"GITHUB_RUN_ID": "7", "GITHUB_RUN_ATTEMPT": "2"}, _Run("r0", "a0"), "a0"),
    (None, {"GITHUB_RUN_ID": "7", "GITHUB_RUN_ATTEMPT": "2"}, _Run("r0", None), "r0"),  # a version-1 record is its own attempt
    (None, {"GITHUB_RUN_ID": "7", "GITHUB_RUN_ATTEMPT": "2"}, None, "github-7-2"),
    (None, {"GITHUB_RUN_ID": "7"}, None, "github-7-1"),
    (None, {"RUNBOOK_CHECKS_ATTEMPT": ""}, None, "new-run"),
])
def test_attempt_id_precedence(explicit, environ, resumes, expected):
    assert attempt_id(explicit, environ, resumes, "new-run") == expected


@pytest.mark.parametrize("bad", [" x", "a b", "x" * 201, "-leading", "line\nbreak", "ü"])
def test_a_bad_attempt_id_is_refused(bad):
    with pytest.raises(UsageProblem):
        attempt_id(bad, {}, None, "r")


def test_a_bad_attempt_option_exits_2_and_runs_nothing(cli, write, tmp_path):
    path = write(front(fence("c", "check", f"touch {tmp_path}/ran")))
    result = cli("run", path, "--attempt", "two words")
    assert result.returncode == 2 and "--attempt 'two words'" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "ran").exists()


def test_a_resume_joins_the_attempt_it_resumes_and_the_attempt_passes(cli, write, tmp_path):
    flag = tmp_path / "fixed"
    body = fence("c", "check", "true", 'criterion="Checked"') + fence("s", "step", f"test -e {flag}", 'criterion="Applied"') + fence("after", "check", "true")
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
    assert status["reason"] == ("checks the result of step 'deploy', which has not run in this attempt, and 'pending' says: "
                                "2 pending migration(s): — apply them with --execute")
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


@pytest.mark.parametrize("attrs, message", [
    ('{#c .check after=c0}', "after='c0' is not the id of an earlier .step"),
    ('{#c .step pending-exit=3}', "pending-exit belongs on a .check"),
    ('{#c .check exit="0,3" pending-exit=3}', "pending-exit belongs on a .check, with a code that is not also in exit="),
    ('{#c .check pending-exit=0}', "pending-exit='0' must be an exit code from 1 to 255"),
])
def test_after_and_pending_exit_problems(cli, write, attrs, message):
    path = write(front(fence("c0", "check", "true") + f"```bash {attrs}\ntrue\n```\n"))
    result = cli("lint", path)
    assert result.returncode == 2 and message in result.stdout, result.stdout
