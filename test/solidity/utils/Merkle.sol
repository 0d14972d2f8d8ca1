// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";

/// @notice OpenZeppelin StandardMerkleTree in Solidity, for small trees built inside tests:
/// leaves are sorted by hash and laid out at the end of a heap array (`tree[0]` is the root,
/// node `i` has children `2i+1` and `2i+2`), inner nodes hash sorted pairs. Proofs and
/// multiproofs follow `getProof` and `getMultiProof` of the OpenZeppelin merkle-tree package.
library Merkle {
    /// @notice A tree needs a leaf; a multiproof needs a position and proves each once.
    error EmptyInput();
    error DuplicatePosition(uint256 position);

    /// @dev StandardMerkleTree leaf of UsageBilling's
    /// `(uint256 chainId, address billing, uint256 batchId, uint256 index, address user, uint256 amount)`.
    function leafHash(address billing, uint256 batchId, uint256 index, address user, uint256 amount)
        internal
        view
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(block.chainid, billing, batchId, index, user, amount))));
    }

    /// @notice Builds the tree of `leaves` (at least one).
    /// @return tree The heap array; `tree[0]` is the root.
    /// @return position For each input leaf, its index in `tree`.
    function build(bytes32[] memory leaves) internal pure returns (bytes32[] memory tree, uint256[] memory position) {
        uint256 n = leaves.length;
        if (n == 0) revert EmptyInput();
        // Sort the input positions by leaf hash (insertion sort: trees here hold a handful of leaves).
        uint256[] memory byHash = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            byHash[i] = i;
            for (uint256 j = i; j > 0 && leaves[byHash[j - 1]] > leaves[byHash[j]]; --j) {
                (byHash[j - 1], byHash[j]) = (byHash[j], byHash[j - 1]);
            }
        }
        tree = new bytes32[](2 * n - 1);
        position = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            uint256 at = tree.length - 1 - i;
            tree[at] = leaves[byHash[i]];
            position[byHash[i]] = at;
        }
        for (uint256 i = n - 1; i > 0; --i) {
            tree[i - 1] = Hashes.commutativeKeccak256(tree[2 * i - 1], tree[2 * i]);
        }
    }

    /// @notice The single-leaf proof of the leaf at tree index `at`.
    function proof(bytes32[] memory tree, uint256 at) internal pure returns (bytes32[] memory path) {
        uint256 depth;
        for (uint256 i = at; i > 0; i = (i - 1) / 2) ++depth;
        path = new bytes32[](depth);
        for (uint256 k; at > 0; ++k) {
            path[k] = tree[_sibling(at)];
            at = (at - 1) / 2;
        }
    }

    /// @notice The multiproof of the leaves at tree indices `positions` (distinct, at least one).
    /// @return order The positions in the order the proof expects its leaves (descending).
    /// @return path The proof's sibling hashes.
    /// @return flags The proof flags.
    function multiProof(bytes32[] memory tree, uint256[] memory positions)
        internal
        pure
        returns (uint256[] memory order, bytes32[] memory path, bool[] memory flags)
    {
        uint256 m = positions.length;
        if (m == 0) revert EmptyInput();
        // Queue of tree indices, starting with the positions in descending order.
        uint256[] memory queue = new uint256[](tree.length + m);
        for (uint256 i; i < m; ++i) {
            queue[i] = positions[i];
            for (uint256 j = i; j > 0 && queue[j - 1] < queue[j]; --j) {
                (queue[j - 1], queue[j]) = (queue[j], queue[j - 1]);
            }
        }
        order = new uint256[](m);
        for (uint256 i; i < m; ++i) {
            if (i != 0 && queue[i] == queue[i - 1]) revert DuplicatePosition(queue[i]);
            order[i] = queue[i];
        }
        path = new bytes32[](tree.length);
        flags = new bool[](tree.length);
        uint256 head;
        uint256 tail = m;
        uint256 proofLen;
        uint256 flagLen;
        while (tail > head && queue[head] > 0) {
            uint256 j = queue[head++];
            uint256 s = _sibling(j);
            if (tail > head && queue[head] == s) {
                flags[flagLen++] = true;
                ++head;
            } else {
                flags[flagLen++] = false;
                path[proofLen++] = tree[s];
            }
            queue[tail++] = (j - 1) / 2;
        }
        assembly {
            mstore(path, proofLen)
            mstore(flags, flagLen)
        }
    }

    function _sibling(uint256 i) private pure returns (uint256) {
        return i % 2 == 1 ? i + 1 : i - 1;
    }
}
