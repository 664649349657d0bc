"""Fleet runs through the real CLI: ``run --target`` exports the target, masks its URL,
records its name and digest in its own ledger under its own lock; the refusals; a
single-target runbook's ledger unchanged; the ``requires`` gate per target (in process,
over sealed ledgers)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from runbook_checks.gates import requirement_problems
from runbook_checks.ledger import sealed_line
from runbook_checks.lock import RunLock
from runbook_checks.parse import parse_runbook
from runbook_checks.status import Kind
from runbook_checks.target import digest
from runbook_checks.targets import select
from tests.conftest import clean_env, fence
from tests.helpers import block_result, run_record

ACME = "postgresql://app:Acme-s3cret-Pw@db-acme.internal:5432/acme"
BETA = "postgresql://app:Beta-s3cret-Pw@db-beta.internal:5432/beta"
FLEET = """\
- {name: acme, secret: DATABASE_URL_ACME, labels: {wave: 0}}
- {name: beta, secret: DATABASE_URL_BETA}
"""


def fleet_runbook(tmp_path: Path, *, id: str = "fleet", environment: str = "production", extra: str = "") -> Path:
    (tmp_path / "fleet.yml").write_text(FLEET, encoding="utf-8")
    (tmp_path / ".git").mkdir(exist_ok=True)  # the project root: runbook-results/ lands here
    path = tmp_path / f"{id}.md"
    text = (
        f"---\nrunbook:\n  id: {id}\n  environment: {environment}\n  confirm: GO\n  targets: fleet.yml\n"
        f'  env: {{DATABASE_URL: "${{RUNBOOK_TARGET_URL}}"}}\n{extra}---\n\n'
        + fence("show", "check", 'echo "target=$RUNBOOK_TARGET url=$DATABASE_URL"')
        + fence("migrate", "step", 'echo "migrating $RUNBOOK_TARGET"')
    )
    path.write_text(text, encoding="utf-8")
    return path


def records(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for f in sorted((tmp_path / "runbook-results").rglob("*.jsonl")) for line in f.read_text().splitlines()]


def test_a_target_run_exports_masks_and_records_the_target(cli, tmp_path):
    path = fleet_runbook(tmp_path)
    env = clean_env(DATABASE_URL_ACME=ACME, DATABASE_URL_BETA=BETA)
    result = cli("run", path, "--target", "acme", "--execute", "--confirm", "GO", env=env)
    assert result.returncode == 0, result.stderr
    assert "target=acme url=***" in result.stdout and "Acme-s3cret-Pw" not in result.stdout + result.stderr
    [record] = records(tmp_path)
    assert record["target"] == {"from": "DATABASE_URL_ACME", "digest": digest(ACME), "name": "acme"}
    assert record["blocks"][0]["output"] == "target=acme url=***\n"
    assert "Acme-s3cret-Pw" not in json.dumps(record)


def test_each_target_has_its_own_ledger_and_the_run_says_which(cli, tmp_path):
    path = fleet_runbook(tmp_path)
    env = clean_env(DATABASE_URL_ACME=ACME, DATABASE_URL_BETA=BETA)
    for name in ("acme", "beta"):
        result = cli("run", path, "--target", name, "--format", "json", env=env)
        assert result.returncode == 0, result.stderr
        ledger = tmp_path / "runbook-results" / "fleet" / f"{name}.jsonl"
        assert json.loads(result.stdout)["ledger"] == str(ledger.relative_to(tmp_path))
        [record] = [json.loads(line) for line in ledger.read_text().splitlines()]
        assert record["target"]["name"] == name
    assert not (tmp_path / "runbook-results" / "fleet.jsonl").exists()
    assert cli("verify", tmp_path / "runbook-results" / "fleet").returncode == 0


def test_the_lock_is_per_target(cli, tmp_path):
    path = fleet_runbook(tmp_path)
    env = clean_env(DATABASE_URL_ACME=ACME, DATABASE_URL_BETA=BETA)
    with RunLock(tmp_path / "runbook-results", "fleet", "production", "acme"):  # a run of acme holds its lock
        held = cli("run", path, "--target", "acme", env=env)
        other = cli("run", path, "--target", "beta", env=env)
    assert held.returncode == 3 and "another run of 'fleet' target 'acme' (production) holds the lock" in held.stderr
    assert other.returncode == 0, other.stderr
    assert (tmp_path / "runbook-results" / "fleet" / ".acme.production.lock").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--execute", "--confirm", "GO"], "declares 2 target(s); --execute needs --target NAME (one of: acme, beta)"),
        ([], "declares 2 target(s); run needs --target NAME (one of: acme, beta)"),
        (["--target", "acne"], "has no target 'acne' (did you mean 'acme'?)"),
        (["--target", "acme"], "needs the secret(s) DATABASE_URL_ACME, which are not set"),
    ],
)
def test_a_target_run_is_refused_before_anything_runs(cli, tmp_path, args, message):
    path = fleet_runbook(tmp_path)
    result = cli("run", path, *args, env=clean_env(DATABASE_URL_BETA=BETA))
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert records(tmp_path) == []


def test_a_single_target_runbook_keeps_its_ledger_and_refuses_target(cli, write, tmp_path):
    path = write("---\nrunbook:\n  id: rb\n  confirm: GO\n---\n\n" + fence("c", "check", "echo hi"))
    assert cli("run", path).returncode == 0
    ledger = tmp_path / "runbook-results" / "rb.jsonl"
    first = ledger.read_bytes()
    refused = cli("run", path, "--target", "acme")
    assert refused.returncode == 2 and "declares no 'targets', so --target acme names nothing" in refused.stderr
    assert cli("run", path).returncode == 0  # the existing ledger is read, verified and chained onto
    assert ledger.read_bytes().startswith(first)
    [one, two] = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert two["prev"] == one["hash"] and "target" not in (one["target"] or {})
    assert cli("verify", ledger).returncode == 0
    assert json.loads(cli("report", path, "--format", "json").stdout)["verdict"]


# -- the requires gate per target, over sealed ledgers -----------------------------------------


def staging_pass(run_id: str, target_url: str) -> dict:
    """A passing --execute staging record of ``stage`` against ``target_url``'s database."""
    record = run_record(run_id, (block_result("migrate", "passed", kind=Kind.STEP),), attempt=run_id, digest=digest(target_url))
    return replace(record, runbook_id="stage").to_dict()


def seal(path: Path, *records: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    prev, out = None, b""
    for r in records:
        r["prev"] = prev
        out += sealed_line(r)
        prev = r["hash"]
    path.write_bytes(out)


STAGE_URL = "postgresql://app:pw@staging-acme.internal:5432/acme"


@pytest.mark.parametrize(
    ("requires", "ledgers", "problem"),
    [
        (
            "{runbook: stage, environment: staging}",
            {},
            "runbook 'stage' target 'acme' (staging) first: runbook-results/stage/acme.jsonl holds no",
        ),
        ("{runbook: stage, environment: staging}", {"stage/acme.jsonl": STAGE_URL}, None),
        (
            "{runbook: stage, environment: staging}",
            {"stage/beta.jsonl": STAGE_URL},
            "target 'acme' (staging) first",
        ),  # beta's pass is not acme's
        ("{runbook: stage, environment: staging}", {"stage/acme.jsonl": ACME}, "ran against the very database this runbook targets"),
        ("{runbook: stage, environment: staging, target: canary, path: stage.md}", {"stage/acme.jsonl": STAGE_URL}, None),
        (
            "{runbook: stage, environment: staging, target: canary, path: stage.md}",
            {"stage/beta.jsonl": STAGE_URL},
            "target 'acme' (staging) first",
        ),
        (
            "{runbook: stage, environment: staging, target: canary, path: nope.md}",
            {},
            "the canary of runbook 'stage' (nope.md) first, but it cannot be read",
        ),
    ],
)
def test_the_requires_gate_reads_the_counterpart_or_the_canary(tmp_path, requires, ledgers, problem):
    fleet_runbook(tmp_path, id="stage", environment="staging")  # its canary (wave 0) is acme
    path = fleet_runbook(tmp_path, extra=f"  requires: [{requires}]\n")
    runbook, found = parse_runbook(path, display="fleet.md")
    assert found == []
    results = tmp_path / "runbook-results"
    for name, url in ledgers.items():
        seal(results / name, staging_pass("r-" + name.replace("/", "-"), url))
    # the production run of acme
    problems = requirement_problems(select(runbook, "acme"), results, {"DATABASE_URL_ACME": ACME})
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0].replace(str(tmp_path) + "/", ""), problems


def test_the_canary_gate_holds_for_every_target_of_the_fleet(tmp_path):
    fleet_runbook(tmp_path, id="stage", environment="staging")
    path = fleet_runbook(tmp_path, extra="  requires: [{runbook: stage, environment: staging, target: canary, path: stage.md}]\n")
    runbook, _ = parse_runbook(path)
    seal(tmp_path / "runbook-results" / "stage" / "acme.jsonl", staging_pass("r1", STAGE_URL))
    assert requirement_problems(select(runbook, "beta"), tmp_path / "runbook-results", {"DATABASE_URL_BETA": BETA}) == []


def test_a_fleet_run_that_requires_a_single_database_runbook_reads_its_one_ledger(tmp_path):
    single = tmp_path / "stage.md"
    single.write_text("---\nrunbook:\n  id: stage\n  environment: staging\n---\n\n" + fence("c", "check", "true"), encoding="utf-8")
    path = fleet_runbook(tmp_path, extra="  requires: [{runbook: stage, environment: staging, path: stage.md}]\n")
    runbook, _ = parse_runbook(path)
    results = tmp_path / "runbook-results"
    one = select(runbook, "beta")
    assert "runbook-results/stage.jsonl holds no" in requirement_problems(one, results, {"DATABASE_URL_BETA": BETA})[0]
    seal(results / "stage.jsonl", staging_pass("r1", STAGE_URL))
    assert requirement_problems(one, results, {"DATABASE_URL_BETA": BETA}) == []


def test_a_rehearsal_of_a_selected_target_points_its_secret_at_the_throwaway_database(tmp_path):
    from runbook_checks.attempt import rehearsal_targets

    (tmp_path / "fleet.yml").write_text("- {name: acme, secret: TENANT_ACME_URL}\n", encoding="utf-8")
    path = tmp_path / "rb.md"
    path.write_text("---\nrunbook:\n  id: rb\n  targets: fleet.yml\n---\n\n" + fence("c", "check", "true"), encoding="utf-8")
    runbook, _ = parse_runbook(path)
    assert rehearsal_targets(select(runbook, "acme"), "rb.md") == ["TENANT_ACME_URL"]
    with pytest.raises(Exception, match="declares no DATABASE_URL"):
        rehearsal_targets(runbook, "rb.md")


def test_a_dry_run_names_the_selected_target(cli, tmp_path):
    path = fleet_runbook(tmp_path)
    result = cli("run", path, "--target", "acme", "--dry-run", env=clean_env(DATABASE_URL_ACME=ACME))
    assert result.returncode == 0, result.stderr
    assert 'Target: database "acme" at db-acme.internal:5432 (from $DATABASE_URL_ACME)' in result.stdout
    assert records(tmp_path) == []
