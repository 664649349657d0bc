"""Publishing a fleet's records (scripts/publish-records.sh over one folder per job's
artifact, as .github/workflows/publish.yml downloads them): per-target ledgers in
sub-folders, one commit, stale copies never winning — a real git remote, real files."""

from __future__ import annotations

from .fleet_ledgers import write_ledger
from .helpers import block_result, run_record
from .test_publish import git, origin, published, script  # noqa: F401 (origin is a fixture)


def runs(n: int) -> list:
    return [run_record(f"r{i}", (block_result("ok", "passed"),), attempt=f"r{i}") for i in range(n)]


def test_per_target_ledgers_of_many_jobs_go_out_in_one_commit(origin, tmp_path):
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(origin), str(work))
    first = tmp_path / "incoming-1"
    for name in ("acme", "zeta"):
        write_ledger(first / "runbook-results-1" / "fleet" / f"{name}.jsonl", runs(1))
    result = script("publish-records.sh", work, *map(str, sorted(first.iterdir())))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "published the records to branch runbook-results (2 new)" in result.stdout

    # the next fleet run: each job extended its own target and carries a stale copy of the other's
    second = tmp_path / "incoming-2"
    write_ledger(second / "runbook-results-acme" / "fleet" / "acme.jsonl", runs(2))
    write_ledger(second / "runbook-results-acme" / "fleet" / "zeta.jsonl", runs(1))
    write_ledger(second / "runbook-results-zeta" / "fleet" / "acme.jsonl", runs(1))
    write_ledger(second / "runbook-results-zeta" / "fleet" / "zeta.jsonl", runs(3))
    before = git(origin, "rev-list", "--count", "runbook-results")
    result = script("publish-records.sh", work, *map(str, sorted(second.iterdir())))
    assert result.returncode == 0, result.stdout + result.stderr
    assert int(git(origin, "rev-list", "--count", "runbook-results")) == int(before) + 1, "one commit for the whole fleet"
    assert len(published(origin, "fleet/acme.jsonl")) == 2 and len(published(origin, "fleet/zeta.jsonl")) == 3

    # a job whose copy diverged from the published chain: refused, nothing published
    third = tmp_path / "incoming-3" / "runbook-results-x"
    write_ledger(third / "fleet" / "acme.jsonl", [run_record("other", (block_result("ok", "failed"),))])
    result = script("publish-records.sh", work, str(third))
    assert result.returncode == 1 and "the chains diverged at line 1" in result.stderr
    assert int(git(origin, "rev-list", "--count", "runbook-results")) == int(before) + 1
