"""The fleet workflow (fleet-migration.yml and its wave, fleet-wave.yml) and the composite
action's ``target`` inputs: in step with the fleet runbook, waves in order and stopped by
a failure, a secret only on the step that runs the runbook, and the scripts really run
(the plan, the collect step, the action's run step)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runbook_checks.lint import load_runbook
from tests.conftest import clean_env, fence

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
FLEET = load_runbook(ROOT / "docs" / "OPS" / "FLEET" / "DB-MIGRATION-TENANTS.md")
BIN = str(Path(sys.executable).parent)


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def script_env(wf: dict, **extra: str) -> dict[str, str]:
    env = clean_env(PATH=f"{BIN}:{os.environ['PATH']}")
    env.update({k: str(v) for k, v in wf.get("env", {}).items()})
    env.update(extra)
    return env


def run_script(script: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """A step's script as Actions runs it (bash -e)."""
    assert "${{" not in script  # inputs reach the script through env, never by interpolation
    return subprocess.run(["bash", "-e", "-c", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_the_workflow_names_the_fleet_runbook():
    wf = load("fleet-migration.yml")
    assert wf["env"]["RUNBOOK"] == "docs/OPS/FLEET/DB-MIGRATION-TENANTS.md"
    assert wf["env"]["RUNBOOK_ID"] == FLEET.id and wf["env"]["CONFIRM_TOKEN"] == FLEET.confirm
    assert list(wf[True]) == ["workflow_dispatch"] and list(wf[True]["workflow_dispatch"]["inputs"]) == ["confirm"]
    assert wf["concurrency"]["cancel-in-progress"] is False and wf["permissions"] == {"contents": "read"}
    assert load("fleet-wave.yml")["jobs"]["migrate"]["environment"] == FLEET.environment


def test_the_plan_prints_the_waves_and_one_matrix_per_wave(tmp_path):
    wf = load("fleet-migration.yml")
    plan = next(s for s in wf["jobs"]["plan"]["steps"] if s.get("id") == "plan")
    out, summary = tmp_path / "out", tmp_path / "summary"
    result = run_script(plan["run"], script_env(wf, GITHUB_OUTPUT=str(out), GITHUB_STEP_SUMMARY=str(summary)))
    assert result.returncode == 0, result.stderr
    got = outputs(out)
    assert json.loads(got["waves"]) == [0, 1, 2]
    for wave in (0, 1, 2):
        entries = json.loads(got[f"wave-{wave}"])["include"]
        assert [e["target"] for e in entries] == [t.name for t in FLEET.targets if t.wave == wave]
        assert all(e["wave"] == wave and e["secret"].startswith("DATABASE_URL_TENANT_") for e in entries)
    assert "wave-3" not in got  # no targets: the job is skipped, not started with an empty matrix
    assert "tenant-acme" in summary.read_text()


def test_the_plan_refuses_a_wave_the_workflow_has_no_job_for(tmp_path):
    wf = load("fleet-migration.yml")
    plan = next(s for s in wf["jobs"]["plan"]["steps"] if s.get("id") == "plan")
    (tmp_path / "fleet.yml").write_text("- {name: far, secret: DATABASE_URL_FAR, labels: {wave: 4}}\n")
    runbook = tmp_path / "rb.md"
    runbook.write_text("---\nrunbook:\n  id: rb\n  targets: fleet.yml\n---\n\n" + fence("c", "check", "true"))
    env = script_env(wf, RUNBOOK=str(runbook), GITHUB_OUTPUT=str(tmp_path / "out"), GITHUB_STEP_SUMMARY=str(tmp_path / "s"))
    result = run_script(plan["run"], env)
    assert result.returncode == 1 and "has targets in wave 4; this workflow runs waves 0 to 3" in result.stdout


@pytest.mark.parametrize(
    ("typed", "passes"), [("DIXIS-TENANTS-OK", True), ("dixis-tenants-ok", False), ("DIXIS-TENANTS-OK ", False), ("", False)]
)
def test_the_confirm_gate_comes_first(typed, passes):
    wf = load("fleet-migration.yml")
    first = wf["jobs"]["plan"]["steps"][0]
    assert first["name"] == "Confirm gate"
    result = run_script(first["run"], script_env(wf, CONFIRM=typed))
    assert (result.returncode == 0) is passes, result.stdout


def test_waves_run_in_order_and_a_failed_wave_stops_the_later_ones():
    jobs = load("fleet-migration.yml")["jobs"]
    last = int(load("fleet-migration.yml")["env"]["LAST_WAVE"])
    waves = ["canary", *(f"wave-{n}" for n in range(1, last + 1))]
    assert set(jobs) == {"plan", *waves, "publish"}
    for n, name in enumerate(waves):
        job = jobs[name]
        assert job["uses"] == "./.github/workflows/fleet-wave.yml" and job["secrets"] == "inherit"
        assert job["with"]["wave"] == n and job["with"]["matrix"] == f"${{{{ needs.plan.outputs.wave-{n} }}}}"
        assert job["with"]["confirm"].startswith("${{ inputs.confirm }}")
        needs = [job["needs"]] if isinstance(job["needs"], str) else job["needs"]
        assert needs == ["plan", *waves[:n]]  # every earlier wave, so a failure two waves back still stops it
        if n:
            assert "!contains(needs.*.result, 'failure')" in job["if"] and "!cancelled()" in job["if"]
    assert jobs["canary"]["with"]["max-parallel"] == 1
    assert jobs["publish"]["uses"] == "./.github/workflows/publish.yml" and jobs["publish"]["needs"] == ["plan", *waves]
    assert jobs["publish"]["if"].startswith("${{ always()")


def test_each_job_migrates_one_target_through_the_action_with_its_secret_only_there():
    wave = load("fleet-wave.yml")
    job = wave["jobs"]["migrate"]
    assert job["strategy"] == {"matrix": "${{ fromJSON(inputs.matrix) }}", "max-parallel": "${{ inputs.max-parallel }}", "fail-fast": False}
    [run] = [s for s in job["steps"] if s.get("uses") == "./"]
    assert run["with"]["target"] == "${{ matrix.target }}" and run["with"]["target-secret"] == "${{ matrix.secret }}"
    assert run["with"]["execute"] == "true" and run["env"] == {"RUNBOOK_CHECKS_TARGET_URL": "${{ secrets[matrix.secret] }}"}
    for wf in (wave, load("fleet-migration.yml")):  # secrets[...] and secrets. alike: nowhere else
        assert "secrets" not in json.dumps(wf.get("env", {}))
        for other in wf["jobs"].values():
            assert "secrets" not in json.dumps(other.get("env", {}))
            for s in other.get("steps", []):
                if s is not run:
                    assert not re.search(r"secrets[.\[]", json.dumps(s)), s.get("name")
    fetch = next(i for i, s in enumerate(job["steps"]) if "scripts/fetch-records.sh" in s.get("run", ""))
    assert fetch < job["steps"].index(run)
    [upload] = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload["if"] == "always()" and upload["with"]["name"] == "runbook-results-${{ matrix.target }}"


def test_the_collect_step_keeps_the_ledger_layout(tmp_path):
    job = load("fleet-wave.yml")["jobs"]["migrate"]
    collect = next(s for s in job["steps"] if s.get("name") == "Collect the target's ledger")
    assert collect["if"] == "always()"
    ledger = tmp_path / "runbook-results" / FLEET.id / "tenant-acme.jsonl"
    ledger.parent.mkdir(parents=True)
    ledger.write_text("{}\n")
    (ledger.parent / "tenant-beta.jsonl").write_text("{}\n")  # another target's, fetched from the published records
    env = {"PATH": os.environ["PATH"], "RUNBOOK_ID": FLEET.id, "TARGET": "tenant-acme"}
    assert run_script(collect["run"], env, cwd=tmp_path).returncode == 0
    assert [p.relative_to(tmp_path).as_posix() for p in (tmp_path / "fleet-artifact").rglob("*.jsonl")] == [
        f"fleet-artifact/{FLEET.id}/tenant-acme.jsonl"
    ]
    assert run_script(collect["run"], {**env, "TARGET": "tenant-gone"}, cwd=tmp_path).returncode == 0  # a job that failed early


def action_script() -> str:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    return next(s for s in action["runs"]["steps"] if s.get("id") == "run")["run"]


def test_the_action_exports_the_target_url_under_its_secret_name(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "fleet.yml").write_text("- {name: acme, secret: DATABASE_URL_TENANT_ACME, labels: {wave: 0}}\n")
    runbook = tmp_path / "rb.md"
    runbook.write_text(
        "---\nrunbook:\n  id: rb\n  confirm: GO\n  targets: fleet.yml\n---\n\n"
        + fence("c", "check", 'echo "on $RUNBOOK_TARGET: $DATABASE_URL_TENANT_ACME"')
    )
    url = "postgresql://app:Acme-pw-123456@db/acme"
    inputs = dict(RUNBOOK=str(runbook), EXECUTE="false", CONFIRM="", ONLY="", RESULTS="", ATTEMPT="", TARGET="acme")
    env = script_env({}, **inputs, TARGET_SECRET="DATABASE_URL_TENANT_ACME", RUNBOOK_CHECKS_TARGET_URL=url)
    result = run_script(action_script(), env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "on acme: ***" in result.stdout and "Acme-pw-123456" not in result.stdout
    [record] = [json.loads(x) for f in (tmp_path / "runbook-results").rglob("*.jsonl") for x in f.read_text().splitlines()]
    assert record["target"]["name"] == "acme" and record["target"]["from"] == "DATABASE_URL_TENANT_ACME"
    bad = run_script(action_script(), {**env, "TARGET_SECRET": "X; rm -rf /"}, cwd=tmp_path)
    assert bad.returncode == 2 and "::error::target-secret 'X; rm -rf /' is not an environment variable name" in bad.stdout
    unset = run_script(action_script(), {**env, "RUNBOOK_CHECKS_TARGET_URL": ""}, cwd=tmp_path)  # the secret is not set in GitHub
    assert unset.returncode == 2 and "needs the secret(s) DATABASE_URL_TENANT_ACME, which are not set" in unset.stderr
