// The app's maintenance flag: `on`, `off` or `status`. The app serves a maintenance page
// while it is on. The flag lives in its own schema, outside the one Prisma migrates, so it
// can be switched on before the very first migration too.
//
// That schema must never be named like a login role: PostgreSQL's default search_path is
// `"$user", public`, so a schema named like the role that runs `migrate deploy` would
// catch every unqualified CREATE TABLE (it did, with a role and a schema both named
// `ops`). Hence a name no role should have, checked before the schema is created, and
// every use of it qualified.
import pg from "pg";

const SCHEMA = "dixis_maintenance";
const TABLE = `${SCHEMA}.flag`;

const action = process.argv[2] ?? "status";
if (!["on", "off", "status"].includes(action)) {
  console.error("usage: node scripts/maintenance.mjs on|off|status");
  process.exit(2);
}
const client = new pg.Client({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 10000 });
await client.connect();
try {
  if (action !== "status") {
    const role = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [SCHEMA]);
    if (role.rowCount > 0) {
      console.error(`a role named "${SCHEMA}" exists: the maintenance flag's schema would be in its search_path ("$user"). Rename the role.`);
      process.exit(1);
    }
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${TABLE} (id boolean PRIMARY KEY DEFAULT true CHECK (id), enabled boolean NOT NULL, changed_at timestamptz NOT NULL)`,
    );
    await client.query(
      `INSERT INTO ${TABLE} (id, enabled, changed_at) VALUES (true, $1, now())
       ON CONFLICT (id) DO UPDATE SET enabled = EXCLUDED.enabled, changed_at = now()`,
      [action === "on"],
    );
  }
  const present = await client.query("SELECT to_regclass($1) IS NOT NULL AS present", [TABLE]);
  const { rows } = present.rows[0].present ? await client.query(`SELECT enabled, changed_at FROM ${TABLE}`) : { rows: [] };
  const state = rows[0]?.enabled ? "on" : "off";
  console.log(`maintenance: ${state}${rows[0] ? ` (since ${rows[0].changed_at.toISOString()})` : " (never switched)"}`);
} finally {
  await client.end();
}
