// One small interface over both PostgreSQL engines: node-postgres against a real server
// (DATABASE_URL) and PGlite, the embedded WASM build, for zero-setup runs. Stores use only this.
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";

export type Row = Record<string, unknown>;

export interface Queryable {
  query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<{ rows: T[] }>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly engine: "postgres" | "pglite";
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export type DbConfig = { readonly url: string } | { readonly dataDir: string | undefined };

/** node-postgres returns NUMERIC and int8 as strings; bigint parameters need turning into text. */
const toParams = (params: readonly unknown[] = []): unknown[] =>
  params.map((p) => (typeof p === "bigint" ? p.toString() : p));

export async function openDb(config: DbConfig): Promise<Db> {
  return "url" in config ? openPostgres(config.url) : openPglite(config.dataDir);
}

async function openPostgres(url: string): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on("error", () => {}); // an idle client's lost connection is reported on its next query
  await pool.query("select 1");
  return {
    engine: "postgres",
    query: async <T extends Row>(text: string, params?: readonly unknown[]) =>
      pool.query(text, toParams(params)) as unknown as Promise<{ rows: T[] }>,
    exec: async (sql: string) => void (await pool.query(sql)),
    async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query("begin");
        const tx: Queryable = {
          query: async <R extends Row>(text: string, params?: readonly unknown[]) =>
            client.query(text, toParams(params)) as unknown as Promise<{ rows: R[] }>,
          exec: async (sql: string) => void (await client.query(sql)),
        };
        const result = await work(tx);
        await client.query("commit");
        return result;
      } catch (error) {
        await client.query("rollback").catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

async function openPglite(dataDir: string | undefined): Promise<Db> {
  // PGlite is one connection: its transaction() queues other queries until the transaction ends.
  const lite = await PGlite.create(dataDir ? { dataDir } : {});
  const query = async <T extends Row>(text: string, params?: readonly unknown[]) =>
    lite.query<T>(text, toParams(params)) as Promise<{ rows: T[] }>;
  return {
    engine: "pglite",
    query,
    exec: async (sql: string) => void (await lite.exec(sql)),
    transaction: <T>(work: (tx: Queryable) => Promise<T>) =>
      lite.transaction((t) =>
        work({
          query: async <R extends Row>(text: string, params?: readonly unknown[]) =>
            t.query<R>(text, toParams(params)) as Promise<{ rows: R[] }>,
          exec: async (sql: string) => void (await t.exec(sql)),
        }),
      ),
    close: () => lite.close(),
  };
}
