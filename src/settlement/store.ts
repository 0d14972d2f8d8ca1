// The settlement records in PostgreSQL: batches and their leaves, and the usage events they cover.
// Every write that follows a chain call is one transaction, so the database never shows half an
// outcome; what a crash loses between a transaction and the chain is read back from the chain.
import { getAddress, type Hex } from "viem";
import type { Db, Queryable } from "../db/db.ts";
import { notFound } from "../errors.ts";
import type { SettlementLeaf } from "./tree.ts";

export type BatchState = "open" | "built" | "committed" | "collecting" | "settled" | "failed";
export type LeafStatus = "pending" | "collected" | "shortfall";

export interface SettlementBatch {
  id: bigint;
  state: BatchState;
  chainBatchId: bigint | null;
  root: Hex | null;
  totalWei: bigint;
  count: number;
  commitTx: Hex | null;
  error: string | null;
}

export interface StoredLeaf extends SettlementLeaf {
  accountId: string;
  status: LeafStatus;
  txHash: Hex | null;
  /** collectChunk transactions sent for the leaf so far. */
  attempts: number;
  updatedAt: Date;
}

const batchOf = (row: Record<string, unknown>): SettlementBatch => ({
  id: BigInt(String(row.id)),
  state: row.state as BatchState,
  chainBatchId: row.chain_batch_id === null ? null : BigInt(String(row.chain_batch_id)),
  root: (row.root as Hex | null) ?? null,
  totalWei: BigInt(String(row.total_wei)),
  count: Number(row.leaf_count),
  commitTx: (row.commit_tx as Hex | null) ?? null,
  error: (row.error as string | null) ?? null,
});

const leafOf = (row: Record<string, unknown>): StoredLeaf => ({
  index: BigInt(Number(row.idx)),
  user: getAddress(row.wallet as string),
  amount: BigInt(String(row.amount_wei)),
  accountId: row.account_id as string,
  status: row.status as LeafStatus,
  txHash: (row.tx_hash as Hex | null) ?? null,
  attempts: Number(row.attempts),
  updatedAt: new Date(row.updated_at as string | Date),
});

/** Usage `u` of account `a` that the next batch takes: PAYG, unbatched, of an account with a wallet. */
const DUE = "a.id = u.account_id and a.wallet is not null and u.payg_wei > 0 and u.settlement_batch is null and u.settled_at is null";

/**
 * Closes every account's unbatched PAYG usage into one new batch (state `open`), in one
 * transaction: one leaf per wallet with the summed amount, indexed by wallet order, and the usage
 * events marked with the batch. Usage of an account without a wallet waits. Null when nothing is due.
 */
export async function closeBatch(db: Db): Promise<bigint | null> {
  return db.transaction(async (tx) => {
    // Checked first so that a run with nothing due leaves no gap in the batch ids.
    const { rows: waiting } = await tx.query(`select 1 from usage_events u, accounts a where ${DUE} limit 1`);
    if (waiting.length === 0) return null;
    const { rows: [created] } = await tx.query<{ id: string }>("insert into settlement_batches default values returning id");
    const id = BigInt(String(created!.id));
    // Claiming rows by update (not select-then-update) keeps a concurrent close from taking them twice.
    const { rows: claimed } = await tx.query(
      `update usage_events u set settlement_batch = $1 from accounts a where ${DUE} returning u.account_id`,
      [id],
    );
    if (claimed.length === 0) {
      await tx.query("delete from settlement_batches where id = $1", [id]);
      return null;
    }
    await tx.query(
      `insert into settlement_leaves (batch_id, idx, account_id, wallet, amount_wei)
       select $1, (row_number() over (order by a.wallet)) - 1, a.id, a.wallet, s.amount
         from (select account_id, sum(payg_wei) as amount from usage_events where settlement_batch = $1 group by account_id) s
         join accounts a on a.id = s.account_id`,
      [id],
    );
    return id;
  });
}

export async function getBatch(db: Queryable, id: bigint): Promise<SettlementBatch> {
  const { rows } = await db.query("select * from settlement_batches where id = $1", [id]);
  if (rows.length === 0) throw notFound("BATCH_NOT_FOUND", `No settlement batch ${id}`);
  return batchOf(rows[0]!);
}

/** Ids of the batches not yet settled or failed, oldest first. */
export async function unfinishedBatches(db: Queryable): Promise<bigint[]> {
  const { rows } = await db.query("select id from settlement_batches where state not in ('settled', 'failed') order by id");
  return rows.map((r) => BigInt(String(r.id)));
}

/** The batch's leaves by index; only `status` (if given), and only after index `after`. */
export async function leavesOf(
  db: Queryable,
  batchId: bigint,
  filter: { status?: LeafStatus; after?: number; limit?: number } = {},
): Promise<StoredLeaf[]> {
  const { rows } = await db.query(
    `select * from settlement_leaves where batch_id = $1 and ($2::text is null or status = $2) and idx > $3
      order by idx limit $4`,
    [batchId, filter.status ?? null, filter.after ?? -1, filter.limit ?? null],
  );
  return rows.map(leafOf);
}

/** Leaves of the batch per status. */
export async function leafCounts(db: Queryable, batchId: bigint): Promise<Record<LeafStatus, number>> {
  const { rows } = await db.query("select status, count(*) as n from settlement_leaves where batch_id = $1 group by status", [batchId]);
  const counts: Record<LeafStatus, number> = { pending: 0, collected: 0, shortfall: 0 };
  for (const row of rows) counts[row.status as LeafStatus] = Number(row.n);
  return counts;
}

/** Freezes the batch: its root, total, count and chain id; state `built`. */
export async function markBuilt(db: Queryable, id: bigint, built: { root: Hex; total: bigint; count: number; chainBatchId: bigint }) {
  await db.query(
    `update settlement_batches set state = 'built', root = $2, total_wei = $3, leaf_count = $4, chain_batch_id = $5,
            built_at = now(), updated_at = now()
      where id = $1 and state = 'open'`,
    [id, built.root, built.total, built.count, built.chainBatchId],
  );
}

export async function recordCommitTx(db: Queryable, id: bigint, hash: Hex) {
  await db.query("update settlement_batches set commit_tx = $2, updated_at = now() where id = $1", [id, hash]);
}

export async function markCommitted(db: Queryable, id: bigint) {
  await db.query(
    "update settlement_batches set state = 'committed', committed_at = now(), updated_at = now() where id = $1 and state = 'built'",
    [id],
  );
}

/** The batch can never be committed (its chain id holds another root): it fails and its usage is released. */
export async function markFailed(db: Db, id: bigint, error: string) {
  await db.transaction(async (tx) => {
    await tx.query("update settlement_batches set state = 'failed', error = $2, updated_at = now() where id = $1", [id, error]);
    await tx.query("update usage_events set settlement_batch = null where settlement_batch = $1 and settled_at is null", [id]);
  });
}

/**
 * A guardian cancelled the batch on chain: it fails, and its uncollected usage stays with it, so
 * the next batch does not charge it again (the Safe disputed it; an operator decides).
 */
export async function markCancelled(db: Queryable, id: bigint) {
  await db.query("update settlement_batches set state = 'failed', error = $2, updated_at = now() where id = $1 and state <> 'failed'", [id, CANCELLED]);
}

/** The error of a batch a guardian cancelled (it was committed: its proofs still verify). */
export const CANCELLED = "cancelled on chain by a guardian";

/** Notes the collectChunk about to be broadcast for `indices` (signed, so its hash is known). */
export async function recordChunkTx(db: Queryable, batchId: bigint, indices: readonly number[], hash: Hex) {
  await db.query(
    `update settlement_leaves set tx_hash = $3, attempts = attempts + 1, updated_at = now()
      where batch_id = $1 and idx = any($2::int[])`,
    [batchId, indices, hash],
  );
}

/**
 * Books the chain's outcome of leaves in one transaction: a collected leaf settles its usage
 * events; the batch becomes `collecting`, or `settled` once every leaf is collected.
 */
export async function recordOutcomes(
  db: Db,
  batchId: bigint,
  outcomes: readonly { index: number; status: "collected" | "shortfall"; txHash?: Hex }[],
) {
  await db.transaction(async (tx) => {
    // One statement for the chunk: the leaves not yet collected take their outcome, and the usage
    // of every account whose leaf was collected is settled.
    if (outcomes.length > 0) {
      await tx.query(
        `with outcome as (select * from unnest($2::int[], $3::text[], $4::text[]) as o(idx, status, tx_hash)),
              booked as (
                update settlement_leaves l set status = o.status, tx_hash = coalesce(o.tx_hash, l.tx_hash), updated_at = now()
                  from outcome o where l.batch_id = $1 and l.idx = o.idx and l.status <> 'collected'
                returning l.account_id, l.status)
         update usage_events set settled_at = now()
          where settlement_batch = $1 and settled_at is null and account_id in (select account_id from booked where status = 'collected')`,
        [batchId, outcomes.map((o) => o.index), outcomes.map((o) => o.status), outcomes.map((o) => o.txHash ?? null)],
      );
    }
    await tx.query(
      `update settlement_batches
          set state = case when exists (select 1 from settlement_leaves where batch_id = $1 and status <> 'collected')
                           then 'collecting' else 'settled' end,
              settled_at = case when exists (select 1 from settlement_leaves where batch_id = $1 and status <> 'collected')
                           then null else now() end,
              updated_at = now()
        where id = $1 and state in ('committed', 'collecting')`,
      [batchId],
    );
  });
}

/** The account's leaf in the batch, if it has one. */
export async function leafOfAccount(db: Queryable, batchId: bigint, accountId: string): Promise<StoredLeaf | undefined> {
  const { rows } = await db.query("select * from settlement_leaves where batch_id = $1 and account_id = $2", [batchId, accountId]);
  return rows[0] ? leafOf(rows[0]) : undefined;
}
