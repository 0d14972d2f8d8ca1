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
            vm.startPrank(_user(i));
            token.approve(address(vault), type(uint256).max);
            billing.setSpendingCap(type(uint96).max, 1 days);
            vm.stopPrank();
        }
    }

    /// @notice The contract hashes leaves as StandardMerkleTree does, and every leaf's
    /// single-leaf proof verifies while a changed amount does not.
    function testFuzz_EveryLeafProves(uint256 leafCount, uint256 seed, uint256 which) public {
        UsageBatches.Batch memory batch = _make(leafCount, seed);
        billing.commitBatch(BATCH, batch.root(), batch.total, batch.leaves.length);
        UsageBilling.Leaf memory leaf = batch.leaves[which % batch.leaves.length];
        assertEq(
            billing.leafHash(BATCH, leaf),
            Merkle.leafHash(address(billing), BATCH, leaf.index, leaf.user, leaf.amount),
            "leaf hash"
        );
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
    /// StandardMerkleTree of 8 leaves `(31337, billing, 7, i, users[i % 3], (i + 1) ether + 7)`,
    /// multiproof of the even leaves) are accepted as they are, and the Solidity tree builder
    /// agrees with them. The billing address is the one this test's deployment always gets.
    function test_AcceptsTheOpenZeppelinLibrarysMultiproof() public {
        assertEq(address(billing), 0xa0Cb889707d426A7A386870A03bc70d1b0697598, "deterministic billing address");
        address[3] memory payers = [address(0xA11CE), address(0xB0B00), address(0xC4201C)];
        address[] memory users = new address[](8);
        uint256[] memory amounts = new uint256[](8);
        for (uint256 i; i < 8; ++i) {
            (users[i], amounts[i]) = (payers[i % 3], (i + 1) * 1 ether + 7);
        }
        for (uint256 i; i < 3; ++i) {
            token.transfer(payers[i], 1_000 ether);
            vm.startPrank(payers[i]);
            token.approve(address(vault), type(uint256).max);
            billing.setSpendingCap(type(uint96).max, 1 days);
            vm.stopPrank();
        }
        UsageBatches.Batch memory batch = UsageBatches.make(address(billing), BATCH, users, amounts);
        bytes32 root = 0x8e88062af11f4ca8b97439478d0af4a6be164905bad6584619952ec2312a884e;
        assertEq(batch.root(), root, "same root as the library");

        UsageBilling.Leaf[] memory leaves = new UsageBilling.Leaf[](4);
        for (uint256 i; i < 4; ++i) {
            leaves[i] = batch.leaves[2 * i];
        }
        bytes32[] memory proof = new bytes32[](3);
        proof[0] = 0x038937126de992a82c83a04f53a39b056b49c13ed7315f746c528f03378bdbf0;
        proof[1] = 0x93d24983f614904221fc0d68972d6db74aa714272dcfa9e608cee2b2195692cd;
        proof[2] = 0x323836fc7c163519c0f31ac63ce3146c28da79259d589073d2b5be3c188e9b67;
        bool[] memory flags = new bool[](6);
        (flags[2], flags[3], flags[5]) = (true, true, true);

        billing.settleBatch(BATCH, root, batch.total, 8, leaves, proof, flags);
        assertEq(
            billing.batchOf(BATCH).collected, amounts[0] + amounts[2] + amounts[4] + amounts[6], "even leaves collected"
        );
    }

    // ───────────────────────────── trust bounds ─────────────────────────────

    /// @notice The same root committed as another batch proves none of its leaves there: a usage
    /// record is never charged twice.
    function testFuzz_RootReplayedUnderAnotherBatchIsRefused(uint256 leafCount, uint256 seed, uint256 mask) public {
        UsageBatches.Batch memory batch = _make(leafCount, seed);
        (UsageBilling.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) = batch.chunk(batch.all());
        billing.settleBatch(BATCH, batch.root(), batch.total, batch.leaves.length, leaves, proof, flags);
        billing.commitBatch(BATCH + 1, batch.root(), batch.total, batch.leaves.length);
        (leaves, proof, flags) = batch.chunk(batch.select(mask));
        vm.expectRevert(abi.encodeWithSelector(UsageBilling.InvalidProof.selector, BATCH + 1));
        billing.collectChunk(BATCH + 1, leaves, proof, flags);
    }

    /// @notice Σ collected from a user in a period ≤ their cap: a leaf past it is a shortfall, not
    /// a charge, and is collected in a later period.
    function testFuzz_CapBoundsEachPeriod(uint256 cap, uint256 first, uint256 second) public {
        cap = bound(cap, 1, 10_000 ether);
        first = bound(first, 1, cap);
        // Past the cap on its own: the chunk's order (by hash) must not matter.
        second = bound(second, cap + 1, 20_000 ether);
        address user = _user(0);
        vm.warp(10 days);
        vm.prank(user);
        billing.setSpendingCap(cap, 1 days);
        _settleTwo(user, first, second);
        assertEq(billing.batchOf(BATCH).collected, first, "first fits the cap");
        assertEq(billing.batchOf(BATCH).shortfall, second, "second is short");
        assertEq(billing.remainingCap(user), cap - first, "remaining");

        vm.warp(11 days);
        vm.prank(user);
        billing.setSpendingCap(second, 1 days);
        uint256[] memory one = new uint256[](1);
        one[0] = 1;
        _collect(_twoLeaves(user, first, second), one);
        assertEq(billing.batchOf(BATCH).collected, first + second, "collected in the next period");
        assertEq(billing.remainingCap(user), 0, "cap used up");
    }

    /// @notice No cap means no PAYG: every leaf of a user without one is short.
    function testFuzz_NoCapNoCharge(uint256 amount) public {
        amount = bound(amount, 1, 10_000 ether);
        address user = address(0xCAFE);
        token.transfer(user, 20_000 ether);
        vm.prank(user);
        token.approve(address(vault), type(uint256).max);
        _settleTwo(user, amount, amount);
        assertEq(billing.batchOf(BATCH).collected, 0, "nothing collected");
        assertEq(token.balanceOf(user), 20_000 ether, "balance untouched");
    }

    /// @notice A leaf the Vault cannot collect gives the cap back.
    function test_ShortAllowanceGivesTheCapBack() public {
        address user = _user(0);
        vm.startPrank(user);
        billing.setSpendingCap(10 ether, 1 days);
        token.approve(address(vault), 1 ether);
        vm.stopPrank();
        _settleTwo(user, 5 ether, 1 ether);
        assertEq(billing.batchOf(BATCH).shortfall, 5 ether, "over the allowance");
        assertEq(billing.remainingCap(user), 9 ether, "only the collected leaf counts");
    }

    /// @notice With a challenge window, collection waits for it, and a guardian can cancel the batch.
    function testFuzz_ChallengeWindowAndCancel(uint256 window, uint256 early) public {
        window = bound(window, 1, billing.MAX_CHALLENGE_WINDOW());
        early = bound(early, 0, window - 1);
        billing.setChallengeWindow(window);
        UsageBatches.Batch memory batch = _make(3, 1);
        (UsageBilling.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) = batch.chunk(batch.all());
        vm.expectRevert(abi.encodeWithSelector(UsageBilling.ChallengeWindowOpen.selector, BATCH, block.timestamp + window));
        billing.settleBatch(BATCH, batch.root(), batch.total, batch.leaves.length, leaves, proof, flags);
        billing.commitBatch(BATCH, batch.root(), batch.total, batch.leaves.length);
        assertEq(billing.collectableAt(BATCH), block.timestamp + window, "collectable at");
        vm.warp(block.timestamp + early);
        vm.expectRevert(abi.encodeWithSelector(UsageBilling.ChallengeWindowOpen.selector, BATCH, billing.collectableAt(BATCH)));
        billing.collectChunk(BATCH, leaves, proof, flags);

        address guardian = address(0x5AFE);
        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(UsageBilling.NotGuardian.selector, guardian));
        billing.cancelBatch(BATCH);
        billing.grantRole(billing.GUARDIAN_ROLE(), guardian);
        vm.prank(guardian);
        billing.cancelBatch(BATCH);
        assertTrue(billing.isCancelled(BATCH), "cancelled");
        vm.warp(block.timestamp + window);
        vm.expectRevert(abi.encodeWithSelector(UsageBilling.BatchIsCancelled.selector, BATCH));
        billing.collectChunk(BATCH, leaves, proof, flags);
    }

    function test_WindowPassedCollects() public {
        billing.setChallengeWindow(1 days);
        UsageBatches.Batch memory batch = _make(3, 1);
        billing.commitBatch(BATCH, batch.root(), batch.total, batch.leaves.length);
        vm.warp(block.timestamp + 1 days);
        _collect(batch, batch.all());
        assertEq(billing.batchOf(BATCH).collected, batch.total, "collected after the window");
    }

    function test_SettingsAreBounded() public {
        vm.expectRevert(abi.encodeWithSelector(UsageBilling.ChallengeWindowTooLong.selector, 7 days + 1, 7 days));
        billing.setChallengeWindow(7 days + 1);
        vm.expectRevert(abi.encodeWithSelector(UsageBilling.InvalidCapPeriod.selector, 59 minutes));
        billing.setSpendingCap(1, 59 minutes);
        vm.expectRevert(abi.encodeWithSelector(UsageBilling.InvalidCapPeriod.selector, 366 days));
        billing.setSpendingCap(1, 366 days);
        vm.expectRevert(abi.encodeWithSelector(UsageBilling.CapTooLarge.selector, uint256(type(uint96).max) + 1));
        billing.setSpendingCap(uint256(type(uint96).max) + 1, 1 days);
        vm.expectRevert(abi.encodeWithSelector(UsageBilling.UnknownBatch.selector, 99));
        billing.cancelBatch(99);
    }

    /// @notice A batch cannot be cancelled twice, and the views report the settings.
    function test_CancelTwiceRevertsAndViewsReport() public {
        assertEq(billing.vault(), address(vault), "vault");
        assertEq(billing.challengeWindow(), 0, "no window by default");
        billing.setChallengeWindow(1 hours);
        assertEq(billing.challengeWindow(), 1 hours, "window set");
        assertEq(billing.remainingCap(address(0xB0B)), 0, "no cap, nothing to take");
        UsageBatches.Batch memory batch = _make(2, 3);
        billing.commitBatch(BATCH, batch.root(), batch.total, batch.leaves.length);
        billing.cancelBatch(BATCH);
        vm.expectRevert(abi.encodeWithSelector(UsageBilling.BatchIsCancelled.selector, BATCH));
        billing.cancelBatch(BATCH);
    }

    /// @notice A commit with a zero root, total or count, or one past its storage width, is refused.
    function testFuzz_InvalidCommitReverts(bytes32 root, uint256 total, uint256 count, uint8 broken) public {
        root = root == bytes32(0) ? bytes32(uint256(1)) : root;
        total = bound(total, 1, type(uint128).max);
        count = bound(count, 1, type(uint64).max);
        broken %= 5;
        if (broken == 0) root = bytes32(0);
        if (broken == 1) total = 0;
        if (broken == 2) count = 0;
        if (broken == 3) total = uint256(type(uint128).max) + 1;
        if (broken == 4) count = uint256(type(uint64).max) + 1;
        vm.expectRevert(UsageBilling.InvalidBatch.selector);
        billing.commitBatch(BATCH, root, total, count);
    }

    /// @notice Collecting from a batch never committed, or an empty chunk, reverts.
    function testFuzz_UnknownBatchAndEmptyChunkRevert(uint256 batchId) public {
        vm.assume(batchId != BATCH);
        UsageBatches.Batch memory batch = _make(2, 5);
        (UsageBilling.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) = batch.chunk(batch.all());
        vm.expectRevert(abi.encodeWithSelector(UsageBilling.UnknownBatch.selector, batchId));
        billing.collectChunk(batchId, leaves, proof, flags);
        billing.commitBatch(BATCH, batch.root(), batch.total, batch.leaves.length);
        vm.expectRevert(abi.encodeWithSelector(UsageBilling.EmptyChunk.selector, BATCH));
        billing.collectChunk(BATCH, new UsageBilling.Leaf[](0), new bytes32[](0), new bool[](0));
    }

    /// @notice A settler who commits a total below the sum of its leaves cannot collect past it.
    function testFuzz_CollectionNeverPassesTheCommittedTotal(uint256 leafCount, uint256 seed, uint256 under) public {
        UsageBatches.Batch memory batch = _make(leafCount, seed);
        vm.assume(batch.total > 1);
        under = bound(under, 1, batch.total - 1);
        uint256 committed = batch.total - under;
        billing.commitBatch(BATCH, batch.root(), committed, batch.leaves.length);
        (UsageBilling.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) = batch.chunk(batch.all());
        vm.expectRevert(
            abi.encodeWithSelector(UsageBilling.BatchTotalExceeded.selector, BATCH, batch.total, committed)
        );
        billing.collectChunk(BATCH, leaves, proof, flags);
        assertEq(billing.batchOf(BATCH).collected, 0, "nothing collected");
    }

    function _twoLeaves(address user, uint256 first, uint256 second) private view returns (UsageBatches.Batch memory) {
        address[] memory users = new address[](2);
        uint256[] memory amounts = new uint256[](2);
        (users[0], users[1], amounts[0], amounts[1]) = (user, user, first, second);
        return UsageBatches.make(address(billing), BATCH, users, amounts);
    }

    /// @dev Settles a batch of two leaves of `user`, in one chunk.
    function _settleTwo(address user, uint256 first, uint256 second) private {
        UsageBatches.Batch memory batch = _twoLeaves(user, first, second);
        (UsageBilling.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) = batch.chunk(batch.all());
        billing.settleBatch(BATCH, batch.root(), batch.total, 2, leaves, proof, flags);
    }

    function _make(uint256 leafCount, uint256 seed) private view returns (UsageBatches.Batch memory) {
        return _make(BATCH, leafCount, seed);
    }

    function _make(uint256 batchId, uint256 leafCount, uint256 seed) private view returns (UsageBatches.Batch memory) {
        leafCount = bound(leafCount, 1, 8);
        address[] memory users = new address[](leafCount);
        uint256[] memory amounts = new uint256[](leafCount);
        for (uint256 i; i < leafCount; ++i) {
            users[i] = _user(uint256(keccak256(abi.encode(seed, i))) % USERS);
            amounts[i] = bound(uint256(keccak256(abi.encode(seed, i, "amount"))), 1, 10_000 ether);
        }
        return UsageBatches.make(address(billing), batchId, users, amounts);
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
        bytes4[] memory selectors = new bytes4[](8);
        selectors[0] = UsageBillingHandler.commit.selector;
        selectors[1] = UsageBillingHandler.collect.selector;
        selectors[2] = UsageBillingHandler.recommit.selector;
        selectors[3] = UsageBillingHandler.collectForged.selector;
        selectors[4] = UsageBillingHandler.setAllowance.selector;
        selectors[5] = UsageBillingHandler.replay.selector;
        selectors[6] = UsageBillingHandler.setCap.selector;
        selectors[7] = UsageBillingHandler.warp.selector;
        _target(address(handler), selectors);
    }

    /// @notice Property 5: a batch is committed once and each leaf is collected at most once across
    /// all batches (a root replayed under another id proves nothing); a leaf is Collected exactly
    /// when it was collected; Σ collected from a user in a cap period ≤ their cap.
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
