// A settlement batch's Merkle tree as UsageBilling expects it: OpenZeppelin StandardMerkleTree of
// `(uint256 chainId, address billing, uint256 batchId, uint256 index, address user, uint256 amount)`
// leaves (the contract's `_leafHash` of a `Leaf` struct in a batch), proven to the contract with
// multiproofs (chunks) and single proofs (verifyLeaf). Chain, contract and batch id in every leaf
// make a root prove leaves of its own batch only: no usage record is collected twice.
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { Address, Hex } from "viem";

/** The leaf encoding UsageBilling hashes, field by field: the batch's domain, then the `Leaf` struct. */
export const LEAF_ENCODING = ["uint256", "address", "uint256", "uint256", "address", "uint256"];

/** Where a batch's leaves can be collected: the chain, the UsageBilling contract, the batch id on it. */
export interface BatchDomain {
  chainId: bigint;
  billing: Address;
  batchId: bigint;
}

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

type LeafValue = [chainId: bigint, billing: Address, batchId: bigint, index: bigint, user: Address, amount: bigint];

/** The values StandardMerkleTree hashes for `leaf` of the batch at `domain`. */
export const leafValue = ({ chainId, billing, batchId }: BatchDomain, { index, user, amount }: SettlementLeaf): LeafValue =>
  [chainId, billing, batchId, index, user, amount];

export interface SettlementTree {
  root: Hex;
  /** The multiproof of the leaves at `indices`, leaves in the order the contract checks them. */
  chunk(indices: readonly number[]): Chunk;
  /** The single-leaf proof of leaf `index`, for `verifyLeaf`. */
  proof(index: number): Hex[];
  /** The hash a leaf has in the tree (UsageBilling's `leafHash(batchId, leaf)`). */
  leafHash(leaf: SettlementLeaf): Hex;
}

/** The tree of batch `domain`'s `leaves`, which must be indexed 0…n-1 in order (as a batch stores them). */
export function buildTree(domain: BatchDomain, leaves: readonly SettlementLeaf[]): SettlementTree {
  leaves.forEach((leaf, i) => {
    if (leaf.index !== BigInt(i)) throw new Error(`settlement leaf at position ${i} has index ${leaf.index}`);
  });
  // Leaves stay in index order (not sorted by hash): a chunk of consecutive indices then shares
  // subtrees, so its multiproof, and the gas to verify it, is smaller.
  const tree = StandardMerkleTree.of(leaves.map((leaf) => leafValue(domain, leaf)), LEAF_ENCODING, { sortLeaves: false });
  return {
    root: tree.root as Hex,
    chunk(indices) {
      const { leaves: ordered, proof, proofFlags } = tree.getMultiProof([...indices]);
      return { leaves: ordered.map(([, , , index, user, amount]) => ({ index, user, amount })), proof: proof as Hex[], proofFlags };
    },
    proof: (index) => tree.getProof(index) as Hex[],
    leafHash: (leaf) => tree.leafHash(leafValue(domain, leaf)) as Hex,
  };
}
