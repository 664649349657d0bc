"""``runbook-checks report --fleet``: one row per target ledger, each verdict the one
``report`` gives on that target's ledger alone — real ledgers, the real CLI."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from runbook_checks.fleet.labels import matches, target_labels
from runbook_checks.fleet.view import fingerprint_short
from runbook_checks.model import Target
from runbook_checks.status import BlockStatus, Kind, Mode
from runbook_checks.targets import parse_labels

from .conftest import fence, front
from .fleet_ledgers import write_ledger
from .helpers import block_result, run_record, runbook_of

RUNBOOK = front(
    fence("list-pending", "check", "node scripts/pending-migrations.mjs", "pending-exit=3")
    + fence("deploy", "step", "echo deploy")
    + fence("schema-drift", "check", "runbook-checks drift --migrations prisma/migrations")
)
PENDING_OUTPUT = "2 pending migration(s):\n  20260101000000_init\n  20260102000000_users\n"


def result(block_id: str, status: str, kind: str = Kind.CHECK, **kw):
    return dataclasses.replace(block_result(block_id, status, kind=kind), **kw)


def migration(run_id: str, deploy: str, *, ci: str | None = None, duration: float = 1.0, pending: bool = True):
    listed = (
        result("list-pending", BlockStatus.PASSED, exit_code=3, output=PENDING_OUTPUT)
        if pending
        else result("list-pending", BlockStatus.PASSED, exit_code=0, output="No pending migrations: 2 migration(s) applied\n")
    )
    blocks = (listed, result("deploy", deploy, kind=Kind.STEP), result("schema-drift", BlockStatus.PASSED))
    record = run_record(run_id, blocks, attempt=run_id, environment="test", ci={"run_url": ci} if ci else None)
    return dataclasses.replace(record, duration_s=duration)


@pytest.fixture
def fleet(tmp_path: Path) -> tuple[Path, Path]:
    """A runbook and its results folder with three target ledgers."""
    runbook = tmp_path / "rb.md"
    runbook.write_text(RUNBOOK)
    results = tmp_path / "runbook-results"
    ci = "https://github.com/o/r/actions/runs/1/job/2"
    write_ledger(
        results / "rb" / "acme.jsonl", [migration("a1", BlockStatus.FAILED), migration("a2", BlockStatus.PASSED, ci=ci, duration=30)]
    )
    write_ledger(results / "rb" / "zeta.jsonl", [migration("z1", BlockStatus.FAILED, duration=90, pending=False)])
    checks = run_record("b1", (result("list-pending", BlockStatus.PASSED, exit_code=0),), attempt="b1", environment="test", mode=Mode.CHECK)
    write_ledger(results / "rb" / "beta.jsonl", [checks])
    return runbook, results


def test_each_row_has_the_verdict_report_gives_on_that_target_alone(fleet, cli, tmp_path):
    runbook, results = fleet
    out = cli("report", runbook, "--fleet", "--format", "json", "--results", results)
    assert out.returncode == 0, out.stderr
    view = json.loads(out.stdout)
    assert [r["target"] for r in view["rows"]] == ["acme", "beta", "zeta"]
    for row in view["rows"]:
        alone = tmp_path / f"alone-{row['target']}"
        alone.mkdir()
        shutil.copy(results / "rb" / f"{row['target']}.jsonl", alone / "rb.jsonl")
        single = json.loads(cli("report", runbook, "--format", "json", "--results", alone).stdout)
        assert (row["verdict"], row["attempt"]) == (single["verdict"], single["attempt"]["id"])
        assert row["duration_s"] == single["attempt"]["duration_s"] and row["ci_url"] == single["attempt"]["ci_url"]
    by = {r["target"]: r for r in view["rows"]}
    assert (by["acme"]["verdict"], by["zeta"]["verdict"], by["beta"]["verdict"]) == ("passed", "failed", "passed")
    assert by["acme"]["pending"] == 2 and by["acme"]["pending_names"] == ["20260101000000_init", "20260102000000_users"]
    assert by["zeta"]["pending"] == 0 and by["beta"]["drift"] is None and by["acme"]["drift"] == "passed"
    assert by["acme"]["fingerprint"] == "1" * 12 and by["beta"]["mode"] == "check"
    assert view["counts"] == {"passed": 2, "failed": 1}
    assert view["slowest"] == ["zeta", "acme", "beta"]


def test_markdown_rows_counts_slowest_and_the_name_filter(fleet, cli):
    runbook, results = fleet
    out = cli("report", runbook, "--fleet", "--results", results)
    assert out.returncode == 0, out.stderr
    assert "**3 target(s): ✅ 2 passed, ❌ 1 failed**" in out.stdout
    assert "Slowest: `zeta` 1 min 30 s, `acme` 30.0 s, `beta` 1.00 s" in out.stdout
    [acme] = [line for line in out.stdout.splitlines() if line.startswith("| `acme`")]
    assert "2026-01-01 00:00 UTC" in acme and "2: 20260101000000_init, 20260102000000_users" in acme
    assert "[job](https://github.com/o/r/actions/runs/1/job/2)" in acme and "`111111111111`" in acme
    only = cli("report", runbook, "--fleet", "--results", results, "--label", "target=zeta")
    assert only.returncode == 0 and "**1 target(s): ❌ 1 failed**" in only.stdout and "`acme`" not in only.stdout
    assert cli("report", runbook, "--label", "target=zeta", "--results", results).returncode == 2
    assert cli("report", runbook, "--fleet", "--label", "wave", "--results", results).returncode == 2


def test_a_tampered_target_ledger_is_named_and_exits_1(fleet, cli):
    runbook, results = fleet
    path = results / "rb" / "acme.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + lines[1].replace(b'"actor":"a"', b'"actor":"x"'))
    out = cli("report", runbook, "--fleet", "--format", "json", "--results", results)
    assert out.returncode == 1
    assert f"{path}:2: hash mismatch" in out.stderr and "Traceback" not in out.stderr
    acme = next(r for r in json.loads(out.stdout)["rows"] if r["target"] == "acme")
    assert acme["attempt"] == "a1" and acme["verdict"] == "failed" and acme["problem"].startswith(f"{path}:2:")


def test_no_target_ledgers_is_a_note_not_an_error(tmp_path, cli):
    (tmp_path / "rb.md").write_text(RUNBOOK)
    out = cli("report", tmp_path / "rb.md", "--fleet", "--results", tmp_path / "none")
    assert out.returncode == 0 and "note: no target ledgers under" in out.stderr and "**0 target(s)**" in out.stdout


def test_labels_come_from_the_declaration_and_match_as_the_targets_command_does():
    runbook = dataclasses.replace(runbook_of(), targets=(Target("acme", "URL_ACME", (("region", "eu"), ("wave", 0))),))
    labels = target_labels(runbook, "acme")
    assert labels == {"region": "eu", "wave": "0"} and target_labels(runbook, "gone") == {}
    assert matches("acme", labels, parse_labels(["region=eu", "wave=0"])) and not matches("acme", labels, parse_labels(["region=us"]))
    assert matches("acme", labels, [("target", "acme")]) and not matches("zeta", labels, [("target", "acme")])
    assert matches("gone", {}, [("target", "gone")]), "an undeclared target's ledger is still picked by name"


def test_fingerprint_short_is_the_one_hash_or_a_hash_of_all():
    assert fingerprint_short({}) is None and fingerprint_short({"m": "ab" * 32}) == "ab" * 6
    two = fingerprint_short({"a": "1" * 64, "b": "2" * 64})
    assert two is not None and len(two) == 12 and two != fingerprint_short({"a": "1" * 64, "b": "3" * 64})
