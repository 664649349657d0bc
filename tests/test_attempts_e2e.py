"""Attempts end to end, against real PostgreSQL 15 clusters and the real Prisma CLI: the
staging workflow replayed step by step as a GitHub runner runs it, read-only checks on a
fresh database, and the production gate opened and closed by what the staging ledger says."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from runbook_checks.sandbox import free_port, postgres

from .conftest import clean_env
from .helpers import tbody_rows
from .test_github import replay_action
from .test_prisma import MIGRATIONS, app_installed, blocks, production, project, psql, records, staging  # noqa: F401 (fixtures)
from .test_site import build, mkdocs_yml
from .test_workflow_replay import expand

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "staging-migration.yml"
VENV_BIN = ROOT / ".venv" / "bin" if (ROOT / ".venv" / "bin" / "runbook-checks").exists() else Path(sys.executable).parent
STAGING_OK = ("--execute", "--confirm", "DIXIS-STAGING-OK")


def workflow_steps() -> tuple[dict, list[dict]]:
    """The workflow, and in order every step that runs runbook-checks: a ``run:`` that invokes it,
    or the repository's composite action (``uses: ./``)."""
    wf = yaml.safe_load(WORKFLOW.read_text())
    steps = [s for job in wf["jobs"].values() for s in job.get("steps", [])]
    return wf, [s for s in steps if re.search(r"(^|[;&|(]\s*)runbook-checks\s", s.get("run", ""), re.M) or s.get("uses") == "./"]


def report(project: Path, runbook: Path) -> dict:
    out = subprocess.run(
        [str(VENV_BIN / "runbook-checks"), "report", str(runbook.relative_to(project)), "--format", "json"],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def text_of(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


# -- 1. the workflow, replayed ----------------------------------------------------------------


def test_staging_workflow_replayed_step_by_step_is_one_passing_attempt(cli, project):
    wf, steps = workflow_steps()
    assert len(steps) >= 5 and any(s.get("with", {}).get("execute") == "true" or "--execute" in s.get("run", "") for s in steps)
    assert not any("git push" in s.get("run", "") for s in steps)  # the publishing step is not ours to replay
    run_id, sha = "8123456789", "3f1c2a9be07d4c5a8e6f1b2d3c4e5f6a7b8c9d0e"
    runbook = staging(project)
    with postgres(database="dixis_staging") as db:
        base = {**clean_env(), **{k: str(v) for k, v in wf["env"].items()}}
        github = dict(
            GITHUB_ACTIONS="true",
            CI="true",
            GITHUB_RUN_ID=run_id,
            GITHUB_RUN_ATTEMPT="1",
            GITHUB_RUN_NUMBER="57",
            GITHUB_REPOSITORY="dixis/marketplace",
            GITHUB_SERVER_URL="https://github.com",
            GITHUB_ACTOR="ops-alice",
            GITHUB_WORKFLOW=wf["name"],
            GITHUB_SHA=sha,
            GITHUB_EVENT_NAME="workflow_dispatch",
            GITHUB_STEP_SUMMARY=str(project / "summary.md"),
        )
        env = {
            **base,
            **github,
            "RUNBOOK": str(runbook.relative_to(project)),
            "DATABASE_URL_STAGING": db.url,
            "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
        }
        contexts = {"secrets": {"DATABASE_URL_STAGING": db.url}, "env": env}
        for step in steps:
            step_env = {k: expand(v, contexts) for k, v in (step.get("env") or {}).items()}
            if step.get("uses") == "./":  # the composite action, as the runner runs it
                done = replay_action({k: expand(v, contexts) for k, v in step["with"].items()}, {**env, **step_env}, project)
            else:
                assert "${{" not in step["run"], step  # inputs and secrets reach scripts through env only
                done = subprocess.run(
                    ["bash", "-e", "-c", step["run"]],
                    cwd=project,
                    env={**env, **step_env},
                    capture_output=True,
                    text=True,
                    timeout=300,
                    stdin=subprocess.DEVNULL,
                )
            assert done.returncode == 0, f"step {step.get('name')!r} failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}"
        dispatched = report(project, runbook)
        summary = (project / "summary.md").read_text()
        assert summary.count("### Attempt") == len(steps) and db.url not in summary
        assert f"**{dispatched['headline']}**" in summary.rsplit("### Attempt", 1)[1].split("###", 1)[0]  # the last step's summary

        assert dispatched["verdict"] == "passed", dispatched["headline"]
        attempt = dispatched["attempt"]
        assert (attempt["id"], attempt["mode"], attempt["runs"], attempt["actor"]) == (
            f"github-{run_id}-1",
            "execute",
            len(steps),
            "ops-alice",
        )
        assert attempt["ci_url"] == f"https://github.com/dixis/marketplace/actions/runs/{run_id}"
        assert [row["verdict"] for row in dispatched["timeline"] if row["verdict"] == "not measured"] == []
        assert all(row["measured_s"] is not None for row in dispatched["timeline"]) and dispatched["total_verdict"] != "incomplete"
        assert dispatched["timeline_attempt"] == f"github-{run_id}-1"
        assert {c["criterion"]: c["status"] for c in dispatched["criteria"]} == {c["criterion"]: "passed" for c in dispatched["criteria"]}
        assert len(records(project)) == len(steps) and {r["attempt_id"] for r in records(project)} == {f"github-{run_id}-1"}

        # the site, built for real from the copied runbooks and the project's ledger, with an
        # audit page (as the project's own site has) where each runbook's history is listed
        (project / "mkdocs.yml").write_text(mkdocs_yml(results_dir="runbook-results"))
        (project / "docs" / "audit.md").write_text("# Audit\n\n<!-- runbook-checks: audit -->\n")
        built = build(project, strict=False)
        assert built.returncode == 0, built.stderr
        audit = (project / "site" / "audit" / "index.html").read_text()
        title = re.search(r"^title: (.*)$", runbook.read_text(), re.M).group(1)
        start = audit.index(f">{title}</h3>")
        section = audit[start : audit.find("<h3", start) if "<h3" in audit[start:] else None]
        history = tbody_rows(section, "rbc-history")
        assert len(history) == 1, history  # one dispatch, one attempt, however many steps it took
        [row] = history
        assert text_of(row[0]) == f"github-{run_id}-1" and text_of(row[3]) == "execute" and text_of(row[4]) == "✅ passed"
        assert text_of(row[5]) == str(len(steps))
        html = (project / "site" / "DB-MIGRATION-STAGING" / "index.html").read_text()
        if "rbc-history" in html:  # a history marker on the page itself must agree
            assert [text_of(r[0]) for r in tbody_rows(html, "rbc-history")] == [f"github-{run_id}-1"]
        criteria = tbody_rows(html, "rbc-criteria")
        assert len(criteria) == len(dispatched["criteria"]) and {text_of(c[2]) for c in criteria} == {"✅ passed"}
        state = re.search(r'<div class="rbc-banner[^"]*"[^>]*data-verdict="([^"]+)"', html)
        assert state is None or state.group(1) == "passed"

        # a later read-only run from a terminal is evidence of its own kind: the migration shown stays the same
        later = cli("run", runbook, "-q", env=clean_env(DATABASE_URL_STAGING=db.url), cwd=project, timeout=300)
        assert later.returncode == 0, later.stdout[-3000:]
    assert records(project)[-1]["mode"] == "check" and records(project)[-1]["attempt_id"] != f"github-{run_id}-1"
    after = report(project, runbook)
    for key in ("verdict", "headline", "attempt", "timeline", "total_measured_s", "total_verdict", "timeline_attempt", "criteria"):
        assert after[key] == dispatched[key], key


# -- 2. read-only checks first, on a fresh database ---------------------------------------------


def test_read_only_checks_pass_on_a_fresh_database_and_check_the_deploy_once_it_ran(cli, project):
    runbook = staging(project)
    with postgres(database="dixis_staging") as db:
        env = clean_env(DATABASE_URL_STAGING=db.url)
        fresh = cli("run", runbook, "-q", env=env, cwd=project, timeout=300)
        assert fresh.returncode == 0, fresh.stdout[-3000:]
        first = blocks(records(project)[-1])
        assert first["list-pending"]["status"] == "passed" and first["list-pending"]["exit_code"] == 3
        assert all(name in first["list-pending"]["output"] for name in MIGRATIONS)
        for block_id in ("migrate-status", "app-smoke"):
            assert first[block_id]["status"] == "skipped", first[block_id]
            assert "3 pending migration(s)" in first[block_id]["reason"] and "--execute" in first[block_id]["reason"], first[block_id][
                "reason"
            ]
        assert first["migrate-deploy"]["status"] == "skipped"
        assert psql(db.url, "SELECT to_regclass('_prisma_migrations') IS NULL").strip() == "t"  # read-only: nothing applied

        assert cli("run", runbook, *STAGING_OK, "-q", env=env, cwd=project, timeout=300).returncode == 0
        again = cli("run", runbook, "-q", env=env, cwd=project, timeout=300)
        assert again.returncode == 0, again.stdout[-3000:]
        second = blocks(records(project)[-1])
        assert records(project)[-1]["mode"] == "check" and second["list-pending"]["exit_code"] == 0
        assert second["migrate-status"]["status"] == "passed" and "Database schema is up to date!" in second["migrate-status"]["output"]
        assert second["app-smoke"]["status"] == "passed" and "App smoke check passed" in second["app-smoke"]["output"]

        # a migration recorded as started but never finished: the read-only run fails
        assert (
            psql(
                db.url,
                "UPDATE _prisma_migrations SET finished_at = NULL WHERE id = "
                "(SELECT id FROM _prisma_migrations ORDER BY started_at DESC, migration_name DESC LIMIT 1)",
            ).strip()
            == "UPDATE 1"
        )
        broken = cli("run", runbook, "-q", env=env, cwd=project, timeout=300)
    assert broken.returncode == 1, broken.stdout[-3000:]
    third = blocks(records(project)[-1])
    assert third["list-pending"]["status"] == "failed" and f"failed migration: {MIGRATIONS[-1]}" in third["list-pending"]["output"]
    assert third["migrate-status"]["status"] == "failed"  # it runs (no pending-migrations skip) and sees the failure
    assert records(project)[-1]["status"] == "failed"


# -- 3. the production gate, opened and closed by the staging ledger ------------------------------


def gate(cli, project: Path, prod_url: str):
    """The production gate as a dry run asks it: exit 0 when open, 2 (and why) when closed."""
    return cli(
        "run",
        production(project),
        "--dry-run",
        "--execute",
        "--confirm",
        "DIXIS-PROD-OK",
        env=clean_env(DATABASE_URL_PROD=prod_url),
        cwd=project,
    )


def test_production_gate_opens_on_a_staging_pass_and_closes_on_what_undoes_it(cli, project):
    ledger = project / "runbook-results" / "db-migration-staging.jsonl"
    with postgres(database="dixis_staging") as stage, postgres(database="dixis_prod") as prod:
        closed = gate(cli, project, prod.url)
        assert closed.returncode == 2 and "holds no --execute attempt" in closed.stderr, closed.stderr

        passed = cli("run", staging(project), *STAGING_OK, "-q", env=clean_env(DATABASE_URL_STAGING=stage.url), cwd=project, timeout=300)
        assert passed.returncode == 0, passed.stdout[-3000:]
        opened = gate(cli, project, prod.url)
        assert opened.returncode == 0, opened.stderr
        assert "Plan for db-migration-production" in opened.stdout

        # one byte of the staging ledger edited: verify names path:N, and so does the refusal
        original = ledger.read_bytes()
        at = original.index(b'"actor":"') + len(b'"actor":"')
        ledger.write_bytes(original[:at] + bytes([original[at] ^ 0x01]) + original[at + 1 :])
        verify = cli("verify", env=clean_env(), cwd=project)
        assert verify.returncode == 1, verify.stdout
        where = re.search(r"^(\S+\.jsonl:\d+): ", verify.stdout, re.M)
        assert where and where.group(1).endswith("db-migration-staging.jsonl:1"), verify.stdout
        tampered = gate(cli, project, prod.url)
        assert tampered.returncode == 2 and f"fails verification at {where.group(1)}:" in tampered.stderr, tampered.stderr
        ledger.write_bytes(original)
        assert gate(cli, project, prod.url).returncode == 0

        # a later --execute attempt that fails (staging unreachable) closes it again
        unreachable = f"postgresql://postgres:Unreach4ble@127.0.0.1:{free_port()}/dixis_staging"
        failed = cli(
            "run",
            staging(project),
            "--only",
            "migrate-deploy",
            *STAGING_OK,
            "-q",
            env=clean_env(DATABASE_URL_STAGING=unreachable),
            cwd=project,
        )
        assert failed.returncode == 1, failed.stdout[-3000:]
        failed_attempt = records(project)[-1]["attempt_id"]
        refused = gate(cli, project, prod.url)
        assert refused.returncode == 2, refused.stdout
        assert f"({failed_attempt}) did not pass (verdict: failed)" in refused.stderr, refused.stderr
        assert "Nothing was executed." in refused.stderr

        # a staging pass that ran against the production database proves nothing
        on_prod = cli("run", staging(project), *STAGING_OK, "-q", env=clean_env(DATABASE_URL_STAGING=prod.url), cwd=project, timeout=300)
        assert on_prod.returncode == 0, on_prod.stdout[-3000:]
        assert records(project)[-1]["status"] == "passed" and records(project)[-1]["mode"] == "execute"
        same_target = gate(cli, project, prod.url)
    assert same_target.returncode == 2, same_target.stdout
    assert "ran against the very database" in same_target.stderr and records(project)[-1]["attempt_id"] in same_target.stderr, (
        same_target.stderr
    )
    assert "did not pass" not in same_target.stderr
    assert not (project / "runbook-results" / "db-migration-production.jsonl").exists()  # every gate call was a dry run
