// Where are the app's tables? Lists, for each table of prisma/schema.prisma (and Prisma's
// _prisma_migrations), the schemas that hold a table of that name, against the schema the
// app reads: the one DATABASE_URL names (?schema=, default public). Fails when a table is
// missing there but present in another schema: the migrations ran with another
// search_path ("tables in the wrong schema", P2021 after a successful deploy).
import { readFileSync } from "node:fs";
import pg from "pg";
import { urlSchema } from "../db/schema.mjs";

const expected = urlSchema();
const prismaSchema = readFileSync(new URL("../prisma/schema.prisma", import.meta.url), "utf8");
const tables = ["_prisma_migrations"];
for (const [, model, body] of prismaSchema.matchAll(/^model\s+(\w+)\s*\{([^}]*)\}/gm)) {
  tables.push(body.match(/@@map\(\s*"([^"]+)"\s*\)/)?.[1] ?? model);
}

const client = new pg.Client({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 10000 });
await client.connect();
try {
  const { rows } = await client.query(
    `SELECT c.relname AS table, n.nspname AS schema
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND c.relname = ANY($1)
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
      ORDER BY c.relname, n.nspname`,
    [tables],
  );
  const session = await client.query(
    `SELECT current_user AS role, current_setting('search_path') AS search_path,
            to_regnamespace(quote_ident(current_user)) IS NOT NULL AS role_schema`,
  );
  const { role, search_path: searchPath, role_schema: roleSchema } = session.rows[0];
  const where = new Map(tables.map((t) => [t, []]));
  for (const r of rows) where.get(r.table).push(r.schema);

  console.log(`the app reads schema "${expected}" (DATABASE_URL ?schema=, default public)`);
  console.log(`role "${role}", default search_path: ${searchPath}${roleSchema ? ` (a schema "${role}" exists: "$user" resolves to it)` : ""}`);
  const misplaced = [];
  for (const [table, schemas] of where) {
    console.log(`  ${table}: ${schemas.length ? schemas.join(", ") : "(none)"}`);
    if (!schemas.includes(expected) && schemas.length) misplaced.push(`${table} (in ${schemas.join(", ")})`);
  }
  if (misplaced.length) {
    console.log(`tables in the wrong schema: ${misplaced.join("; ")}, not in "${expected}"`);
    process.exitCode = 1;
  } else if (rows.some((r) => r.schema === expected)) {
    const here = [...where.values()].filter((schemas) => schemas.includes(expected)).length;
    console.log(here === tables.length
      ? `the app's tables are in schema "${expected}"`
      : `${here} of the app's ${tables.length} tables are in schema "${expected}", the others exist nowhere yet (pending migrations)`);
  } else {
    console.log(`no table of the app exists yet (nothing migrated): nothing in the wrong schema`);
  }
} finally {
  await client.end();
}
