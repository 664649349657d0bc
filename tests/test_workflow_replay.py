"""The staging migration workflow replayed step by step as a runner runs it: the files and
variables a runner provides (GITHUB_OUTPUT per step, GITHUB_STEP_SUMMARY, GITHUB_ENV,
GITHUB_WORKSPACE, RUNNER_TEMP), its own composite action for the blocks, a real
PostgreSQL 15 database behind the secret, a real git remote for the published records.
Only steps that set up the machine (actions/*, npm/pip/apt installs) are left out: this
machine has what they install."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runbook_checks.sandbox import postgres

from .conftest import clean_env
from .test_github import outputs, replay_action, unescape
from .test_prisma import APP, app_installed  # noqa: F401  (the app's packages, installed once)

ROOT = Path(__file__).resolve().parent.parent
SETUP = re.compile(r"npm install --global|pip install|apt-get")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """The job's checkout: this repository's runbooks, scripts and app, cloned from a bare
    origin (where the records branch is published)."""
    origin = tmp_path / "origin.git"
    seed = tmp_path / "seed"
    seed.mkdir()
    for part in ("docs/OPS/RUNBOOKS", "scripts"):
        shutil.copytree(ROOT / part, seed / part)
    shutil.copytree(APP, seed / "examples" / "dixis", ignore=shutil.ignore_patterns("node_modules", "backups"))
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", ".")
    git(seed, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "seed")
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(origin))
    work = tmp_path / "workspace"
    git(tmp_path, "clone", "-q", str(origin), str(work))
    subprocess.run(
        ["pnpm", "install", "--frozen-lockfile", "--prefer-offline", "--reporter=silent"], cwd=work / "examples" / "dixis", check=True
    )
    return work


def expand(value: str, contexts: dict[str, dict[str, str]]) -> str:
    return re.sub(r"\$\{\{\s*(\w+)\.([\w-]+)\s*\}\}", lambda m: contexts[m.group(1)].get(m.group(2), ""), str(value))


def replay(
    workflow: str, job: str, workspace: Path, secrets: dict[str, str], inputs: dict[str, str]
) -> list[tuple[str, subprocess.CompletedProcess, dict]]:
    """Each step of ``job`` in order, stopping at the first that fails (as a runner does
    without ``if: always()``): (name, process, its outputs)."""
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / workflow).read_text())
    runner = workspace.parent / "runner"
    runner.mkdir(exist_ok=True)
    summary, github_env = runner / "summary.md", runner / "env"
    summary.touch()
    github_env.touch()
    base = clean_env(
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        GITHUB_ACTIONS="true",
        GITHUB_RUN_ID="100",
        GITHUB_RUN_ATTEMPT="1",
        GITHUB_WORKSPACE=str(workspace),
        RUNNER_TEMP=str(runner),
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_ENV=str(github_env),
        GITHUB_WORKFLOW=wf["name"],
    )
    contexts = {"secrets": secrets, "inputs": inputs, "env": {k: str(v) for k, v in wf["env"].items()}}
    done = []
    for n, step in enumerate(wf["jobs"][job]["steps"]):
        name = step.get("name") or step.get("run") or step.get("uses")
        if step.get("uses", "").startswith("actions/") or SETUP.search(step.get("run", "")):
            continue
        output = runner / f"output-{n}"
        output.touch()
        env = {**base, **contexts["env"], "GITHUB_OUTPUT": str(output), **{k: expand(v, contexts) for k, v in step.get("env", {}).items()}}
        if step.get("uses") == "./":
            proc = replay_action({k: expand(v, contexts) for k, v in step["with"].items()}, env, workspace)
        else:
            script = runner / "step.sh"
            script.write_text(step["run"])
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=workspace,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
        done.append((name, proc, outputs(output)))
        if proc.returncode != 0:
            break
    return done


def test_the_staging_workflow_migrates_masks_folds_outputs_and_publishes(workspace):
    with postgres(database="dixis_staging") as db:
        password = re.search(r"://[^:]+:([^@]+)@", db.url).group(1)
        steps = replay("staging-migration.yml", "migrate", workspace, {"DATABASE_URL_STAGING": db.url}, {"confirm": "DIXIS-STAGING-OK"})
        applied = subprocess.run(
            ["psql", db.url, "-tAc", "SELECT count(*) FROM _prisma_migrations WHERE finished_at IS NOT NULL"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    failed = [(name, proc.stdout[-2000:] + proc.stderr[-2000:]) for name, proc, _ in steps if proc.returncode != 0]
    assert not failed, failed
    assert applied == "3"
    blocks = [(name, proc, out) for name, proc, out in steps if out]  # the action's steps: each wrote outputs
    assert len(blocks) >= 10
    for name, proc, out in blocks:
        masks = [unescape(line[len("::add-mask::") :]) for line in proc.stdout.splitlines() if line.startswith("::add-mask::")]
        assert db.url in masks and password in masks, name
        body = proc.stdout.split("\n", len(masks))[-1]
        assert db.url not in body and password not in body, name
        assert "::group::▶ " in body and "::endgroup::" in body, name
        assert out["attempt-id"] == "github-100-1" and out["status"] == "passed", (name, out)
    assert blocks[-1][2]["verdict"] == "passed"  # the dispatch's one attempt, after its last step
    summary = (workspace.parent / "runner" / "summary.md").read_text()
    assert "github-100-1" in summary and password not in summary
    # what the publish job does with the uploaded ledgers
    published = subprocess.run(
        ["bash", str(workspace / "scripts" / "publish-records.sh"), "runbook-results"],
        cwd=workspace,
        env=clean_env(PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}"),
        capture_output=True,
        text=True,
    )
    assert published.returncode == 0, published.stdout + published.stderr
    ledger = git(workspace.parent / "origin.git", "show", "runbook-results:db-migration-staging.jsonl")
    records = [json.loads(line) for line in ledger.splitlines()]
    assert len(records) == len(blocks) and {r["attempt_id"] for r in records} == {"github-100-1"}
    assert password not in ledger
