// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {CXPT} from "../../../contracts/token/CXPT.sol";
import {Vault} from "../../../contracts/vault/Vault.sol";
import {SubscriptionManager} from "../../../contracts/subscriptions/SubscriptionManager.sol";
import {Actors} from "../utils/Actors.sol";

/// @notice Drives SubscriptionManager through activations, renewals (by owner, keeper and
/// operator deposit), cancellations, consumption and time. Its ghost model keeps every granted
/// bucket as its own tranche with its own expiry (no merging) and draws from it what the contract
/// reports drawn, and tallies consumption and overage per period.
contract SubscriptionManagerHandler is Actors {
    uint256 private constant BPS = 10_000;

    address public constant OPERATOR = address(0x0be2a702);
    address public constant BILLING = address(0xB111);
    address public constant KEEPER = address(0x4EE9E2);

    CXPT public immutable token;
    Vault public immutable vault;
    SubscriptionManager public immutable subscriptions;

    struct Grant {
        uint256 amount;
        uint256 expiry;
    }

    mapping(address user => Grant[]) private grants;
    /// @dev Per user: overage and consumption in the current period, and what the period allows
    /// (tokens live when it started, rolled-over ones included, plus the overage buffer).
    mapping(address user => uint256) public ghostPeriodOverage;
    mapping(address user => uint256) public ghostPeriodConsumed;
    mapping(address user => uint256) public ghostPeriodAllowance;
    /// @dev Per user, over all periods: consumed, granted, and overage buffers granted.
    mapping(address user => uint256) public ghostConsumed;
    mapping(address user => uint256) public ghostGranted;
    mapping(address user => uint256) public ghostBuffers;
    uint256 public ghostPaid;
    /// @dev Whether the owner's own last word on renewal was to turn it on.
    mapping(address user => bool) public optedIn;

    constructor(CXPT token_, Vault vault_, SubscriptionManager subscriptions_) {
        (token, vault, subscriptions) = (token_, vault_, subscriptions_);
        address[] memory list = actors();
        for (uint256 i; i < list.length; ++i) {
            vm.prank(list[i]);
            token_.approve(address(vault_), type(uint256).max);
        }
        vm.prank(OPERATOR);
        token_.approve(address(vault_), type(uint256).max);
    }

    // ───────────────────────────── activation and renewal ─────────────────────────────

    function activate(uint256 seed, uint256 planSeed) external {
        address user = actor(seed);
        uint256 planId = _planId(planSeed);
        vm.prank(user);
        subscriptions.activatePlan(planId);
        ghostPaid += subscriptions.planOf(planId).price;
        _onPeriodStart(user, planId, block.timestamp);
    }

    /// @dev Pays with an operator deposit of half to twice the price; a short one must be refused.
    function activateFor(uint256 seed, uint256 planSeed, uint256 depositAmount) external {
        address user = actor(seed);
        uint256 planId = _planId(planSeed);
        uint256 price = subscriptions.planOf(planId).price;
        depositAmount = bound(depositAmount, price / 2, 2 * price);
        uint256 depositId = _operatorDeposit(user, depositAmount);
        vm.prank(OPERATOR);
        try subscriptions.activatePlanFor(user, planId, depositId) {
            _flag(depositAmount < price, "activation paid by a deposit below the price");
            _onPeriodStart(user, planId, block.timestamp);
        } catch {}
    }

    function renew(uint256 seed, bool byKeeper) external {
        address user = actor(seed);
        uint256 passId = subscriptions.passOf(user);
        if (passId == 0) return;
        uint256 start = _renewalStart(passId);
        (uint256 planId,,,) = subscriptions.passInfo(passId);
        vm.prank(byKeeper ? KEEPER : user);
        subscriptions.renew(passId);
        _flag(byKeeper && !optedIn[user], "a keeper renewed a pass whose owner never opted in");
        ghostPaid += subscriptions.planOf(planId).price;
        _onPeriodStart(user, planId, start);
    }

    function renewFor(uint256 seed, uint256 depositAmount) external {
        address user = actor(seed);
        uint256 passId = subscriptions.passOf(user);
        if (passId == 0) return;
        uint256 start = _renewalStart(passId);
        (uint256 planId,,,) = subscriptions.passInfo(passId);
        uint256 price = subscriptions.planOf(planId).price;
        depositAmount = bound(depositAmount, price, 2 * price);
        uint256 depositId = _operatorDeposit(user, depositAmount);
        vm.prank(OPERATOR);
        subscriptions.renewFor(passId, depositId);
        _onPeriodStart(user, planId, start);
    }

    function cancel(uint256 seed, bool byOperator) external {
        address user = actor(seed);
        uint256 passId = subscriptions.passOf(user);
        if (passId == 0) return;
        vm.prank(byOperator ? OPERATOR : user);
        subscriptions.cancel(passId);
        optedIn[user] = false;
    }

    function resumeRenewal(uint256 seed) external {
        address user = actor(seed);
        uint256 passId = subscriptions.passOf(user);
        if (passId == 0) return;
        vm.prank(user);
        subscriptions.resumeRenewal(passId);
        optedIn[user] = true;
    }

    // ───────────────────────────── consumption ─────────────────────────────

    /// @dev Draws up to 120 % of the plan's bucket, so buckets and buffers run dry.
    function consume(uint256 seed, uint256 amount) external {
        address user = actor(seed);
        uint256 passId = subscriptions.passOf(user);
        if (passId == 0) return;
        (uint256 planId,,, uint256 overageUsed) = subscriptions.passInfo(passId);
        uint256 buffer = bufferOf(planId);
        amount = bound(amount, 1, subscriptions.planOf(planId).bucket * 12 / 10);
        uint256 bucketBefore = subscriptions.bucketRemaining(passId);
        bool active = subscriptions.isActive(passId);
        vm.prank(BILLING);
        try subscriptions.consumeTokens(passId, amount) {
            uint256 fromBucket = bucketBefore - subscriptions.bucketRemaining(passId);
            _flag(!active, "an expired pass consumed");
            _flag(fromBucket != (amount < bucketBefore ? amount : bucketBefore), "overage used before the bucket ran dry");
            _drawModel(user, fromBucket);
            ghostPeriodOverage[user] += amount - fromBucket;
            ghostPeriodConsumed[user] += amount;
            ghostConsumed[user] += amount;
        } catch {
            _flag(
                active && amount <= bucketBefore + buffer - overageUsed,
                "consumption within bucket + buffer was refused"
            );
        }
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1 hours, 45 days));
    }

    // ───────────────────────────── ghost views ─────────────────────────────

    /// @notice The overage buffer of a period of `planId`.
    function bufferOf(uint256 planId) public view returns (uint256) {
        (, uint256 overageBps,) = subscriptions.settings();
        return uint256(subscriptions.planOf(planId).bucket) * overageBps / BPS;
    }

    /// @notice Tokens the model still holds for `user` that have not expired.
    function modelRemaining(address user) public view returns (uint256 remaining) {
        Grant[] storage list = grants[user];
        for (uint256 i; i < list.length; ++i) {
            if (list[i].expiry > block.timestamp) remaining += list[i].amount;
        }
    }

    // ───────────────────────────── internals ─────────────────────────────

    function _onPeriodStart(address user, uint256 planId, uint256 start) private {
        SubscriptionManager.Plan memory plan = subscriptions.planOf(planId);
        uint256 periodEnd = start + plan.period;
        uint256 passId = subscriptions.passOf(user);
        (,, uint256 rollover) = subscriptions.settings();
        _flag(subscriptions.expiryOf(passId) != periodEnd, "period end is not start + period");
        grants[user].push(Grant(plan.bucket, periodEnd + rollover));
        uint256 buffer = bufferOf(planId);
        ghostPeriodOverage[user] = 0;
        ghostPeriodConsumed[user] = 0;
        ghostPeriodAllowance[user] = modelRemaining(user) + buffer;
        ghostGranted[user] += plan.bucket;
        ghostBuffers[user] += buffer;
    }

    /// @dev Takes `amount` from the model's unexpired grants, oldest first.
    function _drawModel(address user, uint256 amount) private {
        Grant[] storage list = grants[user];
        for (uint256 i; i < list.length && amount != 0; ++i) {
            if (list[i].expiry <= block.timestamp) continue;
            uint256 take = amount < list[i].amount ? amount : list[i].amount;
            list[i].amount -= take;
            amount -= take;
        }
        _flag(amount != 0, "the contract drew tokens the model does not have");
    }

    function _renewalStart(uint256 passId) private view returns (uint256) {
        uint256 periodEnd = subscriptions.expiryOf(passId);
        return periodEnd > block.timestamp ? periodEnd : block.timestamp;
    }

    function _operatorDeposit(address user, uint256 amount) private returns (uint256 depositId) {
        vm.prank(OPERATOR);
        depositId = vault.depositFor(user, amount, bytes32("subscription"));
        ghostPaid += amount;
    }

    function _planId(uint256 seed) private view returns (uint256) {
        return seed % subscriptions.lastPlanId() + 1;
    }
}
