// The indexer's feed into the transaction history: each PAYG leaf UsageBilling collects (or books
// short) becomes a `usage_charge` row of the payer's account, keyed by its leaf so a re-index
// books it once; a later collection of a short leaf turns the row confirmed. Events removed by a
// reorg take their rows with them, and the re-index books the new chain's outcome.
import type { Db } from "../db/db.ts";
import type { EventChange } from "./indexer.ts";
import type { IndexedEvent } from "./events.ts";

const isLeafEvent = (e: IndexedEvent) => e.contract === "billing" && (e.event === "LeafCollected" || e.event === "LeafShortfall");
const refOf = (e: IndexedEvent) => `leaf:${String(e.args.batchId)}:${String(e.args.index)}`;

/** Books the leaf outcomes of `change` into token_transactions. */
export async function bookLeafOutcomes(db: Db, change: EventChange): Promise<void> {
  const removed = change.removed.filter(isLeafEvent);
  const added = change.added.filter(isLeafEvent);
  if (removed.length === 0 && added.length === 0) return;
  await db.transaction(async (tx) => {
    for (const e of removed) {
      await tx.query("delete from token_transactions where type = 'usage_charge' and ref = $1 and details->>'txHash' = $2", [refOf(e), e.txHash]);
    }
    for (const e of added) {
      const status = e.event === "LeafCollected" ? "confirmed" : "failed";
      // A shortfall never overwrites a collection: the chain collects a leaf at most once, after any shortfalls.
      await tx.query(
        `insert into token_transactions (account_id, type, status, amount_wei, block_number, ref, details)
         select a.id, 'usage_charge', $2, $3, $4, $1, $5::jsonb from accounts a where a.wallet = $6
         on conflict (ref) where type = 'usage_charge' do update
           set status = excluded.status, block_number = excluded.block_number, details = excluded.details, updated_at = now()
           where token_transactions.status <> 'confirmed'`,
        [
          refOf(e),
          status,
          String(e.args.amount),
          e.blockNumber,
          JSON.stringify({ txHash: e.txHash, logIndex: e.logIndex, batchId: String(e.args.batchId), index: String(e.args.index), source: "indexer" }),
          String(e.args.user),
        ],
      );
    }
  });
}
