// `prisma migrate resolve --rolled-back NAME`, offline: what Prisma's schema engine does
// for it (markMigrationRolledBack), in SQL on Prisma's migration log. `migrate resolve`
// itself needs the native schema engine, which cannot be downloaded here.
//
// Usage: node scripts/mark-rolled-back.mjs NAME   (the runbooks pass $ROLLED_BACK_MIGRATION)
//
// As Prisma does: under Prisma's migration lock, refuse a name with no row in
// _prisma_migrations ("never applied", P3011) or with no failed row ("not in a failed
// state", P3012), else set rolled_back_at on its failed row(s). The row stays, as the
// audit trail; `migrate deploy` then ignores it and applies the migration again. The
// statements the failed migration did apply are NOT undone: undo them first.
import pg from "pg";
import { qualified } from "../db/schema.mjs";

// Prisma's advisory lock for migrate commands (SELECT pg_advisory_lock(72707369)).
const MIGRATION_LOCK = 72707369;
const NAME_RE = /^[0-9A-Za-z][0-9A-Za-z_-]{0,199}$/;

const name = process.argv[2] ?? "";
if (!NAME_RE.test(name)) {
  console.error(
    name
      ? "not a migration name: letters, digits, _ and - only (a directory name of prisma/migrations, e.g. 20250401090000_organic_flag)"
      : "no migration named: set ROLLED_BACK_MIGRATION to the failed migration's name (diag-failed-migrations lists it)",
  );
  process.exit(2);
}

const table = qualified("_prisma_migrations");
const client = new pg.Client({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 10000 });
await client.connect();
try {
  await client.query("SET lock_timeout = '10s'");
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
  } catch (err) {
    if (err.code !== "55P03") throw err;
    console.error(`Timed out trying to acquire a postgres advisory lock (SELECT pg_advisory_lock(${MIGRATION_LOCK})): another migrate command is running`);
    process.exit(1);
  }
  const present = await client.query("SELECT to_regclass($1) IS NOT NULL AS present", [table]);
  const rows = present.rows[0].present
    ? (await client.query(`SELECT id, finished_at, rolled_back_at FROM ${table} WHERE migration_name = $1`, [name])).rows
    : [];
  if (rows.length === 0) {
    console.error(`P3011: Migration \`${name}\` cannot be rolled back because it was never applied to the database (no row in ${table}). Hint: did you pass in the whole migration name?`);
    process.exitCode = 1;
  } else if (!rows.some((r) => r.finished_at === null && r.rolled_back_at === null)) {
    console.error(`P3012: Migration \`${name}\` cannot be rolled back because it is not in a failed state.`);
    process.exitCode = 1;
  } else {
    const { rows: marked } = await client.query(
      `UPDATE ${table} SET rolled_back_at = now()
        WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL
        RETURNING started_at, applied_steps_count`,
      [name],
    );
    for (const r of marked) {
      console.log(`marked rolled back: ${name} (started ${r.started_at.toISOString()}, ${r.applied_steps_count} step(s) recorded as applied)`);
    }
    console.log("next: fix the migration (or replace it with a corrected one), then deploy again: migrate deploy applies it anew");
  }
} finally {
  await client.query("SELECT pg_advisory_unlock_all()").catch(() => {});
  await client.end();
}
