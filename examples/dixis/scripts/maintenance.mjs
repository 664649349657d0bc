// The app's maintenance flag: `on`, `off` or `status`. The app serves a maintenance page
// while it is on. The flag lives in its own `ops` schema, outside the schema Prisma
// migrates, so it can be switched on before the very first migration too.
import pg from "pg";

const action = process.argv[2] ?? "status";
if (!["on", "off", "status"].includes(action)) {
  console.error("usage: node scripts/maintenance.mjs on|off|status");
  process.exit(2);
}
const client = new pg.Client({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 10000 });
await client.connect();
try {
  if (action !== "status") {
    await client.query("CREATE SCHEMA IF NOT EXISTS ops");
    await client.query(
      "CREATE TABLE IF NOT EXISTS ops.maintenance (id boolean PRIMARY KEY DEFAULT true CHECK (id), enabled boolean NOT NULL, changed_at timestamptz NOT NULL)",
    );
    await client.query(
      `INSERT INTO ops.maintenance (id, enabled, changed_at) VALUES (true, $1, now())
       ON CONFLICT (id) DO UPDATE SET enabled = EXCLUDED.enabled, changed_at = now()`,
      [action === "on"],
    );
  }
  const present = await client.query("SELECT to_regclass('ops.maintenance') IS NOT NULL AS present");
  const { rows } = present.rows[0].present
    ? await client.query("SELECT enabled, changed_at FROM ops.maintenance")
    : { rows: [] };
  const state = rows[0]?.enabled ? "on" : "off";
  console.log(`maintenance: ${state}${rows[0] ? ` (since ${rows[0].changed_at.toISOString()})` : " (never switched)"}`);
} finally {
  await client.end();
}
