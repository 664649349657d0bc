"""The runbooks against real Prisma (through pnpm) and real databases: a throwaway
PostgreSQL 15 cluster and PGlite. Expectations match the texts Prisma prints here."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from runbook_checks.sandbox import pglite, postgres

from .conftest import clean_env
from .test_process import start_cli, wait_for

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "examples" / "dixis"
RUNBOOKS = ROOT / "docs" / "OPS" / "RUNBOOKS"
MIGRATIONS = ("20250101090000_init", "20250215090000_product_unit_and_stock", "20250320090000_order_total_cents")


@pytest.fixture(scope="session", autouse=True)
def app_installed():
    """The app's packages, installed from the lockfile (scripts/setup.sh does this too)."""
    if not (APP / "node_modules" / ".bin" / "prisma").exists():
        subprocess.run(["pnpm", "install", "--frozen-lockfile"], cwd=APP, check=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the app (packages installed from the warm pnpm store) and both runbooks
    in tmp_path, so tests can add broken migrations and write backups without touching the repo."""
    (tmp_path / ".git").mkdir()  # marks the root that runbook workdirs are relative to
    shutil.copytree(APP, tmp_path / "app", ignore=shutil.ignore_patterns("node_modules", "backups"))
    subprocess.run(["pnpm", "install", "--frozen-lockfile", "--prefer-offline", "--reporter=silent"], cwd=tmp_path / "app", check=True)
    (tmp_path / "docs").mkdir()
    for name in ("DB-MIGRATION-STAGING.md", "DB-MIGRATION-PRODUCTION.md"):
        text = (RUNBOOKS / name).read_text().replace("workdir: examples/dixis", "workdir: app")
        (tmp_path / "docs" / name).write_text(text.replace("path: docs/OPS/RUNBOOKS/", "path: docs/"))
    return tmp_path


def staging(project: Path) -> Path:
    return project / "docs" / "DB-MIGRATION-STAGING.md"


def production(project: Path) -> Path:
    return project / "docs" / "DB-MIGRATION-PRODUCTION.md"


def records(project: Path, runbook_id: str = "db-migration-staging") -> list[dict]:
    path = project / "runbook-results" / f"{runbook_id}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def blocks(record: dict) -> dict[str, dict]:
    return {b["id"]: b for b in record["blocks"]}


def psql(url: str, sql: str) -> str:
    return subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def private_tmp():
    """A TMPDIR of this test's own (traversable by the postgres user): the throwaway
    databases a rehearsal starts live under it, so the test judges only those."""
    path = Path(tempfile.mkdtemp(prefix="rbc-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def leftover_databases(under: Path) -> list[str]:
    """Command lines of live throwaway database processes whose files are under ``under``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")  # any process's, any bytes
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and str(under) in cmd and ("runbook-pglite-" in cmd or "runbook-pg-" in cmd):
            found.append(cmd)
    return found


@pytest.mark.parametrize("database", [postgres, lambda: pglite(APP)], ids=["postgres", "pglite"])
def test_fresh_database_fails_status_naming_pending_migrations(cli, project, database):
    with database() as db:
        result = cli("run", staging(project), "--only", "migrate-status", env=clean_env(DATABASE_URL_STAGING=db.url), cwd=project)
    assert result.returncode == 1
    status = blocks(records(project)[0])["migrate-status"]
    assert status["status"] == "failed" and status["exit_code"] == 1
    assert "Following migrations have not yet been applied:" in status["output"]
    for name in MIGRATIONS:
        assert name in status["output"]
    assert db.url not in result.stdout + result.stderr
    assert status["troubleshooting"] == ["pending-migrations"] and "see: Pending migrations" in result.stdout


@pytest.mark.parametrize("kind", ["pglite", "postgres"])
def test_rehearsal_passes_every_block_and_leaves_nothing_behind(cli, project, kind, private_tmp):
    result = cli("rehearse", staging(project), "--db", kind, cwd=project, timeout=300, env=clean_env(TMPDIR=str(private_tmp)))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    [record] = records(project)
    assert (record["mode"], record["environment"], record["status"]) == ("rehearsal", "rehearsal", "passed")
    statuses = {b["id"]: b["status"] for b in record["blocks"]}
    assert len(statuses) == 14 and {s for i, s in statuses.items() if i != "schema-drift"} == {"passed"}
    # the drift check needs pg_dump 15, which cannot read PGlite's PostgreSQL 18: rehearse-db=postgres skips it there
    assert statuses["schema-drift"] == ("skipped" if kind == "pglite" else "passed")
    if kind == "postgres":
        assert "No drift: the live schema matches the 3 applied migration(s)" in blocks(record)["schema-drift"]["output"]
    # a fresh database: all three migrations are pending, and staging's lint only warns about them
    assert "squawk lints 3 pending migration(s) with .squawk.toml" in blocks(record)["lint-migrations"]["output"]
    assert "Measured against the runbook's estimates:" in result.stdout and "| **Total** | **4-8 min** |" in result.stdout
    assert record["options"]["database"]["kind"] == kind and record["options"]["database"]["version"]
    assert ("advisory locks do not exclude each other" in result.stdout) == (kind == "pglite")  # PGlite cannot show lock contention
    assert leftover_databases(private_tmp) == [] and list(private_tmp.iterdir()) == []


def test_deploy_twice_is_idempotent_and_keeps_data(cli, project):
    third = project / "app" / "prisma" / "migrations" / MIGRATIONS[2]
    held = project / "held"
    shutil.move(third, held)  # first deploy only the first two migrations
    with postgres() as db:
        env = clean_env(DATABASE_URL_STAGING=db.url)
        run = ["run", staging(project), "--execute", "--confirm", "DIXIS-STAGING-OK", "--quiet"]
        assert cli(*run, "--only", "migrate-deploy", env=env, cwd=project).returncode == 0
        psql(
            db.url,
            "INSERT INTO producers (name, region, email) VALUES ('Olive Grove', 'Crete', 'olive@example.com');"
            "INSERT INTO products (producer_id, name, price_cents) VALUES (1, 'Olive oil 1l', 1250);"
            "INSERT INTO orders (customer_email) VALUES ('ana@example.com');"
            "INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) VALUES (1, 1, 3, 1250);",
        )
        shutil.move(held, third)
        first = cli(*run, env=env, cwd=project)
        assert first.returncode == 0, first.stdout[-3000:]
        assert psql(db.url, "SELECT total_cents FROM orders WHERE id = 1").strip() == "3750"  # backfilled
        second = cli(*run, env=env, cwd=project)
    assert second.returncode == 0
    deploys = [blocks(r)["migrate-deploy"]["output"] for r in records(project)]
    assert "All migrations have been successfully applied." in deploys[1]
    assert "No pending migrations to apply." in deploys[2]
    assert "latest order #1 total 3750" in blocks(records(project)[2])["app-smoke"]["output"]


def test_failed_migration_p3009_is_reported_and_recovery_brings_status_back(cli, project):
    broken = project / "app" / "prisma" / "migrations" / "20250401090000_organic_flag"
    broken.mkdir()
    (broken / "migration.sql").write_text(
        'ALTER TABLE "products" ADD COLUMN "organic" BOOLEAN NOT NULL DEFAULT false;\nSELECT * FROM "no_such_table";\n'
    )
    run = ["run", staging(project), "--execute", "--confirm", "DIXIS-STAGING-OK", "--quiet"]
    with postgres() as db:
        env = clean_env(DATABASE_URL_STAGING=db.url)
        first = cli(*run, env=env, cwd=project)
        assert first.returncode == 1
        r1 = blocks(records(project)[0])
        assert r1["migrate-deploy"]["status"] == "failed" and "no_such_table" in r1["migrate-deploy"]["output"]
        assert "Following migration have failed:\n20250401090000_organic_flag" in r1["migrate-status"]["output"]
        assert "failed migration: 20250401090000_organic_flag" in r1["diag-failed-migrations"]["output"]
        assert r1["diag-failed-migrations"]["status"] == "failed"
        # the earlier statement of the failed migration stays applied
        assert (
            psql(
                db.url, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'products' AND column_name = 'organic'"
            ).strip()
            == "1"
        )
        assert "failed-migration" in r1["migrate-deploy"]["troubleshooting"]
        diagnose = cli("diagnose", staging(project), env=env, cwd=project)
        assert diagnose.returncode == 1
        assert "✘ diag-failed-migrations: failed migration: 20250401090000_organic_flag" in diagnose.stdout
        assert "→ Failed migration (P3009)" in diagnose.stdout and "(#failed-migration)" in diagnose.stdout
        again = cli(*run, "--from", "migrate-deploy", env=env, cwd=project)
        deploy = blocks(records(project)[1])["migrate-deploy"]
        assert again.returncode == 1 and "P3009" in deploy["output"] and "20250401090000_organic_flag" in deploy["output"]
        assert deploy["troubleshooting"] == ["failed-migration"] and "see: Failed migration (P3009)" in again.stdout
        # recovery as documented: undo what applied, `migrate resolve --rolled-back` (its SQL), fix, deploy
        psql(
            db.url,
            'ALTER TABLE "products" DROP COLUMN "organic";'
            "UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = '20250401090000_organic_flag' AND finished_at IS NULL;",
        )
        (broken / "migration.sql").write_text('ALTER TABLE "products" ADD COLUMN "organic" BOOLEAN NOT NULL DEFAULT false;\n')
        (project / "app" / "prisma" / "schema.prisma").write_text(
            (project / "app" / "prisma" / "schema.prisma")
            .read_text()
            .replace(
                "  stock       Int         @default(0)\n",
                "  stock       Int         @default(0)\n  organic     Boolean     @default(false)\n",
            )
        )
        fixed = cli(*run, "--from", "migrate-deploy", env=env, cwd=project)
    assert fixed.returncode == 0, fixed.stdout[-3000:]
    last = blocks(records(project)[2])
    assert "Database schema is up to date!" in last["migrate-status"]["output"]
    assert records(project)[2]["resumes"] == records(project)[1]["run_id"]


def test_wrong_password_fails_the_connection_check_without_printing_it(cli, project):
    with postgres() as db:
        wrong_password = "Wr0ng-Pa55word-zz"
        url = db.url.replace(db.url.split(":")[2].split("@")[0], wrong_password)
        result = cli(
            "run",
            staging(project),
            "--only",
            "verify-secret",
            "--junit",
            project / "junit.xml",
            env=clean_env(DATABASE_URL_STAGING=url),
            cwd=project,
        )
    assert result.returncode == 1
    check = blocks(records(project)[0])["verify-secret"]
    assert 'password authentication failed for user "postgres"' in check["output"]
    assert check["troubleshooting"] == ["auth-failed"] and "see: Wrong secret (authentication failed)" in result.stdout
    assert "see: Wrong secret (authentication failed)" in (project / "junit.xml").read_text()
    ledger = (project / "runbook-results" / "db-migration-staging.jsonl").read_text()
    for text in (result.stdout, result.stderr, ledger, (project / "junit.xml").read_text()):
        assert wrong_password not in text and url not in text


def test_production_refuses_without_a_matching_staging_pass_and_passes_after_one(cli, project):
    prod_run = ["run", production(project), "--execute", "--confirm", "DIXIS-PROD-OK", "--quiet"]
    with postgres(database="dixis_staging") as stage, postgres(database="dixis_prod") as prod:
        env = clean_env(DATABASE_URL_STAGING=stage.url, DATABASE_URL_PROD=prod.url, BACKUP_STORE=f"file://{project}/store")
        refused = cli(*prod_run, env=env, cwd=project)
        assert refused.returncode == 2
        assert "requires a passing migration of runbook 'db-migration-staging' (staging)" in refused.stderr
        assert "runbook-checks run docs/DB-MIGRATION-STAGING.md --execute" in refused.stderr
        assert psql(prod.url, "SELECT to_regclass('_prisma_migrations') IS NULL").strip() == "t"  # nothing ran
        # a rehearsal does not count as a staging pass
        assert cli("rehearse", staging(project), env=env, cwd=project, timeout=300).returncode == 0
        assert cli(*prod_run, env=env, cwd=project).returncode == 2
        assert cli("run", staging(project), "--execute", "--confirm", "DIXIS-STAGING-OK", "--quiet", env=env, cwd=project).returncode == 0
        passed = cli(*prod_run, env=env, cwd=project)
        assert passed.returncode == 0, passed.stdout[-3000:] + passed.stderr
        assert psql(prod.url, "SELECT enabled FROM dixis_maintenance.flag").strip() == "f"
        # a new migration after the staging pass: production refuses again
        extra = project / "app" / "prisma" / "migrations" / "20250501090000_noop"
        extra.mkdir()
        (extra / "migration.sql").write_text("SELECT 1;\n")
        again = cli(*prod_run, env=env, cwd=project)
    assert again.returncode == 2 and "was for different content of prisma/migrations" in again.stderr
    prod_record = blocks(records(project, "db-migration-production")[0])
    assert "Archive created at" in prod_record["backup-readable"]["output"]
    assert prod_record["maintenance-is-on"]["status"] == "passed" and prod_record["maintenance-is-off"]["status"] == "passed"
    dumps = list((project / "app" / "backups" / "production").glob("dixis-production-*.dump"))
    assert dumps and oct(dumps[0].stat().st_mode & 0o777) == "0o600"
    # the dump left the runner: the backup store holds a byte-for-byte copy of each one taken
    stored = {p.name: p.read_bytes() for p in (project / "store").glob("*.dump")}
    assert stored == {d.name: d.read_bytes() for d in dumps} and not list((project / "store").glob("*.part"))
    assert prod_record["backup-offsite"]["status"] == "passed"


@pytest.mark.parametrize(
    "store, runner, says",
    [
        ("file:///proc/no-such-store", "self-hosted", "/proc/no-such-store"),  # a folder the copy cannot reach
        ("file://{project}/store", "github-hosted", "a GitHub-hosted runner's disk is thrown away"),  # a folder that dies with the runner
        ("https://backups.example/upload", "github-hosted", "BACKUP_STORE must be an s3:// URL or a file:/// folder"),
    ],
)
def test_a_backup_that_cannot_leave_the_runner_stops_production_before_maintenance(cli, project, store, runner, says):
    """BACKUP_STORE names a place the copy cannot go, or one that does not outlive the runner:
    the backup step passes, its copy fails, and maintenance never starts (a rehearsal on
    PostgreSQL, which runs every step)."""
    env = clean_env(BACKUP_STORE=store.format(project=project), RUNNER_ENVIRONMENT=runner)
    result = cli("rehearse", production(project), "--db", "postgres", env=env, cwd=project, timeout=300)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr
    run = blocks(records(project, "db-migration-production")[0])
    assert run["backup"]["status"] == "passed" and run["backup-offsite"]["status"] == "failed"
    assert {run[b]["status"] for b in ("maintenance-on", "migrate-deploy")} == {"not-run"}
    assert says in result.stdout


@pytest.mark.parametrize("when, sig", [("start-up", signal.SIGINT), ("mid-run", signal.SIGINT), ("mid-run", signal.SIGHUP)])
def test_interrupted_rehearsal_stops_the_database(project, when, sig, private_tmp):
    proc = start_cli(["rehearse", staging(project)], project, clean_env(TMPDIR=str(private_tmp)))
    holder = project / "runbook-results" / ".db-migration-staging.rehearsal.holder.json"  # names the running block's process group

    def block_running() -> bool:
        try:
            return "pgid" in json.loads(holder.read_text())
        except (OSError, ValueError):
            return False

    wait_for(lambda: leftover_databases(private_tmp) and (when == "start-up" or block_running()), timeout=120)
    proc.send_signal(sig)  # Ctrl-C, or the terminal closed
    proc.communicate(timeout=60)
    assert proc.returncode == 130 and leftover_databases(private_tmp) == [] and list(private_tmp.iterdir()) == []
    if when == "mid-run":
        assert records(project)[0]["status"] == "interrupted"
        assert not holder.exists()


def test_lint_passes_on_both_runbooks(cli):
    result = cli("lint", RUNBOOKS, cwd=ROOT)
    assert result.returncode == 0 and "2 runbook(s) checked, 0 problem(s)" in result.stderr, result.stdout


def test_rehearse_on_a_given_database_leaves_it_running(cli, project):
    with postgres() as db:
        result = cli("rehearse", staging(project), "--database-url", db.url, cwd=project, timeout=300)
        assert result.returncode == 0, result.stdout[-2000:]
        assert psql(db.url, "SELECT count(*) FROM _prisma_migrations WHERE finished_at IS NOT NULL").strip() == "3"
    assert records(project)[0]["environment"] == "rehearsal"
    assert db.url not in result.stdout


def test_unreachable_database_leads_to_the_p1001_entry(cli, project):
    from runbook_checks.sandbox import free_port

    url = f"postgresql://app:Unreach4ble-pw@127.0.0.1:{free_port()}/dixis"  # nothing listens there
    result = cli(
        "run",
        staging(project),
        "--only",
        "install",
        "--only",
        "migrate-status",
        "--junit",
        project / "junit.xml",
        env=clean_env(DATABASE_URL_STAGING=url),
        cwd=project,
    )
    assert result.returncode == 1
    status = blocks(records(project)[0])["migrate-status"]
    assert "Can't reach database server at `127.0.0.1:" in status["output"]
    assert status["troubleshooting"] == ["db-unreachable"]
    assert "see: Database unreachable (P1001)" in result.stdout and "(#db-unreachable)" in result.stdout
    junit = (project / "junit.xml").read_text()
    assert "see: Database unreachable (P1001) (#db-unreachable)" in junit
    assert "Unreach4ble-pw" not in result.stdout + junit + (project / "runbook-results" / "db-migration-staging.jsonl").read_text()
    diagnose = cli("diagnose", staging(project), env=clean_env(DATABASE_URL_STAGING=url), cwd=project)
    assert diagnose.returncode == 1 and "→ Database unreachable (P1001)" in diagnose.stdout


def test_production_rehearsal_on_pglite_leads_to_the_pg_dump_entry(cli, project):
    """pg_dump 15 refuses PGlite's PostgreSQL 18: the backup fails and the output names the
    entry that says to rehearse production with --db postgres."""
    result = cli(
        "rehearse", production(project), "--db", "pglite", env=clean_env(BACKUP_STORE=f"file://{project}/store"), cwd=project, timeout=300
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr
    backup = blocks(records(project, "db-migration-production")[0])["backup"]
    assert backup["status"] == "failed" and "server version mismatch" in backup["output"]
    assert backup["troubleshooting"] == ["dump-version"]
    assert "see: Backup refused: pg_dump older than the server" in result.stdout and "--db postgres" in result.stdout
