// Reads Prisma's migration log (_prisma_migrations) and reports failed migrations:
// a row that started but never finished and was not rolled back blocks `migrate deploy` (P3009).
import pg from "pg";
import { qualified } from "../db/schema.mjs";

// In the schema DATABASE_URL names (?schema=, default public), where Prisma keeps it: not
// wherever the session's search_path would find a table of that name first.
const table = qualified("_prisma_migrations");

const client = new pg.Client({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 10000 });
await client.connect();
try {
  const exists = await client.query("SELECT to_regclass($1) IS NOT NULL AS present", [table]);
  if (!exists.rows[0].present) {
    console.log("no _prisma_migrations table yet: no migration has run on this database");
    console.log("no failed migrations");
  } else {
    const { rows } = await client.query(
      `SELECT migration_name, started_at, finished_at, rolled_back_at, applied_steps_count
         FROM ${table} ORDER BY started_at`,
    );
    const failed = rows.filter((r) => r.finished_at === null && r.rolled_back_at === null);
    const applied = rows.filter((r) => r.finished_at !== null && r.rolled_back_at === null);
    console.log(`${applied.length} migration(s) applied, ${rows.length - applied.length - failed.length} rolled back`);
    for (const r of failed) {
      console.log(`failed migration: ${r.migration_name} (started ${r.started_at.toISOString()}, ${r.applied_steps_count} step(s) applied)`);
    }
    if (failed.length) {
      console.log("P3009: see the runbook's 'Failed migration' entry");
      process.exitCode = 1;
    } else {
      console.log("no failed migrations");
    }
  }
} finally {
  await client.end();
}
