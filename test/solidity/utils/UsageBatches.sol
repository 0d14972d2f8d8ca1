// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {UsageBilling} from "../../../contracts/billing/UsageBilling.sol";
import {Merkle} from "./Merkle.sol";

/// @notice A usage batch as the settlement job builds it: leaves `(index, user, amount)` of batch
/// `batchId` of a UsageBilling (both hashed in) in a StandardMerkleTree, and chunks of them with
/// their multiproof.
library UsageBatches {
    struct Batch {
        UsageBilling.Leaf[] leaves;
        bytes32[] tree;
        uint256[] position;
        uint256 total;
    }

    /// @notice Batch `batchId` of `billing` charging `amounts[i]` to `users[i]` as leaf `i`.
    function make(address billing, uint256 batchId, address[] memory users, uint256[] memory amounts)
        internal
        view
        returns (Batch memory batch)
    {
        uint256 n = users.length;
        batch.leaves = new UsageBilling.Leaf[](n);
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            batch.leaves[i] = UsageBilling.Leaf(i, users[i], amounts[i]);
            hashes[i] = Merkle.leafHash(billing, batchId, i, users[i], amounts[i]);
            batch.total += amounts[i];
        }
        (batch.tree, batch.position) = Merkle.build(hashes);
    }

    function root(Batch memory batch) internal pure returns (bytes32) {
        return batch.tree[0];
    }

    /// @notice The chunk of leaves `indices` (distinct), ordered for its multiproof, and the proof.
    function chunk(Batch memory batch, uint256[] memory indices)
        internal
        pure
        returns (UsageBilling.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags)
    {
        uint256[] memory positions = new uint256[](indices.length);
        for (uint256 i; i < indices.length; ++i) {
            positions[i] = batch.position[indices[i]];
        }
        uint256[] memory order;
        (order, proof, flags) = Merkle.multiProof(batch.tree, positions);
        leaves = new UsageBilling.Leaf[](order.length);
        for (uint256 i; i < order.length; ++i) {
            for (uint256 j; j < indices.length; ++j) {
                if (positions[j] == order[i]) leaves[i] = batch.leaves[indices[j]];
            }
        }
    }

    /// @notice The leaves whose bit is set in `mask` (at least one: leaf `mask % n` when none is).
    function select(Batch memory batch, uint256 mask) internal pure returns (uint256[] memory indices) {
        uint256 n = batch.leaves.length;
        uint256 count;
        for (uint256 i; i < n; ++i) {
            if (mask >> i & 1 == 1) ++count;
        }
        if (count == 0) {
            indices = new uint256[](1);
            indices[0] = mask % n;
            return indices;
        }
        indices = new uint256[](count);
        count = 0;
        for (uint256 i; i < n; ++i) {
            if (mask >> i & 1 == 1) indices[count++] = i;
        }
    }

    /// @notice Every leaf of the batch.
    function all(Batch memory batch) internal pure returns (uint256[] memory indices) {
        indices = new uint256[](batch.leaves.length);
        for (uint256 i; i < indices.length; ++i) {
            indices[i] = i;
        }
    }
}
