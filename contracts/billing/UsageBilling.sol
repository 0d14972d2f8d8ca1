// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";
import {Governed} from "../access/Governed.sol";
import {IVault} from "../interfaces/IVault.sol";

/// @title UsageBilling
/// @notice Settles pay-as-you-go usage in batches. The backend commits a batch as the Merkle root
/// of its leaves `(index, user, amount)` (OpenZeppelin StandardMerkleTree encoding), then
/// collects the leaves in chunks, each chunk proven with one multiproof and pulled through the
/// Vault in one call. A payer whose allowance or balance falls short is recorded as a
/// shortfall instead of reverting the chunk; such a leaf can be collected again later, a
/// collected leaf never.
contract UsageBilling is Governed {
    using BitMaps for BitMaps.BitMap;

    /// @notice May commit batches and collect their leaves (the settlement job).
    bytes32 public constant SETTLER_ROLE = keccak256("SETTLER_ROLE");

    /// @notice The state of one leaf of a batch.
    enum LeafStatus {
        Pending,
        Collected,
        Shortfall
    }

    /// @notice One user's charge in a batch. `index` is its position among the batch's leaves.
    struct Leaf {
        uint256 index;
        address user;
        uint256 amount;
    }

    struct Batch {
        bytes32 root;
        uint128 total;
        uint64 count;
        uint64 committedAt;
        uint128 collected;
        uint128 shortfall;
    }

    /// @custom:storage-location erc7201:cxpt.storage.UsageBilling
    struct BillingStorage {
        IVault vault;
        mapping(uint256 batchId => Batch) batches;
        mapping(uint256 batchId => BitMaps.BitMap) collected;
        mapping(uint256 batchId => BitMaps.BitMap) short;
    }

    // keccak256(abi.encode(uint256(keccak256("cxpt.storage.UsageBilling")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant BILLING_STORAGE = 0x6e6446872c1979d951a4ec5231f39819f1cfc5565172b3bc09729aa83d6c2100;

    event BatchCommitted(uint256 indexed batchId, bytes32 root, uint256 total, uint256 count);
    event LeafCollected(uint256 indexed batchId, uint256 index, address indexed user, uint256 amount);
    event LeafShortfall(uint256 indexed batchId, uint256 index, address indexed user, uint256 amount);

    error BatchAlreadyCommitted(uint256 batchId);
    error UnknownBatch(uint256 batchId);
    error InvalidBatch();
    error InvalidProof(uint256 batchId);
    error LeafIndexOutOfRange(uint256 batchId, uint256 index, uint256 count);
    error LeafAlreadyCollected(uint256 batchId, uint256 index);
    error BatchTotalExceeded(uint256 batchId, uint256 collected, uint256 total);
    error EmptyChunk(uint256 batchId);

    function _billing() private pure returns (BillingStorage storage $) {
        assembly {
            $.slot := BILLING_STORAGE
        }
    }

    /// @notice Initializes the proxy.
    /// @param admin Holder of the admin role (the timelock).
    /// @param vault_ The Vault collecting payments.
    function initialize(address admin, address vault_) external initializer {
        _requireNonZero(vault_);
        __Governed_init(admin);
        _billing().vault = IVault(vault_);
    }

    /// @notice Commits batch `batchId` without collecting any leaf yet.
    /// @param root Merkle root of the batch's `(index, user, amount)` leaves.
    /// @param total Sum of the leaves' amounts.
    /// @param count Number of leaves.
    function commitBatch(uint256 batchId, bytes32 root, uint256 total, uint256 count)
        external
        onlyRole(SETTLER_ROLE)
    {
        _commit(batchId, root, total, count);
    }

    /// @notice Commits batch `batchId` and collects a first chunk of its leaves in one transaction.
    /// @param leaves The chunk's leaves, in the order the multiproof expects.
    /// @param proof, proofFlags An OpenZeppelin multiproof of `leaves` against `root`.
    function settleBatch(
        uint256 batchId,
        bytes32 root,
        uint256 total,
        uint256 count,
        Leaf[] calldata leaves,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) external onlyRole(SETTLER_ROLE) {
        _commit(batchId, root, total, count);
        _collect(batchId, leaves, proof, proofFlags);
    }

    /// @notice Collects a chunk of leaves of committed batch `batchId`, or retries shortfalls.
    /// @param leaves The chunk's leaves, in the order the multiproof expects.
    /// @param proof, proofFlags An OpenZeppelin multiproof of `leaves` against the batch's root.
    function collectChunk(
        uint256 batchId,
        Leaf[] calldata leaves,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) external onlyRole(SETTLER_ROLE) {
        _collect(batchId, leaves, proof, proofFlags);
    }

    // ───────────────────────────── views ─────────────────────────────

    /// @notice Whether `leaf` belongs to batch `batchId`, by a single-leaf Merkle `proof`.
    function verifyLeaf(uint256 batchId, Leaf calldata leaf, bytes32[] calldata proof) external view returns (bool) {
        bytes32 root = _billing().batches[batchId].root;
        return root != bytes32(0) && MerkleProof.verifyCalldata(proof, root, _leafHash(leaf));
    }

    /// @notice Whether leaf `index` of batch `batchId` is pending, collected, or short.
    function leafStatus(uint256 batchId, uint256 index) external view returns (LeafStatus) {
        BillingStorage storage $ = _billing();
        if ($.collected[batchId].get(index)) return LeafStatus.Collected;
        if ($.short[batchId].get(index)) return LeafStatus.Shortfall;
        return LeafStatus.Pending;
    }

    /// @notice Batch `batchId` as committed, with what was collected and what is outstanding short.
    function batchOf(uint256 batchId) external view returns (Batch memory) {
        return _billing().batches[batchId];
    }

    /// @notice The Vault collecting payments.
    function vault() external view returns (address) {
        return address(_billing().vault);
    }

    /// @notice The leaf hash of `leaf`, as OpenZeppelin's StandardMerkleTree computes it.
    function leafHash(Leaf calldata leaf) external pure returns (bytes32) {
        return _leafHash(leaf);
    }

    // ───────────────────────────── internals ─────────────────────────────

    function _commit(uint256 batchId, bytes32 root, uint256 total, uint256 count) private {
        if (root == bytes32(0) || total == 0 || count == 0 || total > type(uint128).max || count > type(uint64).max) {
            revert InvalidBatch();
        }
        Batch storage batch = _billing().batches[batchId];
        if (batch.root != bytes32(0)) revert BatchAlreadyCommitted(batchId);
        (batch.root, batch.total, batch.count, batch.committedAt) =
            (root, uint128(total), uint64(count), uint64(block.timestamp));
        emit BatchCommitted(batchId, root, total, count);
    }

    function _collect(uint256 batchId, Leaf[] calldata leaves, bytes32[] calldata proof, bool[] calldata proofFlags)
        private
    {
        Batch storage batch = _billing().batches[batchId];
        if (batch.root == bytes32(0)) revert UnknownBatch(batchId);
        _reserve(batchId, batch, leaves, proof, proofFlags);
        (uint256 collectedTotal, bool[] memory ok) = _pull(batchId, leaves);
        _record(batchId, batch, leaves, ok, collectedTotal);
    }

    /// @dev Checks every leaf of the chunk (in range, not yet collected, in the batch's tree) and
    /// reserves its index as collected, so a leaf repeated within the chunk reverts too.
    /// `_record` releases the reservation of each leaf the Vault could not collect.
    function _reserve(
        uint256 batchId,
        Batch storage batch,
        Leaf[] calldata leaves,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) private {
        if (leaves.length == 0) revert EmptyChunk(batchId);
        BitMaps.BitMap storage collected = _billing().collected[batchId];
        uint256 count = batch.count;
        bytes32[] memory hashes = new bytes32[](leaves.length);
        for (uint256 i; i < leaves.length; ++i) {
            Leaf calldata leaf = leaves[i];
            if (leaf.index >= count) revert LeafIndexOutOfRange(batchId, leaf.index, count);
            if (collected.get(leaf.index)) revert LeafAlreadyCollected(batchId, leaf.index);
            collected.set(leaf.index);
            hashes[i] = _leafHash(leaf);
        }
        if (!MerkleProof.multiProofVerifyCalldata(proof, proofFlags, batch.root, hashes)) revert InvalidProof(batchId);
    }

    /// @dev Pulls the chunk's amounts through the Vault in one call.
    function _pull(uint256 batchId, Leaf[] calldata leaves)
        private
        returns (uint256 collectedTotal, bool[] memory ok)
    {
        address[] memory users = new address[](leaves.length);
        uint256[] memory amounts = new uint256[](leaves.length);
        for (uint256 i; i < leaves.length; ++i) {
            (users[i], amounts[i]) = (leaves[i].user, leaves[i].amount);
        }
        return _billing().vault.collectBatch(users, amounts, bytes32(batchId));
    }

    /// @dev Books the Vault's per-leaf outcome and the batch's running sums.
    function _record(uint256 batchId, Batch storage batch, Leaf[] calldata leaves, bool[] memory ok, uint256 collectedTotal)
        private
    {
        BillingStorage storage $ = _billing();
        (BitMaps.BitMap storage collected, BitMaps.BitMap storage short) = ($.collected[batchId], $.short[batchId]);
        uint256 newlyShort;
        uint256 shortRepaid;
        for (uint256 i; i < leaves.length; ++i) {
            (uint256 added, uint256 repaid) = _recordLeaf(batchId, leaves[i], ok[i], collected, short);
            (newlyShort, shortRepaid) = (newlyShort + added, shortRepaid + repaid);
        }
        uint256 collectedSoFar = batch.collected + collectedTotal;
        if (collectedSoFar > batch.total) revert BatchTotalExceeded(batchId, collectedSoFar, batch.total);
        batch.collected = uint128(collectedSoFar);
        batch.shortfall = uint128(batch.shortfall + newlyShort - shortRepaid);
    }

    /// @dev A collected leaf stays closed for good; one the Vault could not collect is reopened
    /// and becomes (or stays) a shortfall.
    /// @return newlyShort The leaf's amount if it just became short.
    /// @return repaid The leaf's amount if it was short and is now collected.
    function _recordLeaf(
        uint256 batchId,
        Leaf calldata leaf,
        bool ok,
        BitMaps.BitMap storage collected,
        BitMaps.BitMap storage short
    ) private returns (uint256 newlyShort, uint256 repaid) {
        bool wasShort = short.get(leaf.index);
        if (ok) {
            if (wasShort) {
                short.unset(leaf.index);
                repaid = leaf.amount;
            }
            emit LeafCollected(batchId, leaf.index, leaf.user, leaf.amount);
        } else {
            collected.unset(leaf.index);
            if (!wasShort) {
                short.set(leaf.index);
                newlyShort = leaf.amount;
            }
            emit LeafShortfall(batchId, leaf.index, leaf.user, leaf.amount);
        }
    }

    /// @dev OpenZeppelin StandardMerkleTree leaf: keccak256(bytes.concat(keccak256(abi.encode(...)))).
    function _leafHash(Leaf calldata leaf) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(leaf.index, leaf.user, leaf.amount))));
    }
}
