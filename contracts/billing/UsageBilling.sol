// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";
import {Governed} from "../access/Governed.sol";
import {IVault} from "../interfaces/IVault.sol";

/// @title UsageBilling
/// @notice Settles pay-as-you-go usage in batches. The backend commits a batch as the Merkle root
/// of its leaves `(chainId, billing, batchId, index, user, amount)` (OpenZeppelin StandardMerkleTree
/// encoding), then, once the batch's challenge window has passed, collects the leaves in chunks,
/// each chunk proven with one multiproof and pulled through the Vault in one call.
/// @dev What bounds the settler key: a leaf hashes its batch id, this contract and the chain, so a
/// root proves leaves of one batch only and a leaf is collected at most once anywhere; each user
/// sets a spending cap per period, and a leaf that would take more is a shortfall, not a charge;
/// during the challenge window the leaves are public and a guardian (the Safe) can cancel the
/// batch. A payer whose cap, allowance or balance falls short is recorded as a shortfall instead
/// of reverting the chunk; such a leaf can be collected again later, a collected leaf never.
contract UsageBilling is Governed {
    using BitMaps for BitMaps.BitMap;

    /// @notice May commit batches and collect their leaves (the settlement job).
    bytes32 public constant SETTLER_ROLE = keccak256("SETTLER_ROLE");
    /// @notice May cancel a batch (the Safe, or a guardian it names), besides the admin.
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    /// @notice The longest challenge window the admin may set.
    uint256 public constant MAX_CHALLENGE_WINDOW = 7 days;
    /// @notice Bounds of a spending cap's period.
    uint256 public constant MIN_CAP_PERIOD = 1 hours;
    uint256 public constant MAX_CAP_PERIOD = 365 days;

    /// @notice The state of one leaf of a batch.
    enum LeafStatus {
        Pending,
        Collected,
        Shortfall
    }

    /// @notice What a user lets PAYG settlement take: at most `amount` wei per `period` seconds,
    /// periods aligned to multiples of `period` since the epoch. `spent` is what was collected in
    /// the period starting at `windowStart`. No cap (amount 0) means no PAYG.
    struct SpendingCap {
        uint96 amount;
        uint96 spent;
        uint32 period;
        uint32 windowStart;
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
        // Added by the trust bounds (issue 12); appended so the layout stays upgrade-safe.
        mapping(address user => SpendingCap) caps;
        BitMaps.BitMap cancelled;
        uint64 challengeWindow;
    }

    // keccak256(abi.encode(uint256(keccak256("cxpt.storage.UsageBilling")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant BILLING_STORAGE = 0x6e6446872c1979d951a4ec5231f39819f1cfc5565172b3bc09729aa83d6c2100;

    event BatchCommitted(uint256 indexed batchId, bytes32 root, uint256 total, uint256 count);
    event LeafCollected(uint256 indexed batchId, uint256 index, address indexed user, uint256 amount);
    event LeafShortfall(uint256 indexed batchId, uint256 index, address indexed user, uint256 amount);
    event BatchCancelled(uint256 indexed batchId, address indexed by);
    event SpendingCapSet(address indexed user, uint256 amount, uint256 period);
    event ChallengeWindowSet(uint256 window);
    event BillingInitialized(address admin, address vault);

    error BatchAlreadyCommitted(uint256 batchId);
    error UnknownBatch(uint256 batchId);
    error InvalidBatch();
    error InvalidProof(uint256 batchId);
    error LeafIndexOutOfRange(uint256 batchId, uint256 index, uint256 count);
    error LeafAlreadyCollected(uint256 batchId, uint256 index);
    error BatchTotalExceeded(uint256 batchId, uint256 collected, uint256 total);
    error EmptyChunk(uint256 batchId);
    error BatchIsCancelled(uint256 batchId);
    error ChallengeWindowOpen(uint256 batchId, uint256 collectableAt);
    error ChallengeWindowTooLong(uint256 window, uint256 max);
    error InvalidCapPeriod(uint256 period);
    error CapTooLarge(uint256 amount);
    error NotGuardian(address account);

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
        emit BillingInitialized(admin, vault_);
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

    /// @notice Commits batch `batchId` and collects a first chunk of its leaves in one transaction:
    /// only without a challenge window (a local chain), since collection waits for the window.
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

    // ───────────────────────────── consent and oversight ─────────────────────────────

    /// @notice Sets the caller's PAYG spending cap: settlement takes at most `amount` wei per
    /// `period` seconds from them. `amount` 0 turns PAYG off; what was spent in the current
    /// period still counts against a new cap of the same period.
    function setSpendingCap(uint256 amount, uint256 period) external {
        if (amount > type(uint96).max) revert CapTooLarge(amount);
        if (period < MIN_CAP_PERIOD || period > MAX_CAP_PERIOD) revert InvalidCapPeriod(period);
        SpendingCap storage cap = _billing().caps[msg.sender];
        (cap.amount, cap.period) = (uint96(amount), uint32(period));
        emit SpendingCapSet(msg.sender, amount, period);
    }

    /// @notice Cancels batch `batchId`: none of its leaves can be collected any more (guardian or
    /// admin). Meant for the challenge window; leaves collected before stay collected.
    function cancelBatch(uint256 batchId) external {
        if (!hasRole(GUARDIAN_ROLE, msg.sender) && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) revert NotGuardian(msg.sender);
        BillingStorage storage $ = _billing();
        if ($.batches[batchId].root == bytes32(0)) revert UnknownBatch(batchId);
        if ($.cancelled.get(batchId)) revert BatchIsCancelled(batchId);
        $.cancelled.set(batchId);
        emit BatchCancelled(batchId, msg.sender);
    }

    /// @notice Sets the time between a batch's commit and its first collection (admin).
    function setChallengeWindow(uint256 window) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (window > MAX_CHALLENGE_WINDOW) revert ChallengeWindowTooLong(window, MAX_CHALLENGE_WINDOW);
        _billing().challengeWindow = uint64(window);
        emit ChallengeWindowSet(window);
    }

    // ───────────────────────────── views ─────────────────────────────

    /// @notice `user`'s spending cap, with what was spent in the period starting at `windowStart`.
    function spendingCapOf(address user) external view returns (SpendingCap memory) {
        return _billing().caps[user];
    }

    /// @notice What settlement may still take from `user` in the current period.
    function remainingCap(address user) external view returns (uint256) {
        SpendingCap memory cap = _billing().caps[user];
        if (cap.amount == 0) return 0;
        uint256 spent = _windowOf(cap.period) == cap.windowStart ? cap.spent : 0;
        return spent >= cap.amount ? 0 : cap.amount - spent;
    }

    /// @notice The time between a batch's commit and its first collection.
    function challengeWindow() external view returns (uint256) {
        return _billing().challengeWindow;
    }

    /// @notice When batch `batchId`'s leaves can be collected (0 for an unknown batch).
    function collectableAt(uint256 batchId) public view returns (uint256) {
        BillingStorage storage $ = _billing();
        Batch storage batch = $.batches[batchId];
        return batch.root == bytes32(0) ? 0 : uint256(batch.committedAt) + $.challengeWindow;
    }

    /// @notice Whether a guardian cancelled batch `batchId`.
    function isCancelled(uint256 batchId) external view returns (bool) {
        return _billing().cancelled.get(batchId);
    }

    /// @notice Whether `leaf` belongs to batch `batchId`, by a single-leaf Merkle `proof`.
    function verifyLeaf(uint256 batchId, Leaf calldata leaf, bytes32[] calldata proof) external view returns (bool) {
        bytes32 root = _billing().batches[batchId].root;
        return root != bytes32(0) && MerkleProof.verifyCalldata(proof, root, _leafHash(batchId, leaf.index, leaf.user, leaf.amount));
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

    /// @notice The hash of `leaf` in batch `batchId`, as OpenZeppelin's StandardMerkleTree computes
    /// it for `(chainId, billing, batchId, index, user, amount)`.
    function leafHash(uint256 batchId, Leaf calldata leaf) external view returns (bytes32) {
        return _leafHash(batchId, leaf.index, leaf.user, leaf.amount);
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
        BillingStorage storage $ = _billing();
        Batch storage batch = $.batches[batchId];
        if (batch.root == bytes32(0)) revert UnknownBatch(batchId);
        if ($.cancelled.get(batchId)) revert BatchIsCancelled(batchId);
        uint256 openUntil = uint256(batch.committedAt) + $.challengeWindow;
        if (block.timestamp < openUntil) revert ChallengeWindowOpen(batchId, openUntil);
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
            uint256 index = leaf.index;
            if (index >= count) revert LeafIndexOutOfRange(batchId, index, count);
            _reserveIndex(collected, batchId, index);
            hashes[i] = _leafHash(batchId, index, leaf.user, leaf.amount);
        }
        if (!MerkleProof.multiProofVerifyCalldata(proof, proofFlags, batch.root, hashes)) revert InvalidProof(batchId);
    }

    /// @dev Marks leaf `index` collected, reverting if it already is: BitMaps' get and set with one
    /// slot lookup and one read.
    function _reserveIndex(BitMaps.BitMap storage collected, uint256 batchId, uint256 index) private {
        (uint256 bucket, uint256 mask) = (index >> 8, 1 << (index & 0xff));
        uint256 word = collected._data[bucket];
        if (word & mask != 0) revert LeafAlreadyCollected(batchId, index);
        collected._data[bucket] = word | mask;
    }

    /// @dev Pulls the chunk's amounts through the Vault in one call. A leaf its user's cap cannot
    /// cover is not sent (it is short); the cap is spent for the others before the call, and given
    /// back for each the Vault could not collect.
    function _pull(uint256 batchId, Leaf[] calldata leaves)
        private
        returns (uint256 collectedTotal, bool[] memory ok)
    {
        mapping(address => SpendingCap) storage caps = _billing().caps;
        uint256 n = leaves.length;
        ok = new bool[](n);
        address[] memory users = new address[](n);
        uint256[] memory amounts = new uint256[](n);
        uint256 sent;
        for (uint256 i; i < n; ++i) {
            (address user, uint256 amount) = (leaves[i].user, leaves[i].amount);
            if (!_spend(caps[user], amount)) continue;
            (users[sent], amounts[sent], ok[i]) = (user, amount, true);
            ++sent;
        }
        if (sent == 0) return (0, ok);
        assembly {
            mstore(users, sent)
            mstore(amounts, sent)
        }
        bool[] memory pulled;
        (collectedTotal, pulled) = _billing().vault.collectBatch(users, amounts, bytes32(batchId));
        uint256 j;
        for (uint256 i; i < n; ++i) {
            if (!ok[i]) continue;
            if (!pulled[j]) {
                ok[i] = false;
                caps[leaves[i].user].spent -= uint96(leaves[i].amount);
            }
            ++j;
        }
    }

    /// @dev Books `amount` against `cap` in the current period; false (nothing booked) when it does not fit.
    function _spend(SpendingCap storage cap, uint256 amount) private returns (bool) {
        (uint256 limit, uint256 period) = (cap.amount, cap.period);
        if (limit == 0) return false;
        uint32 window = _windowOf(period);
        uint256 spent = window == cap.windowStart ? cap.spent : 0;
        if (spent + amount > limit) return false;
        (cap.spent, cap.windowStart) = (uint96(spent + amount), window);
        return true;
    }

    /// @dev The start of the current period of length `period` (uint32 seconds: valid until 2106).
    function _windowOf(uint256 period) private view returns (uint32) {
        return period == 0 ? 0 : uint32(block.timestamp - block.timestamp % period);
    }

    /// @dev Books the Vault's per-leaf outcome and the batch's running sums.
    function _record(uint256 batchId, Batch storage batch, Leaf[] calldata leaves, bool[] memory ok, uint256 collectedTotal)
        private
    {
        BillingStorage storage $ = _billing();
        (BitMaps.BitMap storage collected, BitMaps.BitMap storage short) = ($.collected[batchId], $.short[batchId]);
        uint256 newlyShort;
        uint256 shortRepaid;
        // No leaf of a batch without shortfall can be short: its bitmap need not be read.
        bool anyShort = batch.shortfall != 0;
        for (uint256 i; i < leaves.length; ++i) {
            (uint256 added, uint256 repaid) = _recordLeaf(batchId, leaves[i], ok[i], anyShort, collected, short);
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
        bool anyShort,
        BitMaps.BitMap storage collected,
        BitMaps.BitMap storage short
    ) private returns (uint256 newlyShort, uint256 repaid) {
        bool wasShort = anyShort && short.get(leaf.index);
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
    /// Chain, contract and batch id are hashed in, so a leaf proves in one batch only. Encoded in the
    /// free memory without allocating it: a chunk's leaves do not grow memory one by one.
    function _leafHash(uint256 batchId, uint256 index, address user, uint256 amount) private view returns (bytes32 hash) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, chainid())
            mstore(add(ptr, 0x20), address())
            mstore(add(ptr, 0x40), batchId)
            mstore(add(ptr, 0x60), index)
            mstore(add(ptr, 0x80), user)
            mstore(add(ptr, 0xa0), amount)
            mstore(0x00, keccak256(ptr, 0xc0))
            hash := keccak256(0x00, 0x20)
        }
    }
}
