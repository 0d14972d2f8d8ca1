// Usage-billing batches as UsageBilling expects them: an OpenZeppelin StandardMerkleTree of
// (uint256 index, address user, uint256 amount) leaves, collected in multiproof chunks.
// Shared by the contract tests and the settlement backend.
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { Address, Hex } from "viem";

/** The leaf encoding of UsageBilling (its `Leaf` struct, field by field). */
export const LEAF_ENCODING = ["uint256", "address", "uint256"];

/** One user's charge in a batch, before it has a position. */
export interface Charge {
  user: Address;
  amount: bigint;
}

/** A leaf as UsageBilling's `Leaf` struct: `index` is the charge's position in the batch. */
export interface BillingLeaf {
  index: bigint;
  user: Address;
  amount: bigint;
}

/** The arguments of `collectChunk` after the batch id (and of `settleBatch` after the count). */
export interface Chunk {
  leaves: BillingLeaf[];
  proof: Hex[];
  proofFlags: boolean[];
}

type LeafValue = [index: bigint, user: Address, amount: bigint];

/** A batch ready to commit (`root`, `total`, `count`) and to collect in chunks. */
export interface BillingBatch {
  tree: StandardMerkleTree<LeafValue>;
  root: Hex;
  total: bigint;
  count: bigint;
  leaves: BillingLeaf[];
  /** The multiproof chunk of the leaves at `indices`, leaves in the order the contract needs. */
  chunk(indices: readonly number[]): Chunk;
  /** The batch split into chunks of at most `size` consecutive leaves. */
  chunks(size: number): Chunk[];
  /** The single-leaf proof of leaf `index` (for `verifyLeaf`). */
  proof(index: number): Hex[];
}

const toLeaf = ([index, user, amount]: LeafValue): BillingLeaf => ({ index, user, amount });

/** Builds the batch of `charges`, leaf `i` being `(i, charges[i].user, charges[i].amount)`. */
export function buildBatch(charges: readonly Charge[]): BillingBatch {
  const values = charges.map(({ user, amount }, i): LeafValue => [BigInt(i), user, amount]);
  const tree = StandardMerkleTree.of(values, LEAF_ENCODING);
  const chunk = (indices: readonly number[]): Chunk => {
    const { leaves, proof, proofFlags } = tree.getMultiProof([...indices]);
    return { leaves: leaves.map(toLeaf), proof: proof as Hex[], proofFlags };
  };
  return {
    tree,
    root: tree.root as Hex,
    total: charges.reduce((sum, { amount }) => sum + amount, 0n),
    count: BigInt(charges.length),
    leaves: values.map(toLeaf),
    chunk,
    chunks(size) {
      const out: Chunk[] = [];
      for (let start = 0; start < values.length; start += size) {
        out.push(chunk(values.slice(start, start + size).map((_, i) => start + i)));
      }
      return out;
    },
    proof: (index) => tree.getProof(index) as Hex[],
  };
}

