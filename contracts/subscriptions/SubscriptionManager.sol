// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ERC721Upgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC721/ERC721Upgradeable.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {AccessControlUpgradeable} from "@openzeppelin/contracts-upgradeable/access/AccessControlUpgradeable.sol";
import {Governed} from "../access/Governed.sol";
import {IVault} from "../interfaces/IVault.sol";

/// @title SubscriptionManager
/// @notice Sells monthly-style plans paid in CXPT through the Vault (so the burn applies) and
/// represents each subscriber's standing as a non-transferable ERC-721 pass holding a token
/// bucket. Each paid period adds the plan's bucket as a tranche that stays usable until
/// `rolloverPeriod` after its period ends; consumption draws the oldest tranche first and may
/// run over the bucket by `overageBps` of the plan's bucket per period. Renewal from the owner's
/// wallet by anyone else (a keeper) is the owner's own opt-in (`resumeRenewal`): no activation
/// turns it on, so neither the operator nor a keeper can start charging a wallet that never agreed.
contract SubscriptionManager is Governed, ERC721Upgradeable {
    /// @notice May activate and renew for users against operator Vault deposits, and cancel for them.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice May draw down buckets (the billing backend).
    bytes32 public constant BILLING_ROLE = keccak256("BILLING_ROLE");

    uint256 private constant BPS = 10_000;
    /// @notice Tranches a pass keeps at most; a further grant merges the two oldest. Five slots
    /// hold every live tranche of a plan whose period is at least a third of the rollover (the
    /// monthly plans with 90-day rollover), renewed in the renewal window or prepaid.
    uint256 public constant MAX_TRANCHES = 5;
    /// @notice Keepers may renew a pass with renewal on from this long before its period ends.
    uint256 public constant RENEWAL_WINDOW = 1 days;
    /// @notice The overage buffer cannot exceed half the bucket.
    uint256 public constant MAX_OVERAGE_BPS = 5_000;

    /// @notice A plan as the admin defines it. Requests per minute and concurrency are metadata
    /// the off-chain gate enforces.
    struct Plan {
        uint128 price;
        uint32 period;
        bool active;
        uint96 bucket;
        uint32 requestsPerMinute;
        uint32 concurrency;
    }

    struct Tranche {
        uint96 amount;
        uint32 expiry;
    }

    struct Pass {
        uint32 planId;
        uint64 periodEnd;
        bool autoRenew;
        uint96 overageUsed;
        Tranche[MAX_TRANCHES] tranches;
    }

    /// @custom:storage-location erc7201:cxpt.storage.SubscriptionManager
    struct SubscriptionStorage {
        IVault vault;
        uint32 lastPlanId;
        uint16 overageBps;
        uint32 rolloverPeriod;
        uint256 lastPassId;
        mapping(uint256 planId => Plan) plans;
        mapping(uint256 passId => Pass) passes;
        mapping(address user => uint256 passId) passOf;
    }

    // keccak256(abi.encode(uint256(keccak256("cxpt.storage.SubscriptionManager")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant SUBSCRIPTION_STORAGE = 0xb7a7ac6a1027e0a6a912eff911f875f506d7a9b21fcb06fee29523a3d1df8800;

    event PlanSet(
        uint256 indexed planId,
        uint256 price,
        uint256 period,
        uint256 bucket,
        uint256 requestsPerMinute,
        uint256 concurrency,
        bool active
    );
    event PlanActivated(
        uint256 indexed passId, address indexed user, uint256 indexed planId, uint256 periodEnd, uint256 depositId
    );
    event PassRenewed(uint256 indexed passId, address indexed payer, uint256 periodEnd, uint256 depositId);
    event RenewalCancelled(uint256 indexed passId, address indexed by);
    event RenewalResumed(uint256 indexed passId);
    event TokensConsumed(uint256 indexed passId, uint256 amount, uint256 fromBucket, uint256 overage, uint256 bucketRemaining);
    event BucketGranted(uint256 indexed passId, uint256 amount, uint256 expiry);
    /// @notice All tranche slots were live, so the two oldest of pass `passId` merged into one of
    /// `amount` tokens keeping the earlier `expiry`.
    event TranchesMerged(uint256 indexed passId, uint256 amount, uint256 expiry);
    /// @notice The proxy was initialized: `admin` holds the admin role, `vault` takes plan payments.
    event SubscriptionsInitialized(address admin, address vault);
    event OverageBpsSet(uint256 overageBps);
    event RolloverPeriodSet(uint256 rolloverPeriod);

    error UnknownPlan(uint256 planId);
    error PlanInactive(uint256 planId);
    error InvalidPlan();
    error UnknownPass(uint256 passId);
    error PassActive(uint256 passId, uint256 periodEnd);
    error PassExpired(uint256 passId);
    error PassNonTransferable(uint256 passId);
    error NotPassOwner(uint256 passId, address caller);
    error RenewalOff(uint256 passId);
    error RenewalTooEarly(uint256 passId, uint256 allowedFrom);
    error RenewalLapsed(uint256 passId, uint256 allowedUntil);
    error DepositTooSmall(uint256 depositId, uint256 amount, uint256 price);
    error BucketExhausted(uint256 passId, uint256 requested, uint256 available);
    error OverageTooHigh(uint256 overageBps);

    function _subs() private pure returns (SubscriptionStorage storage $) {
        assembly {
            $.slot := SUBSCRIPTION_STORAGE
        }
    }

    /// @notice Initializes the proxy.
    /// @param admin Holder of the admin role (the timelock).
    /// @param vault_ The Vault taking every plan payment.
    /// @param overageBps_ Overage buffer per period, in basis points of the plan's bucket.
    /// @param rolloverPeriod_ Seconds a period's unused tokens stay usable after the period ends.
    function initialize(address admin, address vault_, uint256 overageBps_, uint256 rolloverPeriod_)
        external
        initializer
    {
        _requireNonZero(vault_);
        __Governed_init(admin);
        __ERC721_init("Cxmpute Subscription Pass", "CXPASS");
        _subs().vault = IVault(vault_);
        emit SubscriptionsInitialized(admin, vault_);
        _setOverageBps(overageBps_);
        _setRolloverPeriod(rolloverPeriod_);
    }

    // ───────────────────────────── plans (admin) ─────────────────────────────

    /// @notice Creates a plan (admin).
    /// @return planId The new plan's id.
    function createPlan(Plan calldata plan) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint256 planId) {
        planId = ++_subs().lastPlanId;
        _setPlan(planId, plan);
    }

    /// @notice Replaces plan `planId` (admin). Existing passes use the new terms from their next period.
    function updatePlan(uint256 planId, Plan calldata plan) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _requirePlanExists(planId);
        _setPlan(planId, plan);
    }

    /// @notice Sets the overage buffer in basis points of a plan's bucket (admin).
    function setOverageBps(uint256 overageBps_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setOverageBps(overageBps_);
    }

    /// @notice Sets how long unused tokens roll over after their period (admin).
    function setRolloverPeriod(uint256 rolloverPeriod_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setRolloverPeriod(rolloverPeriod_);
    }

    // ───────────────────────────── activation and renewal ─────────────────────────────

    /// @notice Buys `planId` for the caller, paying its price from the caller's Vault allowance.
    /// @return passId The caller's pass.
    function activatePlan(uint256 planId) external returns (uint256 passId) {
        uint256 price = _activePlan(planId).price;
        passId = _activate(msg.sender, planId, 0);
        _subs().vault.collect(msg.sender, price, bytes32(passId));
    }

    /// @notice Activates `planId` for `user`, paid by operator deposit `depositId` made for them.
    /// @return passId The user's pass.
    function activatePlanFor(address user, uint256 planId, uint256 depositId)
        external
        onlyRole(OPERATOR_ROLE)
        returns (uint256 passId)
    {
        _requireNonZero(user);
        uint256 price = _activePlan(planId).price;
        _spendDeposit(depositId, user, price);
        passId = _activate(user, planId, depositId);
    }

    /// @notice Pays the next period of `passId` from its owner's Vault allowance. The owner may
    /// prepay one period ahead; anyone else (a keeper) only for a pass with renewal on, within
    /// `RENEWAL_WINDOW` before or after its period's end: a keeper cannot revive a pass that
    /// lapsed long ago and charge an owner who has moved on.
    function renew(uint256 passId) external {
        address owner = _ownerOrRevert(passId);
        Pass storage pass = _subs().passes[passId];
        Plan memory plan = _activePlan(pass.planId);
        if (msg.sender == owner) {
            if (pass.periodEnd > block.timestamp + plan.period) {
                revert RenewalTooEarly(passId, pass.periodEnd - plan.period);
            }
        } else {
            if (!pass.autoRenew) revert RenewalOff(passId);
            if (pass.periodEnd > block.timestamp + RENEWAL_WINDOW) {
                revert RenewalTooEarly(passId, pass.periodEnd - RENEWAL_WINDOW);
            }
            if (block.timestamp > pass.periodEnd + RENEWAL_WINDOW) {
                revert RenewalLapsed(passId, pass.periodEnd + RENEWAL_WINDOW);
            }
        }
        _extend(passId, pass, plan, owner, 0);
        _subs().vault.collect(owner, plan.price, bytes32(passId));
    }

    /// @notice Pays the next period of `passId` with operator deposit `depositId` made for its owner.
    function renewFor(uint256 passId, uint256 depositId) external onlyRole(OPERATOR_ROLE) {
        address owner = _ownerOrRevert(passId);
        Pass storage pass = _subs().passes[passId];
        Plan memory plan = _activePlan(pass.planId);
        if (pass.periodEnd > block.timestamp + plan.period) {
            revert RenewalTooEarly(passId, pass.periodEnd - plan.period);
        }
        _spendDeposit(depositId, owner, plan.price);
        _extend(passId, pass, plan, msg.sender, depositId);
    }

    /// @notice Turns renewal off: the current period runs out and the pass then expires.
    /// @dev The owner, or an operator acting on the owner's request.
    function cancel(uint256 passId) external {
        address owner = _ownerOrRevert(passId);
        if (msg.sender != owner && !hasRole(OPERATOR_ROLE, msg.sender)) revert NotPassOwner(passId, msg.sender);
        _subs().passes[passId].autoRenew = false;
        emit RenewalCancelled(passId, msg.sender);
    }

    /// @notice Turns renewal on for the caller's pass: the owner's opt-in to keepers renewing it
    /// from their Vault allowance. Only the owner can; no activation does it for them.
    function resumeRenewal(uint256 passId) external {
        if (msg.sender != _ownerOrRevert(passId)) revert NotPassOwner(passId, msg.sender);
        _subs().passes[passId].autoRenew = true;
        emit RenewalResumed(passId);
    }

    // ───────────────────────────── consumption ─────────────────────────────

    /// @notice Draws `amount` tokens from the bucket of `passId`, oldest tranche first, then from
    /// the period's overage buffer (billing role). Beyond both it reverts.
    function consumeTokens(uint256 passId, uint256 amount) external onlyRole(BILLING_ROLE) {
        _requireNonZero(amount);
        _ownerOrRevert(passId);
        Pass storage pass = _subs().passes[passId];
        if (pass.periodEnd <= block.timestamp) revert PassExpired(passId);
        (uint256 fromBucket, uint256 remaining) = _draw(pass, amount);
        uint256 overage = amount - fromBucket;
        if (overage != 0) {
            uint256 buffer = _overageBuffer(pass.planId);
            uint256 used = pass.overageUsed;
            if (used + overage > buffer) {
                revert BucketExhausted(passId, amount, fromBucket + _saturatingSub(buffer, used));
            }
            pass.overageUsed = uint96(used + overage);
        }
        emit TokensConsumed(passId, amount, fromBucket, overage, remaining);
    }

    // ───────────────────────────── views ─────────────────────────────

    /// @notice Plan `planId`.
    function planOf(uint256 planId) external view returns (Plan memory) {
        return _subs().plans[planId];
    }

    /// @notice The newest plan id.
    function lastPlanId() external view returns (uint256) {
        return _subs().lastPlanId;
    }

    /// @notice The pass of `user` (0 when none).
    function passOf(address user) external view returns (uint256) {
        return _subs().passOf[user];
    }

    /// @notice Plan, period end, renewal flag and overage used of `passId`.
    function passInfo(uint256 passId)
        external
        view
        returns (uint256 planId, uint256 periodEnd, bool autoRenew, uint256 overageUsed)
    {
        Pass storage pass = _subs().passes[passId];
        return (pass.planId, pass.periodEnd, pass.autoRenew, pass.overageUsed);
    }

    /// @notice Whether `passId` is in a paid period.
    function isActive(uint256 passId) public view returns (bool) {
        return _subs().passes[passId].periodEnd > block.timestamp;
    }

    /// @notice When the current period of `passId` ends.
    function expiryOf(uint256 passId) external view returns (uint256) {
        return _subs().passes[passId].periodEnd;
    }

    /// @notice Unexpired tokens left in the bucket of `passId` (rolled-over tranches included).
    function bucketRemaining(uint256 passId) public view returns (uint256 remaining) {
        Tranche[MAX_TRANCHES] storage tranches = _subs().passes[passId].tranches;
        for (uint256 i; i < MAX_TRANCHES; ++i) {
            if (tranches[i].expiry > block.timestamp) remaining += tranches[i].amount;
        }
    }

    /// @notice Overage still available to `passId` in its current period.
    function overageRemaining(uint256 passId) external view returns (uint256) {
        Pass storage pass = _subs().passes[passId];
        return _saturatingSub(_overageBuffer(pass.planId), pass.overageUsed);
    }

    /// @notice The tranches of `passId`, oldest first (expired ones included until compacted).
    function tranchesOf(uint256 passId) external view returns (Tranche[MAX_TRANCHES] memory) {
        return _subs().passes[passId].tranches;
    }

    /// @notice The Vault and the overage and rollover settings.
    function settings() external view returns (address vault, uint256 overageBps, uint256 rolloverPeriod) {
        SubscriptionStorage storage $ = _subs();
        return (address($.vault), $.overageBps, $.rolloverPeriod);
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(AccessControlUpgradeable, ERC721Upgradeable)
        returns (bool)
    {
        return super.supportsInterface(interfaceId);
    }

    // ───────────────────────────── internals ─────────────────────────────

    /// @dev Starts a new paid period for `user`, minting their pass on first activation.
    function _activate(address user, uint256 planId, uint256 depositId) private returns (uint256 passId) {
        SubscriptionStorage storage $ = _subs();
        passId = $.passOf[user];
        if (passId == 0) {
            passId = ++$.lastPassId;
            $.passOf[user] = passId;
            _mint(user, passId);
        }
        Pass storage pass = $.passes[passId];
        if (pass.periodEnd > block.timestamp) revert PassActive(passId, pass.periodEnd);
        pass.planId = uint32(planId);
        // A new period is not consent to renewals: a pass the owner opted in stays so, any other
        // (a new pass, one bought for a fiat subscriber, one whose renewal was cancelled) stays off.
        _startPeriod(passId, pass, $.plans[planId], block.timestamp);
        emit PlanActivated(passId, user, planId, pass.periodEnd, depositId);
    }

    /// @dev Appends one period to `pass`, from its current end or from now if it lapsed.
    function _extend(uint256 passId, Pass storage pass, Plan memory plan, address payer, uint256 depositId) private {
        uint256 start = pass.periodEnd > block.timestamp ? pass.periodEnd : block.timestamp;
        _startPeriod(passId, pass, plan, start);
        emit PassRenewed(passId, payer, pass.periodEnd, depositId);
    }

    function _startPeriod(uint256 passId, Pass storage pass, Plan memory plan, uint256 start) private {
        uint256 periodEnd = start + plan.period;
        pass.periodEnd = uint64(periodEnd);
        pass.overageUsed = 0;
        uint256 expiry = periodEnd + _subs().rolloverPeriod;
        _grant(passId, pass, plan.bucket, SafeCast.toUint32(expiry));
        emit BucketGranted(passId, plan.bucket, expiry);
    }

    /// @dev Adds a tranche, dropping expired ones; when all slots are live, the two oldest merge
    /// and keep the earlier expiry, so no token outlives its own rollover window.
    function _grant(uint256 passId, Pass storage pass, uint96 amount, uint32 expiry) private {
        Tranche[MAX_TRANCHES] storage tranches = pass.tranches;
        uint256 live;
        for (uint256 i; i < MAX_TRANCHES; ++i) {
            Tranche memory t = tranches[i];
            if (t.expiry > block.timestamp && t.amount != 0) tranches[live++] = t;
        }
        if (live == MAX_TRANCHES) {
            uint96 merged = tranches[0].amount + tranches[1].amount;
            tranches[0].amount = merged;
            emit TranchesMerged(passId, merged, tranches[0].expiry);
            for (uint256 i = 1; i < MAX_TRANCHES - 1; ++i) {
                tranches[i] = tranches[i + 1];
            }
            live = MAX_TRANCHES - 1;
        }
        tranches[live++] = Tranche(amount, expiry);
        for (uint256 i = live; i < MAX_TRANCHES; ++i) {
            delete tranches[i];
        }
    }

    /// @dev Takes up to `amount` from unexpired tranches, oldest first.
    function _draw(Pass storage pass, uint256 amount) private returns (uint256 taken, uint256 remaining) {
        Tranche[MAX_TRANCHES] storage tranches = pass.tranches;
        for (uint256 i; i < MAX_TRANCHES; ++i) {
            Tranche storage t = tranches[i];
            if (t.expiry <= block.timestamp) continue;
            uint256 available = t.amount;
            uint256 take = amount - taken;
            if (take > available) take = available;
            if (take != 0) {
                t.amount = uint96(available - take);
                taken += take;
            }
            remaining += available - take;
        }
    }

    function _overageBuffer(uint256 planId) private view returns (uint256) {
        SubscriptionStorage storage $ = _subs();
        return uint256($.plans[planId].bucket) * $.overageBps / BPS;
    }

    /// @dev `a - b`, or 0 when the buffer shrank below what was used (plan or overage rate lowered).
    function _saturatingSub(uint256 a, uint256 b) private pure returns (uint256) {
        return a > b ? a - b : 0;
    }

    function _spendDeposit(uint256 depositId, address user, uint256 price) private {
        uint256 amount = _subs().vault.consumeDeposit(depositId, user);
        if (amount < price) revert DepositTooSmall(depositId, amount, price);
    }

    function _activePlan(uint256 planId) private view returns (Plan memory plan) {
        plan = _subs().plans[planId];
        if (plan.period == 0) revert UnknownPlan(planId);
        if (!plan.active) revert PlanInactive(planId);
    }

    function _requirePlanExists(uint256 planId) private view {
        if (_subs().plans[planId].period == 0) revert UnknownPlan(planId);
    }

    function _setPlan(uint256 planId, Plan calldata plan) private {
        // A period shorter than the renewal window would let a keeper renew it again and again.
        if (plan.price == 0 || plan.period < RENEWAL_WINDOW || plan.bucket == 0) revert InvalidPlan();
        _subs().plans[planId] = plan;
        emit PlanSet(
            planId, plan.price, plan.period, plan.bucket, plan.requestsPerMinute, plan.concurrency, plan.active
        );
    }

    function _setOverageBps(uint256 overageBps_) private {
        if (overageBps_ > MAX_OVERAGE_BPS) revert OverageTooHigh(overageBps_);
        _subs().overageBps = uint16(overageBps_);
        emit OverageBpsSet(overageBps_);
    }

    function _setRolloverPeriod(uint256 rolloverPeriod_) private {
        _subs().rolloverPeriod = SafeCast.toUint32(rolloverPeriod_);
        emit RolloverPeriodSet(rolloverPeriod_);
    }

    /// @dev Passes are bound to their subscriber: they can be minted, never transferred.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = super._update(to, tokenId, auth);
        if (from != address(0)) revert PassNonTransferable(tokenId);
    }

    /// @dev Reverts with UnknownPass for a pass that was never minted.
    function _ownerOrRevert(uint256 passId) private view returns (address owner) {
        owner = _ownerOf(passId);
        if (owner == address(0)) revert UnknownPass(passId);
    }
}
