// The driver adapter shared by prisma.config.ts (migrate, status) and the app (smoke check).
// No engine binary is needed: Prisma talks to PostgreSQL through node-postgres.
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { searchPathSql, urlSchema } from "./schema.mjs";

const NAME_OID = 19;
const TEXT_OID = 25;

// prisma/orm#27403: columns of type `name` (OID 19), which PostgreSQL catalogs return,
// "could not be deserialized"; report them as `text`, which they are compatible with.
function nameAsText(result) {
  for (const r of Array.isArray(result) ? result : [result]) {
    for (const field of r?.fields ?? []) {
      if (field.dataTypeID === NAME_OID) field.dataTypeID = TEXT_OID;
    }
  }
  return result;
}

export class NameAsTextClient extends pg.Client {
  // Called both promise-style (the app) and callback-style (Prisma's schema engine).
  query(...args) {
    const last = args.length - 1;
    if (typeof args[last] === "function") {
      const callback = args[last];
      args[last] = (err, result) => callback(err, err ? result : nameAsText(result));
      return super.query(...args);
    }
    const result = super.query(...args);
    return result && typeof result.then === "function" ? result.then(nameAsText) : result;
  }
}

export function createAdapter(connectionString = process.env.DATABASE_URL) {
  if (!connectionString) {
    throw new Error("DATABASE_URL is not set: export it (the runbooks set it from the environment's secret)");
  }
  // Pin every connection to the URL's schema. PostgreSQL's default search_path is
  // `"$user", public`: where a schema is named like the login role (a role `ops` and a
  // schema `ops`), unqualified DDL would land there, while the client reads
  // `public.<table>` — migrate deploy and status succeed and the app fails with P2021.
  // `onConnect` runs (and is awaited) on each new connection before the pool hands it
  // out, also on the pools Prisma makes from this one's options (a shadow database).
  const schema = urlSchema(connectionString);
  const pin = searchPathSql(schema);
  const pool = new pg.Pool({
    connectionString,
    Client: NameAsTextClient,
    max: 2,
    allowExitOnIdle: true,
    onConnect: (client) => client.query(pin),
  });
  // `schema`: the client qualifies its queries with it (`"<schema>"."producers"`).
  return new PrismaPg(pool, { schema, disposeExternalPool: true });
}
