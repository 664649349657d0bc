// The app's maintenance flag (app_settings.maintenance): `on`, `off` or `status`.
// The app serves a maintenance page while it is on.
import pg from "pg";

const action = process.argv[2] ?? "status";
if (!["on", "off", "status"].includes(action)) {
  console.error("usage: node scripts/maintenance.mjs on|off|status");
  process.exit(2);
}
const client = new pg.Client({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 10000 });
await client.connect();
try {
  const table = await client.query("SELECT to_regclass('app_settings') IS NOT NULL AS present");
  if (!table.rows[0].present) {
    // A database with no schema yet has no app running on it: nothing to switch.
    console.log(`maintenance: ${action === "status" ? "off" : action} (no app_settings table yet: no app is served from this database)`);
  } else {
    if (action !== "status") {
      await client.query(
        `INSERT INTO app_settings (key, value, updated_at) VALUES ('maintenance', $1, now())
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
        [action],
      );
    }
    const { rows } = await client.query("SELECT value, updated_at FROM app_settings WHERE key = 'maintenance'");
    const value = rows[0]?.value ?? "off";
    console.log(`maintenance: ${value}${rows[0] ? ` (since ${rows[0].updated_at.toISOString()})` : ""}`);
  }
} finally {
  await client.end();
}
