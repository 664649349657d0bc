// The schema the app's tables live in: the one DATABASE_URL names with `?schema=`
// (Prisma's convention), `public` when it names none. The adapter pins every connection
// to it; the scripts that read Prisma's tables qualify them with it.
import pg from "pg";

export function urlSchema(connectionString = process.env.DATABASE_URL) {
  let schema = null;
  try {
    schema = new URL(connectionString).searchParams.get("schema");
  } catch {
    // not a URL (pg also takes key=value strings): no ?schema=
  }
  return schema || "public";
}

/** The statement that pins a session to `schema`: unqualified names (a migration's DDL,
 * `_prisma_migrations`) then resolve there and nowhere else. */
export function searchPathSql(schema) {
  return `SET search_path TO ${pg.escapeIdentifier(schema)}`;
}

/** `"<schema>"."<table>"`, for SQL that must not depend on the session's search_path. */
export function qualified(table, schema = urlSchema()) {
  return `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)}`;
}
