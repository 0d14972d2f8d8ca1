// Where the bucket checkpoints (./reconcile.ts) find the metered bucket usage not yet consumed on
// chain, and how they mark it. Two sources, by the counter store:
//
// - COUNTER_STORE=postgres (the default): the ledger itself. Each usage_events row carries its bucket
//   tokens and its own marks (migration 0009): `bucket_checkpoint` (claimed by a checkpoint) and
//   `bucket_checkpointed_at` (consumed on chain). Not settled_at: that is PAYG's mark, stamped when
//   settlement collects an event's PAYG part, while its bucket tokens may still be owed to the chain.
// - COUNTER_STORE=dynamodb: the counter store's bucket tokens per account and UTC day (the drain
//   counts them there once per request id, ../billing/bucket-count.ts). What checkpoints claimed of
//   each day is kept in PostgreSQL (bucket_checkpoint_days, migration 0021), which therefore stays the
//   source of truth for what was consumed on chain: a day's free tokens are its counter less what its
//   intended, sent or done checkpoints claim. Only days in bucket_days_due are read: the drain bumps a
//   day there after each count, and a day leaves it only once everything counted is claimed and no
//   count came since it was read (see the migration), so no count is ever missed or claimed twice,
//   whatever crashes between counting and checkpointing.
import type { Address } from "viem";
import { DAY_MS, type CounterStore } from "../counters/counters.ts";
import type { Queryable } from "../db/db.ts";

/** The usage_events condition of bucket tokens not yet consumed on chain (the ledger source). */
export const UNCHECKPOINTED_BUCKET = "bucket_tokens > 0 and bucket_checkpointed_at is null";

export interface BucketUsage {
  /** Accounts with a wallet holding bucket usage that no checkpoint claims yet. */
  dueAccounts(db: Queryable): Promise<{ accountId: string; wallet: Address }[]>;
  /**
   * Claims the account's bucket usage that no checkpoint claims yet for the checkpoint `open(tokens)`
   * records (called only with tokens > 0; it answers the checkpoint's id, or undefined when it records
   * none). Runs in `tx`, which holds the account's row lock.
   */
  claim(tx: Queryable, accountId: string, open: (tokens: bigint) => Promise<string | undefined>): Promise<void>;
  /** Bucket tokens of the account's metered usage not yet consumed on chain (claimed or not). */
  unconsumed(db: Queryable, accountId: string): Promise<bigint>;
  /** The checkpoint landed on chain: its usage is consumed. */
  consumed(tx: Queryable, checkpointId: string): Promise<void>;
  /** The checkpoint did not land: its usage is free for the next one. */
  released(tx: Queryable, checkpointId: string): Promise<void>;
}

/** The bucket usage source of the counter store in use (see the file comment). */
export const bucketUsageOf = (counters: CounterStore): BucketUsage => (counters.kind === "postgres" ? LEDGER : counterUsage(counters));

const sumOf = async (db: Queryable, sql: string, params: unknown[]): Promise<bigint> =>
  BigInt((await db.query<{ total: string }>(sql, params)).rows[0]!.total);

const LEDGER: BucketUsage = {
  async dueAccounts(db) {
    const { rows } = await db.query<{ account_id: string; wallet: Address }>(
      `select distinct u.account_id, a.wallet from usage_events u join accounts a on a.id = u.account_id
        where u.${UNCHECKPOINTED_BUCKET} and u.bucket_checkpoint is null and a.wallet is not null`,
    );
    return rows.map((r) => ({ accountId: r.account_id, wallet: r.wallet }));
  },
  async claim(tx, accountId, open) {
    const free = `account_id = $1 and ${UNCHECKPOINTED_BUCKET} and bucket_checkpoint is null`;
    // The drain charges the account under the lock `tx` holds: the sum and the rows claimed agree.
    const tokens = await sumOf(tx, `select coalesce(sum(bucket_tokens), 0)::text as total from usage_events where ${free}`, [accountId]);
    const id = tokens > 0n ? await open(tokens) : undefined;
    if (id !== undefined) await tx.query(`update usage_events set bucket_checkpoint = $2 where ${free}`, [accountId, id]);
  },
  unconsumed: (db, accountId) =>
    sumOf(db, `select coalesce(sum(bucket_tokens), 0)::text as total from usage_events where account_id = $1 and ${UNCHECKPOINTED_BUCKET}`, [accountId]),
  async consumed(tx, checkpointId) {
    await tx.query("update usage_events set bucket_checkpointed_at = now() where bucket_checkpoint = $1", [checkpointId]);
  },
  async released(tx, checkpointId) {
    await tx.query("update usage_events set bucket_checkpoint = null where bucket_checkpoint = $1", [checkpointId]);
  },
};

type DueDay = { readonly day: string; readonly version: string; readonly free: bigint };

function counterUsage(counters: CounterStore): BucketUsage {
  /** The account's due days, each with its tokens counted and not claimed by a live checkpoint. */
  async function dueDays(db: Queryable, accountId: string): Promise<DueDay[]> {
    // The versions are read before the counters: a count after this read bumps the version after it.
    const { rows: due } = await db.query<{ day: string; version: string }>(
      "select to_char(day, 'YYYY-MM-DD') as day, version::text from bucket_days_due where account_id = $1 order by day",
      [accountId],
    );
    if (due.length === 0) return [];
    const { rows: claimed } = await db.query<{ day: string; tokens: string }>(
      `select to_char(d.day, 'YYYY-MM-DD') as day, sum(d.tokens)::text as tokens
         from bucket_checkpoint_days d join bucket_checkpoints c on c.id = d.checkpoint_id
        where d.account_id = $1 and d.day = any($2::date[]) and c.state <> 'failed' group by d.day`,
      [accountId, due.map((d) => d.day)],
    );
    const claimedOn = new Map(claimed.map((c) => [c.day, BigInt(c.tokens)]));
    return Promise.all(
      due.map(async ({ day, version }) => {
        const from = new Date(`${day}T00:00:00Z`);
        const counted = await counters.bucketTokens(accountId, { from, to: new Date(from.getTime() + DAY_MS) });
        const free = counted - (claimedOn.get(day) ?? 0n);
        if (free < 0n) {
          throw new Error(`bucket counters of account ${accountId} on ${day}: ${counted} counted, fewer than the ${claimedOn.get(day)} checkpoints claimed`);
        }
        return { day, version, free };
      }),
    );
  }

  return {
    async dueAccounts(db) {
      const { rows } = await db.query<{ account_id: string; wallet: Address }>(
        "select distinct d.account_id, a.wallet from bucket_days_due d join accounts a on a.id = d.account_id where a.wallet is not null",
      );
      return rows.map((r) => ({ accountId: r.account_id, wallet: r.wallet }));
    },
    async claim(tx, accountId, open) {
      const days = await dueDays(tx, accountId);
      const tokens = days.reduce((sum, d) => sum + d.free, 0n);
      const id = tokens > 0n ? await open(tokens) : undefined;
      if (tokens > 0n && id === undefined) return; // the pass has a checkpoint open: these days wait for it
      const claimed = days.filter((d) => d.free > 0n);
      if (id !== undefined && claimed.length > 0) {
        await tx.query(
          `insert into bucket_checkpoint_days (checkpoint_id, account_id, day, tokens)
           select $1, $2, day, tokens from unnest($3::date[], $4::numeric[]) as v(day, tokens)`,
          [id, accountId, claimed.map((d) => d.day), claimed.map((d) => d.free.toString())],
        );
      }
      // Everything read is claimed now; a day counted since it was read has a new version and stays.
      await tx.query(
        `delete from bucket_days_due b using unnest($2::date[], $3::bigint[]) as v(day, version)
          where b.account_id = $1 and b.day = v.day and b.version = v.version`,
        [accountId, days.map((d) => d.day), days.map((d) => d.version)],
      );
    },
    async unconsumed(db, accountId) {
      const free = (await dueDays(db, accountId)).reduce((sum, d) => sum + d.free, 0n);
      const open = await sumOf(
        db,
        "select coalesce(sum(tokens), 0)::text as total from bucket_checkpoints where account_id = $1 and state in ('intended', 'sent')",
        [accountId],
      );
      return free + open;
    },
    // The checkpoint's state (done) is the mark: its days stay claimed.
    consumed: async () => {},
    async released(tx, checkpointId) {
      await tx.query(
        `insert into bucket_days_due (account_id, day) select account_id, day from bucket_checkpoint_days where checkpoint_id = $1
         on conflict (account_id, day) do update set version = bucket_days_due.version + 1`,
        [checkpointId],
      );
    },
  };
}
