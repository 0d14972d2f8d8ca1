// Shared fixtures for the billing backend tests: each run gets its own PostgreSQL database and Redis
// key prefix (both deleted afterwards); the embedded stand-ins (PGlite, embedded store) run the same tests.
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { deleteRedisPrefix as deleteKeys, scratchDatabase, scratchPrefix } from "../../../../src/devstack/scratch.ts";
import { openDb, type Db } from "../../../../src/db/db.ts";
import { migrate } from "../../../../src/db/migrate.ts";
import { openEmbeddedMeterStore, type EmbeddedMeterStoreConfig } from "../../../../src/billing/meter-store-embedded.ts";
import { openRedisMeterStore } from "../../../../src/billing/meter-store-redis.ts";
import type { MeterStore, UsageEvent } from "../../../../src/billing/meter-store.ts";

export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
export const DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface StoreOptions {
  readonly dedupeTtlSeconds?: number;
  readonly now?: () => number;
  readonly compactBytes?: number;
}

/** One kind of metering store; `open` may be called again to simulate a restart on the same data. */
export interface StoreHarness {
  open(options?: StoreOptions): Promise<MeterStore>;
  /** Deletes the store's data (Redis keys or data folder). */
  cleanup(): Promise<void>;
  /** The embedded data folder, if any. */
  readonly dataDir: string | undefined;
}

export interface StoreKind {
  readonly name: string;
  /** Whether the data survives close + open. */
  readonly durable: boolean;
  /** A fresh, empty store namespace. */
  create(): StoreHarness;
}

/** Deletes every Redis key under a prefix. */
export const deleteRedisPrefix = (prefix: string): Promise<number> => deleteKeys(REDIS_URL, prefix);

const embedded = (dataDir: string | undefined): StoreHarness => ({
  dataDir,
  open: (options: StoreOptions = {}) => openEmbeddedMeterStore({ dataDir, ...options } satisfies EmbeddedMeterStoreConfig),
  cleanup: async () => {
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  },
});

export const STORE_KINDS: readonly StoreKind[] = [
  {
    name: "redis",
    durable: true,
    create(): StoreHarness {
      const prefix = scratchPrefix("cxpt:test");
      return {
        dataDir: undefined,
        open: (options: StoreOptions = {}) =>
          openRedisMeterStore({ url: REDIS_URL, prefix, dedupeTtlSeconds: options.dedupeTtlSeconds }),
        cleanup: async () => void (await deleteRedisPrefix(prefix)),
      };
    },
  },
  {
    name: "embedded (journal)",
    durable: true,
    create: () => embedded(fs.mkdtempSync(path.join(os.tmpdir(), "cxpt-meter-"))),
  },
  { name: "embedded (memory)", durable: false, create: () => embedded(undefined) },
];

export type Engine = "postgres" | "pglite";
export const ENGINES: readonly Engine[] = ["postgres", "pglite"];

export interface TestDb {
  readonly db: Db;
  drop(): Promise<void>;
}

/** A migrated database: a fresh `cxpt_test_<random>` on the server, or PGlite in memory. */
export async function openTestDb(engine: Engine): Promise<TestDb> {
  if (engine === "pglite") {
    const db = await openDb({ dataDir: undefined });
    await migrate(db);
    return { db, drop: () => db.close() };
  }
  const scratch = await scratchDatabase(DATABASE_URL, "cxpt_test");
  const db = await openDb({ url: scratch.url });
  await migrate(db);
  return {
    db,
    async drop() {
      await db.close();
      await scratch.drop();
    },
  };
}

export interface AccountFields {
  readonly creditsWei?: bigint;
  readonly legacyCreditsAusd?: bigint;
  readonly legacyDebtAusd?: bigint;
  readonly bucketRemaining?: bigint;
  readonly subscriptionEnd?: Date | null;
  readonly wallet?: string | null;
}

/** Inserts a user account; returns its id. */
export async function createAccount(db: Db, fields: AccountFields = {}): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `insert into accounts (kind, credits_wei, legacy_credits_ausd, legacy_debt_ausd, bucket_remaining, subscription_end, wallet)
     values ('user', $1, $2, $3, $4, $5, $6) returning id`,
    [
      fields.creditsWei ?? 0n,
      fields.legacyCreditsAusd ?? 0n,
      fields.legacyDebtAusd ?? 0n,
      fields.bucketRemaining ?? 0n,
      fields.subscriptionEnd?.toISOString() ?? null,
      fields.wallet ?? null,
    ],
  );
  return rows[0].id;
}

export interface AccountBalances {
  readonly creditsWei: bigint;
  readonly legacyCreditsAusd: bigint;
  readonly legacyDebtAusd: bigint;
  readonly bucketRemaining: bigint;
}

export async function balancesOf(db: Db, accountId: string): Promise<AccountBalances> {
  const { rows } = await db.query<Record<string, string>>(
    "select credits_wei, legacy_credits_ausd, legacy_debt_ausd, bucket_remaining from accounts where id = $1",
    [accountId],
  );
  const r = rows[0];
  return {
    creditsWei: BigInt(r.credits_wei),
    legacyCreditsAusd: BigInt(r.legacy_credits_ausd),
    legacyDebtAusd: BigInt(r.legacy_debt_ausd),
    bucketRemaining: BigInt(r.bucket_remaining),
  };
}

export interface EventRow {
  readonly requestId: string;
  readonly accountId: string;
  readonly billedIn: string;
  readonly costWei: bigint;
  readonly costAusd: bigint;
  readonly bucketTokens: bigint;
  readonly creditsWei: bigint;
  readonly paygWei: bigint;
  readonly legacyAusd: bigint;
  readonly legacyDebtAusd: bigint;
}

export async function eventRows(db: Db): Promise<EventRow[]> {
  const { rows } = await db.query<Record<string, string>>(
    `select request_id, account_id, billed_in, cost_wei, cost_ausd, bucket_tokens, credits_wei, payg_wei,
            legacy_ausd, legacy_debt_ausd from usage_events order by recorded_at, request_id`,
  );
  return rows.map((r) => ({
    requestId: r.request_id,
    accountId: r.account_id,
    billedIn: r.billed_in,
    costWei: BigInt(r.cost_wei),
    costAusd: BigInt(r.cost_ausd),
    bucketTokens: BigInt(r.bucket_tokens),
    creditsWei: BigInt(r.credits_wei),
    paygWei: BigInt(r.payg_wei),
    legacyAusd: BigInt(r.legacy_ausd),
    legacyDebtAusd: BigInt(r.legacy_debt_ausd),
  }));
}

/** A CXPT usage event with defaults, for store and drain tests. */
export function usageEvent(fields: Partial<UsageEvent> = {}): UsageEvent {
  return {
    requestId: randomUUID(),
    accountId: randomUUID(),
    endpoint: "/v1/chat/completions",
    service: "chat",
    unitsIn: 100,
    unitsOut: 50,
    tokens: 150,
    costAusd: 30_000_000_000_000n,
    costWei: 300_000_000_000_000n,
    billedIn: "cxpt",
    recordedAt: 1_750_000_000_000,
    ...fields,
  };
}

/** Wraps a store, counting record calls and optionally failing acks (to simulate a crash after commit). */
export function instrument(store: MeterStore): MeterStore & { recordCalls: number[]; failAcks: boolean } {
  const wrapped = {
    recordCalls: [] as number[],
    failAcks: false,
    record(events: readonly UsageEvent[]) {
      wrapped.recordCalls.push(events.length);
      return store.record(events);
    },
    hold: (request: Parameters<MeterStore["hold"]>[0]) => store.hold(request),
    release: (accountId: string, requestId: string) => store.release(accountId, requestId),
    putBudget: (...args: Parameters<MeterStore["putBudget"]>) => store.putBudget(...args),
    invalidate: (accountId: string) => store.invalidate(accountId),
    putKeyBudget: (...args: Parameters<MeterStore["putKeyBudget"]>) => store.putKeyBudget(...args),
    invalidateKey: (keyId: string) => store.invalidateKey(keyId),
    usage: (accountId: string) => store.usage(accountId),
    pull: (max: number) => store.pull(max),
    async ack(ids: readonly string[]) {
      if (wrapped.failAcks) throw new Error("simulated crash before ack");
      return store.ack(ids);
    },
    close: () => store.close(),
  };
  return wrapped;
}
