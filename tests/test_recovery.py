"""Recovery from a migration that failed halfway (P3009), with the runbook's own blocks:
the failed deploy, the diagnostic, the ``mark-rolled-back`` recovery step (what
``prisma migrate resolve --rolled-back`` does, in SQL, since ``migrate resolve`` needs
Prisma's native engine), the fixed migration deployed by a whole run. Real Prisma through
pnpm, real PostgreSQL 15, a copy of the app in a temporary directory."""

from __future__ import annotations

import json

from runbook_checks.sandbox import postgres

from .conftest import clean_env
from .test_prisma import app_installed, blocks, project, psql, records, staging  # noqa: F401 (fixtures)

BROKEN = "20250401090000_organic_flag"
EXECUTE = ("--execute", "--confirm", "DIXIS-STAGING-OK", "--quiet")


def rows(url: str) -> list[tuple[str, ...]]:
    """``_prisma_migrations`` rows of the broken migration: (finished, rolled back)."""
    out = psql(
        url,
        f"SELECT finished_at IS NOT NULL, rolled_back_at IS NOT NULL FROM _prisma_migrations "
        f"WHERE migration_name = '{BROKEN}' ORDER BY started_at",
    )
    return [tuple(line.split("|")) for line in out.splitlines()]


def test_failed_migration_is_recovered_with_the_runbooks_blocks_and_the_fix_deploys(cli, project):
    migration = project / "app" / "prisma" / "migrations" / BROKEN
    migration.mkdir()
    # fails halfway: the first statement applies, the second fails
    (migration / "migration.sql").write_text(
        'ALTER TABLE "products" ADD COLUMN "organic" BOOLEAN NOT NULL DEFAULT false;\n'
        'UPDATE "products" SET "organic" = true WHERE "no_such_column" = 1;\n'
    )
    runbook = staging(project)
    with postgres() as db:
        env = clean_env(DATABASE_URL_STAGING=db.url)

        def recover(name: str | None):
            return cli(
                "run",
                runbook,
                *EXECUTE,
                "--only",
                "mark-rolled-back",
                env=env if name is None else {**env, "ROLLED_BACK_MIGRATION": name},
                cwd=project,
            )

        failed = cli("run", runbook, *EXECUTE, env=env, cwd=project)
        assert failed.returncode == 1
        first = blocks(records(project)[0])
        assert first["migrate-deploy"]["status"] == "failed" and "no_such_column" in first["migrate-deploy"]["output"]
        assert f"failed migration: {BROKEN}" in first["diag-failed-migrations"]["output"]
        assert "mark-rolled-back" not in first  # a whole run never runs (nor records) the recovery step
        assert rows(db.url) == [("f", "f")]
        assert (
            psql(
                db.url, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'products' AND column_name = 'organic'"
            ).strip()
            == "1"
        )

        # the recovery step refuses what it must not do, and changes nothing then
        unnamed = recover(None)
        assert unnamed.returncode == 1 and "no migration named: set ROLLED_BACK_MIGRATION" in unnamed.stdout
        assert f"then run: runbook-checks run {runbook} --only mark-rolled-back --execute --confirm <token>" in unnamed.stdout
        injected = recover(f"{BROKEN}'; DROP TABLE producers; --")
        assert injected.returncode == 1 and "not a migration name" in injected.stdout
        assert psql(db.url, "SELECT to_regclass('public.producers') IS NOT NULL").strip() == "t"
        unknown = recover("20250401090000_organic_flags")
        assert unknown.returncode == 1 and "P3011" in unknown.stdout and "never applied" in unknown.stdout
        applied = recover("20250101090000_init")
        assert applied.returncode == 1 and "P3012" in applied.stdout and "not in a failed state" in applied.stdout
        assert rows(db.url) == [("f", "f")]
        unconfirmed = cli(
            "run",
            runbook,
            "--execute",
            "--confirm",
            "DIXIS-STAGING-NO",
            "--only",
            "mark-rolled-back",
            env={**env, "ROLLED_BACK_MIGRATION": BROKEN},
            cwd=project,
        )
        assert unconfirmed.returncode == 2 and rows(db.url) == [("f", "f")]

        # the documented recovery: undo what applied, mark it rolled back, fix, run again
        psql(db.url, 'ALTER TABLE "products" DROP COLUMN "organic"')
        marked = recover(BROKEN)
        assert marked.returncode == 0, marked.stdout[-3000:]
        step = blocks(records(project)[-1])["mark-rolled-back"]
        assert step["status"] == "passed" and f"marked rolled back: {BROKEN}" in step["output"]
        assert rows(db.url) == [("f", "t")]
        assert cli("run", runbook, "--only", "diag-failed-migrations", env=env, cwd=project).returncode == 0

        (migration / "migration.sql").write_text('ALTER TABLE "products" ADD COLUMN "organic" BOOLEAN NOT NULL DEFAULT false;\n')
        schema = project / "app" / "prisma" / "schema.prisma"
        schema.write_text(
            schema.read_text().replace(
                "  stock       Int         @default(0)\n",
                "  stock       Int         @default(0)\n  organic     Boolean     @default(false)\n",
            )
        )
        fixed = cli("run", runbook, *EXECUTE, env=env, cwd=project)
        assert fixed.returncode == 0, fixed.stdout[-3000:]
        assert rows(db.url) == [("f", "t"), ("t", "f")]  # the rolled-back row stays, as the audit trail
        assert (
            psql(
                db.url, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'products' AND column_name = 'organic'"
            ).strip()
            == "1"
        )
    last = blocks(records(project)[-1])
    assert "All migrations have been successfully applied." in last["migrate-deploy"]["output"]
    assert "Database schema is up to date!" in last["migrate-status"]["output"]
    assert "mark-rolled-back" not in last
    report = json.loads(cli("report", runbook, "--format", "json", cwd=project).stdout)
    assert report["verdict"] == "passed" and report["attempt"]["id"] == records(project)[-1]["attempt_id"]
