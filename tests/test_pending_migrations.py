"""examples/dixis/scripts/pending-migrations.mjs against a real throwaway PostgreSQL 15
cluster, with the migrations applied by the real Prisma CLI (as the runbooks run it).
One cluster for the module; every case gets its own database."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from runbook_checks.sandbox import PG_BIN, free_port, postgres

from .conftest import clean_env

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "examples" / "dixis"
SCRIPT = "scripts/pending-migrations.mjs"
MIGRATIONS = ("20250101090000_init", "20250215090000_product_unit_and_stock", "20250320090000_order_total_cents")
PSQL = str(PG_BIN / "psql") if (PG_BIN / "psql").exists() else shutil.which("psql") or "psql"


def url_for(base: str, database: str, query: str = "") -> str:
    """base's URL with another database name (and an optional ?query)."""
    return base.rsplit("/", 1)[0] + f"/{database}" + (f"?{query}" if query else "")


def psql(url: str, sql: str) -> str:
    return subprocess.run(
        [PSQL, url, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def pending(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["node", SCRIPT, *args],
        cwd=APP,
        env=clean_env(DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def cluster():
    """One PostgreSQL 15 cluster; database ``migrated`` has every migration applied by
    ``prisma migrate deploy`` and serves as the template of the databases that need them."""
    if not (APP / "node_modules" / ".bin" / "prisma").exists():
        subprocess.run(["pnpm", "install", "--frozen-lockfile"], cwd=APP, check=True)
    with postgres() as db:
        migrated = url_for(db.url, "migrated")
        psql(db.url, "CREATE DATABASE migrated")
        env = clean_env(  # as the runbook's front matter sets them
            DATABASE_URL=migrated,
            PRISMA_SCHEMA_ENGINE_BINARY=str(APP / "package.json"),
            PRISMA_QUERY_ENGINE_LIBRARY=str(APP / "package.json"),
            NODE_OPTIONS=f"--require {APP / 'scripts' / 'unref-timers.cjs'}",
            CHECKPOINT_DISABLE="1",
            PRISMA_HIDE_UPDATE_MESSAGE="1",
        )
        deploy = subprocess.run(
            ["pnpm", "exec", "prisma", "migrate", "deploy"],
            cwd=APP,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            stdin=subprocess.DEVNULL,
        )
        assert deploy.returncode == 0, deploy.stdout + deploy.stderr
        assert "All migrations have been successfully applied." in deploy.stdout
        yield db


def new_database(db, name: str, migrated: bool = False) -> str:
    psql(db.url, f"CREATE DATABASE {name}" + (" TEMPLATE migrated" if migrated else ""))
    return url_for(db.url, name)


def assert_quiet_about_secrets(db, result: subprocess.CompletedProcess) -> None:
    password = db.url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    for text in (result.stdout, result.stderr):
        assert password not in text and "postgresql://" not in text


def test_fresh_database_lists_every_migration_as_pending(cluster):
    result = pending(new_database(cluster, "fresh"))
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout == "3 pending migration(s):\n" + "".join(f"  {name}\n" for name in MIGRATIONS)
    assert "Following migrations have not yet been applied" not in result.stdout + result.stderr
    assert result.stderr == ""
    assert_quiet_about_secrets(cluster, result)


def test_after_migrate_deploy_nothing_is_pending(cluster):
    result = pending(url_for(cluster.url, "migrated"))
    assert (result.returncode, result.stdout, result.stderr) == (0, "No pending migrations: 3 migration(s) applied\n", "")
    assert_quiet_about_secrets(cluster, result)


def test_failed_migration_row_exits_1_and_names_it(cluster):
    url = new_database(cluster, "failed", migrated=True)
    # the row Prisma leaves when a migration's script fails: started, never finished, not rolled back
    psql(
        url,
        f"UPDATE _prisma_migrations SET finished_at = NULL, applied_steps_count = 0, logs = 'ERROR: boom' WHERE migration_name = '{MIGRATIONS[2]}'",
    )
    result = pending(url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == f"failed migration: {MIGRATIONS[2]}\nFollowing migration have failed: {MIGRATIONS[2]}\n"
    assert result.stderr == ""


def test_applied_migration_unknown_locally_exits_1(cluster):
    url = new_database(cluster, "ahead", migrated=True)
    psql(
        url,
        "INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, applied_steps_count) "
        "VALUES ('00000000-0000-4000-8000-000000000001', repeat('0', 64), '20250501090000_from_another_branch', now(), now(), 1)",
    )
    result = pending(url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == "applied on the database but not in prisma/migrations: 20250501090000_from_another_branch\n"
    assert result.stderr == ""


def test_unreachable_port_prints_prismas_phrase_in_one_line(cluster):
    port = free_port()  # nothing listens there
    result = pending(f"postgresql://app:Unreach4ble-pw@127.0.0.1:{port}/dixis")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"error: Can't reach database server at `127.0.0.1:{port}` (ECONNREFUSED)\n"
    assert "Unreach4ble-pw" not in result.stderr


def test_schema_parameter_selects_the_migration_log(cluster):
    url = new_database(cluster, "schemas", migrated=True)  # public: everything applied
    psql(url, "CREATE SCHEMA other")
    result = pending(url_for(cluster.url, "schemas", "schema=other"))
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout == "3 pending migration(s):\n" + "".join(f"  {name}\n" for name in MIGRATIONS)
    # a schema name that needs quoting, holding the only log: the script reads that one, not public's
    psql(
        url,
        'CREATE SCHEMA "Tenant-1"; CREATE TABLE "Tenant-1"._prisma_migrations AS SELECT * FROM public._prisma_migrations;'
        "DROP TABLE public._prisma_migrations",
    )
    assert pending(url).returncode == 3  # public now has no log: all pending
    quoted = pending(url_for(cluster.url, "schemas", "schema=Tenant-1"))
    assert (quoted.returncode, quoted.stdout) == (0, "No pending migrations: 3 migration(s) applied\n"), quoted.stderr


def test_sql_flag_prints_each_pending_migrations_sql_after_the_list(cluster):
    url = new_database(cluster, "partly", migrated=True)
    psql(url, f"DELETE FROM _prisma_migrations WHERE migration_name = '{MIGRATIONS[2]}'")  # as if the last one were not deployed
    result = pending(url, "--sql")
    assert result.returncode == 3, result.stdout + result.stderr
    sql = (APP / "prisma" / "migrations" / MIGRATIONS[2] / "migration.sql").read_text()
    assert result.stdout == f"1 pending migration(s):\n  {MIGRATIONS[2]}\n\n-- prisma/migrations/{MIGRATIONS[2]}/migration.sql\n" + sql + (
        "" if sql.endswith("\n") else "\n"
    )
    assert pending(url).stdout == f"1 pending migration(s):\n  {MIGRATIONS[2]}\n"  # without the flag: the names only
    nothing = pending(url_for(cluster.url, "migrated"), "--sql")
    assert (nothing.returncode, nothing.stdout) == (0, "No pending migrations: 3 migration(s) applied\n")
    bad = pending(url, "--sqll")
    assert bad.returncode == 2 and "usage: pending-migrations.mjs [--sql]" in bad.stderr
