"""Dry runs that preview (``preview=yes`` checks, the named target, missing secrets as a
note, nothing recorded), the confirmation that names the target database, one next
command per failed run, and ``diagnose`` precision — on small runbooks and on the staging
runbook against a real PostgreSQL 15 cluster."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from runbook_checks.sandbox import postgres

from .conftest import clean_env, fence, front

ROOT = Path(__file__).resolve().parent.parent
STAGING = ROOT / "docs" / "OPS" / "RUNBOOKS" / "DB-MIGRATION-STAGING.md"
APP = ROOT / "examples" / "dixis"
MIGRATIONS = ("20250101090000_init", "20250215090000_product_unit_and_stock", "20250320090000_order_total_cents")
PASSWORD = "Pr3view-Secret-pw"
URL = f"postgresql://app:{PASSWORD}@db.internal:6543/dixis_staging"
TARGET = 'database "dixis_staging" at db.internal:6543'


def small(write, tmp_path: Path, pending_code: str = 'echo "preview of $DB_NAME"') -> Path:
    """A runbook with a preview check, an ordinary check and a step, each leaving a mark."""
    body = (
        fence("plain", "check", f"touch {tmp_path}/plain-ran", 'expect="fine" criterion="Things are fine"')
        + fence("peek", "check", f"touch {tmp_path}/peek-ran\n{pending_code}", "preview=yes")
        + fence("apply", "step", f"touch {tmp_path}/apply-ran")
    )
    return write(front(body, secrets="[DB]", extra="  target: ${DB}\n  env:\n    DB_NAME: ${DB}"))


def ran(tmp_path: Path) -> list[str]:
    return sorted(p.name.removesuffix("-ran") for p in tmp_path.glob("*-ran"))


def password(url: str) -> str:
    return url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]


# -- the attribute ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, value, message",
    [
        ("step", "yes", "block 'b': preview=yes marks a read-only .check that also runs in a dry run; a .step changes things"),
        ("check", "maybe", "block 'b': preview='maybe' must be yes or no"),
    ],
)
def test_lint_refuses_preview_on_a_step_and_a_bad_value(cli, write, kind, value, message):
    path = write(front(fence("a", "check", "true") + fence("b", kind, "true", f"preview={value}")))
    result = cli("lint", path)
    assert result.returncode == 2 and f"{path}:11: {message}" in result.stdout, result.stdout


def test_list_and_parse_keep_the_preview_flag(cli, write):
    from runbook_checks.lint import load_runbook

    path = write(
        front(fence("a", "check", "true", "preview=yes") + fence("b", "check", "true", "preview=no") + fence("c", "check", "true"))
    )
    assert [b.preview for b in load_runbook(path).blocks] == [True, False, False]
    assert [b["preview"] for b in json.loads(cli("list", path, "--format", "json").stdout)["blocks"]] == [True, False, False]


# -- dry runs ---------------------------------------------------------------------------------------


def test_dry_run_without_the_secret_shows_the_plan_and_says_what_is_missing(cli, write, tmp_path):
    path = small(write, tmp_path)
    result = cli("run", path, "--dry-run", "--execute")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Target: $DB is not set, so the dry run cannot name the database" in out
    assert "RUN  peek (check) (preview)" in out and "RUN  apply (step) (after confirmation)" in out
    assert "checks: exit 0; output contains 'fine' — evidence for: Things are fine" in out
    assert "Secret(s) not set: DB — a real run would refuse; set it to run the preview check(s) peek here." in out
    assert ran(tmp_path) == [] and not (tmp_path / "runbook-results").exists()


def test_dry_run_with_the_secret_names_the_target_and_runs_only_the_previews(cli, write, tmp_path):
    path = small(write, tmp_path)
    result = cli("run", path, "--dry-run", "--execute", env=clean_env(DB=URL))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"Target: {TARGET} (from $DB)" in out
    assert "RUN  peek (check) (preview: runs now)" in out
    assert "preview of ***" in out  # its output, redacted
    assert "PREVIEW PASSED: 1 of 1 preview check(s) passed; nothing was recorded" in out
    assert ran(tmp_path) == ["peek"]  # not the other check, not the step
    assert not (tmp_path / "runbook-results").exists()  # no ledger, no lock: a dry run is no attempt
    assert PASSWORD not in out + result.stderr and "app:" not in out
    data = json.loads(cli("run", path, "--dry-run", "--format", "json", env=clean_env(DB=URL)).stdout)
    assert data["target"] == TARGET and data["target_from"] == "DB" and data["missing_secrets"] == []
    assert [(p["id"], p["run"], p["preview"]) for p in data["plan"]] == [
        ("plain", True, False),
        ("peek", True, True),
        ("apply", False, False),
    ]
    assert [(p["id"], p["status"], p["output"]) for p in data["previews"]] == [("peek", "passed", "preview of ***\n")]


def test_dry_run_previews_follow_only_and_skip(cli, write, tmp_path):
    path = small(write, tmp_path)
    result = cli("run", path, "--dry-run", "--skip", "peek", env=clean_env(DB=URL))
    assert result.returncode == 0 and ran(tmp_path) == [] and "PREVIEW" not in result.stdout
    assert "SKIP peek (check)  skipped by --skip" in result.stdout


def test_no_preview_leaves_the_previews_out(cli, write, tmp_path):
    path = small(write, tmp_path)
    result = cli("run", path, "--dry-run", "--no-preview", "--execute", "--confirm", "GO-OK", env=clean_env(DB=URL))
    assert result.returncode == 0 and ran(tmp_path) == [] and "Preview check(s) not run (--no-preview): peek" in result.stdout
    assert f"Target: {TARGET} (from $DB)" in result.stdout
    alone = cli("run", path, "--no-preview", env=clean_env(DB=URL))
    assert alone.returncode == 2 and "--no-preview is only used with --dry-run" in alone.stderr and ran(tmp_path) == []


def test_a_failing_preview_exits_1_with_its_report_and_records_nothing(cli, write, tmp_path):
    path = small(write, tmp_path, pending_code="echo 'error: cannot read the migration log' >&2; exit 1")
    result = cli("run", path, "--dry-run", env=clean_env(DB=URL))
    assert result.returncode == 1
    assert "✘ peek failed" in result.stdout and "PREVIEW FAILED: 0 of 1 preview check(s) passed" in result.stdout
    assert f"next: fix the cause (see {path}:" in result.stdout and f"then run: runbook-checks run {path} --dry-run" in result.stdout
    assert not (tmp_path / "runbook-results").exists()


def test_dry_run_with_the_token_still_applies_the_gates_but_not_the_secret(cli, write, tmp_path):
    path = small(write, tmp_path)
    assert cli("run", path, "--dry-run", "--execute", "--confirm", "GO-OK").returncode == 0  # no secret: a note, not a refusal
    wrong = cli("run", path, "--dry-run", "--execute", "--confirm", "GO-NOT", env=clean_env(DB=URL))
    assert wrong.returncode == 2 and f"type exactly GO-OK. Nothing was executed on {TARGET}." in wrong.stderr
    assert PASSWORD not in wrong.stderr and ran(tmp_path) == []


def test_dry_run_still_refuses_a_secret_that_could_not_be_masked(cli, write, tmp_path):
    result = cli("run", small(write, tmp_path), "--dry-run", env=clean_env(DB="postgresql://app:p\udce4ss@h/db"))
    assert result.returncode == 2 and "is not valid UTF-8" in result.stderr and ran(tmp_path) == []


# -- the confirmation names the target ----------------------------------------------------------------


def on_a_terminal(args: list[str], typed: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run the CLI with a terminal as its stdin (so it asks), type ``typed`` and a newline."""
    import pty

    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "runbook_checks", *map(str, args)],
            cwd=cwd,
            env=env,
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.close(slave)
        os.write(master, typed.encode() + b"\n")
        out, err = proc.communicate(timeout=240)
    finally:
        os.close(master)
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def test_the_prompt_names_the_target_and_the_right_token_runs_the_step(write, tmp_path):
    path = small(write, tmp_path)
    result = on_a_terminal(["run", path, "--execute", "--skip", "peek", "--skip", "plain"], "GO-OK", tmp_path, clean_env(DB=URL))
    assert f"Type GO-OK to run the mutating steps of rb (test) on {TARGET}" in result.stderr
    assert result.returncode == 0, result.stdout + result.stderr
    assert ran(tmp_path) == ["apply"] and PASSWORD not in result.stdout + result.stderr


def test_a_missing_secret_refuses_before_the_prompt(write, tmp_path):
    path = small(write, tmp_path)
    result = on_a_terminal(["run", path, "--execute"], "GO-OK", tmp_path, clean_env())
    assert result.returncode == 2 and "Type GO-OK" not in result.stderr and "needs the secret(s) DB" in result.stderr
    assert ran(tmp_path) == []


# -- one next command per failed run ------------------------------------------------------------------


def test_one_next_command_per_failed_run(cli, write, tmp_path):
    body = (
        fence("deploy", "step", "echo 'Error: migration failed' >&2; exit 1")
        + fence("status", "check", "echo behind; exit 1")
        + fence("smoke", "check", "echo broken; exit 1")
    )
    path = write(front(body))
    result = cli("run", path, "--execute", "--confirm", "GO-OK")
    assert result.returncode == 1
    nexts = re.findall(r"^  next: .*$", result.stdout, re.M)
    assert nexts == [f"  next: fix the cause (see {path}:8), then run: runbook-checks run {path} --from deploy --execute --confirm <token>"]
    assert result.stdout.count("ran after block 'deploy' failed: its next command, above, re-runs this block too") == 2
    # the pytest plugin says the same
    via_pytest = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--runbooks",
            str(path),
            "--runbooks-execute",
            "--runbooks-confirm",
            "GO-OK",
            "--runbooks-results",
            str(tmp_path / "pytest-results"),
        ],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert via_pytest.returncode == 1, via_pytest.stdout[-3000:]
    assert len(re.findall(r"^\s*next: fix the cause", via_pytest.stdout, re.M)) == 1, via_pytest.stdout[-3000:]
    assert via_pytest.stdout.count("ran after block 'deploy' failed") == 2


# -- diagnose: the summary line ---------------------------------------------------------------------


def test_diagnose_summary_is_the_error_line_not_the_runtime_banner(cli, write, tmp_path):
    crash = 'node -e \'throw Object.assign(new Error("password authentication failed for user \\"app\\""), {code: "28P01"})\''
    guide = (
        '\n## Troubleshooting\n\n### Reach {#reach .troubleshoot match="Can\'t reach"}\n\nIs it up?\n\n'
        + fence("diag-up", "check", crash)
        + '\n### Password {#password .troubleshoot match="password authentication failed"}\n\nFix the secret.\n'
    )
    path = write(front(fence("c", "check", "true") + guide))
    result = cli("diagnose", path)
    assert result.returncode == 1, result.stdout + result.stderr
    line = next(text for text in result.stdout.splitlines() if text.startswith("✘ diag-up:"))
    assert line == '✘ diag-up: Error: password authentication failed for user "app" → Password', result.stdout
    assert "Node.js v" not in line


# -- the staging runbook on a real PostgreSQL 15 --------------------------------------------------------


def psql(url: str, sql: str) -> str:
    return subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql], capture_output=True, text=True, check=True, timeout=60
    ).stdout


@pytest.fixture(scope="module")
def app_installed():
    if not (APP / "node_modules" / ".bin" / "prisma").exists():
        subprocess.run(["pnpm", "install", "--frozen-lockfile"], cwd=APP, check=True)


def test_staging_dry_run_lists_the_pending_migrations_with_their_sql(cli, tmp_path, app_installed):
    results = tmp_path / "results"
    without = cli("run", STAGING, "--dry-run", "--results", results, cwd=ROOT)
    assert without.returncode == 0, without.stdout + without.stderr
    assert "Target: $DATABASE_URL_STAGING is not set" in without.stdout
    assert (
        "Secret(s) not set: DATABASE_URL_STAGING — a real run would refuse; set it to run the preview check(s) list-pending, lint-migrations here."
        in without.stdout
    )
    with postgres() as db:
        result = cli("run", STAGING, "--dry-run", "--execute", "--results", results, env=clean_env(DATABASE_URL_STAGING=db.url), cwd=ROOT)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr
        out = result.stdout
        assert f'Target: database "dixis" at 127.0.0.1:{db.port} (from $DATABASE_URL_STAGING)' in out
        assert "3 pending migration(s):" in out
        for name in MIGRATIONS:  # each pending migration, then its SQL
            assert f"-- prisma/migrations/{name}/migration.sql" in out
        assert 'ALTER TABLE "orders" ADD COLUMN "total_cents" INTEGER;' in out
        assert "PREVIEW PASSED: 2 of 2 preview check(s) passed" in out and "squawk lints 3 pending migration(s)" in out
        assert "RUN  migrate-deploy (step) (after confirmation)" in out
        assert password(db.url) not in out + result.stderr
        # nothing changed, nothing recorded
        assert psql(db.url, "SELECT to_regclass('_prisma_migrations') IS NULL").strip() == "t"
        assert not results.exists()


def test_staging_prompt_and_wrong_token_name_the_database(tmp_path, app_installed):
    with postgres() as db:
        result = on_a_terminal(
            ["run", STAGING, "--execute", "--results", tmp_path / "results"],
            "DIXIS-STAGING-NO",
            ROOT,
            clean_env(DATABASE_URL_STAGING=db.url),
        )
        named = f'database "dixis" at 127.0.0.1:{db.port}'
        assert f"Type DIXIS-STAGING-OK to run the mutating steps of db-migration-staging (staging) on {named}" in result.stderr
        assert result.returncode == 2 and f"type exactly DIXIS-STAGING-OK. Nothing was executed on {named}." in result.stderr
        assert password(db.url) not in result.stdout + result.stderr
        assert psql(db.url, "SELECT to_regclass('_prisma_migrations') IS NULL").strip() == "t"


def diagnosed(cli, url: str) -> tuple[int, list[str], list[str]]:
    """diagnose's exit code, its ✘/– lines and the titles of the entries it names."""
    result = cli("diagnose", STAGING, env=clean_env(DATABASE_URL_STAGING=url), cwd=ROOT)
    lines = [line for line in result.stdout.splitlines() if re.match(r"[✘–] diag-[\w-]+: ", line)]
    named = re.findall(r"^  (.+) — .*:\d+ \(#[\w-]+\)$", result.stdout, re.M)
    assert "Traceback" not in result.stderr and password(url) not in result.stdout + result.stderr
    return result.returncode, lines, named


def test_diagnose_with_a_wrong_password_names_only_the_wrong_secret(cli, app_installed):
    with postgres() as db:
        wrong = db.url.replace(f":{password(db.url)}@", ":Wr0ng-password@")
        code, lines, named = diagnosed(cli, wrong)
    assert code == 1 and named == ["Wrong secret (authentication failed)"], lines
    assert lines[0].startswith("✘ diag-reachable: ") and 'password authentication failed for user "postgres"' in lines[0]
    assert lines[0].endswith("→ Wrong secret (authentication failed)")
    assert lines[1:] == [
        f"– {d}: needs 'diag-reachable', which did not pass in this run" for d in ("diag-table-schemas", "diag-failed-migrations")
    ]
    assert not any("Node.js" in line for line in lines)


def test_diagnose_with_the_server_down_names_only_unreachable(cli, app_installed):
    with postgres() as db:
        url = db.url
    # the cluster is stopped: nothing listens on its port now
    code, lines, named = diagnosed(cli, url)
    assert code == 1 and named == ["Database unreachable (P1001)"], lines
    assert (
        lines[0]
        == f"✘ diag-reachable: Can't reach database server at `127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}` (ECONNREFUSED) → Database unreachable (P1001)"
    )
    assert lines[1:] == [
        f"– {d}: needs 'diag-reachable', which did not pass in this run" for d in ("diag-table-schemas", "diag-failed-migrations")
    ]


def test_diagnose_on_a_healthy_database_names_nothing(cli, app_installed):
    with postgres() as db:
        code, lines, named = diagnosed(cli, db.url)
    assert (code, lines, named) == (0, [], [])
