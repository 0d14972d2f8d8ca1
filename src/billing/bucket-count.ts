// The drain's last step before acknowledging a batch, with COUNTER_STORE=dynamodb: the bucket tokens
// of the batch's usage (as PostgreSQL holds it after the commit, new and re-delivered events alike)
// are counted in the counter store, once per request id, and only then is each account-day counted
// marked due in bucket_days_due (its version bumped) for the reconciliation
// (src/subscriptions/bucket-usage.ts). A crash anywhere before the acknowledgement re-delivers the
// batch, and the redrain counts nothing twice and bumps the days again. With COUNTER_STORE=postgres
// usage_events is the bucket ledger and nothing is counted here.
import type { CounterStore } from "../counters/counters.ts";
import type { Queryable } from "../db/db.ts";

/** Increments in flight at once (under the AWS SDK's 50 sockets). */
const PARALLEL = 32;

/** The counter store's request id of a usage event's bucket tokens (the event's id is account-scoped). */
const bucketCountId = (requestId: string): string => `bucket:${requestId}`;

/** Counts the bucket tokens of the drained events `requestIds` in `counters`; returns how many counted anew. */
export async function countBucketUsage(db: Queryable, counters: CounterStore, requestIds: readonly string[]): Promise<number> {
  if (counters.kind === "postgres" || requestIds.length === 0) return 0;
  const { rows } = await db.query<{ request_id: string; account_id: string; bucket_tokens: string; recorded_at: Date | string }>(
    "select request_id, account_id::text, bucket_tokens::text, recorded_at from usage_events where request_id = any($1::text[]) and bucket_tokens > 0",
    [requestIds],
  );
  if (rows.length === 0) return 0;
  // The day is the event's own (recorded_at), so a redrain on another day hits the same counter.
  const count = (r: (typeof rows)[number]) =>
    counters.countBucket(bucketCountId(r.request_id), { accountId: r.account_id, at: new Date(r.recorded_at), tokens: BigInt(r.bucket_tokens) });
  const counted: boolean[] = [];
  for (let i = 0; i < rows.length; i += PARALLEL) counted.push(...(await Promise.all(rows.slice(i, i + PARALLEL).map(count))));
  await db.query(
    `insert into bucket_days_due (account_id, day)
     select distinct account_id, (recorded_at at time zone 'UTC')::date from usage_events where request_id = any($1::text[]) and bucket_tokens > 0
     order by 1, 2
     on conflict (account_id, day) do update set version = bucket_days_due.version + 1`,
    [rows.map((r) => r.request_id)],
  );
  return counted.filter(Boolean).length;
}
