// An account's own proof of what a settlement batch charged it: its leaf and the Merkle proof
// that UsageBilling.verifyLeaf checks against the committed root.
import type { Hex } from "viem";
import type { Db } from "../db/db.ts";
import { conflict, notFound } from "../errors.ts";
import { getBatch, leafOfAccount, leavesOf, type BatchState, type StoredLeaf } from "./store.ts";
import { buildTree } from "./tree.ts";

export interface LeafProof {
  batchId: bigint;
  /** The batch id on UsageBilling (the first argument of verifyLeaf). */
  chainBatchId: bigint;
  state: BatchState;
  root: Hex;
  leaf: StoredLeaf;
  proof: Hex[];
}

/** The leaf of `accountId` in batch `batchId` with its proof; 404 without one, 409 before the batch is built. */
export async function proofOf(db: Db, batchId: bigint, accountId: string): Promise<LeafProof> {
  const batch = await getBatch(db, batchId);
  const leaf = await leafOfAccount(db, batchId, accountId);
  if (!leaf) throw notFound("LEAF_NOT_FOUND", `Settlement batch ${batchId} has no charge for this account`);
  if (batch.root === null || batch.chainBatchId === null || batch.state === "failed") {
    throw conflict("BATCH_NOT_BUILT", `Settlement batch ${batchId} has no committed root (state ${batch.state})`);
  }
  const tree = buildTree(await leavesOf(db, batchId));
  return { batchId, chainBatchId: batch.chainBatchId, state: batch.state, root: batch.root, leaf, proof: tree.proof(Number(leaf.index)) };
}
