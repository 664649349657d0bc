// Connection check: can the app reach DATABASE_URL and log in? Prints the server version,
// or the reason it cannot (never the URL or its password).
import pg from "pg";

const url = process.env.DATABASE_URL;
if (!url || !/^postgres(ql)?:\/\//.test(url)) {
  console.error("DATABASE_URL is not a postgresql:// URL: check the environment's secret");
  process.exit(1);
}
const { hostname, port, pathname } = new URL(url);
const where = `${hostname}:${port || 5432}`;
const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10000 });
try {
  await client.connect();
  const { rows } = await client.query("SELECT version() AS version, current_database() AS db");
  console.log(`database reachable at ${where}, database "${rows[0].db}": ${rows[0].version.split(" on ")[0]}`);
} catch (err) {
  if (["ECONNREFUSED", "ENOTFOUND", "ETIMEDOUT", "EHOSTUNREACH"].includes(err.code) || /timeout/i.test(err.message)) {
    console.error(`Can't reach database server at \`${where}\` (${err.code ?? err.message})`);
  } else if (err.code === "3D000") {
    console.error(`Database \`${pathname.slice(1)}\` does not exist on the database server at \`${where}\``);
  } else {
    console.error(`database at ${where} refused the connection: ${err.message}`);
  }
  process.exitCode = 1;
} finally {
  await client.end().catch(() => {});
}
