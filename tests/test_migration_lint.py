"""lint-migrations: real squawk (squawk-cli 2.70.0) over the migrations pending on a real
PostgreSQL 15 cluster, as the runbooks' lint-migrations check runs it.

A copy of the reference app in a temp directory gets one more, destructive migration
(DROP COLUMN, a NOT NULL column without default, CREATE INDEX without CONCURRENTLY); the
cluster's database has the app's three migrations applied by the real Prisma CLI, so the
new one is the only pending migration. The real app is never changed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runbook_checks.ledger import verify_ledger
from runbook_checks.model import RunRecord
from runbook_checks.parse import parse_runbook
from runbook_checks.sandbox import free_port, postgres

from .conftest import clean_env
from .test_pending_migrations import MIGRATIONS

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "examples" / "dixis"
STAGING = ROOT / "docs" / "OPS" / "RUNBOOKS" / "DB-MIGRATION-STAGING.md"
PRODUCTION = ROOT / "docs" / "OPS" / "RUNBOOKS" / "DB-MIGRATION-PRODUCTION.md"
NEW = "20261001090000_drop_legacy"
NEW_SQL = """\
-- Products: the unit moves to the catalogue service; a SKU becomes required and indexed.
ALTER TABLE "products" DROP COLUMN "unit";
ALTER TABLE "products" ADD COLUMN "sku" TEXT NOT NULL;
CREATE INDEX "products_sku_idx" ON "products"("sku");
"""
NEW_PATH = f"prisma/migrations/{NEW}/migration.sql"
#: (line, rule, statement on that line) of every finding the app's .squawk.toml gives NEW_SQL
EXPECTED = [
    (2, "require-lock-timeout", 'DROP COLUMN "unit"'),  # column 0: before the DROP COLUMN's column 23
    (2, "ban-drop-column", 'DROP COLUMN "unit"'),
    (3, "adding-required-field", '"sku" TEXT NOT NULL'),
    (4, "require-concurrent-index-creation", 'CREATE INDEX "products_sku_idx"'),
]
REFUSED = ("ban-drop-column", "adding-required-field", "require-concurrent-index-creation")
ACKS = """\
  acknowledge:
    - {migration: 20261001090000_drop_legacy, rule: ban-drop-column, by: "Jane Ops", reason: "column unused since v3"}
    - migration: 20261001090000_drop_legacy
      rule: adding-required-field
      by: Jane Ops
      reason: products is empty in production until the launch
    - {migration: 20261001090000_drop_legacy, rule: require-concurrent-index-creation, by: "Sam DBA", reason: "run in the maintenance window"}
"""
PRISMA_ENV = dict(
    PRISMA_SCHEMA_ENGINE_BINARY=str(APP / "package.json"),
    PRISMA_QUERY_ENGINE_LIBRARY=str(APP / "package.json"),
    NODE_OPTIONS=f"--require {APP / 'scripts' / 'unref-timers.cjs'}",
    CHECKPOINT_DISABLE="1",
    PRISMA_HIDE_UPDATE_MESSAGE="1",
)


def real_block(runbook: Path, block_id: str) -> str:
    found, problems = parse_runbook(runbook)
    assert found is not None and not problems, problems
    return found.block(block_id).code


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(app copy with the pending destructive migration, the database URL, its password)."""
    if not (APP / "node_modules" / ".bin" / "prisma").exists():
        subprocess.run(["pnpm", "install", "--frozen-lockfile"], cwd=APP, check=True)
    app = tmp_path_factory.mktemp("lint") / "app"
    shutil.copytree(APP, app, symlinks=True, ignore=shutil.ignore_patterns("backups", "runbook-results"))
    (app / "prisma" / "migrations" / NEW).mkdir()
    (app / NEW_PATH).write_text(NEW_SQL)
    with postgres() as db:
        deploy = subprocess.run(
            ["pnpm", "exec", "prisma", "migrate", "deploy"],
            cwd=APP,
            env=clean_env(DATABASE_URL=db.url, **PRISMA_ENV),
            capture_output=True,
            text=True,
            timeout=180,
            stdin=subprocess.DEVNULL,
        )
        assert deploy.returncode == 0 and "All migrations have been successfully applied." in deploy.stdout, deploy.stdout + deploy.stderr
        password = db.url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
        yield app, db.url, password
    assert not (APP / "prisma" / "migrations" / NEW).exists()


def lint(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runbook_checks", "lint-migrations", *args],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def finding_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("prisma/migrations/")]


def write_runbook(tmp_path: Path, app: Path, source: Path, environment: str, extra: str = "") -> Path:
    """A runbook on the app copy whose two blocks are the real runbook's list-pending and
    lint-migrations, as written there."""
    path = tmp_path / f"{environment}.md"
    front = (
        textwrap.dedent(f"""\
        ---
        runbook:
          id: lint-{environment}
          environment: {environment}
          secrets: [DATABASE_URL_T]
          workdir: {app}
          env:
            DATABASE_URL: ${{DATABASE_URL_T}}
        """)
        + extra
        + "---\n# Lint\n\n"
    )
    blocks = "".join(
        f"```bash {{#{bid} .check{' pending-exit=3' if bid == 'list-pending' else ''}}}\n{real_block(source, bid)}\n```\n\n"
        for bid in ("list-pending", "lint-migrations")
    )
    path.write_text(front + blocks)
    return path


def run(runbook: Path, url: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess, dict]:
    done = subprocess.run(
        [sys.executable, "-m", "runbook_checks", "run", str(runbook), "--results", str(tmp_path / "results")],
        cwd=tmp_path,
        env=clean_env(DATABASE_URL_T=url),
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    ledger = tmp_path / "results" / f"{parse_runbook(runbook)[0].id}.jsonl"
    assert verify_ledger(ledger).ok, verify_ledger(ledger)  # schema included
    return done, json.loads(ledger.read_text().splitlines()[-1])


def block(record: dict, block_id: str) -> dict:
    return next(b for b in record["blocks"] if b["id"] == block_id)


def test_only_the_pending_migration_is_linted_and_each_finding_is_file_line_rule(world):
    app, url, password = world
    done = lint("--policy", "warn", "--pending-command", "node scripts/pending-migrations.mjs", cwd=app, env=clean_env(DATABASE_URL=url))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"squawk lints 1 pending migration(s) with .squawk.toml: {NEW}\n" in done.stdout
    lines = finding_lines(done.stdout)
    assert [line.split(": ", 2)[:2] for line in lines] == [[f"{NEW_PATH}:{n}", rule] for n, rule, _ in EXPECTED]
    sql = (app / NEW_PATH).read_text().splitlines()
    for n, _, statement in EXPECTED:
        assert statement in sql[n - 1]  # the line squawk points at holds the statement
    assert "ban-drop-column: Dropping a column may break existing clients." in done.stdout
    assert not any(m in done.stdout for m in MIGRATIONS)  # the applied migrations are not linted
    assert (
        "4 finding(s) in 1 pending migration(s): 3 destructive or blocking and not acknowledged, 0 acknowledged, 1 warning(s)"
        in done.stdout
    )
    assert password not in done.stdout + done.stderr


def test_staging_runbook_warns_and_passes_with_the_findings_in_the_ledger(world, tmp_path):
    app, url, password = world
    done, record = run(write_runbook(tmp_path, app, STAGING, "staging"), url, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    result = block(record, "lint-migrations")
    assert (result["status"], result["exit_code"]) == ("passed", 0)
    assert [line.split(": ", 2)[:2] for line in finding_lines(result["output"])] == [[f"{NEW_PATH}:{n}", rule] for n, rule, _ in EXPECTED]
    assert "warn only (warn policy): production refuses these unless" in result["output"]
    assert "acknowledgements" not in record  # no runbook.acknowledge: the key is left out
    assert password not in json.dumps(record)


def test_production_refuses_until_every_refused_rule_is_acknowledged(world, tmp_path):
    app, url, _ = world
    done, record = run(write_runbook(tmp_path, app, PRODUCTION, "production"), url, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    result = block(record, "lint-migrations")
    assert (result["status"], result["exit_code"]) == ("failed", 1)
    assert "refused: review the destructive or blocking findings above" in result["output"]
    for rule in REFUSED:
        assert f'  - {{migration: {NEW}, rule: {rule}, by: "<who>", reason: "<why it is safe>"}}' in result["output"]
    assert "rule: require-lock-timeout" not in result["output"]  # a warning is never refused

    # one acknowledgement is not enough: the other two rules are still refused
    partial = tmp_path / "partial"
    partial.mkdir()
    one = "  acknowledge:\n    - {migration: 20261001090000_drop_legacy, rule: ban-drop-column, by: Jane Ops, reason: column unused since v3}\n"
    done, record = run(write_runbook(partial, app, PRODUCTION, "production", one), url, partial)
    output = block(record, "lint-migrations")["output"]
    assert done.returncode == 1 and "acknowledged by Jane Ops: column unused since v3" in output
    assert "2 destructive or blocking and not acknowledged, 1 acknowledged" in output
    assert "rule: ban-drop-column, by:" not in output and "rule: adding-required-field, by:" in output


def test_production_with_the_acknowledgements_passes_and_the_record_says_who(world, tmp_path):
    app, url, _ = world
    done, record = run(write_runbook(tmp_path, app, PRODUCTION, "production", ACKS), url, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    result = block(record, "lint-migrations")
    assert (result["status"], result["exit_code"]) == ("passed", 0)
    assert "0 destructive or blocking and not acknowledged, 3 acknowledged, 1 warning(s)" in result["output"]
    assert "acknowledged by Sam DBA: run in the maintenance window" in result["output"]
    assert record["schema_version"] == 2
    assert record["acknowledgements"] == [
        {"migration": NEW, "rule": "ban-drop-column", "by": "Jane Ops", "reason": "column unused since v3"},
        {"migration": NEW, "rule": "adding-required-field", "by": "Jane Ops", "reason": "products is empty in production until the launch"},
        {"migration": NEW, "rule": "require-concurrent-index-creation", "by": "Sam DBA", "reason": "run in the maintenance window"},
    ]
    assert RunRecord.from_dict(record).to_dict()["acknowledgements"] == record["acknowledgements"]


def test_a_bad_acknowledgement_is_a_runbook_problem_at_its_line(world, tmp_path, cli):
    app, _, _ = world
    bad = (
        "  acknowledge:\n"
        "    - {migration: 20261001090000_drop_legacy, rule: ban-drop-column, by: Jane Ops}\n"
        "    - {migration: ../etc, rule: ban-drop-column, by: Jane, reason: x}\n"
        "    - {migration: 20261001090000_drop_legacy, rule: Ban Drop, by: Jane, reason: x}\n"
        '    - {migration: 20261001090000_drop_legacy, rule: adding-required-field, by: "", reason: x, who: Jane}\n'
        "    - just a string\n"
        "    - {migration: 20261001090000_drop_legacy, rule: renaming-column, by: Jane, reason: x}\n"
        "    - {migration: 20261001090000_drop_legacy, rule: renaming-column, by: Sam, reason: y}\n"
    )
    runbook = write_runbook(tmp_path, app, PRODUCTION, "production", bad)
    text = runbook.read_text().splitlines()
    first = text.index("  acknowledge:") + 1  # 0-based index of the first entry = its 1-based line - 1
    result = cli("lint", runbook.name)
    assert result.returncode == 2
    problems = [line for line in result.stdout.splitlines() if line.startswith(runbook.name)]
    assert problems == [
        f"{runbook.name}:{first + 1}: acknowledgement: 'reason' is missing; every entry needs migration, rule, by (who) and reason",
        f"{runbook.name}:{first + 2}: acknowledgement: migration '../etc' is not a migration directory name (e.g. 20261001090000_drop_legacy)",
        f"{runbook.name}:{first + 3}: acknowledgement: rule 'Ban Drop' is not a squawk rule name (e.g. ban-drop-column)",
        f"{runbook.name}:{first + 4}: acknowledgement: 'by' is '', not a non-empty string; every entry needs migration, rule, by (who) and reason",
        f"{runbook.name}:{first + 4}: unknown acknowledgement key 'who'",
        f"{runbook.name}:{first + 5}: an acknowledgement must be a mapping {{migration, rule, by, reason}}, not 'just a string'",
        f"{runbook.name}:{first + 7}: acknowledgement of renaming-column in 20261001090000_drop_legacy is given twice (first at line {first + 6})",
    ], result.stdout
    # run refuses it before anything runs; so does lint-migrations --runbook
    refused = cli("run", runbook.name, env=clean_env(DATABASE_URL_T="postgresql://u:p@127.0.0.1:1/x"))
    assert refused.returncode == 2 and "nothing was executed" in refused.stderr
    assert lint("--runbook", str(runbook), NEW, cwd=app).returncode == 2

    # a well-formed rule name squawk does not know: lint-migrations names the entry's line
    (tmp_path / "typo").mkdir()
    typo = write_runbook(
        tmp_path / "typo",
        app,
        PRODUCTION,
        "production",
        "  acknowledge:\n    - {migration: 20261001090000_drop_legacy, rule: ban-drop-colum, by: Jane, reason: x}\n",
    )
    line = (
        typo.read_text().splitlines().index("    - {migration: 20261001090000_drop_legacy, rule: ban-drop-colum, by: Jane, reason: x}") + 1
    )
    done = lint("--runbook", str(typo), NEW, cwd=app)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{typo}:{line}: acknowledgement: rule 'ban-drop-colum' is not a squawk rule" in done.stderr
    assert finding_lines(done.stdout) == []  # nothing was linted


def test_nothing_pending_passes_and_a_failing_pending_command_fails(world):
    _, url, password = world
    done = lint("--pending-command", "node scripts/pending-migrations.mjs", cwd=APP, env=clean_env(DATABASE_URL=url))
    assert (done.returncode, done.stdout) == (0, "No pending migrations: nothing to lint\n"), done.stderr
    port = free_port()  # nothing listens there
    down = lint(
        "--pending-command",
        "node scripts/pending-migrations.mjs",
        cwd=APP,
        env=clean_env(DATABASE_URL=f"postgresql://postgres:{password}@127.0.0.1:{port}/dixis"),
    )
    assert down.returncode == 1
    assert "the pending-migrations command `node scripts/pending-migrations.mjs` failed (exit 1)" in down.stderr
    assert "Can't reach database server" in down.stderr and password not in down.stdout + down.stderr


def test_the_real_runbooks_lint_after_list_pending_and_production_accepts_its_own_migrations(tmp_path):
    for runbook, policy in ((STAGING, "warn"), (PRODUCTION, "refuse")):
        parsed, problems = parse_runbook(runbook)
        assert parsed is not None and not problems
        ids = [b.id for b in parsed.blocks]
        assert ids[ids.index("list-pending") + 1] == "lint-migrations"
        code = parsed.block("lint-migrations").code
        assert f"--policy {policy}" in code and '--runbook "$RUNBOOK_PATH"' in code
    # a fresh production database (a rehearsal) has the app's three migrations pending: the
    # production runbook acknowledges the one blocking finding among them, so it passes
    everything = lint("--runbook", str(PRODUCTION), *MIGRATIONS, cwd=APP)
    assert everything.returncode == 0, everything.stdout + everything.stderr
    assert (
        f"prisma/migrations/{MIGRATIONS[2]}/migration.sql:12: adding-not-nullable-field: Setting a column `NOT NULL` "
        "blocks reads while the table is scanned."
    ) in everything.stdout
    assert "  acknowledged by Dixis DB owners: " in everything.stdout
    assert lint(*MIGRATIONS, cwd=APP).returncode == 1  # without the runbook's acknowledgement: refused


def test_config_decides_the_rules_and_bad_input_is_exit_2(tmp_path):
    migrations = tmp_path / "prisma" / "migrations" / NEW
    migrations.mkdir(parents=True)
    (migrations / "migration.sql").write_text(NEW_SQL)
    # no [runbook-checks] table: the documented default refuse list; squawk's own excluded_rules apply
    (tmp_path / ".squawk.toml").write_text(
        'excluded_rules = ["ban-drop-column", "require-lock-timeout", "require-statement-timeout", "prefer-robust-stmts"]\n'
    )
    done = lint(NEW, cwd=tmp_path)
    assert done.returncode == 1
    assert [line.split(": ", 2)[1] for line in finding_lines(done.stdout)] == ["adding-required-field", "require-concurrent-index-creation"]
    assert "(destructive or blocking rules: runbook-checks' default list)" in done.stdout
    # the refuse list from the config: only what it names is refused
    (tmp_path / ".squawk.toml").write_text(
        'excluded_rules = ["require-lock-timeout", "require-statement-timeout", "prefer-robust-stmts"]\n'
        '[runbook-checks]\nrefuse = ["ban-drop-column"]\n'
    )
    done = lint(NEW, cwd=tmp_path)
    assert done.returncode == 1 and "1 destructive or blocking and not acknowledged, 0 acknowledged, 2 warning(s)" in done.stdout
    (tmp_path / ".squawk.toml").write_text('[runbook-checks]\nrefuse = ["ban-drop-colum"]\n')
    done = lint(NEW, cwd=tmp_path)
    assert done.returncode == 2 and "refuse names rule(s) squawk does not know: ban-drop-colum" in done.stderr
    assert lint("20990101000000_nope", cwd=tmp_path).returncode == 2
    assert lint(cwd=tmp_path).returncode == 2  # neither names nor --pending-command
    (tmp_path / ".squawk.toml").unlink()
    done = lint(NEW, cwd=tmp_path)
    assert done.returncode == 2 and ".squawk.toml: no squawk config here" in done.stderr and "Traceback" not in done.stderr
    # SQL squawk cannot parse is refused even under a config that refuses nothing
    (tmp_path / ".squawk.toml").write_text("[runbook-checks]\nrefuse = []\n")
    (migrations / "migration.sql").write_text("ALTER TABLE products DROP COLUMN;\n")
    done = lint(NEW, cwd=tmp_path)
    assert done.returncode == 1 and f"{NEW_PATH}:1: syntax-error: " in done.stdout and "cannot be acknowledged" in done.stdout


def test_a_record_without_acknowledgements_keeps_the_bytes_of_before():
    record = RunRecord(
        run_id="r",
        runbook_id="rb",
        runbook_path="rb.md",
        runbook_sha256="0" * 64,
        environment="test",
        mode="check",
        status="passed",
        exit_code=0,
        started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:00:01Z",
        duration_s=1.0,
        actor="a",
        host="h",
        git=None,
        ci=None,
        blocks=(),
    )
    assert "acknowledgements" not in record.to_dict()
    assert RunRecord.from_dict(record.to_dict()) == record
