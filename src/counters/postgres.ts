// The counters in PostgreSQL (COUNTER_STORE=postgres, the default). A request id is claimed in
// counter_requests and its increment applied in the same transaction, so it counts exactly once.
// Served requests add to provider_requests, the table the rewards epoch already reads.
import type { Db, Queryable } from "../db/db.ts";
import { checkRequestId, dayOf, hourOf, type CounterStore, type CounterWindow, type ServedCount } from "./counters.ts";

export function postgresCounters(db: Db): CounterStore {
  /** Runs `apply` once per (kind, request id), in the claim's transaction; false when claimed before. */
  const once = (kind: "served" | "bucket", requestId: string, apply: (tx: Queryable) => Promise<unknown>) =>
    db.transaction(async (tx) => {
      const { rows } = await tx.query("insert into counter_requests (kind, request_id) values ($1, $2) on conflict do nothing returning 1 as claimed", [kind, checkRequestId(requestId)]);
      if (rows.length === 0) return false;
      await apply(tx);
      return true;
    });

  return {
    kind: "postgres",
    countServed: (requestId, { providerAccountId, tier, at }) =>
      once("served", requestId, (tx) =>
        tx.query(
          `insert into provider_requests (provider_account_id, tier, hour, requests) values ($1, $2, $3, 1)
           on conflict (provider_account_id, tier, hour) do update set requests = provider_requests.requests + 1`,
          [providerAccountId, tier, hourOf(at).toISOString()],
        ),
      ),
    async served({ from, to }: CounterWindow): Promise<ServedCount[]> {
      const { rows } = await db.query<{ provider_account_id: string; tier: string; hour: Date | string; requests: string }>(
        `select provider_account_id::text, tier, hour, requests::text from provider_requests
          where hour >= $1 and hour < $2 and requests > 0 order by hour, provider_account_id, tier`,
        [from.toISOString(), to.toISOString()],
      );
      return rows.map((r) => ({ providerAccountId: r.provider_account_id, tier: r.tier, hour: new Date(r.hour), requests: BigInt(r.requests) }));
    },
    async countBucket(requestId, { accountId, at, tokens }) {
      if (tokens < 0n) throw new RangeError(`bucket tokens must not be negative, got ${tokens}`);
      return once("bucket", requestId, (tx) =>
        tx.query(
          `insert into bucket_counters (account_id, day, tokens) values ($1, $2, $3)
           on conflict (account_id, day) do update set tokens = bucket_counters.tokens + excluded.tokens`,
          [accountId, dayOf(at).toISOString().slice(0, 10), tokens.toString()],
        ),
      );
    },
    async bucketTokens(accountId, { from, to }) {
      const { rows } = await db.query<{ total: string }>(
        `select coalesce(sum(tokens), 0)::text as total from bucket_counters
          where account_id = $1 and (day::timestamp at time zone 'UTC') >= $2::timestamptz and (day::timestamp at time zone 'UTC') < $3::timestamptz`,
        [accountId, from.toISOString(), to.toISOString()],
      );
      return BigInt(rows[0]!.total);
    },
    close: async () => {},
  };
}
