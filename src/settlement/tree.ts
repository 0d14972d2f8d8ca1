// A settlement batch's Merkle tree as UsageBilling expects it: OpenZeppelin StandardMerkleTree of
// `(uint256 index, address user, uint256 amount)` leaves (the contract's `Leaf` struct and
// `_leafHash`), proven to the contract with multiproofs (chunks) and single proofs (verifyLeaf).
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { Address, Hex } from "viem";

/** The leaf encoding of UsageBilling's `Leaf` struct, field by field. */
export const LEAF_ENCODING = ["uint256", "address", "uint256"];

/** A leaf as UsageBilling's `Leaf` struct; `index` is its position in the batch. */
export interface SettlementLeaf {
  index: bigint;
  user: Address;
  amount: bigint;
}

/** The arguments of `collectChunk` after the batch id. */
export interface Chunk {
  leaves: SettlementLeaf[];
  proof: Hex[];
  proofFlags: boolean[];
}

type LeafValue = [index: bigint, user: Address, amount: bigint];

export interface SettlementTree {
  root: Hex;
  /** The multiproof of the leaves at `indices`, leaves in the order the contract checks them. */
  chunk(indices: readonly number[]): Chunk;
  /** The single-leaf proof of leaf `index`, for `verifyLeaf`. */
  proof(index: number): Hex[];
  /** The hash a leaf has in the tree (UsageBilling's `leafHash`). */
  leafHash(leaf: SettlementLeaf): Hex;
}

/** The tree of `leaves`, which must be indexed 0…n-1 in order (as a batch stores them). */
export function buildTree(leaves: readonly SettlementLeaf[]): SettlementTree {
  leaves.forEach((leaf, i) => {
    if (leaf.index !== BigInt(i)) throw new Error(`settlement leaf at position ${i} has index ${leaf.index}`);
  });
  // Leaves stay in index order (not sorted by hash): a chunk of consecutive indices then shares
  // subtrees, so its multiproof, and the gas to verify it, is smaller.
  const tree = StandardMerkleTree.of(
    leaves.map(({ index, user, amount }): LeafValue => [index, user, amount]),
    LEAF_ENCODING,
    { sortLeaves: false },
  );
  return {
    root: tree.root as Hex,
    chunk(indices) {
      const { leaves: ordered, proof, proofFlags } = tree.getMultiProof([...indices]);
      return { leaves: ordered.map(([index, user, amount]) => ({ index, user, amount })), proof: proof as Hex[], proofFlags };
    },
    proof: (index) => tree.getProof(index) as Hex[],
    leafHash: ({ index, user, amount }) => tree.leafHash([index, user, amount]) as Hex,
  };
}
