// Versioned schema migrations: src/db/migrations/NNNN_name.sql, applied in order, each in its own
// transaction and recorded in schema_migrations, so a start after a crash resumes where it stopped.
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Db } from "./db.ts";

const MIGRATIONS_DIR = fileURLToPath(new URL("./migrations/", import.meta.url));

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: await readFile(dir + file, "utf8"),
    })),
  );
}

/** Applies every migration newer than the database; returns the versions applied. */
export async function migrate(db: Db, migrations?: readonly Migration[]): Promise<number[]> {
  const all = migrations ?? (await loadMigrations());
  await db.query(
    `create table if not exists schema_migrations (
       version integer primary key, name text not null, applied_at timestamptz not null default now())`,
  );
  // One migrator at a time when several API instances start against the same server.
  const lock = db.engine === "postgres" ? "select pg_advisory_xact_lock(7262617)" : "select 1";
  const applied: number[] = [];
  for (const migration of all) {
    const ran = await db.transaction(async (tx) => {
      await tx.query(lock);
      const { rows } = await tx.query("select 1 from schema_migrations where version = $1", [migration.version]);
      if (rows.length > 0) return false;
      await tx.exec(migration.sql);
      await tx.query("insert into schema_migrations (version, name) values ($1, $2)", [migration.version, migration.name]);
      return true;
    });
    if (ran) applied.push(migration.version);
  }
  return applied;
}
