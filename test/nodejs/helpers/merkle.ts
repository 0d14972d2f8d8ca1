// Usage-billing batches for the contract tests, built with the settlement backend's own tree
// (src/settlement/tree.ts): leaf `i` is `(chainId, billing, batchId, i, charges[i].user, charges[i].amount)`.
import type { Address } from "viem";
import { buildTree, type BatchDomain, type Chunk, type SettlementLeaf, type SettlementTree } from "../../../src/settlement/tree.ts";

export { LEAF_ENCODING, leafValue, type BatchDomain, type Chunk } from "../../../src/settlement/tree.ts";

/** One user's charge in a batch, before it has a position. */
export interface Charge {
  user: Address;
  amount: bigint;
}

/** A batch ready to commit (`root`, `total`, `count`) and to collect in chunks. */
export interface BillingBatch extends SettlementTree {
  total: bigint;
  count: bigint;
  leaves: SettlementLeaf[];
  /** The batch split into chunks of at most `size` consecutive leaves. */
  chunks(size: number): Chunk[];
}

/** Batch `domain.batchId` on `domain.billing` charging `charges`. */
export function buildBatch(domain: BatchDomain, charges: readonly Charge[]): BillingBatch {
  const leaves = charges.map(({ user, amount }, i): SettlementLeaf => ({ index: BigInt(i), user, amount }));
  const tree = buildTree(domain, leaves);
  return {
    ...tree,
    total: charges.reduce((sum, { amount }) => sum + amount, 0n),
    count: BigInt(charges.length),
    leaves,
    chunks(size) {
      const out: Chunk[] = [];
      for (let start = 0; start < leaves.length; start += size) {
        out.push(tree.chunk(leaves.slice(start, start + size).map((_, i) => start + i)));
      }
      return out;
    },
  };
}
