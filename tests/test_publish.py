"""Publishing run records (scripts/fetch-records.sh, scripts/publish-records.sh, as
.github/workflows/publish.yml and the migration workflows run them), against a real git
remote (a bare repository standing in for origin) and real runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import clean_env, fence, front

ROOT = Path(__file__).resolve().parent.parent


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(bare), str(seed))
    (seed / "README.md").write_text("app\n")
    git(seed, "add", "README.md")
    git(seed, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    git(seed, "push", "-q", "origin", "HEAD:main")
    return bare


def checkout(origin: Path, where: Path) -> Path:
    """A job's fresh checkout of main, with the runbook it runs."""
    git(origin.parent, "clone", "-q", str(origin), str(where))
    (where / "rb.md").write_text(front(fence("ok", "check", "echo ok")))
    return where


def script(name: str, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = clean_env(PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", GITHUB_RUN_ID="7")
    return subprocess.run(["bash", str(ROOT / "scripts" / name), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def job(cli, origin: Path, where: Path) -> Path:
    """What a migration job does: fetch the published records, run, leave the ledgers."""
    work = checkout(origin, where)
    assert script("fetch-records.sh", work, "runbook-results").returncode == 0
    assert cli("run", work / "rb.md", "--results", work / "runbook-results", cwd=work).returncode == 0
    return work / "runbook-results"


def published(origin: Path, name: str = "rb.jsonl") -> list[dict]:
    text = subprocess.run(["git", "show", f"runbook-results:{name}"], cwd=origin, capture_output=True, text=True).stdout
    return [json.loads(line) for line in text.splitlines()]


def test_runs_in_later_jobs_extend_the_published_chain(cli, origin, tmp_path):
    first = job(cli, origin, tmp_path / "job1")
    result = script("publish-records.sh", tmp_path / "job1", str(first))
    assert result.returncode == 0, result.stdout + result.stderr
    assert [r["hash"] for r in published(origin)] == [json.loads(line)["hash"] for line in (first / "rb.jsonl").read_text().splitlines()]
    assert git(origin, "log", "--format=%s", "main") == "init\n"  # main is never written
    second = job(cli, origin, tmp_path / "job2")  # starts from the published ledger
    assert len((second / "rb.jsonl").read_text().splitlines()) == 2
    assert script("publish-records.sh", tmp_path / "job2", str(second)).returncode == 0
    records = published(origin)
    assert len(records) == 2 and records[1]["prev"] == records[0]["hash"]
    again = script("publish-records.sh", tmp_path / "job2", str(second))  # nothing new: no commit
    assert again.returncode == 0 and "already holds these records" in again.stdout


def test_a_ledger_that_drops_published_records_or_fails_verification_is_not_published(cli, origin, tmp_path):
    first = job(cli, origin, tmp_path / "job1")
    assert script("publish-records.sh", tmp_path / "job1", str(first)).returncode == 0
    stray = checkout(origin, tmp_path / "stray")  # a run that did not start from the published records
    assert cli("run", stray / "rb.md", "--results", stray / "runbook-results", cwd=stray).returncode == 0
    refused = script("publish-records.sh", stray, str(stray / "runbook-results"))
    assert refused.returncode == 1 and len(published(origin)) == 1
    tampered = job(cli, origin, tmp_path / "job2")
    ledger = tampered / "rb.jsonl"
    ledger.write_text(ledger.read_text().replace('"passed"', '"failed"', 1))
    assert script("publish-records.sh", tmp_path / "job2", str(tampered)).returncode == 1 and len(published(origin)) == 1


def test_a_ledger_only_fetched_is_left_as_published(cli, origin, tmp_path):
    """A staging job's folder also holds production's ledger as it fetched it; production
    published more since: publishing staging's records leaves production's alone."""
    first = job(cli, origin, tmp_path / "job1")
    assert script("publish-records.sh", tmp_path / "job1", str(first)).returncode == 0
    old = checkout(origin, tmp_path / "old")
    assert script("fetch-records.sh", old, "runbook-results").returncode == 0  # holds rb.jsonl with 1 record
    newer = job(cli, origin, tmp_path / "job2")
    assert script("publish-records.sh", tmp_path / "job2", str(newer)).returncode == 0  # rb.jsonl: 2 records
    (old / "other.md").write_text(front(fence("o", "check", "true"), id="other"))
    assert cli("run", old / "other.md", "--results", old / "runbook-results", cwd=old).returncode == 0
    result = script("publish-records.sh", old, str(old / "runbook-results"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(published(origin)) == 2 and len(published(origin, "other.jsonl")) == 1


def test_without_a_records_branch_a_run_starts_with_none(origin, tmp_path):
    work = checkout(origin, tmp_path / "job")
    result = script("fetch-records.sh", work, "runbook-results")
    assert result.returncode == 0 and "no records branch runbook-results yet" in result.stdout
    assert list((work / "runbook-results").iterdir()) == []


def test_an_unreadable_remote_stops_a_run_instead_of_starting_a_new_chain(origin, tmp_path):
    work = checkout(origin, tmp_path / "job")
    git(work, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    result = script("fetch-records.sh", work, "runbook-results")
    assert result.returncode == 1 and "cannot read the records branch runbook-results" in result.stderr


def test_a_job_that_uploaded_no_records_publishes_nothing(origin, tmp_path):
    work = checkout(origin, tmp_path / "job")
    result = script("publish-records.sh", work, "incoming")
    assert result.returncode == 0 and "no records to publish" in result.stdout
    assert subprocess.run(["git", "show-ref", "--verify", "refs/heads/runbook-results"], cwd=origin).returncode != 0
