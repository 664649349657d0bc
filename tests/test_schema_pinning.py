"""No silent wrong schema: a database owned by a role named like a schema (``ops``).

PostgreSQL's default ``search_path`` is ``"$user", public``: with a role ``ops`` and a
schema ``ops``, unqualified DDL lands in ``ops`` while the app reads ``public``. The app's
adapter pins ``search_path`` to the URL's schema; the maintenance flag lives in a schema no
role is named like; the ``wrong-schema`` troubleshooting entry's check says where the
tables are. Real Prisma through pnpm, real PostgreSQL 15."""

from __future__ import annotations

import subprocess

from runbook_checks.sandbox import postgres

from .conftest import clean_env
from .test_prisma import app_installed, blocks, production, project, psql, records, staging  # noqa: F401 (fixtures)

APP_TABLES = ("_prisma_migrations", "app_settings", "order_items", "orders", "producers", "products")
OPS_PASSWORD = "0ps-Role-pw-4711"


def ops_database(db) -> str:
    """A database ``prod`` owned by a role ``ops`` on ``db``'s cluster; its URL."""
    psql(db.url, f"CREATE ROLE ops LOGIN PASSWORD '{OPS_PASSWORD}'")
    psql(db.url, "CREATE DATABASE prod OWNER ops")
    return f"postgresql://ops:{OPS_PASSWORD}@127.0.0.1:{db.port}/prod"


def schemas_of_app_tables(url: str) -> dict[str, str]:
    rows = psql(
        url,
        "SELECT tablename, schemaname FROM pg_tables WHERE tablename IN (" + ", ".join(f"'{t}'" for t in APP_TABLES) + ") ORDER BY 1, 2",
    )
    return dict(line.split("|") for line in rows.splitlines())


def arm_the_trap(url: str) -> None:
    """A schema ``ops`` (as the maintenance flag used to create): unqualified DDL of the
    ``ops`` role now lands there — proven, so the test below proves something."""
    psql(url, "CREATE SCHEMA ops")
    psql(url, "CREATE TABLE probe (id int)")
    assert psql(url, "SELECT schemaname FROM pg_tables WHERE tablename = 'probe'").strip() == "ops"
    psql(url, "DROP TABLE ops.probe")


def test_role_named_ops_production_run_puts_the_tables_in_public(cli, project):
    with postgres() as db:
        prod = ops_database(db)
        arm_the_trap(prod)
        env = clean_env(DATABASE_URL_STAGING=db.url, DATABASE_URL_PROD=prod, BACKUP_STORE=f"file://{project}/store")
        stage = cli("run", staging(project), "--execute", "--confirm", "DIXIS-STAGING-OK", "--quiet", env=env, cwd=project)
        assert stage.returncode == 0, stage.stdout[-3000:]
        result = cli("run", production(project), "--execute", "--confirm", "DIXIS-PROD-OK", "--quiet", env=env, cwd=project, timeout=300)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr
        assert schemas_of_app_tables(prod) == dict.fromkeys(APP_TABLES, "public")
        assert psql(prod, "SELECT count(*) FROM pg_tables WHERE schemaname = 'ops'").strip() == "0"
        assert psql(prod, "SELECT enabled FROM dixis_maintenance.flag").strip() == "f"
    run = blocks(records(project, "db-migration-production")[0])
    for block_id in (
        "maintenance-on",
        "maintenance-is-on",
        "migrate-deploy",
        "migrate-status",
        "app-smoke",
        "maintenance-off",
        "diag-table-schemas",
    ):
        assert run[block_id]["status"] == "passed", (block_id, run[block_id]["output"][-1500:])
    assert 'Datasource "db": PostgreSQL database "prod", schema "public"' in run["migrate-deploy"]["output"]
    assert "Database schema is up to date!" in run["migrate-status"]["output"]
    assert 'a schema "ops" exists' in run["diag-table-schemas"]["output"]
    assert 'the app\'s tables are in schema "public"' in run["diag-table-schemas"]["output"]
    assert OPS_PASSWORD not in result.stdout + result.stderr


def test_tables_in_the_wrong_schema_lead_to_the_entry_and_its_check_names_the_schema(cli, project):
    """What an unpinned deploy did: the migrations' SQL run as the ``ops`` role (here by
    psql, which follows its search_path) put every table in ``ops``."""
    with postgres() as db:
        prod = ops_database(db)
        arm_the_trap(prod)
        for sql in sorted((project / "app" / "prisma" / "migrations").glob("*/migration.sql")):
            subprocess.run(["psql", prod, "-v", "ON_ERROR_STOP=1", "-q", "-f", str(sql)], check=True, capture_output=True)
        assert set(schemas_of_app_tables(prod).values()) == {"ops"}
        env = clean_env(DATABASE_URL_STAGING=prod)
        smoke = cli(
            "run",
            staging(project),
            "--only",
            "generate",
            "--only",
            "app-smoke",
            "--only",
            "diag-reachable",
            "--only",
            "diag-table-schemas",
            env=env,
            cwd=project,
        )  # diag-table-schemas needs diag-reachable
        diagnose = cli("diagnose", staging(project), env=env, cwd=project)
    assert smoke.returncode == 1
    run = blocks(records(project)[0])
    assert "The table `public.producers` does not exist" in run["app-smoke"]["output"]
    assert run["app-smoke"]["troubleshooting"] == ["wrong-schema"]
    assert "see: Tables in the wrong schema (P2021 after a successful deploy)" in smoke.stdout
    assert run["diag-table-schemas"]["status"] == "failed"
    assert "tables in the wrong schema: producers (in ops); products (in ops)" in run["diag-table-schemas"]["output"]
    assert 'not in "public"' in run["diag-table-schemas"]["output"]
    assert diagnose.returncode == 1
    assert "→ Tables in the wrong schema (P2021 after a successful deploy)" in diagnose.stdout and "(#wrong-schema)" in diagnose.stdout


def test_maintenance_flag_refuses_a_schema_named_like_a_role(project):
    with postgres() as db:
        psql(db.url, "CREATE ROLE dixis_maintenance")

        def flag(action: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                ["node", "scripts/maintenance.mjs", action],
                cwd=project / "app",
                env=clean_env(DATABASE_URL=db.url),
                capture_output=True,
                text=True,
                timeout=60,
                stdin=subprocess.DEVNULL,
            )

        refused = flag("on")
        assert refused.returncode == 1 and 'a role named "dixis_maintenance" exists' in refused.stderr
        assert psql(db.url, "SELECT to_regnamespace('dixis_maintenance') IS NULL").strip() == "t"
        psql(db.url, "DROP ROLE dixis_maintenance")
        assert flag("on").stdout.startswith("maintenance: on")
        assert flag("status").stdout.startswith("maintenance: on")
