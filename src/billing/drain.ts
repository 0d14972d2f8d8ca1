// The drain moves metered events from the store into PostgreSQL, the system of record. Each pulled
// batch is ONE transaction: the events are inserted keyed by request id (a re-delivered event is a
// no-op, so a crash between commit and ack charges once) and each new event's charge is split over
// the account in the one draw order of ./funds.ts: subscription bucket first, then credits, then PAYG
// (left for on-chain settlement by UsageBilling) — or, for legacy billing, legacy credits and then
// legacy debt. With COUNTER_STORE=dynamodb the batch's bucket tokens are then counted there
// (./bucket-count.ts). Only after that are the events acknowledged in the store, which takes them off
// the accounts' undrained tallies into their budgets in the same step.
import type { CounterStore } from "../counters/counters.ts";
import type { Db, Queryable } from "../db/db.ts";
import { countBucketUsage } from "./bucket-count.ts";
import { splitCharge, type Funds, type Split } from "./funds.ts";
import type { Meter } from "./meter.ts";
import type { MeterStore, UsageEvent } from "./meter-store.ts";

export interface DrainConfig {
  readonly store: MeterStore;
  readonly db: Db;
  /** The counter store the bucket tokens are counted in (COUNTER_STORE=dynamodb); none: usage_events only. */
  readonly counters?: CounterStore;
  /** Most events per transaction; default 1000. */
  readonly max?: number;
}

export interface DrainResult {
  /** Newly inserted (and charged) events. */
  readonly drained: number;
  /** Events already in PostgreSQL (re-delivered after a crash), or repeated in the batch. */
  readonly duplicates: number;
  /** Events of accounts that do not exist (deleted): acknowledged and dropped, never charged. */
  readonly orphaned: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type FundsRow = {
  id: string;
  credits_wei: string;
  legacy_credits_ausd: string;
  bucket_remaining: string;
  subscription_end: Date | string | null;
};

/** Drains one batch (at most `max` events) from the store into PostgreSQL. */
export async function drainOnce(config: DrainConfig): Promise<DrainResult> {
  const { store, db, counters, max = 1000 } = config;
  const batch = await store.pull(max);
  if (batch.ids.length === 0) return { drained: 0, duplicates: 0, orphaned: 0 };
  const { inserted, orphaned } = await db.transaction((tx) => chargeBatch(tx, batch.events));
  if (counters !== undefined) await countBucketUsage(db, counters, batch.events.map((e) => e.requestId));
  await store.ack(batch.ids);
  return { drained: inserted.length, duplicates: batch.ids.length - inserted.length - orphaned, orphaned };
}

async function chargeBatch(tx: Queryable, events: readonly UsageEvent[]): Promise<{ inserted: UsageEvent[]; orphaned: number }> {
  // Lock the accounts (in id order: concurrent drains cannot deadlock), then see what is already in.
  const accountIds = [...new Set(events.map((e) => e.accountId.toLowerCase()).filter((id) => UUID.test(id)))].sort();
  const { rows: accountRows } = await tx.query<FundsRow>(
    `select id, credits_wei, legacy_credits_ausd, bucket_remaining, subscription_end
       from accounts where id = any($1::uuid[]) order by id for update`,
    [accountIds],
  );
  const { rows: existingRows } = await tx.query<{ request_id: string }>(
    "select request_id from usage_events where request_id = any($1::text[])",
    [textArray(events.map((e) => e.requestId))],
  );
  const funds = new Map<string, Funds>(
    accountRows.map((r) => [
      r.id,
      {
        creditsWei: BigInt(r.credits_wei),
        legacyCreditsAusd: BigInt(r.legacy_credits_ausd),
        bucketRemaining: BigInt(r.bucket_remaining),
        subscriptionEnd: r.subscription_end === null ? null : new Date(r.subscription_end).getTime(),
      },
    ]),
  );
  const initial = new Map(funds);
  const debts = new Map<string, bigint>();
  const seen = new Set(existingRows.map((r) => r.request_id));
  const inserted: UsageEvent[] = [];
  const splits: Split[] = [];
  let orphaned = 0;
  for (const event of events) {
    if (seen.has(event.requestId)) continue;
    seen.add(event.requestId);
    const accountId = event.accountId.toLowerCase();
    const before = funds.get(accountId);
    if (before === undefined) {
      orphaned++;
      continue;
    }
    const { split, rest } = splitCharge(before, event);
    funds.set(accountId, rest);
    debts.set(accountId, (debts.get(accountId) ?? 0n) + split.legacyDebtAusd);
    inserted.push(event);
    splits.push(split);
  }
  if (inserted.length === 0) return { inserted, orphaned };

  // Array literals built here: pg's generic array serializer costs more than the rest of the batch.
  const column = (pick: (e: UsageEvent, s: Split) => string | number | bigint) => plainArray(inserted.map((e, i) => pick(e, splits[i])));
  const text = (pick: (e: UsageEvent) => string) => textArray(inserted.map(pick));
  const { rows: insertedRows } = await tx.query(
    `insert into usage_events (request_id, account_id, endpoint, service, units_in, units_out, cost_ausd, cost_wei,
                               billed_in, bucket_tokens, credits_wei, payg_wei, legacy_ausd, legacy_debt_ausd, recorded_at,
                               api_key_id, model)
     select * from unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::numeric[],
                          $8::numeric[], $9::text[], $10::numeric[], $11::numeric[], $12::numeric[], $13::numeric[],
                          $14::numeric[], $15::timestamptz[], $16::uuid[], $17::text[])
     on conflict (request_id) do nothing
     returning request_id`,
    [
      text((e) => e.requestId),
      column((e) => e.accountId.toLowerCase()), // a UUID: it matched an account row
      text((e) => e.endpoint),
      text((e) => e.service),
      column((e) => e.unitsIn),
      column((e) => e.unitsOut),
      column((e) => e.costAusd),
      column((e) => e.costWei),
      column((e) => e.billedIn),
      column((_, s) => s.bucketTokens),
      column((_, s) => s.creditsWei),
      column((_, s) => s.paygWei),
      column((_, s) => s.legacyAusd),
      column((_, s) => s.legacyDebtAusd),
      column((e) => new Date(e.recordedAt).toISOString()),
      nullableArray(inserted.map((e) => e.apiKeyId)),
      nullableArray(inserted.map((e) => e.model)),
    ],
  );
  // The account locks make this impossible; if it ever happens, roll back rather than mis-charge.
  if (insertedRows.length !== inserted.length) throw new Error("usage events were inserted concurrently; batch rolled back");

  const changed = [...funds].filter(([id, rest]) => rest !== initial.get(id));
  const delta = (pick: (f: Funds) => bigint) => changed.map(([id, rest]) => (pick(initial.get(id) as Funds) - pick(rest)).toString());
  await tx.query(
    `update accounts a
        set bucket_remaining = a.bucket_remaining - v.bucket,
            credits_wei = a.credits_wei - v.credits,
            legacy_credits_ausd = a.legacy_credits_ausd - v.legacy,
            legacy_debt_ausd = a.legacy_debt_ausd + v.debt
       from unnest($1::uuid[], $2::numeric[], $3::numeric[], $4::numeric[], $5::numeric[]) as v(id, bucket, credits, legacy, debt)
      where a.id = v.id`,
    [
      changed.map(([id]) => id),
      delta((f) => f.bucketRemaining),
      delta((f) => f.creditsWei),
      delta((f) => f.legacyCreditsAusd),
      changed.map(([id]) => (debts.get(id) ?? 0n).toString()),
    ],
  );
  return { inserted, orphaned };
}

/** A PostgreSQL array literal of arbitrary strings, each quoted and escaped. */
function textArray(values: readonly string[]): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) out += (i ? ',"' : '"') + values[i].replace(/[\\"]/g, "\\$&") + '"';
  return out + "}";
}

/** A PostgreSQL array literal of optional strings (NULL where absent), each quoted and escaped. */
function nullableArray(values: readonly (string | undefined)[]): string {
  return `{${values.map((v) => (v === undefined ? "NULL" : `"${v.replace(/[\\"]/g, "\\$&")}"`)).join(",")}}`;
}

/** A PostgreSQL array literal of values that need no quoting: numbers, UUIDs, ISO timestamps, fixed words. */
const plainArray = (values: readonly (string | number | bigint)[]): string => `{${values.join(",")}}`;

export interface DrainLoopConfig extends DrainConfig {
  readonly intervalMs: number;
  /** The meter is flushed before the final drain on stop. */
  readonly meter?: Pick<Meter, "flush">;
  /** Called with each failed round (the next round retries). */
  readonly onError?: (error: unknown) => void;
}

export interface DrainLoop {
  /** Stops the loop after flushing the meter and draining everything left (graceful shutdown). */
  stop(): Promise<void>;
}

/** Drains every `intervalMs`, in full batches back to back while there is a backlog. */
export function startDrainLoop(config: DrainLoopConfig): DrainLoop {
  const { intervalMs, max = 1000, onError = () => {} } = config;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function drainAll(): Promise<void> {
    for (;;) {
      const { drained, duplicates, orphaned } = await drainOnce(config);
      if (drained + duplicates + orphaned < max) return;
    }
  }

  function round(): void {
    running = drainAll()
      .catch(onError)
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(round, intervalMs);
      });
  }
  timer = setTimeout(round, intervalMs);

  return {
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
      await config.meter?.flush();
      await drainAll();
    },
  };
}
