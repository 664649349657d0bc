"""Drift detection against real PostgreSQL 15: the app's migrations deployed by the real
Prisma CLI, then changed by hand the way people change staging, then ``runbook-checks
drift`` (and the runbook's drift block) run on it."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from runbook_checks.sandbox import postgres

from .conftest import clean_env, fence, front
from .test_prisma import APP, MIGRATIONS, app_installed, blocks, project, psql, records, staging  # noqa: F401 (fixtures)

PASSWORD = "dr1ft-S3cret/pa$$:w@rd"
_names = itertools.count()


def prisma_deploy(url: str) -> None:
    env = clean_env(
        DATABASE_URL=url,
        PRISMA_SCHEMA_ENGINE_BINARY=str(APP / "package.json"),
        PRISMA_QUERY_ENGINE_LIBRARY=str(APP / "package.json"),
        NODE_OPTIONS=f"--require {APP / 'scripts' / 'unref-timers.cjs'}",
        CHECKPOINT_DISABLE="1",
        PRISMA_HIDE_UPDATE_MESSAGE="1",
    )
    done = subprocess.run(["pnpm", "exec", "prisma", "migrate", "deploy"], cwd=APP, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "All migrations have been successfully applied." in done.stdout, done.stdout + done.stderr


@pytest.fixture(scope="module")
def cluster():
    """A PostgreSQL 15 cluster whose database ``dixis`` has the app's migrations, deployed
    by Prisma; tests copy it (``CREATE DATABASE … TEMPLATE dixis``)."""
    with postgres(password=PASSWORD) as db:
        url = with_password(db.port)
        prisma_deploy(url)
        yield url


def with_password(port: int, database: str = "dixis") -> str:
    """The sandbox's URL with the password percent-encoded (it has ``/``, ``:``, ``@`` and ``$``)."""
    return f"postgresql://postgres:{quote(PASSWORD, safe='')}@127.0.0.1:{port}/{database}"


@pytest.fixture
def deployed(cluster: str) -> str:
    """The URL of a fresh copy of the deployed database (its _prisma_migrations included)."""
    name = f"copy{next(_names)}"
    psql(cluster, f"CREATE DATABASE {name} TEMPLATE dixis")
    return cluster.rsplit("/", 1)[0] + f"/{name}"


def drift(cli, url: str | None, *args: str, migrations: Path = APP / "prisma" / "migrations", var: str = "TARGET_URL"):
    env = clean_env(**({var: url} if url is not None else {}))
    return cli("drift", "--migrations", migrations, "--url-env", var, *args, env=env)


def drift_lines(result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("drift: ")]


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for shape in (PASSWORD, quote(PASSWORD, safe=""), quote(PASSWORD)):
            assert shape not in text


def test_a_clean_database_has_no_drift(cli, deployed):
    result = drift(cli, deployed)
    assert result.returncode == 0, result.stdout + result.stderr
    assert drift_lines(result) == [] and "pending:" not in result.stdout
    assert "No drift: the live schema matches the 3 applied migration(s)" in result.stdout
    assert "Drift check: 127.0.0.1:" in result.stdout and '(schema "public") on PostgreSQL ' in result.stdout
    assert_no_secret(result.stdout, result.stderr)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            "DROP INDEX products_producer_id_idx",
            'drift: index "products_producer_id_idx" on "products": in the migrations, missing on the target',
        ),
        (
            "ALTER TABLE order_items DROP CONSTRAINT order_items_order_id_fkey",
            'drift: foreign key "order_items_order_id_fkey" on "order_items": in the migrations, missing on the target',
        ),
        (
            "ALTER TABLE orders ALTER COLUMN status DROP DEFAULT",
            'drift: default of column "status" on "orders": in the migrations (\'pending\'::text), missing on the target',
        ),
        ("ALTER TABLE orders ADD COLUMN hotfix text", 'drift: column "hotfix" on "orders": on the target (text), not in the migrations'),
        (
            "ALTER TABLE products ALTER COLUMN stock TYPE bigint",
            'drift: column "stock" on "products": differs: the migrations give `integer NOT NULL`, the target has `bigint NOT NULL`',
        ),
        ("CREATE TABLE hotfix_log (id int PRIMARY KEY, note text)", 'drift: table "hotfix_log": on the target, not in the migrations'),
    ],
    ids=["drop-index", "drop-fkey", "drop-default", "add-column", "column-type", "add-table"],
)
def test_each_hand_made_change_is_reported_as_exactly_that_object(cli, deployed, change, expected):
    psql(deployed, change)
    result = drift(cli, deployed)
    assert result.returncode == 1, result.stdout + result.stderr
    assert drift_lines(result) == [expected]
    assert "DRIFT: 1 difference(s) between the live schema and the applied migrations" in result.stdout
    assert_no_secret(result.stdout, result.stderr)


def test_every_change_at_once_one_line_each_and_json(cli, deployed):
    psql(
        deployed,
        "DROP INDEX products_producer_id_idx; ALTER TABLE order_items DROP CONSTRAINT order_items_order_id_fkey;"
        "ALTER TABLE orders ALTER COLUMN status DROP DEFAULT; ALTER TABLE orders ADD COLUMN hotfix text",
    )
    result = drift(cli, deployed, "--format", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["drift"] is True and report["migrations"]["applied"] == list(MIGRATIONS)
    assert sorted((d["kind"], d["table"], d["name"], d["change"]) for d in report["differences"]) == [
        ("column", "orders", "hotfix", "extra"),
        ("constraint", "order_items", "order_items_order_id_fkey", "missing"),
        ("default", "orders", "status", "missing"),
        ("index", "products", "products_producer_id_idx", "missing"),
    ]
    assert_no_secret(result.stdout, result.stderr)


def test_merged_but_unapplied_migrations_are_pending_not_drift(cli, deployed, tmp_path):
    # The database as a deploy of only the first two migrations leaves it: the third's column and log row removed.
    psql(deployed, f"ALTER TABLE orders DROP COLUMN total_cents; DELETE FROM _prisma_migrations WHERE migration_name = '{MIGRATIONS[2]}'")
    folder = tmp_path / "migrations"
    shutil.copytree(APP / "prisma" / "migrations", folder)
    (folder / "20250401090000_organic_flag").mkdir()
    (folder / "20250401090000_organic_flag" / "migration.sql").write_text(
        'ALTER TABLE "products" ADD COLUMN "organic" BOOLEAN NOT NULL DEFAULT false;\n'
    )
    result = drift(cli, deployed, migrations=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert drift_lines(result) == []
    assert [line for line in result.stdout.splitlines() if line.startswith("pending: ")] == [
        f'pending: migration "{MIGRATIONS[2]}": in the migrations folder, not applied on the target (pending, not drift)',
        'pending: migration "20250401090000_organic_flag": in the migrations folder, not applied on the target (pending, not drift)',
    ]
    assert "No drift: the live schema matches the 2 applied migration(s); 2 pending migration(s), not applied yet" in result.stdout


def test_a_migration_edited_after_it_was_applied_is_reported(cli, deployed, tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(APP / "prisma" / "migrations", folder)
    sql = folder / MIGRATIONS[1] / "migration.sql"
    sql.write_text(sql.read_text().replace("DEFAULT 'kg'", "DEFAULT 'piece'"))
    result = drift(cli, deployed, migrations=folder)
    assert result.returncode == 1
    assert (
        f'modified migration "{MIGRATIONS[1]}": its migration.sql changed after it was applied on the target (checksum differs)'
        in result.stdout
    )
    # replayed as it is now: the default differs from the one the target got
    assert drift_lines(result) == [
        "drift: default of column \"unit\" on \"products\": differs: the migrations give `'piece'::text`, the target has `'kg'::text`"
    ]


def test_bad_input_exits_2_without_a_traceback_or_the_password(cli, cluster, deployed, tmp_path):
    unset = drift(cli, None)
    assert unset.returncode == 2 and "$TARGET_URL is not set" in unset.stderr
    not_url = drift(cli, "mysql://u:x@h/db")
    assert not_url.returncode == 2 and "not a postgresql:// URL" in not_url.stderr
    no_dir = drift(cli, deployed, migrations=tmp_path / "nope")
    assert no_dir.returncode == 2 and "no such migrations directory" in no_dir.stderr
    wrong_db = drift(cli, cluster.rsplit("/", 1)[0] + "/nope")
    assert (
        wrong_db.returncode == 2
        and "drift not checked: cannot read the target" in wrong_db.stderr
        and '"nope" does not exist' in wrong_db.stderr
    )
    wrong_password = drift(cli, deployed.replace(quote(PASSWORD, safe=""), quote(PASSWORD[::-1], safe="")))
    assert wrong_password.returncode == 2 and "password authentication failed" in wrong_password.stderr
    for result in (unset, not_url, no_dir, wrong_db, wrong_password):
        assert "Traceback" not in result.stderr
        assert_no_secret(result.stdout, result.stderr)
        assert PASSWORD[::-1] not in result.stdout + result.stderr


def test_the_runbooks_drift_block_fails_a_run_after_a_hand_made_change(cli, project):
    with postgres(password=PASSWORD) as db:
        url = with_password(db.port)
        env = clean_env(DATABASE_URL_STAGING=url)
        deploy = cli("run", staging(project), "--execute", "--confirm", "DIXIS-STAGING-OK", "--quiet", env=env, cwd=project, timeout=300)
        assert deploy.returncode == 0, deploy.stdout[-3000:]
        assert blocks(records(project)[0])["schema-drift"]["status"] == "passed"
        psql(url, "DROP INDEX products_producer_id_idx")
        result = cli("run", staging(project), env=env, cwd=project, timeout=300)
    assert result.returncode == 1, result.stdout[-3000:]
    drift_block = blocks(records(project)[1])["schema-drift"]
    assert drift_block["status"] == "failed" and drift_block["exit_code"] == 1
    assert 'drift: index "products_producer_id_idx" on "products": in the migrations, missing on the target' in drift_block["output"]
    assert drift_block["troubleshooting"] == ["drift"] and "see: Drift" in result.stdout
    others = {b["id"]: b["status"] for b in records(project)[1]["blocks"] if b["id"] != "schema-drift"}
    assert "failed" not in others.values()  # every other read-only check still passes: only the drift block sees it
    assert_no_secret(result.stdout, result.stderr, (project / "runbook-results" / "db-migration-staging.jsonl").read_text())


def test_rehearse_db_names_database_kinds_or_is_a_problem_at_its_line(cli, write):
    good = write(
        front(
            fence("d", "check", "runbook-checks drift", "rehearse-db=postgres")
            + fence("e", "check", "true", 'rehearse-db="pglite,postgres"')
        )
    )
    assert cli("lint", good).returncode == 0
    bad = write(front(fence("d", "check", "runbook-checks drift", "rehearse-db=mysql")), name="bad.md")
    result = cli("lint", bad)
    assert result.returncode == 2
    assert result.stdout == f"{bad}:8: block 'd': rehearse-db='mysql' must name database kinds, comma-separated: pglite, postgres\n"
