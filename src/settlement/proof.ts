// An account's own proof of what a settlement batch charged it: its leaf, the batch's domain (chain,
// UsageBilling, chain batch id: all hashed into the leaf) and the Merkle proof that
// UsageBilling.verifyLeaf checks against the committed root. Served from the commit on, so the
// charge can be checked during the challenge window, before anything is collected.
import type { Address, Hex } from "viem";
import type { ChainContext } from "../app/chain.ts";
import { billingAbi } from "../chain/abis.ts";
import type { Db } from "../db/db.ts";
import { conflict, notFound, unavailable } from "../errors.ts";
import { domainOf } from "./settle.ts";
import { CANCELLED, getBatch, leafOfAccount, leavesOf, type BatchState, type StoredLeaf } from "./store.ts";
import { buildTree } from "./tree.ts";

export interface LeafProof {
  batchId: bigint;
  /** The batch id on UsageBilling (the first argument of verifyLeaf). */
  chainBatchId: bigint;
  chainId: bigint;
  /** The UsageBilling contract the leaf hashes in. */
  billing: Address;
  state: BatchState;
  root: Hex;
  leaf: StoredLeaf;
  proof: Hex[];
  /** When the leaf can be collected (the end of the challenge window, unix seconds); 0 before the commit. */
  collectableAt: bigint;
  /** Whether a guardian cancelled the batch on chain. */
  cancelled: boolean;
}

/** The leaf of `accountId` in batch `batchId` with its proof; 404 without one, 409 before the batch is built. */
export async function proofOf(db: Db, chain: ChainContext | undefined, batchId: bigint, accountId: string): Promise<LeafProof> {
  const batch = await getBatch(db, batchId);
  const leaf = await leafOfAccount(db, batchId, accountId);
  if (!leaf) throw notFound("LEAF_NOT_FOUND", `Settlement batch ${batchId} has no charge for this account`);
  if (batch.root === null || batch.chainBatchId === null || (batch.state === "failed" && batch.error !== CANCELLED)) {
    throw conflict("BATCH_NOT_BUILT", `Settlement batch ${batchId} has no committed root (state ${batch.state})`);
  }
  if (!chain) throw unavailable("SETTLEMENT_UNAVAILABLE", "Proofs need the chain the batch is committed on");
  const domain = domainOf(chain, batch.chainBatchId);
  const tree = buildTree(domain, await leavesOf(db, batchId));
  const billing = { address: domain.billing, abi: billingAbi } as const;
  const [collectableAt, cancelled] = await Promise.all([
    chain.client.readContract({ ...billing, functionName: "collectableAt", args: [batch.chainBatchId] }),
    chain.client.readContract({ ...billing, functionName: "isCancelled", args: [batch.chainBatchId] }),
  ]);
  return {
    batchId,
    chainBatchId: batch.chainBatchId,
    chainId: domain.chainId,
    billing: domain.billing,
    state: batch.state,
    root: batch.root,
    leaf,
    proof: tree.proof(Number(leaf.index)),
    collectableAt,
    cancelled,
  };
}
