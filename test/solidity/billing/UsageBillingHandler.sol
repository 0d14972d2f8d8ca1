// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {CXPT} from "../../../contracts/token/CXPT.sol";
import {Vault} from "../../../contracts/vault/Vault.sol";
import {UsageBilling} from "../../../contracts/billing/UsageBilling.sol";
import {Actors} from "../utils/Actors.sol";
import {UsageBatches} from "../utils/UsageBatches.sol";

/// @notice Drives UsageBilling as the settlement job would, with batches of 1..8 leaves built in
/// Solidity: commits, settlements, chunks in any order (re-collections included), shortfalls and
/// retries, recommits, forged leaves, leaves replayed under another batch id, spending caps
/// changed and time passing, tracking how often each leaf was collected and what each user paid
/// in each cap period.
contract UsageBillingHandler is Actors {
    using UsageBatches for UsageBatches.Batch;

    uint256 public constant MAX_LEAVES = 8;
    uint256 public constant MAX_AMOUNT = 5_000 ether;
    address public constant SETTLER = address(0x5E771E2);

    CXPT public immutable token;
    Vault public immutable vault;
    UsageBilling public immutable billing;

    uint256 public batchCount;
    mapping(uint256 batchId => address[]) private batchUsers;
    mapping(uint256 batchId => uint256[]) private batchAmounts;
    mapping(uint256 batchId => mapping(uint256 index => uint256)) public ghostCollections;
    uint256 public ghostCollected;
    mapping(address user => uint256) public ghostPaidBy;
    mapping(address user => mapping(uint256 window => uint256)) public ghostPaidInWindow;
    /// @dev Batches committed with another batch's root: none of their leaves can prove.
    mapping(uint256 batchId => bool) public replayed;

    uint256 public constant CAP_PERIOD = 1 days;

    constructor(CXPT token_, Vault vault_, UsageBilling billing_) {
        (token, vault, billing) = (token_, vault_, billing_);
        address[] memory list = actors();
        for (uint256 i; i < list.length; ++i) {
            vm.startPrank(list[i]);
            token_.approve(address(vault_), type(uint256).max);
            billing_.setSpendingCap(4 * MAX_AMOUNT, CAP_PERIOD);
            vm.stopPrank();
        }
    }

    // ───────────────────────────── actions ─────────────────────────────

    /// @dev Commits a new batch; with `settleNow`, collects a first chunk (`mask`) in the same call.
    function commit(uint256 leafCount, uint256 seed, bool settleNow, uint256 mask) external {
        (uint256 batchId, UsageBatches.Batch memory batch) = _newBatch(bound(leafCount, 1, MAX_LEAVES), seed);
        if (settleNow) {
            _settle(batchId, batch, mask);
        } else {
            vm.prank(SETTLER);
            billing.commitBatch(batchId, batch.root(), batch.total, batch.leaves.length);
        }
    }

    /// @dev Collects chunk `mask` of a batch; it must revert exactly when it holds a collected leaf.
    function collect(uint256 batchSeed, uint256 mask) external {
        if (batchCount == 0) return;
        uint256 batchId = bound(batchSeed, 1, batchCount);
        if (replayed[batchId]) return;
        UsageBatches.Batch memory batch = _batch(batchId);
        uint256[] memory indices = batch.select(mask);
        (UsageBilling.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) = batch.chunk(indices);
        uint256[] memory before = _statuses(batchId, indices);
        bool holdsCollected;
        for (uint256 i; i < indices.length; ++i) {
            if (before[i] == uint256(UsageBilling.LeafStatus.Collected)) holdsCollected = true;
        }
        vm.prank(SETTLER);
        try billing.collectChunk(batchId, leaves, proof, flags) {
            _flag(holdsCollected, "a collected leaf was collected again");
            _afterChunk(batchId, indices, before);
        } catch {
            _flag(!holdsCollected, "a valid chunk of uncollected leaves was refused");
        }
    }

    /// @dev Committing an existing batch id again must revert.
    function recommit(uint256 batchSeed, bytes32 root, uint256 total, uint256 count) external {
        if (batchCount == 0) return;
        uint256 batchId = bound(batchSeed, 1, batchCount);
        if (root == 0) root = keccak256("root");
        total = bound(total, 1, type(uint128).max);
        count = bound(count, 1, MAX_LEAVES);
        vm.prank(SETTLER);
        try billing.commitBatch(batchId, root, total, count) {
            _flag(true, "a batch was committed twice");
        } catch {}
    }

    /// @dev A leaf whose amount was raised keeps the original proof: it must be refused.
    function collectForged(uint256 batchSeed, uint256 leafSeed, uint256 raise) external {
        if (batchCount == 0) return;
        uint256 batchId = bound(batchSeed, 1, batchCount);
        if (replayed[batchId]) return;
        UsageBatches.Batch memory batch = _batch(batchId);
        uint256[] memory indices = new uint256[](1);
        indices[0] = leafSeed % batch.leaves.length;
        (UsageBilling.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) = batch.chunk(indices);
        leaves[0].amount += bound(raise, 1, MAX_AMOUNT);
        vm.prank(SETTLER);
        try billing.collectChunk(batchId, leaves, proof, flags) {
            _flag(true, "a forged leaf was collected");
        } catch {}
    }

    /// @dev Proves a batch's leaves under another batch id (the same root committed again): refused.
    function replay(uint256 batchSeed, uint256 mask) external {
        if (batchCount == 0) return;
        uint256 source = bound(batchSeed, 1, batchCount);
        if (replayed[source]) return;
        UsageBatches.Batch memory batch = _batch(source);
        uint256 batchId = ++batchCount;
        replayed[batchId] = true;
        batchUsers[batchId] = batchUsers[source];
        batchAmounts[batchId] = batchAmounts[source];
        vm.prank(SETTLER);
        billing.commitBatch(batchId, batch.root(), batch.total, batch.leaves.length);
        (UsageBilling.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) = batch.chunk(batch.select(mask));
        vm.prank(SETTLER);
        try billing.collectChunk(batchId, leaves, proof, flags) {
            _flag(true, "a batch's leaves were collected under another batch id");
        } catch {}
    }

    /// @dev A user changes their spending cap (0: PAYG off).
    function setCap(uint256 seed, uint256 amount) external {
        vm.prank(actor(seed));
        billing.setSpendingCap(bound(amount, 0, 6 * MAX_AMOUNT), CAP_PERIOD);
    }

    /// @dev Time passes (up to two cap periods), so caps renew.
    function warp(uint256 by) external {
        vm.warp(block.timestamp + bound(by, 1, 2 * CAP_PERIOD));
    }

    /// @dev Turns a user's Vault allowance on or off, so their leaves fall short or recover.
    function setAllowance(uint256 seed, bool allowed) external {
        vm.prank(actor(seed));
        token.approve(address(vault), allowed ? type(uint256).max : 0);
    }

    // ───────────────────────────── ghost views ─────────────────────────────

    function leavesOf(uint256 batchId) external view returns (address[] memory users, uint256[] memory amounts) {
        return (batchUsers[batchId], batchAmounts[batchId]);
    }

    // ───────────────────────────── internals ─────────────────────────────

    function _newBatch(uint256 leafCount, uint256 seed)
        private
        returns (uint256 batchId, UsageBatches.Batch memory batch)
    {
        address[] memory users = new address[](leafCount);
        uint256[] memory amounts = new uint256[](leafCount);
        for (uint256 i; i < leafCount; ++i) {
            users[i] = actor(uint256(keccak256(abi.encode(seed, i))));
            amounts[i] = bound(uint256(keccak256(abi.encode(seed, i, "amount"))), 1, MAX_AMOUNT);
        }
        batchId = ++batchCount;
        batchUsers[batchId] = users;
        batchAmounts[batchId] = amounts;
        batch = UsageBatches.make(address(billing), batchId, users, amounts);
    }

    function _settle(uint256 batchId, UsageBatches.Batch memory batch, uint256 mask) private {
        uint256[] memory indices = batch.select(mask);
        (UsageBilling.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) = batch.chunk(indices);
        uint256[] memory before = _statuses(batchId, indices);
        bytes32 root = batch.root();
        vm.prank(SETTLER);
        billing.settleBatch(batchId, root, batch.total, batch.leaves.length, leaves, proof, flags);
        _afterChunk(batchId, indices, before);
    }

    function _batch(uint256 batchId) private view returns (UsageBatches.Batch memory) {
        return UsageBatches.make(address(billing), batchId, batchUsers[batchId], batchAmounts[batchId]);
    }

    function _statuses(uint256 batchId, uint256[] memory indices) private view returns (uint256[] memory statuses) {
        statuses = new uint256[](indices.length);
        for (uint256 i; i < indices.length; ++i) {
            statuses[i] = uint256(billing.leafStatus(batchId, indices[i]));
        }
    }

    /// @dev Books each leaf of a chunk that turned Collected, and checks the rest became Shortfall.
    function _afterChunk(uint256 batchId, uint256[] memory indices, uint256[] memory before) private {
        for (uint256 i; i < indices.length; ++i) {
            uint256 index = indices[i];
            UsageBilling.LeafStatus status = billing.leafStatus(batchId, index);
            if (status == UsageBilling.LeafStatus.Collected) {
                _flag(before[i] == uint256(UsageBilling.LeafStatus.Collected), "a leaf was collected twice");
                uint256 amount = batchAmounts[batchId][index];
                ++ghostCollections[batchId][index];
                ghostCollected += amount;
                address user = batchUsers[batchId][index];
                ghostPaidBy[user] += amount;
                uint256 window = block.timestamp - block.timestamp % CAP_PERIOD;
                uint256 paid = ghostPaidInWindow[user][window] += amount;
                _flag(paid > billing.spendingCapOf(user).amount, "a user paid more than their cap in a period");
            } else {
                _flag(status != UsageBilling.LeafStatus.Shortfall, "an uncollected leaf of a chunk is not a shortfall");
            }
        }
    }
}
