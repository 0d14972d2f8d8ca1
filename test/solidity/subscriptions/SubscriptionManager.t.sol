// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {CXPT} from "../../../contracts/token/CXPT.sol";
import {Vault} from "../../../contracts/vault/Vault.sol";
import {IVault} from "../../../contracts/interfaces/IVault.sol";
import {SubscriptionManager} from "../../../contracts/subscriptions/SubscriptionManager.sol";
import {Assertions} from "../utils/Assertions.sol";
import {InvariantTest} from "../utils/InvariantTest.sol";
import {Deploy, Defaults} from "../utils/Deploy.sol";
import {SubscriptionManagerHandler} from "./SubscriptionManagerHandler.sol";

/// @notice Token, Vault and SubscriptionManager wired as deployed (test contract as admin), with
/// the published Starter and Pro plans and a weekly plan.
abstract contract SubscriptionsSetup is Assertions {
    uint256 internal constant BPS = 10_000;
    address internal constant OPERATOR = address(0x0be2a702);
    address internal constant BILLING = address(0xB111);

    CXPT internal token;
    Vault internal vault;
    SubscriptionManager internal subscriptions;

    function _deploySubscriptions() internal {
        token = Deploy.cxpt(address(this), address(this));
        // The Vault only needs a distributor address here: nothing is swept.
        vault = Deploy.vault(address(this), address(token), address(0xD157));
        subscriptions = Deploy.subscriptions(address(this), address(vault));
        vault.grantRole(vault.COLLECTOR_ROLE(), address(subscriptions));
        vault.grantRole(vault.DEPOSIT_CONSUMER_ROLE(), address(subscriptions));
        vault.grantRole(vault.OPERATOR_ROLE(), OPERATOR);
        subscriptions.grantRole(subscriptions.OPERATOR_ROLE(), OPERATOR);
        subscriptions.grantRole(subscriptions.BILLING_ROLE(), BILLING);
        subscriptions.createPlan(_plan(15 ether, 30 days, 20_000_000, 40, 1));
        subscriptions.createPlan(_plan(69 ether, 30 days, 100_000_000, 200, 4));
        subscriptions.createPlan(_plan(4 ether, 7 days, 5_000_000, 40, 1));
        token.transfer(OPERATOR, 1_000_000 ether);
        vm.prank(OPERATOR);
        token.approve(address(vault), type(uint256).max);
    }

    function _plan(uint256 price, uint256 period, uint256 bucket, uint256 rpm, uint256 concurrency)
        internal
        pure
        returns (SubscriptionManager.Plan memory)
    {
        return SubscriptionManager.Plan({
            price: uint128(price),
            period: uint32(period),
            active: true,
            bucket: uint96(bucket),
            requestsPerMinute: uint32(rpm),
            concurrency: uint32(concurrency)
        });
    }
}

/// @notice Fuzz tests of buckets, overage, rollover, renewal windows and soulbound passes.
contract SubscriptionManagerTest is SubscriptionsSetup {
    uint256 private constant STARTER = 1;
    address private user = address(0xA11CE);

    function setUp() public {
        _deploySubscriptions();
        token.transfer(user, 1_000_000 ether);
        vm.prank(user);
        token.approve(address(vault), type(uint256).max);
    }

    /// @notice Consumption draws the bucket, then up to 10 % more; beyond that it reverts.
    function testFuzz_ConsumptionStopsAtBucketPlusBuffer(uint256 first, uint256 second) public {
        uint256 passId = _activate(STARTER);
        uint256 bucket = subscriptions.planOf(STARTER).bucket;
        uint256 limit = bucket + bucket * Defaults.OVERAGE_BPS / BPS;
        first = bound(first, 1, limit);
        second = bound(second, 1, 2 * limit);
        vm.prank(BILLING);
        subscriptions.consumeTokens(passId, first);
        assertEq(subscriptions.bucketRemaining(passId), first < bucket ? bucket - first : 0, "bucket left");
        (,,, uint256 overageUsed) = subscriptions.passInfo(passId);
        assertEq(overageUsed, first > bucket ? first - bucket : 0, "overage used");

        uint256 available = limit - first;
        vm.prank(BILLING);
        if (second > available) {
            vm.expectRevert(
                abi.encodeWithSelector(SubscriptionManager.BucketExhausted.selector, passId, second, available)
            );
        }
        subscriptions.consumeTokens(passId, second);
    }

    /// @notice An owner's early renewal adds a tranche; unused tokens of a period stay usable
    /// until its rollover window closes.
    function testFuzz_UnusedTokensRollOverThenExpire(uint256 used, uint256 late) public {
        uint256 passId = _activate(STARTER);
        uint256 bucket = subscriptions.planOf(STARTER).bucket;
        used = bound(used, 0, bucket);
        late = bound(late, 0, Defaults.ROLLOVER - 1);
        if (used != 0) {
            vm.prank(BILLING);
            subscriptions.consumeTokens(passId, used);
        }
        uint256 firstEnd = subscriptions.expiryOf(passId);
        vm.prank(user);
        subscriptions.renew(passId);
        assertEq(subscriptions.bucketRemaining(passId), 2 * bucket - used, "rolled over + new bucket");
        vm.warp(firstEnd + late);
        assertEq(subscriptions.bucketRemaining(passId), 2 * bucket - used, "still usable in the rollover window");
        vm.warp(firstEnd + Defaults.ROLLOVER);
        assertEq(subscriptions.bucketRemaining(passId), bucket, "first period's tokens expired");
    }

    /// @notice The owner may pay at most one period ahead: a lapsed pass restarts now and may then
    /// be prepaid once more, an active one only once.
    function testFuzz_OwnerRenewsAtMostOnePeriodAhead(uint256 elapsed) public {
        uint256 passId = _activate(STARTER);
        uint256 period = subscriptions.planOf(STARTER).period;
        elapsed = bound(elapsed, 0, 3 * period);
        vm.warp(block.timestamp + elapsed);
        vm.prank(user);
        subscriptions.renew(passId);
        if (subscriptions.expiryOf(passId) <= block.timestamp + period) {
            vm.prank(user);
            subscriptions.renew(passId);
        }
        uint256 periodEnd = subscriptions.expiryOf(passId);
        assertLe(periodEnd, block.timestamp + 2 * period, "at most one period prepaid");
        vm.prank(user);
        vm.expectRevert(
            abi.encodeWithSelector(SubscriptionManager.RenewalTooEarly.selector, passId, periodEnd - period)
        );
        subscriptions.renew(passId);
    }

    /// @notice A keeper renews only a pass with renewal on, from RENEWAL_WINDOW before its end.
    function testFuzz_KeeperRenewsOnlyInTheWindow(address keeper, uint256 before) public {
        vm.assume(keeper != user);
        uint256 passId = _activate(STARTER);
        vm.prank(user);
        subscriptions.resumeRenewal(passId);
        uint256 periodEnd = subscriptions.expiryOf(passId);
        uint256 window = subscriptions.RENEWAL_WINDOW();
        before = bound(before, 0, subscriptions.planOf(STARTER).period - 1);
        vm.warp(periodEnd - before);
        vm.prank(keeper);
        if (before > window) {
            vm.expectRevert(
                abi.encodeWithSelector(SubscriptionManager.RenewalTooEarly.selector, passId, periodEnd - window)
            );
        }
        subscriptions.renew(passId);

        vm.prank(user);
        subscriptions.cancel(passId);
        vm.warp(subscriptions.expiryOf(passId));
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(SubscriptionManager.RenewalOff.selector, passId));
        subscriptions.renew(passId);
    }

    /// @notice No activation turns renewal on: without the owner's own opt-in, no keeper can charge
    /// the owner's wallet, whether the owner or the operator (a fiat purchase) activated.
    function testFuzz_RenewalNeedsTheOwnersOptIn(address keeper, bool byOperator, uint256 at) public {
        vm.assume(keeper != user);
        uint256 passId;
        if (byOperator) {
            uint256 price = subscriptions.planOf(STARTER).price;
            vm.startPrank(OPERATOR);
            passId = subscriptions.activatePlanFor(user, STARTER, vault.depositFor(user, price, "fiat"));
            vm.stopPrank();
        } else {
            passId = _activate(STARTER);
        }
        (,, bool autoRenew,) = subscriptions.passInfo(passId);
        assertFalse(autoRenew, "activation is no opt-in");
        uint256 periodEnd = subscriptions.expiryOf(passId);
        uint256 window = subscriptions.RENEWAL_WINDOW();
        vm.warp(bound(at, periodEnd - window, periodEnd + window));
        uint256 balance = token.balanceOf(user);
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(SubscriptionManager.RenewalOff.selector, passId));
        subscriptions.renew(passId);
        assertEq(token.balanceOf(user), balance, "nothing charged");

        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(SubscriptionManager.NotPassOwner.selector, passId, keeper));
        subscriptions.resumeRenewal(passId);
        vm.prank(user);
        subscriptions.resumeRenewal(passId);
        vm.prank(keeper);
        subscriptions.renew(passId);
        assertEq(balance - token.balanceOf(user), subscriptions.planOf(STARTER).price, "renewed after the opt-in");
    }

    function testFuzz_DepositBelowPriceIsRefused(uint256 amount) public {
        uint256 price = subscriptions.planOf(STARTER).price;
        amount = bound(amount, 1, price - 1);
        vm.startPrank(OPERATOR);
        uint256 depositId = vault.depositFor(user, amount, "fiat");
        vm.expectRevert(
            abi.encodeWithSelector(SubscriptionManager.DepositTooSmall.selector, depositId, amount, price)
        );
        subscriptions.activatePlanFor(user, STARTER, depositId);
        vm.stopPrank();
    }

    function testFuzz_DepositPaysOneActivation(uint256 amount) public {
        uint256 price = subscriptions.planOf(STARTER).price;
        amount = bound(amount, price, 1_000 ether);
        vm.startPrank(OPERATOR);
        uint256 depositId = vault.depositFor(user, amount, "fiat");
        uint256 passId = subscriptions.activatePlanFor(user, STARTER, depositId);
        assertTrue(subscriptions.isActive(passId), "pass active");
        vm.expectRevert(abi.encodeWithSelector(IVault.DepositAlreadyConsumed.selector, depositId));
        subscriptions.renewFor(passId, depositId);
        vm.stopPrank();
    }

    function testFuzz_PassIsSoulbound(address to) public {
        vm.assume(to != address(0) && to != user);
        uint256 passId = _activate(STARTER);
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(SubscriptionManager.PassNonTransferable.selector, passId));
        subscriptions.transferFrom(user, to, passId);
    }

    /// @notice Cutting the overage rate mid-period leaves the pass with no overage left, not an
    /// arithmetic failure: overageRemaining reads 0 and further use reverts BucketExhausted.
    function testFuzz_OverageCutMidPeriodLeavesNoOverage(uint256 overage, uint256 newBps, uint256 more) public {
        uint256 passId = _activate(STARTER);
        uint256 bucket = subscriptions.planOf(STARTER).bucket;
        overage = bound(overage, 1, bucket * Defaults.OVERAGE_BPS / BPS);
        vm.prank(BILLING);
        subscriptions.consumeTokens(passId, bucket + overage);
        newBps = bound(newBps, 0, overage * BPS / bucket);
        vm.assume(bucket * newBps / BPS < overage);
        subscriptions.setOverageBps(newBps);
        more = bound(more, 1, bucket);
        assertEq(subscriptions.overageRemaining(passId), 0, "no overage left");
        vm.prank(BILLING);
        vm.expectRevert(abi.encodeWithSelector(SubscriptionManager.BucketExhausted.selector, passId, more, 0));
        subscriptions.consumeTokens(passId, more);
    }

    /// @notice The initializer names the admin and the Vault in an event.
    function test_InitializerEmitsAnEvent() public {
        vm.expectEmit();
        emit SubscriptionManager.SubscriptionsInitialized(user, address(vault));
        Deploy.subscriptions(user, address(vault));
    }

    /// @notice A grant with every tranche slot live merges the two oldest, keeping the earlier
    /// expiry, and says so in an event; no token is lost.
    function testFuzz_TrancheMergeEmitsAnEvent(uint256 used) public {
        uint256 weekly = 3;
        uint256 bucket = subscriptions.planOf(weekly).bucket;
        used = bound(used, 0, bucket - 1); // a spent first tranche is dropped, not merged
        uint256 passId = _activate(weekly);
        uint256 firstExpiry = block.timestamp + 7 days + Defaults.ROLLOVER;
        if (used != 0) {
            vm.prank(BILLING);
            subscriptions.consumeTokens(passId, used);
        }
        uint256 slots = subscriptions.MAX_TRANCHES();
        for (uint256 k = 1; k < slots; ++k) {
            vm.prank(user);
            subscriptions.renew(passId); // one period ahead: a new tranche each time
            vm.warp(block.timestamp + 7 days);
        }
        assertEq(subscriptions.bucketRemaining(passId), slots * bucket - used, "every slot live");
        vm.expectEmit();
        emit SubscriptionManager.TranchesMerged(passId, 2 * bucket - used, firstExpiry);
        vm.prank(user);
        subscriptions.renew(passId);
        assertEq(subscriptions.bucketRemaining(passId), (slots + 1) * bucket - used, "nothing lost in the merge");
    }

    /// @notice Plans are checked on every write: an unknown plan cannot be updated or bought, an
    /// invalid one is refused, and a deactivated one sells no new pass.
    function testFuzz_PlanAdministration(uint256 unknown, uint256 price, uint256 period) public {
        unknown = bound(unknown, 4, type(uint256).max);
        price = bound(price, 1, type(uint128).max);
        period = bound(period, subscriptions.RENEWAL_WINDOW(), type(uint32).max);
        vm.expectRevert(abi.encodeWithSelector(SubscriptionManager.UnknownPlan.selector, unknown));
        subscriptions.updatePlan(unknown, _plan(price, period, 1, 1, 1));
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(SubscriptionManager.UnknownPlan.selector, unknown));
        subscriptions.activatePlan(unknown);
        SubscriptionManager.Plan memory tooShort = _plan(price, subscriptions.RENEWAL_WINDOW() - 1, 1, 1, 1);
        vm.expectRevert(SubscriptionManager.InvalidPlan.selector);
        subscriptions.createPlan(tooShort);

        SubscriptionManager.Plan memory retired = _plan(price, period, 7, 1, 1);
        retired.active = false;
        subscriptions.updatePlan(STARTER, retired);
        assertEq(subscriptions.planOf(STARTER).price, price, "plan updated");
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(SubscriptionManager.PlanInactive.selector, STARTER));
        subscriptions.activatePlan(STARTER);
    }

    /// @notice The overage buffer is capped; the rollover period is the admin's to set.
    function testFuzz_SettingsAreBounded(uint256 overageBps, uint32 rollover) public {
        overageBps = bound(overageBps, subscriptions.MAX_OVERAGE_BPS() + 1, type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(SubscriptionManager.OverageTooHigh.selector, overageBps));
        subscriptions.setOverageBps(overageBps);
        subscriptions.setRolloverPeriod(rollover);
        (address vault_, uint256 overage, uint256 rolloverPeriod) = subscriptions.settings();
        assertEq(vault_, address(vault), "vault");
        assertEq(overage, Defaults.OVERAGE_BPS, "overage unchanged");
        assertEq(rolloverPeriod, rollover, "rollover set");
    }

    /// @notice Only the owner or an operator cancels renewal, and only of a pass that exists.
    function testFuzz_CancelNeedsOwnerOrOperator(address stranger, uint256 unknown) public {
        vm.assume(stranger != user && stranger != OPERATOR);
        uint256 passId = _activate(STARTER);
        unknown = bound(unknown, passId + 1, type(uint256).max);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(SubscriptionManager.NotPassOwner.selector, passId, stranger));
        subscriptions.cancel(passId);
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(SubscriptionManager.UnknownPass.selector, unknown));
        subscriptions.cancel(unknown);
        vm.prank(OPERATOR);
        subscriptions.cancel(passId);
        (,, bool autoRenew,) = subscriptions.passInfo(passId);
        assertFalse(autoRenew, "operator cancelled");
    }

    /// @notice A new pass holds one tranche of the plan's bucket until the period's end plus rollover.
    function test_NewPassHoldsOneTranche() public {
        uint256 passId = _activate(STARTER);
        SubscriptionManager.Tranche[5] memory tranches = subscriptions.tranchesOf(passId);
        assertEq(tranches[0].amount, subscriptions.planOf(STARTER).bucket, "first tranche is the bucket");
        assertEq(tranches[0].expiry, subscriptions.expiryOf(passId) + Defaults.ROLLOVER, "expires after the rollover");
        assertEq(tranches[1].amount, 0, "one tranche");
        assertTrue(subscriptions.supportsInterface(0x80ac58cd), "ERC-721");
        assertTrue(subscriptions.supportsInterface(0x7965db0b), "AccessControl");
        assertFalse(subscriptions.supportsInterface(0xffffffff), "not the invalid id");
    }

    function _activate(uint256 planId) private returns (uint256 passId) {
        vm.prank(user);
        passId = subscriptions.activatePlan(planId);
    }
}

/// @notice Invariants of SubscriptionManager under random subscriptions, consumption and time.
contract SubscriptionManagerInvariantTest is SubscriptionsSetup, InvariantTest {
    SubscriptionManagerHandler internal handler;

    function setUp() public {
        _deploySubscriptions();
        handler = new SubscriptionManagerHandler(token, vault, subscriptions);
        subscriptions.grantRole(subscriptions.BILLING_ROLE(), handler.BILLING());
        address[] memory users = handler.actors();
        for (uint256 i; i < users.length; ++i) {
            token.transfer(users[i], 1_000_000 ether);
        }
        bytes4[] memory selectors = new bytes4[](8);
        selectors[0] = SubscriptionManagerHandler.activate.selector;
        selectors[1] = SubscriptionManagerHandler.activateFor.selector;
        selectors[2] = SubscriptionManagerHandler.renew.selector;
        selectors[3] = SubscriptionManagerHandler.renewFor.selector;
        selectors[4] = SubscriptionManagerHandler.cancel.selector;
        selectors[5] = SubscriptionManagerHandler.resumeRenewal.selector;
        selectors[6] = SubscriptionManagerHandler.consume.selector;
        selectors[7] = SubscriptionManagerHandler.warp.selector;
        _target(address(handler), selectors);
    }

    /// @notice Property 6: per period, consumption stays within the plan's bucket x 1.1 plus the
    /// rolled-over tranches; overage stays within the buffer; live tokens never exceed what was
    /// granted, minus what was drawn, each grant expiring at its own period end + rollover.
    function invariant_ConsumptionWithinBucketPlusBuffer() public view {
        _assertNoViolation(handler);
        address[] memory users = handler.actors();
        for (uint256 i; i < users.length; ++i) {
            address user = users[i];
            uint256 passId = subscriptions.passOf(user);
            if (passId == 0) continue;
            (uint256 planId,,, uint256 overageUsed) = subscriptions.passInfo(passId);
            assertEq(overageUsed, handler.ghostPeriodOverage(user), "overage used == period's ghost overage");
            assertLe(overageUsed, handler.bufferOf(planId), "period overage <= buffer");
            assertLe(
                handler.ghostPeriodConsumed(user),
                handler.ghostPeriodAllowance(user),
                "period consumption <= live bucket at period start + buffer"
            );
            assertLe(
                handler.ghostConsumed(user),
                handler.ghostGranted(user) + handler.ghostBuffers(user),
                "all consumption <= all buckets + all buffers"
            );
            assertLe(
                subscriptions.bucketRemaining(passId), handler.modelRemaining(user), "live tokens <= the model's"
            );
        }
    }

    /// @notice Each subscriber holds at most one pass, its own, and every payment reached the Vault.
    function invariant_OnePassPerSubscriberAndPaymentsInVault() public view {
        address[] memory users = handler.actors();
        for (uint256 i; i < users.length; ++i) {
            uint256 passId = subscriptions.passOf(users[i]);
            if (passId == 0) continue;
            assertEq(subscriptions.ownerOf(passId), users[i], "pass owned by its subscriber");
            assertEq(subscriptions.balanceOf(users[i]), 1, "one pass per subscriber");
        }
        assertEq(vault.totalBurned() + vault.accrued(), handler.ghostPaid(), "vault received every payment");
    }
}
