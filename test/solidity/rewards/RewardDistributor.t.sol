// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {CXPT} from "../../../contracts/token/CXPT.sol";
import {RewardDistributor} from "../../../contracts/rewards/RewardDistributor.sol";
import {Governed} from "../../../contracts/access/Governed.sol";
import {Rescuable} from "../../../contracts/access/Rescuable.sol";
import {Sanctions} from "../../../contracts/access/Sanctions.sol";
import {SanctionsListMock} from "../../../contracts/mocks/SanctionsListMock.sol";
import {GarbageOracle, RevertingOracle} from "../mocks/Oracles.sol";
import {Assertions} from "../utils/Assertions.sol";
import {InvariantTest} from "../utils/InvariantTest.sol";
import {Deploy} from "../utils/Deploy.sol";
import {RewardDistributorHandler} from "./RewardDistributorHandler.sol";

/// @notice Fuzz tests of the distributor's split and linear release arithmetic. The test contract
/// holds every role (admin, funder, rewards operator, treasurer).
contract RewardDistributorTest is Assertions {
    uint256 private constant BPS = 10_000;
    RewardDistributor.Pool private constant PROVIDERS = RewardDistributor.Pool.Providers;
    RewardDistributor.Pool private constant USERS = RewardDistributor.Pool.Users;
    /// @dev The distributor's ERC-7201 namespace (cxpt.storage.RewardDistributor).
    bytes32 private constant DISTRIBUTOR_STORAGE = 0x05f704302ae7c88296849cb40121b4103b52460bd7d80318e7f9a18265384500;

    CXPT internal token;
    RewardDistributor internal distributor;
    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);

    function setUp() public {
        token = Deploy.cxpt(address(this), address(this));
        distributor = Deploy.distributor(address(this), address(token));
        distributor.grantRole(distributor.FUNDER_ROLE(), address(this));
        distributor.grantRole(distributor.REWARDS_ROLE(), address(this));
        distributor.grantRole(distributor.TREASURER_ROLE(), address(this));
    }

    /// @notice A trusted forwarder that appends a role holder's address to its call acts as itself,
    /// not as the role holder: roles are checked against msg.sender.
    function testFuzz_ForwarderCannotImpersonateARoleHolder(uint256 amount, address forwarder) public {
        vm.assume(forwarder != address(this) && forwarder != address(0) && forwarder.code.length == 0);
        vm.assume(uint160(forwarder) > 0xffff); // not a precompile or the cheatcode address
        amount = bound(amount, 1, 1_000 ether);
        distributor.setTrustedForwarder(forwarder);
        _fund(1_000 ether);
        bytes[3] memory calls = [
            abi.encodeCall(RewardDistributor.withdrawProtocol, (forwarder, amount)),
            abi.encodeCall(RewardDistributor.setSplit, (0, 0, BPS)),
            abi.encodeCall(RewardDistributor.startEpoch, (1, 1 days))
        ];
        for (uint256 i; i < calls.length; ++i) {
            vm.prank(forwarder);
            // ERC-2771: the claimed sender (this contract, which holds every role) is appended.
            (bool ok,) = address(distributor).call(abi.encodePacked(calls[i], address(this)));
            assertFalse(ok, "forwarded call as a role holder refused");
        }
        assertEq(token.balanceOf(forwarder), 0, "nothing withdrawn");
    }

    /// @notice The three shares of a funding always add up to it, each at its rate.
    function testFuzz_SplitSharesSumToFunding(uint256 amount, uint256 protocolBps, uint256 providersBps) public {
        amount = bound(amount, 1, token.balanceOf(address(this)));
        protocolBps = bound(protocolBps, 0, BPS);
        providersBps = bound(providersBps, 0, BPS - protocolBps);
        distributor.setSplit(protocolBps, providersBps, BPS - protocolBps - providersBps);
        _fund(amount);
        uint256 protocolShare = distributor.protocolBalance();
        uint256 providersShare = distributor.pendingFunding(PROVIDERS);
        uint256 usersShare = distributor.pendingFunding(USERS);
        assertEq(protocolShare + providersShare + usersShare, amount, "shares sum to funding");
        assertEq(protocolShare, amount * protocolBps / BPS, "protocol share");
        assertEq(providersShare, amount * providersBps / BPS, "providers share");
    }

    function testFuzz_SplitNotSummingToWholeReverts(uint256 protocolBps, uint256 providersBps, uint256 usersBps) public {
        protocolBps = bound(protocolBps, 0, type(uint64).max);
        providersBps = bound(providersBps, 0, type(uint64).max);
        usersBps = bound(usersBps, 0, type(uint64).max);
        vm.assume(protocolBps + providersBps + usersBps != BPS);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.InvalidSplit.selector, protocolBps, providersBps, usersBps)
        );
        distributor.setSplit(protocolBps, providersBps, usersBps);
    }

    /// @notice Release is linear: claimable never falls with time, never exceeds the entitlement,
    /// and reaches it exactly at the epoch's end; the accounts' entitlements fit in the budget.
    function testFuzz_LinearReleaseIsMonotonicAndBounded(
        uint256 aliceShares,
        uint256 bobShares,
        uint256 amount,
        uint256 duration,
        uint256 t1,
        uint256 t2
    ) public {
        aliceShares = bound(aliceShares, 1, type(uint96).max);
        bobShares = bound(bobShares, 0, type(uint96).max);
        amount = bound(amount, 1, token.balanceOf(address(this)));
        duration = bound(duration, 1, distributor.MAX_EPOCH_DURATION());
        t1 = bound(t1, 0, duration);
        t2 = bound(t2, t1, duration + 1);
        _fund(amount);
        _upload(1, PROVIDERS, aliceShares, bobShares);
        uint256 start = block.timestamp;
        distributor.startEpoch(1, duration);
        (, uint256 budget) = distributor.poolEpoch(1, PROVIDERS);
        uint256 entitled = distributor.entitlementOf(alice, PROVIDERS, 1);
        assertEq(entitled, aliceShares * budget / (aliceShares + bobShares), "entitlement is the weighted share");
        assertLe(entitled + distributor.entitlementOf(bob, PROVIDERS, 1), budget, "entitlements fit in the budget");

        vm.warp(start + t1);
        uint256 early = distributor.pendingOf(alice, PROVIDERS);
        vm.warp(start + t2);
        uint256 later = distributor.pendingOf(alice, PROVIDERS);
        assertLe(early, later, "release never falls");
        assertLe(later, entitled, "release within entitlement");
        vm.warp(start + duration);
        assertEq(distributor.pendingOf(alice, PROVIDERS), entitled, "fully released at the end");
    }

    /// @notice A claim pays what pendingOf showed, once; the next claim at the same time has nothing.
    function testFuzz_ClaimPaysPendingOnce(uint256 shares, uint256 amount, uint256 duration, uint256 elapsed) public {
        shares = bound(shares, 1, type(uint96).max);
        amount = bound(amount, 1, token.balanceOf(address(this)));
        duration = bound(duration, 1, distributor.MAX_EPOCH_DURATION());
        elapsed = bound(elapsed, 1, 2 * duration);
        _fund(amount);
        _upload(1, USERS, shares, 0);
        distributor.startEpoch(1, duration);
        vm.warp(block.timestamp + elapsed);
        uint256 pending = distributor.pendingOf(alice);
        vm.assume(pending != 0);
        vm.prank(alice);
        assertEq(distributor.claim(), pending, "claim pays pendingOf");
        assertEq(token.balanceOf(alice), pending, "alice received it");
        assertEq(distributor.pendingOf(alice), 0, "nothing left to claim now");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.NothingToClaim.selector, alice));
        distributor.claim();
    }

    function testFuzz_WithdrawProtocolIsBoundedByItsShare(uint256 amount, uint256 request) public {
        amount = bound(amount, 1, token.balanceOf(address(this)));
        _fund(amount);
        uint256 available = distributor.protocolBalance();
        request = bound(request, 1, type(uint256).max);
        if (request > available) {
            vm.expectRevert(
                abi.encodeWithSelector(RewardDistributor.InsufficientProtocolBalance.selector, request, available)
            );
            distributor.withdrawProtocol(bob, request);
        } else {
            distributor.withdrawProtocol(bob, request);
            assertEq(token.balanceOf(bob), request, "treasury received it");
            assertEq(distributor.protocolBalance(), available - request, "protocol balance left");
        }
    }

    function testFuzz_NextEpochWaitsForTheRunningOne(uint256 duration, uint256 early) public {
        duration = bound(duration, 1, distributor.MAX_EPOCH_DURATION());
        early = bound(early, 1, duration);
        _fund(1 ether);
        _upload(1, PROVIDERS, 1, 1);
        distributor.startEpoch(1, duration);
        uint256 end = block.timestamp + duration;
        _upload(2, PROVIDERS, 1, 1);
        vm.warp(end - early);
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.EpochNotEnded.selector, 1, end));
        distributor.startEpoch(2, duration);
        vm.warp(end);
        distributor.startEpoch(2, duration);
        assertEq(distributor.currentEpoch(), 2, "epoch 2 started at the end of epoch 1");
    }

    function testFuzz_InvalidDurationReverts(uint256 duration) public {
        duration = bound(duration, distributor.MAX_EPOCH_DURATION() + 1, type(uint256).max);
        _upload(1, PROVIDERS, 1, 0);
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.InvalidDuration.selector, duration));
        distributor.startEpoch(1, duration);
    }

    function testFuzz_SharesAboveUint96Revert(uint256 shares) public {
        shares = bound(shares, uint256(type(uint96).max) + 1, type(uint256).max);
        address[] memory accounts = new address[](1);
        uint256[] memory points = new uint256[](1);
        (accounts[0], points[0]) = (alice, shares);
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.SharesTooLarge.selector, shares));
        distributor.updateShares(1, PROVIDERS, accounts, points);
    }

    // ───────────────────────────── trust bounds ─────────────────────────────

    /// @notice Epoch durations outside the admin's bounds are refused.
    function testFuzz_EpochDurationWithinBounds(uint256 minDuration, uint256 maxDuration, uint256 duration) public {
        minDuration = bound(minDuration, 1, 30 days);
        maxDuration = bound(maxDuration, minDuration, 60 days);
        distributor.setEpochBounds(minDuration, maxDuration, 0);
        _fund(1_000 ether);
        _upload(1, PROVIDERS, 1, 1);
        duration = bound(duration, 1, 400 days);
        if (duration < minDuration || duration > maxDuration) {
            vm.expectRevert(abi.encodeWithSelector(RewardDistributor.InvalidDuration.selector, duration));
        }
        distributor.startEpoch(1, duration);
    }

    /// @notice Shares start only after the review delay since the last upload; a guardian's void
    /// makes the epoch run with no budget, the funding kept for the next one.
    function testFuzz_ReviewDelayAndVoid(uint256 delay, uint256 early) public {
        delay = bound(delay, 1, 7 days);
        early = bound(early, 0, delay - 1);
        distributor.setEpochBounds(0, 0, delay);
        _fund(1_000 ether);
        uint256 pending = distributor.pendingFunding(PROVIDERS);
        _upload(1, PROVIDERS, 1, 0); // the rewards key gives itself (alice) everything
        vm.warp(block.timestamp + early);
        (,,, uint256 startableAt,) = distributor.epochBounds();
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.ReviewPending.selector, 1, startableAt));
        distributor.startEpoch(1, 1 days);

        address guardian = address(0x5AFE);
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.NotGuardian.selector, guardian));
        vm.prank(guardian);
        distributor.voidUpload(1);
        distributor.grantRole(distributor.GUARDIAN_ROLE(), guardian);
        vm.prank(guardian);
        distributor.voidUpload(1);
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.UploadIsVoided.selector, 1));
        _upload(1, PROVIDERS, 1, 1);
        distributor.startEpoch(1, 1 days); // no review needed for a void epoch
        vm.warp(block.timestamp + 1 days);
        assertEq(distributor.pendingOf(alice), 0, "the voided upload earns nothing");
        assertEq(distributor.pendingFunding(PROVIDERS), pending, "funding kept for the next epoch");
    }

    /// @notice The admin ends a runaway epoch: what was released stays claimable (never less), the
    /// rest returns to pending funding, and the next epoch can start.
    function testFuzz_EndRunawayEpoch(uint256 elapsed, uint256 aliceShares, uint256 bobShares, bool aliceClaims) public {
        aliceShares = bound(aliceShares, 1, 1e24);
        bobShares = bound(bobShares, 1, 1e24);
        _fund(1_000 ether);
        uint256 budget = distributor.pendingFunding(PROVIDERS);
        _upload(1, PROVIDERS, aliceShares, bobShares);
        distributor.startEpoch(1, 366 days);
        elapsed = bound(elapsed, 0, 366 days - 1);
        vm.warp(block.timestamp + elapsed);
        if (aliceClaims && distributor.pendingOf(alice) != 0) {
            vm.prank(alice);
            distributor.claim();
        }
        (uint256 aliceBefore, uint256 bobBefore) = (distributor.pendingOf(alice), distributor.pendingOf(bob));
        uint256 claimed = token.balanceOf(alice);
        distributor.endEpoch();
        assertEq(distributor.owed(), token.balanceOf(address(distributor)), "the returned budget is still owed");
        assertGe(distributor.pendingOf(alice), aliceBefore, "alice's claimable never falls");
        assertGe(distributor.pendingOf(bob), bobBefore, "bob's claimable never falls");
        uint256 returned = distributor.pendingFunding(PROVIDERS);
        assertLe(claimed + distributor.pendingOf(alice) + distributor.pendingOf(bob) + returned, budget, "nothing paid twice");
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.EpochNotRunning.selector, 1));
        distributor.endEpoch();
        _upload(2, PROVIDERS, 1, 1);
        distributor.startEpoch(2, 1 days);
    }

    // ───────────────────────────── claim screening ─────────────────────────────

    /// @notice The initializer names the admin and the token in an event.
    function test_InitializerEmitsAnEvent() public {
        vm.expectEmit();
        emit RewardDistributor.DistributorInitialized(alice, address(token));
        Deploy.distributor(alice, address(token));
    }

    /// @notice A flagged claimant is refused, directly and through the trusted forwarder (the signer
    /// is screened, not the relayer); its rewards stay claimable and are paid once it is cleared.
    function testFuzz_SanctionedClaimantIsRefused(uint256 shares, uint256 elapsed, bool relayed) public {
        shares = bound(shares, 1, type(uint96).max);
        elapsed = bound(elapsed, 1, 2 days);
        address forwarder = address(0xF02A2D);
        distributor.setTrustedForwarder(forwarder);
        SanctionsListMock oracle = new SanctionsListMock();
        vm.expectEmit();
        emit RewardDistributor.SanctionsOracleSet(address(oracle));
        distributor.setSanctionsOracle(address(oracle));
        _fund(1_000 ether);
        _upload(1, PROVIDERS, shares, 1);
        distributor.startEpoch(1, 1 days);
        vm.warp(block.timestamp + elapsed);
        uint256 pending = distributor.pendingOf(alice);
        vm.assume(pending != 0);

        oracle.setSanctioned(alice, true);
        assertEq(uint256(distributor.screenOf(alice)), uint256(Sanctions.Verdict.Sanctioned), "screened as sanctioned");
        _claimAs(alice, forwarder, relayed, abi.encodeWithSelector(RewardDistributor.SanctionedAddress.selector, alice));
        assertEq(distributor.pendingOf(alice), pending, "still claimable");
        assertEq(token.balanceOf(alice), 0, "nothing paid");

        oracle.setSanctioned(alice, false);
        _claimAs(alice, forwarder, relayed, "");
        assertEq(token.balanceOf(alice), pending, "paid once cleared");
    }

    /// @notice An oracle that reverts or answers garbage holds claims with their own error (they stay
    /// claimable) and halts nothing else; without an oracle nobody is screened.
    function testFuzz_FailingOracleHoldsClaims(uint256 shares, bool garbage) public {
        shares = bound(shares, 1, type(uint96).max);
        address oracle = garbage ? address(new GarbageOracle()) : address(new RevertingOracle());
        distributor.setSanctionsOracle(oracle);
        _fund(1_000 ether);
        _upload(1, USERS, shares, 0);
        distributor.startEpoch(1, 1 days);
        vm.warp(block.timestamp + 1 days);
        uint256 pending = distributor.pendingOf(alice);
        assertEq(uint256(distributor.screenOf(alice)), uint256(Sanctions.Verdict.Unanswered), "unanswered");
        _claimAs(alice, address(0), false, abi.encodeWithSelector(RewardDistributor.SanctionsOracleUnavailable.selector, oracle));
        distributor.withdrawProtocol(bob, distributor.protocolBalance()); // the treasury is not screened
        distributor.setSanctionsOracle(address(0));
        assertEq(uint256(distributor.screenOf(alice)), uint256(Sanctions.Verdict.Clear), "no oracle clears");
        _claimAs(alice, address(0), false, "");
        assertEq(token.balanceOf(alice), pending, "paid everything once the oracle is off");
    }

    function testFuzz_SetSanctionsOracleOnlyAdmin(address caller, address oracle) public {
        vm.assume(caller != address(this));
        bytes32 admin = distributor.DEFAULT_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, caller, admin));
        vm.prank(caller);
        distributor.setSanctionsOracle(oracle);
        distributor.setSanctionsOracle(oracle);
        assertEq(distributor.sanctionsOracle(), oracle, "set by the admin");
    }

    // ───────────────────────────── rescue ─────────────────────────────

    /// @notice Whatever was funded, started, claimed, withdrawn or ended early, rescue takes exactly
    /// the CXPT sent straight to the distributor: everything owed stays and is still paid in full.
    function testFuzz_RescueNeverTakesOwedFunds(
        uint256[2] memory fundings,
        uint256 stray,
        uint256 aliceShares,
        uint256 elapsed,
        uint256 withdrawn,
        bool aliceClaims,
        bool endEarly
    ) public {
        fundings[0] = bound(fundings[0], 1, 1e27 / 4);
        fundings[1] = bound(fundings[1], 0, 1e27 / 4);
        stray = bound(stray, 0, 1e27 / 4);
        aliceShares = bound(aliceShares, 1, type(uint96).max);
        elapsed = bound(elapsed, 0, 10 days);
        _fund(fundings[0]);
        _upload(1, PROVIDERS, aliceShares, 1);
        distributor.startEpoch(1, 10 days);
        if (fundings[1] != 0) _fund(fundings[1]); // pending for epoch 2
        vm.warp(block.timestamp + elapsed);
        if (aliceClaims && distributor.pendingOf(alice) != 0) {
            vm.prank(alice);
            distributor.claim();
        }
        withdrawn = bound(withdrawn, 0, distributor.protocolBalance());
        if (withdrawn != 0) distributor.withdrawProtocol(address(0x7EA5), withdrawn);
        if (endEarly && elapsed < 10 days) distributor.endEpoch();
        assertEq(distributor.owed(), token.balanceOf(address(distributor)), "owes exactly its balance");

        token.transfer(address(distributor), stray);
        address treasury = address(0x7EA52);
        if (stray == 0) {
            vm.expectRevert(Governed.ZeroAmount.selector);
            distributor.rescue(address(token), treasury);
        } else {
            vm.expectEmit();
            emit Rescuable.Rescued(address(token), treasury, stray);
            assertEq(distributor.rescue(address(token), treasury), stray, "rescued the stray tokens only");
        }
        assertEq(token.balanceOf(address(distributor)), distributor.owed(), "what is owed stays");

        // Everything owed is still paid: both accounts claim their whole entitlement, the treasurer the rest.
        vm.warp(block.timestamp + 10 days);
        uint256 owedToBob = distributor.pendingOf(bob);
        if (distributor.pendingOf(alice) != 0) {
            vm.prank(alice);
            distributor.claim();
        }
        if (owedToBob != 0) {
            vm.prank(bob);
            distributor.claim();
        }
        if (distributor.protocolBalance() != 0) distributor.withdrawProtocol(treasury, distributor.protocolBalance());
        assertGe(token.balanceOf(address(distributor)), distributor.owed(), "claims and withdrawals all paid");
    }

    /// @notice A proxy upgraded from before the owed-funds accounting books what it owes once, by the
    /// admin only (the timelock, with the upgrade); its claims then pay as before.
    function testFuzz_UpgradeBooksOwedFunds(uint256 shares, uint256 elapsed, address caller) public {
        vm.assume(caller != address(this));
        shares = bound(shares, 1, type(uint96).max);
        elapsed = bound(elapsed, 0, 1 days);
        _fund(1_000 ether);
        _upload(1, PROVIDERS, shares, 1);
        distributor.startEpoch(1, 1 days);
        _fund(10 ether); // pending for the next epoch
        vm.warp(block.timestamp + elapsed);
        if (distributor.pendingOf(alice) != 0) {
            vm.prank(alice);
            distributor.claim();
        }
        uint256 owed = distributor.owed();
        uint256 unpooled = distributor.protocolBalance() + distributor.pendingFunding(PROVIDERS)
            + distributor.pendingFunding(USERS);
        // The namespace's tenth slot (screening oracle, started budgets not claimed) as a proxy from before holds it.
        vm.store(address(distributor), bytes32(uint256(DISTRIBUTOR_STORAGE) + 9), bytes32(0));
        assertEq(distributor.owed(), unpooled, "nothing booked before the upgrade");

        bytes32 admin = distributor.DEFAULT_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, caller, admin));
        vm.prank(caller);
        distributor.initializeOwed();
        vm.expectEmit();
        emit RewardDistributor.OwedBooked(owed - unpooled);
        distributor.initializeOwed();
        assertEq(distributor.owed(), owed, "booked what it owes");
        vm.expectRevert(Initializable.InvalidInitialization.selector);
        distributor.initializeOwed();

        vm.warp(block.timestamp + 1 days);
        address[2] memory accounts = [alice, bob];
        for (uint256 i; i < 2; ++i) {
            if (distributor.pendingOf(accounts[i]) == 0) continue;
            vm.prank(accounts[i]);
            distributor.claim();
        }
        assertEq(token.balanceOf(address(distributor)), distributor.owed(), "claims paid, the rest still owed");
    }

    /// @notice Only the admin (the timelock) rescues; another token is rescued whole.
    function testFuzz_RescueOnlyAdmin(address caller, uint256 amount) public {
        vm.assume(caller != address(this));
        amount = bound(amount, 1, 1e27);
        CXPT other = Deploy.cxpt(address(this), address(this));
        other.transfer(address(distributor), amount);
        bytes32 admin = distributor.DEFAULT_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, caller, admin));
        vm.prank(caller);
        distributor.rescue(address(other), caller);
        assertEq(distributor.rescue(address(other), bob), amount, "another token is never owed");
        assertEq(other.balanceOf(bob), amount, "sent to the treasury");
    }

    /// @dev Claims as `account`, directly or relayed by `forwarder` (ERC-2771: the signer appended);
    /// expects `revertData` when it is not empty.
    /// @notice Uploads and starts name the next epoch only; uploads pair every account with its
    /// points; an epoch without points does not start; a voided upload cannot be voided again.
    function testFuzz_EpochSequenceIsEnforced(uint256 epoch, uint8 accounts, uint8 shares) public {
        vm.assume(epoch != 1);
        vm.assume(accounts != shares);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.LengthMismatch.selector, uint256(accounts), uint256(shares))
        );
        distributor.updateShares(1, PROVIDERS, new address[](accounts), new uint256[](shares));
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.NotNextEpoch.selector, epoch, 1));
        distributor.updateShares(epoch, PROVIDERS, new address[](0), new uint256[](0));
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.NotNextEpoch.selector, epoch, 1));
        distributor.startEpoch(epoch, 1 days);
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.NotNextEpoch.selector, epoch, 1));
        distributor.voidUpload(epoch);
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.NoShares.selector, 1));
        distributor.startEpoch(1, 1 days);
        distributor.voidUpload(1);
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.UploadIsVoided.selector, 1));
        distributor.voidUpload(1);
    }

    /// @notice Bounds outside the contract's limits are refused; accepted ones read back.
    function testFuzz_EpochBoundsAreBounded(uint256 minDuration, uint256 maxDuration, uint256 delay, uint8 broken) public {
        uint256 maxEpoch = distributor.MAX_EPOCH_DURATION();
        uint256 maxDelay = distributor.MAX_REVIEW_DELAY();
        maxDuration = bound(maxDuration, 1, maxEpoch);
        minDuration = bound(minDuration, 0, maxDuration);
        delay = bound(delay, 0, maxDelay);
        distributor.setEpochBounds(minDuration, maxDuration, delay);
        (uint256 setMin, uint256 setMax, uint256 setDelay,,) = distributor.epochBounds();
        assertEq(setMin, minDuration == 0 ? 1 : minDuration, "min read back (0 reads as 1 s)");
        assertEq(setMax, maxDuration, "max read back");
        assertEq(setDelay, delay, "delay read back");
        broken %= 3;
        if (broken == 0) minDuration = bound(minDuration, maxDuration + 1, type(uint256).max);
        if (broken == 1) maxDuration = bound(maxDuration, maxEpoch + 1, type(uint256).max);
        if (broken == 2) delay = bound(delay, maxDelay + 1, type(uint256).max);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.InvalidEpochBounds.selector, minDuration, maxDuration, delay)
        );
        distributor.setEpochBounds(minDuration, maxDuration, delay);
    }

    /// @notice The views report shares per epoch entry, epoch times, the split and the token.
    function testFuzz_ViewsReportTheEpoch(uint256 aliceShares, uint256 duration) public {
        aliceShares = bound(aliceShares, 1, type(uint96).max);
        duration = bound(duration, 1, distributor.MAX_EPOCH_DURATION());
        assertEq(distributor.token(), address(token), "token");
        (uint256 protocolBps, uint256 providersBps, uint256 usersBps) = distributor.split();
        assertEq(protocolBps + providersBps + usersBps, BPS, "split is whole");
        _fund(1_000 ether);
        _upload(1, PROVIDERS, aliceShares, 0);
        assertEq(distributor.sharesOf(alice, PROVIDERS, 1), aliceShares, "next-epoch entry");
        distributor.startEpoch(1, duration);
        (uint256 start, uint256 end) = distributor.epochTimes(1);
        assertEq(end - start, duration, "epoch times");
        _upload(2, PROVIDERS, aliceShares + 1, 0);
        assertEq(distributor.sharesOf(alice, PROVIDERS, 1), aliceShares, "current entry");
        assertEq(distributor.sharesOf(alice, PROVIDERS, 2), aliceShares + 1, "next entry");
        assertEq(distributor.sharesOf(alice, PROVIDERS, 3), 0, "no entry");
        assertEq(distributor.sharesOf(bob, PROVIDERS, 1), 0, "never uploaded");
    }

    /// @notice A role is renounced only by its holder, for itself.
    function testFuzz_RenounceOnlyOwnRole(address other) public {
        vm.assume(other != address(this));
        bytes32 role = distributor.REWARDS_ROLE();
        vm.expectRevert(IAccessControl.AccessControlBadConfirmation.selector);
        distributor.renounceRole(role, other);
        distributor.renounceRole(role, address(this));
        assertFalse(distributor.hasRole(role, address(this)), "renounced");
    }

    function _claimAs(address account, address forwarder, bool relayed, bytes memory revertData) private {
        bytes memory call = abi.encodeCall(RewardDistributor.claim, ());
        vm.prank(relayed ? forwarder : account);
        (bool ok, bytes memory answer) =
            address(distributor).call(relayed ? abi.encodePacked(call, account) : call);
        assertEq(ok, revertData.length == 0, "claim outcome");
        if (!ok) assertEq(keccak256(answer), keccak256(revertData), "claim's revert");
    }

    function _fund(uint256 amount) private {
        token.transfer(address(distributor), amount);
        distributor.notifyFunding(amount);
    }

    function _upload(uint256 epoch, RewardDistributor.Pool pool, uint256 aliceShares, uint256 bobShares) private {
        address[] memory accounts = new address[](2);
        uint256[] memory shares = new uint256[](2);
        (accounts[0], accounts[1], shares[0], shares[1]) = (alice, bob, aliceShares, bobShares);
        distributor.updateShares(epoch, pool, accounts, shares);
    }
}

/// @notice Invariants of the distributor under random fundings, uploads, epochs, claims and time.
contract RewardDistributorInvariantTest is InvariantTest {
    uint256 private constant POOLS = 2;

    CXPT internal token;
    RewardDistributor internal distributor;
    RewardDistributorHandler internal handler;

    function setUp() public {
        token = Deploy.cxpt(address(this), address(this));
        distributor = Deploy.distributor(address(this), address(token));
        handler = new RewardDistributorHandler(token, distributor, address(this));
        distributor.grantRole(distributor.FUNDER_ROLE(), handler.FUNDER());
        distributor.grantRole(distributor.REWARDS_ROLE(), handler.REWARDS_OPERATOR());
        distributor.grantRole(distributor.TREASURER_ROLE(), handler.TREASURER());
        token.transfer(handler.FUNDER(), token.balanceOf(address(this)));

        bytes4[] memory selectors = new bytes4[](9);
        selectors[0] = RewardDistributorHandler.fund.selector;
        selectors[1] = RewardDistributorHandler.updateShares.selector;
        selectors[2] = RewardDistributorHandler.startEpoch.selector;
        selectors[3] = RewardDistributorHandler.claim.selector;
        selectors[4] = RewardDistributorHandler.withdrawProtocol.selector;
        selectors[5] = RewardDistributorHandler.setSplit.selector;
        selectors[6] = RewardDistributorHandler.warp.selector;
        selectors[7] = RewardDistributorHandler.sendStray.selector;
        selectors[8] = RewardDistributorHandler.rescue.selector;
        _target(address(handler), selectors);
    }

    /// @notice Property 3: protocol balance + pending funding + everything claimable fits in the
    /// balance; exactly, the balance is the funding not yet claimed or withdrawn.
    function invariant_ClaimableNeverExceedsBalance() public view {
        _assertNoViolation(handler);
        uint256 balance = token.balanceOf(address(distributor));
        assertEq(
            balance,
            handler.ghostFunded() - handler.ghostClaimed() - handler.ghostWithdrawn() + handler.ghostStray(),
            "balance == funded - claimed - withdrawn + stray"
        );
        assertEq(
            distributor.owed(),
            handler.ghostFunded() - handler.ghostClaimed() - handler.ghostWithdrawn(),
            "owed == funded - claimed - withdrawn: only stray tokens are rescuable"
        );
        uint256 owed = distributor.protocolBalance() + distributor.pendingFunding(RewardDistributor.Pool.Providers)
            + distributor.pendingFunding(RewardDistributor.Pool.Users);
        address[] memory accounts = handler.actors();
        for (uint256 i; i < accounts.length; ++i) {
            owed += distributor.pendingOf(accounts[i]);
        }
        assertLe(owed, balance, "protocol + pending funding + claimable <= balance");

        uint256 budgets;
        uint256 current = distributor.currentEpoch();
        for (uint256 e = 1; e <= current; ++e) {
            budgets += handler.ghostBudget(e, 0) + handler.ghostBudget(e, 1);
        }
        assertEq(
            balance - handler.ghostStray() - distributor.protocolBalance()
                - distributor.pendingFunding(RewardDistributor.Pool.Providers)
                - distributor.pendingFunding(RewardDistributor.Pool.Users),
            budgets - handler.ghostClaimed(),
            "pool funds held == epoch budgets - claimed"
        );
    }

    /// @notice Property 4: per pool, an account's claimed + claimable never exceeds its weighted
    /// share (points x budget / total points) of the epochs started, and covers those ended;
    /// the weighted shares of an epoch fit in its budget.
    function invariant_NoAccountExceedsItsWeightedShare() public view {
        address[] memory accounts = handler.actors();
        uint256 current = distributor.currentEpoch();
        for (uint256 p; p < POOLS; ++p) {
            for (uint256 e = 1; e <= current; ++e) {
                uint256 sum;
                for (uint256 i; i < accounts.length; ++i) {
                    sum += handler.entitlement(accounts[i], p, e);
                }
                assertLe(sum, handler.ghostBudget(e, p), "weighted shares of an epoch <= its budget");
            }
            for (uint256 i; i < accounts.length; ++i) {
                uint256 started;
                uint256 ended;
                for (uint256 e = 1; e <= current; ++e) {
                    uint256 share = handler.entitlement(accounts[i], p, e);
                    started += share;
                    if (block.timestamp >= handler.ghostEnd(e)) ended += share;
                }
                uint256 earned = handler.earnedOf(accounts[i], p);
                assertLe(earned, started, "claimed + claimable <= weighted shares of started epochs");
                assertGe(earned, ended, "claimed + claimable >= weighted shares of ended epochs");
            }
        }
    }

    /// @notice Fundings are split at the configured rates and wait in pending until an epoch starts.
    function invariant_FundingSplitAsConfigured() public view {
        assertEq(distributor.protocolBalance(), handler.ghostProtocol(), "protocol balance");
        assertEq(
            distributor.pendingFunding(RewardDistributor.Pool.Providers), handler.ghostPending(0), "providers pending"
        );
        assertEq(distributor.pendingFunding(RewardDistributor.Pool.Users), handler.ghostPending(1), "users pending");
    }
}
