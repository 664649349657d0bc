"""The fan-in (``runbook-checks merge``): many jobs' ledgers verified and merged into one
folder, all or nothing — real files, the real CLI in a subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_checks.fleet import apply_merge, plan_merge
from runbook_checks.ledger import verify_ledger
from runbook_checks.status import MergeOutcome

from .fleet_ledgers import write_ledger
from .helpers import block_result, run_record


def records(n: int, tag: str = "r") -> list:
    """``n`` passing runs, each its own attempt (run ids ``<tag>0``...)."""
    return [run_record(f"{tag}{i}", (block_result("ok", "passed"),), attempt=f"{tag}{i}") for i in range(n)]


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


@pytest.fixture
def published(tmp_path: Path) -> Path:
    """DIR: a flat ledger and two target ledgers, as published before the jobs ran."""
    into = tmp_path / "published"
    write_ledger(into / "rb.jsonl", records(2))
    write_ledger(into / "fleet" / "acme.jsonl", records(3))
    write_ledger(into / "fleet" / "zeta.jsonl", records(3))
    return into


def job_folder(tmp_path: Path, name: str, published: Path) -> Path:
    """What one job uploads: every published ledger it fetched (copied as they were)."""
    folder = tmp_path / name
    for f in published.rglob("*.jsonl"):
        target = folder / f.relative_to(published)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.read_bytes())
    return folder


def test_copy_extend_stale_and_unchanged_in_one_merge(tmp_path, published, cli):
    acme = job_folder(tmp_path, "job-acme", published)
    write_ledger(acme / "fleet" / "acme.jsonl", records(5))  # acme's job appended two runs (same first three)
    zeta = job_folder(tmp_path, "job-zeta", published)
    write_ledger(zeta / "fleet" / "new-co.jsonl", records(1, "n"))  # a target published for the first time
    stale = tmp_path / "job-old"
    write_ledger(stale / "fleet" / "zeta.jsonl", records(2))  # an artifact fetched before zeta's third run
    before_zeta = (published / "fleet" / "zeta.jsonl").read_bytes()

    out = cli("merge", acme, zeta, stale, "--into", published)
    assert out.returncode == 0, out.stderr
    assert "merged 4 ledger(s)" in out.stdout and "1 new" in out.stdout and "1 extended" in out.stdout
    assert "1 stale" in out.stdout and "1 unchanged" in out.stdout
    assert len(lines(published / "fleet" / "acme.jsonl")) == 5
    assert (published / "fleet" / "acme.jsonl").read_bytes() == (acme / "fleet" / "acme.jsonl").read_bytes()
    assert (published / "fleet" / "zeta.jsonl").read_bytes() == before_zeta
    assert (published / "fleet" / "new-co.jsonl").exists()
    for f in published.rglob("*.jsonl"):
        assert verify_ledger(f).ok
    assert not list(published.rglob(".*.tmp")), "no temporary file is left behind"


def test_the_longest_of_several_incoming_copies_wins_in_any_order(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_ledger(a / "fleet" / "t.jsonl", records(4))
    write_ledger(b / "fleet" / "t.jsonl", records(2))
    for order in ([a, b], [b, a]):
        into = tmp_path / f"into-{order[0].name}"
        plan = plan_merge(order, into)
        assert plan.ok and [s.outcome for s in plan.steps] == [MergeOutcome.NEW]
        apply_merge(plan)
        assert len(lines(into / "fleet" / "t.jsonl")) == 4


def test_diverged_chains_are_refused_naming_both_files_and_the_line(tmp_path, published, cli):
    job = tmp_path / "job"
    rewritten = records(2) + records(2, "x")  # the same first two runs, then other ones
    write_ledger(job / "fleet" / "acme.jsonl", rewritten)
    write_ledger(job / "fleet" / "new-co.jsonl", records(1))
    snapshot = {f: f.read_bytes() for f in published.rglob("*") if f.is_file()}

    out = cli("merge", job, "--into", published)
    assert out.returncode == 1
    assert f"{published / 'fleet' / 'acme.jsonl'}:3 and {job / 'fleet' / 'acme.jsonl'}:3: the chains diverged at line 3" in out.stderr
    assert "nothing was merged" in out.stderr
    assert {f: f.read_bytes() for f in published.rglob("*") if f.is_file()} == snapshot, "nothing is written, new ledgers neither"


def test_a_tampered_incoming_ledger_writes_nothing(tmp_path, published, cli):
    good = tmp_path / "good"
    write_ledger(good / "fleet" / "acme.jsonl", records(5))
    bad = tmp_path / "bad"
    path = write_ledger(bad / "fleet" / "zeta.jsonl", records(4))
    edited = lines(path)
    edited[1] = edited[1].replace(b'"actor":"a"', b'"actor":"b"')
    path.write_bytes(b"".join(edited))
    snapshot = {f: f.read_bytes() for f in published.rglob("*") if f.is_file()}

    out = cli("merge", good, bad, "--into", published)
    assert out.returncode == 1
    assert f"{path}:2: hash mismatch" in out.stderr
    assert {f: f.read_bytes() for f in published.rglob("*") if f.is_file()} == snapshot


def test_a_published_ledger_that_fails_verification_refuses_the_merge(tmp_path, published):
    target = published / "rb.jsonl"
    target.write_bytes(target.read_bytes()[:-5])  # cut: a half-written last line
    job = tmp_path / "job"
    write_ledger(job / "rb.jsonl", records(3))
    plan = plan_merge([job], published)
    assert not plan.ok and plan.problems == [f"{target}:2: the last line is cut or half-written (no newline at its end)"]
    with pytest.raises(ValueError):
        apply_merge(plan)


def test_dry_run_writes_nothing_and_nothing_to_merge_is_no_error(tmp_path, published, cli):
    job = tmp_path / "job"
    write_ledger(job / "fleet" / "acme.jsonl", records(4))
    snapshot = {f: f.read_bytes() for f in published.rglob("*") if f.is_file()}
    out = cli("merge", job, "--into", published, "--dry-run")
    assert out.returncode == 0, out.stderr
    assert "fleet/acme.jsonl: extended (3 -> 4 records)" in out.stdout and "would merge 1 ledger(s)" in out.stdout
    assert {f: f.read_bytes() for f in published.rglob("*") if f.is_file()} == snapshot
    empty = tmp_path / "empty"
    empty.mkdir()
    out = cli("merge", empty, "--into", tmp_path / "new")
    assert out.returncode == 0 and "nothing to merge" in out.stdout
    assert cli("merge", tmp_path / "missing", "--into", published).returncode == 2


def test_progress_goes_to_stderr_for_many_ledgers(tmp_path, cli):
    job = tmp_path / "job"
    for i in range(25):
        write_ledger(job / "fleet" / f"t{i:02}.jsonl", records(1))
    out = cli("merge", job, "--into", tmp_path / "into")
    assert out.returncode == 0
    assert "verified 20/25 ledger file(s)" in out.stderr and "verified 25/25 ledger file(s)" in out.stderr
    assert out.stdout.strip() == f"merged 25 ledger(s) into {tmp_path / 'into'}: 25 new"


def test_hidden_files_links_and_deeper_files_are_not_ledgers(tmp_path):
    job = tmp_path / "job"
    write_ledger(job / "fleet" / "t.jsonl", records(1))
    write_ledger(job / ".hidden" / "t.jsonl", records(1))
    write_ledger(job / "a" / "b" / "deep.jsonl", records(1))
    (job / "fleet" / "link.jsonl").symlink_to(job / "fleet" / "t.jsonl")
    plan = plan_merge([job], tmp_path / "into")
    assert [str(s.rel) for s in plan.steps] == ["fleet/t.jsonl"]


def test_verify_of_a_folder_covers_the_target_ledgers(tmp_path, published, cli):
    out = cli("verify", published)
    assert out.returncode == 0, out.stdout
    assert f"{published / 'fleet' / 'acme.jsonl'}: ok, 3 record(s), chain intact" in out.stdout
    target = published / "fleet" / "zeta.jsonl"
    target.write_bytes(target.read_bytes()[:-1])
    out = cli("verify", published)
    assert out.returncode == 1 and f"{target}:3: the last line is cut" in out.stdout


def test_a_resealed_record_that_breaks_the_schema_is_refused_when_new(tmp_path, published, cli):
    """A forger who recomputes the hashes still fails the record schema on the records merged."""
    import json

    from runbook_checks.ledger import sealed_line

    path = write_ledger(tmp_path / "job" / "fleet" / "acme.jsonl", records(4))
    kept = lines(path)[:3]
    forged = json.loads(lines(path)[3])
    forged["status"] = 42  # no run writes a number here
    forged.pop("hash")
    path.write_bytes(b"".join(kept) + sealed_line(forged))
    out = cli("merge", tmp_path / "job", "--into", published)
    assert out.returncode == 1 and f"{path}:4: does not match the record schema" in out.stderr
