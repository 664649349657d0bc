"""``--target`` beyond ``run``: ``rehearse --target`` and ``diagnose --target`` (real CLI
processes) and the pytest plugin's ``--runbooks-target`` (pytester) select a fleet
runbook's target as ``run --target`` does — its secret set and masked, its own ledger and
lock, the record's target name — and refuse, with a message and no traceback, a fleet
runbook with no target named and a target on a runbook without targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# pytester's in-process runs drop the modules they import; PyYAML's libyaml binding (a C
# extension) does not survive being imported again, so the library is loaded once, here
import runbook_checks.lint  # noqa: F401
from runbook_checks.lock import RunLock
from runbook_checks.target import digest
from tests.conftest import clean_env, fence, front
from tests.test_fleet_run import ACME, BETA, fleet_runbook

#: a throwaway database a rehearsal is pointed at; the fleet runbook's blocks only echo, so nothing listens there
THROWAWAY = "postgresql://rehearse:Throwaway-Pw-42@127.0.0.1:1/throwaway"


def ledger(root: Path, *parts: str) -> list[dict]:
    path = root.joinpath("runbook-results", *parts)
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rehearse_target_points_its_secret_at_the_database_and_records_in_its_ledger(cli, tmp_path):
    path = fleet_runbook(tmp_path)
    env = clean_env(DATABASE_URL_ACME=ACME, DATABASE_URL_BETA=BETA)
    result = cli("rehearse", path, "--target", "beta", "--database-url", THROWAWAY, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(DATABASE_URL_BETA point there" in result.stdout and "target=beta url=***" in result.stdout
    assert "Throwaway-Pw-42" not in result.stdout + result.stderr and "Beta-s3cret-Pw" not in result.stdout
    [record] = ledger(tmp_path, "fleet", "beta.jsonl")
    assert record["environment"] == "rehearsal" and record["mode"] == "rehearsal"
    assert record["target"] == {"from": "DATABASE_URL_BETA", "digest": digest(THROWAWAY), "name": "beta"}
    assert [b["status"] for b in record["blocks"]] == ["passed", "passed"]  # the step too: a rehearsal runs it
    assert not (tmp_path / "runbook-results" / "fleet.jsonl").exists()
    assert cli("verify", tmp_path / "runbook-results" / "fleet").returncode == 0


def test_rehearse_target_takes_that_targets_lock_only(cli, tmp_path):
    path = fleet_runbook(tmp_path)
    env = clean_env(DATABASE_URL_ACME=ACME, DATABASE_URL_BETA=BETA)
    results = tmp_path / "runbook-results"
    with RunLock(results, "fleet", "rehearsal", "acme"):  # a rehearsal of acme is running
        held = cli("rehearse", path, "--target", "acme", "--database-url", THROWAWAY, env=env)
        other = cli("rehearse", path, "--target", "beta", "--database-url", THROWAWAY, env=env)
    assert held.returncode == 3 and "another run of 'fleet' target 'acme' (rehearsal) holds the lock" in held.stderr
    assert other.returncode == 0, other.stderr
    assert not (results / "fleet" / "acme.jsonl").exists() and len(ledger(tmp_path, "fleet", "beta.jsonl")) == 1


def test_rehearse_refuses_the_database_of_any_target(cli, tmp_path):
    path = fleet_runbook(tmp_path)
    env = clean_env(DATABASE_URL_ACME=ACME, DATABASE_URL_BETA=BETA)
    result = cli("rehearse", path, "--target", "acme", "--database-url", ACME, env=env)
    assert result.returncode == 2 and "--database-url names the same database as $DATABASE_URL_ACME" in result.stderr
    other = cli("rehearse", path, "--target", "acme", "--database-url", BETA, env=env)  # another tenant's real database
    assert other.returncode == 2 and "--database-url names the same database as $DATABASE_URL_BETA" in other.stderr
    assert not (tmp_path / "runbook-results" / "fleet").exists()


def diagnosable(tmp_path: Path) -> Path:
    """The fleet runbook with a troubleshooting entry whose diagnostic check reads the target."""
    path = fleet_runbook(tmp_path)
    entry = "\n## Down {#down .troubleshoot match=unreachable}\n\nThe tenant's database is down.\n\n"
    check = fence("diag-reach", "check", 'echo "on $RUNBOOK_TARGET: $DATABASE_URL unreachable"; exit 1')
    path.write_text(path.read_text() + entry + check, encoding="utf-8")
    return path


def test_diagnose_target_runs_the_checks_on_that_target_and_records_nothing(cli, tmp_path):
    path = diagnosable(tmp_path)
    result = cli("diagnose", path, "--target", "acme", env=clean_env(DATABASE_URL_ACME=ACME))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "on acme: *** unreachable" in result.stdout and "Acme-s3cret-Pw" not in result.stdout + result.stderr
    assert "1 troubleshooting entry applies" in result.stdout and "(#down)" in result.stdout
    assert not (tmp_path / "runbook-results").exists()
    unset = cli("diagnose", path, "--target", "beta", env=clean_env(DATABASE_URL_ACME=ACME))  # beta's secret is not set
    assert unset.returncode == 2 and "DATABASE_URL_BETA" in unset.stderr and "Traceback" not in unset.stderr


@pytest.mark.parametrize("command", ["rehearse", "diagnose"])
def test_a_fleet_runbook_needs_a_target_and_a_plain_one_refuses_it(cli, write, tmp_path, command):
    path = diagnosable(tmp_path)
    env = clean_env(DATABASE_URL_ACME=ACME, DATABASE_URL_BETA=BETA)
    extra = ["--database-url", THROWAWAY] if command == "rehearse" else []
    none = cli(command, path, *extra, env=env)
    assert none.returncode == 2 and "Traceback" not in none.stderr
    assert "runbook 'fleet' declares 2 target(s)" in none.stderr and "--target NAME" in none.stderr
    unknown = cli(command, path, "--target", "acmee", *extra, env=env)
    assert unknown.returncode == 2 and "has no target 'acmee' (did you mean 'acme'?)" in unknown.stderr
    plain = write(
        front(
            "## Down {#down .troubleshoot match=x}\n\nLook.\n\n" + fence("diag", "check", 'test -n "$DATABASE_URL_X"'),
            secrets="[DATABASE_URL_X]",
        ),
        name="plain.md",
    )
    refused = cli(command, plain, "--target", "acme", *extra, env=clean_env(DATABASE_URL_X=ACME))
    assert refused.returncode == 2 and "declares no 'targets', so --target acme names nothing" in refused.stderr
    assert not (tmp_path / "runbook-results").exists()


# -- the pytest plugin ---------------------------------------------------------------------------


@pytest.fixture
def fleet_md(pytester: pytest.Pytester) -> Path:
    return fleet_runbook(pytester.path)


def test_pytest_runbooks_target_runs_that_target_into_its_ledger(pytester, fleet_md, monkeypatch):
    monkeypatch.setenv("DATABASE_URL_ACME", ACME)
    result = pytester.runpytest("--runbooks", str(fleet_md), "--runbooks-target", "acme", "--runbooks-execute", "--runbooks-confirm", "GO")
    result.assert_outcomes(passed=2)
    [record] = ledger(pytester.path, "fleet", "acme.jsonl")
    assert record["target"] == {"from": "DATABASE_URL_ACME", "digest": digest(ACME), "name": "acme"}
    assert record["options"]["runner"] == "pytest" and record["blocks"][0]["output"] == "target=acme url=***\n"
    assert not (pytester.path / "runbook-results" / "fleet.jsonl").exists()


def test_pytest_target_lock_is_the_targets(pytester, fleet_md, monkeypatch):
    monkeypatch.setenv("DATABASE_URL_ACME", ACME)
    with RunLock(pytester.path / "runbook-results", "fleet", "production", "acme"):
        result = pytester.runpytest("--runbooks", str(fleet_md), "--runbooks-target", "acme")
    result.assert_outcomes(failed=2)  # each block reports the held lock, as a refusal, and nothing runs
    result.stdout.fnmatch_lines(["*another run of 'fleet' target 'acme' (production) holds the lock*"])
    assert "Traceback" not in result.stdout.str()


def test_pytest_fleet_runbook_without_a_target_skips_or_refuses(pytester, fleet_md, monkeypatch):
    monkeypatch.setenv("DATABASE_URL_ACME", ACME)
    skipped = pytester.runpytest("--runbooks", str(fleet_md), "-rs")
    skipped.assert_outcomes(skipped=2)
    skipped.stdout.fnmatch_lines(["*runbook 'fleet' declares 2 target(s): choose one with --runbooks-target NAME*"])
    assert not (pytester.path / "runbook-results" / "fleet.jsonl").exists()  # nothing ran: nothing recorded
    for args in (["--runbooks-strict"], ["--runbooks-execute", "--runbooks-confirm", "GO"]):
        refused = pytester.runpytest("--runbooks", str(fleet_md), *args)
        assert refused.ret == pytest.ExitCode.USAGE_ERROR
        refused.stderr.fnmatch_lines(["*fleet.md: runbook 'fleet' declares 2 target(s): choose one with --runbooks-target NAME*"])
    unknown = pytester.runpytest("--runbooks", str(fleet_md), "--runbooks-target", "gamma")
    assert unknown.ret == pytest.ExitCode.USAGE_ERROR
    unknown.stderr.fnmatch_lines(["*runbook 'fleet' has no target 'gamma'*"])
    assert "Traceback" not in unknown.stdout.str() + unknown.stderr.str()


def test_pytest_target_leaves_plain_runbooks_alone_and_refuses_when_none_has_targets(pytester, fleet_md, monkeypatch):
    monkeypatch.setenv("DATABASE_URL_ACME", ACME)
    plain = pytester.makefile(".md", PLAIN=front(fence("c", "check", "echo plain")))
    both = pytester.runpytest("--runbooks", str(fleet_md), "--runbooks", str(plain), "--runbooks-target", "acme")
    both.assert_outcomes(passed=2, skipped=1)  # the fleet's check and the plain check; the fleet's step needs --execute
    assert len(ledger(pytester.path, "rb.jsonl")) == 1 and len(ledger(pytester.path, "fleet", "acme.jsonl")) == 1
    alone = pytester.runpytest("--runbooks", str(plain), "--runbooks-target", "acme")
    assert alone.ret == pytest.ExitCode.USAGE_ERROR
    alone.stderr.fnmatch_lines(["*--runbooks-target acme: no runbook collected declares 'targets', so it names nothing*"])
