// The served-work recorder (ServedWorkRecorder, ./router.ts): the gateway records every request a
// node served; the recorder adds them up in memory per provider, node, tier and UTC hour and writes
// the sums to provider_served every PROVIDER_SERVED_FLUSH_MS in one statement (adding to what is
// stored), so the request path never waits on PostgreSQL. A failed write keeps the sums for the
// next one. What a crash loses is at most one flush interval of statistics (never money: billing
// is metered separately).
//
// Periods: a row's period starts at its hour, or at the latest rewards cutoff (reward_cutoffs, the
// end of the window each rewards run computes, src/jobs/rewards.ts) when that is later. The cutoff
// is read in the same statement, and a rewards run takes an exclusive lock on provider_served while
// it writes its cutoff, so every write lands wholly before the cutoff (and in that run's window) or
// wholly after it (in the next window): served work is never counted in two windows, nor lost.
import type { Db, Queryable } from "../db/db.ts";
import type { Logger } from "../monitoring/index.ts";
import type { ServedRequest, ServedWorkRecorder, Tier } from "./router.ts";

const HOUR_MS = 3_600_000;

interface Sums {
  readonly providerAccountId: string;
  readonly nodeId: string;
  readonly tier: Tier;
  readonly hour: number;
  requests: number;
  tokens: number;
  latencySumMs: number;
}

export interface Recorder extends ServedWorkRecorder {
  /** Stops the timer after a last flush. */
  close(): Promise<void>;
}

/** Adds `sums` to provider_served in one statement. */
async function write(db: Queryable, sums: readonly Sums[]): Promise<void> {
  await db.query(
    `insert into provider_served as s (provider_account_id, node_id, tier, period_start, requests, tokens, latency_sum_ms)
     select p, n, t, greatest(h, coalesce((select max(at) from reward_cutoffs), h)) as period, sum(r), sum(k), sum(l)
       from unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::bigint[], $6::bigint[], $7::bigint[]) as x(p, n, t, h, r, k, l)
      group by p, n, t, period
     on conflict (provider_account_id, node_id, tier, period_start) do update
        set requests = s.requests + excluded.requests, tokens = s.tokens + excluded.tokens, latency_sum_ms = s.latency_sum_ms + excluded.latency_sum_ms`,
    [
      sums.map((s) => s.providerAccountId),
      sums.map((s) => s.nodeId),
      sums.map((s) => s.tier),
      sums.map((s) => new Date(s.hour).toISOString()),
      sums.map((s) => s.requests),
      sums.map((s) => s.tokens),
      sums.map((s) => Math.round(s.latencySumMs)),
    ],
  );
}

export function createServedRecorder(db: Queryable, options: { readonly flushEveryMs: number; readonly log: Logger }): Recorder {
  let pending = new Map<string, Sums>();
  let writing: Promise<void> = Promise.resolve();

  const add = (into: Map<string, Sums>, s: Sums) => {
    const key = `${s.providerAccountId}|${s.nodeId}|${s.tier}|${s.hour}`;
    const known = into.get(key);
    if (known === undefined) into.set(key, { ...s });
    else {
      known.requests += s.requests;
      known.tokens += s.tokens;
      known.latencySumMs += s.latencySumMs;
    }
  };

  /** Writes what is pending after the write under way; a failure puts the sums back for the next flush. */
  const flush = (): Promise<void> => {
    const next = writing.then(async () => {
      if (pending.size === 0) return;
      const batch = pending;
      pending = new Map();
      try {
        await write(db, [...batch.values()]);
      } catch (error) {
        for (const s of batch.values()) add(pending, s);
        throw error;
      }
    });
    writing = next.catch(() => {});
    return next;
  };

  const timer = setInterval(
    () => void flush().catch((error) => options.log.warn({ component: "providers", err: String(error) }, "served work not written yet; retrying")),
    options.flushEveryMs,
  );
  timer.unref();

  return {
    record(served: ServedRequest) {
      try {
        add(pending, {
          providerAccountId: served.providerAccountId,
          nodeId: served.nodeId,
          tier: served.tier,
          hour: Math.floor(served.at / HOUR_MS) * HOUR_MS,
          requests: 1,
          tokens: Math.max(0, Math.floor(served.tokens)),
          latencySumMs: Math.max(0, served.latencyMs),
        });
      } catch (error) {
        options.log.error({ component: "providers", err: String(error) }, "served request not recorded");
      }
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}

/**
 * Closes served work at `at` for a rewards window ending there: waits for writes under way, then
 * records the cutoff, so later writes go to periods starting at `at` or later.
 */
export async function cutServedWork(db: Db, at: Date): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query("lock table provider_served in exclusive mode");
    await tx.query("insert into reward_cutoffs (at) values ($1) on conflict do nothing", [at.toISOString()]);
  });
}
