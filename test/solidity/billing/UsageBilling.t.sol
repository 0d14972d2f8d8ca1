// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {CXPT} from "../../../contracts/token/CXPT.sol";
import {Vault} from "../../../contracts/vault/Vault.sol";
import {UsageBilling} from "../../../contracts/billing/UsageBilling.sol";
import {Assertions} from "../utils/Assertions.sol";
import {InvariantTest} from "../utils/InvariantTest.sol";
import {Deploy} from "../utils/Deploy.sol";
import {Merkle} from "../utils/Merkle.sol";
import {UsageBatches} from "../utils/UsageBatches.sol";
import {UsageBillingHandler} from "./UsageBillingHandler.sol";

/// @notice Token, Vault and UsageBilling wired as deployed, with the test contract as admin.
abstract contract BillingSetup is Assertions {
    CXPT internal token;
    Vault internal vault;
    UsageBilling internal billing;

    function _deployBilling() internal {
        token = Deploy.cxpt(address(this), address(this));
        // The Vault only needs a distributor address here: nothing is swept.
        vault = Deploy.vault(address(this), address(token), address(0xD157));
        billing = Deploy.billing(address(this), address(vault));
        vault.grantRole(vault.COLLECTOR_ROLE(), address(billing));
    }
}

/// @notice Fuzz tests of batch settlement with trees of 1..8 leaves built in Solidity. The test
/// contract is the settler.
contract UsageBillingTest is BillingSetup {
    using UsageBatches for UsageBatches.Batch;

    uint256 private constant BATCH = 7;
    uint256 private constant USERS = 3;

    function setUp() public {
        _deployBilling();
        billing.grantRole(billing.SETTLER_ROLE(), address(this));
        for (uint256 i; i < USERS; ++i) {
            token.transfer(_user(i), 1_000_000 ether);
            vm.prank(_user(i));
            token.approve(address(vault), type(uint256).max);
        }
    }

    /// @notice The contract hashes leaves as StandardMerkleTree does, and every leaf's
    /// single-leaf proof verifies while a changed amount does not.
    function testFuzz_EveryLeafProves(uint256 leafCount, uint256 seed, uint256 which) public {
        UsageBatches.Batch memory batch = _make(leafCount, seed);
        billing.commitBatch(BATCH, batch.root(), batch.total, batch.leaves.length);
        UsageBilling.Leaf memory leaf = batch.leaves[which % batch.leaves.length];
        assertEq(billing.leafHash(leaf), Merkle.leafHash(leaf.index, leaf.user, leaf.amount), "leaf hash");
        bytes32[] memory proof = Merkle.proof(batch.tree, batch.position[leaf.index]);
        assertTrue(billing.verifyLeaf(BATCH, leaf, proof), "leaf proves");
        leaf.amount += 1;
        assertFalse(billing.verifyLeaf(BATCH, leaf, proof), "changed leaf does not prove");
    }

    /// @notice One multiproof of all leaves settles the whole batch; any leaf again reverts.
    function testFuzz_WholeBatchSettlesOnce(uint256 leafCount, uint256 seed, uint256 again) public {
        UsageBatches.Batch memory batch = _make(leafCount, seed);
        (UsageBilling.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) = batch.chunk(batch.all());
        billing.settleBatch(BATCH, batch.root(), batch.total, batch.leaves.length, leaves, proof, flags);
        UsageBilling.Batch memory stored = billing.batchOf(BATCH);
        assertEq(stored.collected, batch.total, "collected == total");
        assertEq(stored.shortfall, 0, "no shortfall");
        assertEq(vault.totalBurned() + vault.accrued(), batch.total, "vault received the total");

        uint256[] memory one = new uint256[](1);
        one[0] = again % batch.leaves.length;
        (leaves, proof, flags) = batch.chunk(one);
        vm.expectRevert(abi.encodeWithSelector(UsageBilling.LeafAlreadyCollected.selector, BATCH, one[0]));
        billing.collectChunk(BATCH, leaves, proof, flags);
    }

    /// @notice Any chunk, then the rest: the batch is collected exactly once in total.
    function testFuzz_ChunksCollectTheTotalOnce(uint256 leafCount, uint256 seed, uint256 mask) public {
        UsageBatches.Batch memory batch = _make(leafCount, seed);
        billing.commitBatch(BATCH, batch.root(), batch.total, batch.leaves.length);
        uint256[] memory first = batch.select(mask);
        _collect(batch, first);
        uint256 firstSum;
        for (uint256 i; i < first.length; ++i) {
            firstSum += batch.leaves[first[i]].amount;
        }
        assertEq(billing.batchOf(BATCH).collected, firstSum, "first chunk collected");
        uint256 full = (1 << batch.leaves.length) - 1;
        uint256 restMask = full & ~_maskOf(first);
        if (restMask != 0) _collect(batch, batch.select(restMask));
        assertEq(billing.batchOf(BATCH).collected, batch.total, "collected == total");
        for (uint256 i; i < batch.leaves.length; ++i) {
            assertEq(
                uint256(billing.leafStatus(BATCH, i)), uint256(UsageBilling.LeafStatus.Collected), "leaf collected"
            );
        }
    }

    /// @notice A payer without allowance becomes a shortfall, and its leaves are collected on retry.
    function testFuzz_ShortfallIsRetried(uint256 leafCount, uint256 seed, uint256 shortUser) public {
        UsageBatches.Batch memory batch = _make(leafCount, seed);
        address payer = batch.leaves[shortUser % batch.leaves.length].user;
        vm.prank(payer);
        token.approve(address(vault), 0);
        uint256 owed;
        uint256 shortMask;
        for (uint256 i; i < batch.leaves.length; ++i) {
            if (batch.leaves[i].user != payer) continue;
            owed += batch.leaves[i].amount;
            shortMask |= 1 << i;
        }
        (UsageBilling.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) = batch.chunk(batch.all());
        billing.settleBatch(BATCH, batch.root(), batch.total, batch.leaves.length, leaves, proof, flags);
        UsageBilling.Batch memory stored = billing.batchOf(BATCH);
        assertEq(stored.shortfall, owed, "payer's leaves are short");
        assertEq(stored.collected, batch.total - owed, "others collected");

        vm.prank(payer);
        token.approve(address(vault), type(uint256).max);
        _collect(batch, batch.select(shortMask));
        stored = billing.batchOf(BATCH);
        assertEq(stored.shortfall, 0, "shortfall repaid");
        assertEq(stored.collected, batch.total, "collected == total");
    }

    function testFuzz_RecommitReverts(bytes32 root, uint256 total, uint256 count) public {
        vm.assume(root != 0);
        total = bound(total, 1, type(uint128).max);
        count = bound(count, 1, type(uint64).max);
        billing.commitBatch(BATCH, keccak256("first"), 1, 1);
        vm.expectRevert(abi.encodeWithSelector(UsageBilling.BatchAlreadyCommitted.selector, BATCH));
        billing.commitBatch(BATCH, root, total, count);
    }

    /// @notice A leaf whose index is past the committed count is refused even with a valid proof.
    function testFuzz_IndexBeyondCountReverts(uint256 leafCount, uint256 seed, uint256 count) public {
        UsageBatches.Batch memory batch = _make(bound(leafCount, 2, 8), seed);
        uint256 last = batch.leaves.length - 1;
        count = bound(count, 1, last);
        billing.commitBatch(BATCH, batch.root(), batch.total, count);
        uint256[] memory one = new uint256[](1);
        one[0] = last;
        (UsageBilling.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) = batch.chunk(one);
        vm.expectRevert(abi.encodeWithSelector(UsageBilling.LeafIndexOutOfRange.selector, BATCH, last, count));
        billing.collectChunk(BATCH, leaves, proof, flags);
    }

    function testFuzz_ForgedAmountIsRefused(uint256 leafCount, uint256 seed, uint256 which, uint256 raise) public {
        UsageBatches.Batch memory batch = _make(leafCount, seed);
        billing.commitBatch(BATCH, batch.root(), batch.total, batch.leaves.length);
        uint256[] memory one = new uint256[](1);
        one[0] = which % batch.leaves.length;
        (UsageBilling.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) = batch.chunk(one);
        leaves[0].amount += bound(raise, 1, 1_000 ether);
        vm.expectRevert(abi.encodeWithSelector(UsageBilling.InvalidProof.selector, BATCH));
        billing.collectChunk(BATCH, leaves, proof, flags);
    }

    /// @notice A root and multiproof made by the backend's library (`@openzeppelin/merkle-tree`
    /// StandardMerkleTree of 8 leaves `(i, users[i % 3], (i + 1) ether + 7)`, multiproof of the
    /// even leaves) are accepted as they are, and the Solidity tree builder agrees with them.
    function test_AcceptsTheOpenZeppelinLibrarysMultiproof() public {
        address[3] memory payers = [address(0xA11CE), address(0xB0B00), address(0xC4201C)];
        address[] memory users = new address[](8);
        uint256[] memory amounts = new uint256[](8);
        for (uint256 i; i < 8; ++i) {
            (users[i], amounts[i]) = (payers[i % 3], (i + 1) * 1 ether + 7);
        }
        for (uint256 i; i < 3; ++i) {
            token.transfer(payers[i], 1_000 ether);
            vm.prank(payers[i]);
            token.approve(address(vault), type(uint256).max);
        }
        UsageBatches.Batch memory batch = UsageBatches.make(users, amounts);
        bytes32 root = 0xb8a93a057f6939e9bc71c80a673bc01ca8f1ec1ab0a428d5ca6f56db456eb18d;
        assertEq(batch.root(), root, "same root as the library");

        uint256[4] memory order = [uint256(0), 4, 6, 2];
        UsageBilling.Leaf[] memory leaves = new UsageBilling.Leaf[](4);
        for (uint256 i; i < 4; ++i) {
            leaves[i] = batch.leaves[order[i]];
        }
        bytes32[] memory proof = new bytes32[](2);
        proof[0] = 0x642296f4032ef7d8a3e232be108d10b0a1df8f4cd8e323fda64ff71396c8e645;
        proof[1] = 0xd1b9aeb00a004c18e1d359bfe7b3c441bd3832ccf25b06c5ad6b6f24abea0c05;
        bool[] memory flags = new bool[](5);
        (flags[0], flags[1], flags[4]) = (true, true, true);

        billing.settleBatch(BATCH, root, batch.total, 8, leaves, proof, flags);
        assertEq(
            billing.batchOf(BATCH).collected, amounts[0] + amounts[2] + amounts[4] + amounts[6], "even leaves collected"
        );
    }

    function _make(uint256 leafCount, uint256 seed) private pure returns (UsageBatches.Batch memory) {
        leafCount = bound(leafCount, 1, 8);
        address[] memory users = new address[](leafCount);
        uint256[] memory amounts = new uint256[](leafCount);
        for (uint256 i; i < leafCount; ++i) {
            users[i] = _user(uint256(keccak256(abi.encode(seed, i))) % USERS);
            amounts[i] = bound(uint256(keccak256(abi.encode(seed, i, "amount"))), 1, 10_000 ether);
        }
        return UsageBatches.make(users, amounts);
    }

    function _collect(UsageBatches.Batch memory batch, uint256[] memory indices) private {
        (UsageBilling.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) = batch.chunk(indices);
        billing.collectChunk(BATCH, leaves, proof, flags);
    }

    function _maskOf(uint256[] memory indices) private pure returns (uint256 mask) {
        for (uint256 i; i < indices.length; ++i) {
            mask |= 1 << indices[i];
        }
    }

    function _user(uint256 i) private pure returns (address) {
        return address(uint160(0xA11CE + i));
    }
}

/// @notice Invariants of UsageBilling under random batches, chunks, shortfalls and forgeries.
contract UsageBillingInvariantTest is BillingSetup, InvariantTest {
    uint256 private constant INITIAL_BALANCE = 1_000_000 ether;

    UsageBillingHandler internal handler;

    function setUp() public {
        _deployBilling();
        handler = new UsageBillingHandler(token, vault, billing);
        billing.grantRole(billing.SETTLER_ROLE(), handler.SETTLER());
        address[] memory users = handler.actors();
        for (uint256 i; i < users.length; ++i) {
            token.transfer(users[i], INITIAL_BALANCE);
        }
        bytes4[] memory selectors = new bytes4[](5);
        selectors[0] = UsageBillingHandler.commit.selector;
        selectors[1] = UsageBillingHandler.collect.selector;
        selectors[2] = UsageBillingHandler.recommit.selector;
        selectors[3] = UsageBillingHandler.collectForged.selector;
        selectors[4] = UsageBillingHandler.setAllowance.selector;
        _target(address(handler), selectors);
    }

    /// @notice Property 5: a batch is committed once and each leaf is collected at most once; a
    /// leaf is Collected exactly when it was collected.
    function invariant_LeavesSettleOnce() public view {
        _assertNoViolation(handler);
        uint256 batches = handler.batchCount();
        for (uint256 batchId = 1; batchId <= batches; ++batchId) {
            (address[] memory users,) = handler.leavesOf(batchId);
            for (uint256 i; i < users.length; ++i) {
                uint256 collections = handler.ghostCollections(batchId, i);
                assertLe(collections, 1, "leaf collected at most once");
                assertEq(
                    billing.leafStatus(batchId, i) == UsageBilling.LeafStatus.Collected,
                    collections == 1,
                    "Collected status == collected once"
                );
            }
        }
    }

    /// @notice Collected never exceeds a batch's total; collected and shortfall are the sums of
    /// their leaves; the Vault and the payers saw exactly the collected amounts.
    function invariant_CollectedWithinTotal() public view {
        uint256 batches = handler.batchCount();
        uint256 collectedAll;
        for (uint256 batchId = 1; batchId <= batches; ++batchId) {
            (, uint256[] memory amounts) = handler.leavesOf(batchId);
            uint256 collected;
            uint256 short;
            for (uint256 i; i < amounts.length; ++i) {
                UsageBilling.LeafStatus status = billing.leafStatus(batchId, i);
                if (status == UsageBilling.LeafStatus.Collected) collected += amounts[i];
                if (status == UsageBilling.LeafStatus.Shortfall) short += amounts[i];
            }
            UsageBilling.Batch memory batch = billing.batchOf(batchId);
            assertLe(batch.collected, batch.total, "collected <= total");
            assertEq(batch.collected, collected, "collected == sum of collected leaves");
            assertEq(batch.shortfall, short, "shortfall == sum of short leaves");
            collectedAll += batch.collected;
        }
        assertEq(collectedAll, handler.ghostCollected(), "sum collected == ghost");
        assertEq(vault.totalBurned() + vault.accrued(), collectedAll, "vault received sum collected");
        address[] memory users = handler.actors();
        for (uint256 i; i < users.length; ++i) {
            assertEq(
                INITIAL_BALANCE - token.balanceOf(users[i]), handler.ghostPaidBy(users[i]), "payer paid its leaves"
            );
        }
    }
}
