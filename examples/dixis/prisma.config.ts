// Prisma 6.19 offline configuration: the JavaScript schema engine over a driver adapter,
// so `validate`, `generate`, `migrate deploy`, `migrate status` and `migrate diff` need no
// engine binary download. (PRISMA_SCHEMA_ENGINE_BINARY and PRISMA_QUERY_ENGINE_LIBRARY must
// still name an existing file; the runbooks set them.)
import path from "node:path";
import { defineConfig } from "prisma/config";
import { createAdapter } from "./db/adapter.mjs";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join("prisma", "schema.prisma"),
  migrations: { path: path.join("prisma", "migrations") },
  async adapter() {
    return createAdapter();
  },
});
