// Pending migrations, read-only: compares the migrations in prisma/migrations with Prisma's
// migration log (_prisma_migrations) in the schema named by DATABASE_URL's ?schema= (default
// public). Never prints the URL or its password.
// Exit 0: nothing pending; 3: migrations pending (listed); 1: a failed migration, a migration
// applied on the database but unknown here, or the database could not be read.
// --sql: after the list, print each pending migration's migration.sql, headed by a
// "-- prisma/migrations/NAME/migration.sql" comment line (the output stays valid SQL).
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

const MIGRATIONS = fileURLToPath(new URL("../prisma/migrations/", import.meta.url));
const args = process.argv.slice(2);
const unknownArgs = args.filter((a) => a !== "--sql");
if (unknownArgs.length) {
  console.error(`usage: pending-migrations.mjs [--sql] (unknown: ${unknownArgs.join(" ")})`);
  process.exit(2);
}
const withSql = args.includes("--sql");

const url = process.env.DATABASE_URL;
if (!url || !/^postgres(ql)?:\/\//.test(url)) {
  console.error("DATABASE_URL is not a postgresql:// URL: check the environment's secret");
  process.exit(1);
}
let parsed;
try {
  parsed = new URL(url);
} catch {
  console.error("error: DATABASE_URL is not a valid URL: check the environment's secret");
  process.exit(1);
}
const where = `${parsed.hostname}:${parsed.port || 5432}`;
const schema = parsed.searchParams.get("schema") || "public";

// Error messages should not carry the URL or password, but make sure of it.
const secrets = [url, parsed.password, safeDecode(parsed.password)].filter((s) => s && s.length >= 3);
function safeDecode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
function oneLine(text) {
  let out = String(text).replace(/\s*\n\s*/g, " ").trim();
  for (const s of secrets) out = out.split(s).join("***");
  return out;
}

function localMigrations() {
  if (!existsSync(MIGRATIONS)) return [];
  return readdirSync(MIGRATIONS, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(MIGRATIONS, e.name, "migration.sql")))
    .map((e) => e.name)
    .sort();
}

function describe(err) {
  const code = err.code ?? err.errors?.[0]?.code;
  const message = err.message || err.errors?.[0]?.message || code || String(err);
  if (["ECONNREFUSED", "ENOTFOUND", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"].includes(code) || /timeout/i.test(message)) {
    return `Can't reach database server at \`${where}\` (${code ?? message})`;
  }
  if (code === "3D000") {
    return `Database \`${safeDecode(parsed.pathname.slice(1))}\` does not exist on the database server at \`${where}\``;
  }
  return message;
}

const local = localMigrations();
const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10000 });
try {
  await client.connect();
  const table = `${client.escapeIdentifier(schema)}._prisma_migrations`;
  const exists = await client.query("SELECT to_regclass($1) IS NOT NULL AS present", [table]);
  const rows = exists.rows[0].present
    ? (await client.query(`SELECT migration_name, finished_at, rolled_back_at FROM ${table} ORDER BY started_at, migration_name`)).rows
    : [];
  const failed = rows.filter((r) => r.finished_at === null && r.rolled_back_at === null).map((r) => r.migration_name);
  const applied = new Set(rows.filter((r) => r.finished_at !== null && r.rolled_back_at === null).map((r) => r.migration_name));
  const unknown = [...applied].filter((name) => !local.includes(name)).sort();
  const pending = local.filter((name) => !applied.has(name));

  for (const name of failed) console.log(`failed migration: ${name}`);
  if (failed.length) console.log(`Following migration have failed: ${failed[0]}`);
  for (const name of unknown) console.log(`applied on the database but not in prisma/migrations: ${name}`);
  if (failed.length || unknown.length) {
    process.exitCode = 1;
  } else if (pending.length) {
    console.log(`${pending.length} pending migration(s):`);
    for (const name of pending) console.log(`  ${name}`);
    if (withSql) {
      for (const name of pending) {
        const sql = readFileSync(join(MIGRATIONS, name, "migration.sql"), "utf8");
        console.log(`\n-- prisma/migrations/${name}/migration.sql`);
        process.stdout.write(sql.endsWith("\n") ? sql : `${sql}\n`);
      }
    }
    process.exitCode = 3;
  } else {
    console.log(`No pending migrations: ${applied.size} migration(s) applied`);
  }
} catch (err) {
  console.error(`error: ${oneLine(describe(err))}`);
  process.exitCode = 1;
} finally {
  await client.end().catch(() => {});
}
