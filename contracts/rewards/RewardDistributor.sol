// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ContextUpgradeable} from "@openzeppelin/contracts-upgradeable/utils/ContextUpgradeable.sol";
import {ERC2771ContextUpgradeable} from "@openzeppelin/contracts-upgradeable/metatx/ERC2771ContextUpgradeable.sol";
import {Rescuable} from "../access/Rescuable.sol";
import {Sanctions} from "../access/Sanctions.sol";
import {IRewardDistributor} from "../interfaces/IRewardDistributor.sol";
import {ISanctionsList} from "../interfaces/ISanctionsList.sol";

/// @title RewardDistributor
/// @notice Receives the Vault's sweeps, splits each funding protocol : providers : users, and
/// streams the provider and user pools to accounts by point weight, one epoch at a time.
///
/// An epoch's budget is the pool funding received before it starts; it releases linearly from
/// the epoch's start to its end. Points for epoch `e` are uploaded in batches while `e - 1`
/// runs, so thousands of accounts never need one transaction. Each account keeps at most two
/// epoch entries per pool (the running one and the staged next one); ended epochs fold into a
/// settled balance when the account is touched, so a claim costs the same whatever the number
/// of accounts.
///
/// Claims are screened by the sanctions oracle, as payments are in the Vault. CXPT sent straight
/// to the distributor (beyond the protocol balance, the pending funding and the started budgets
/// not yet claimed) can be rescued to the treasury by the admin (the timelock).
contract RewardDistributor is Rescuable, ERC2771ContextUpgradeable, IRewardDistributor {
    using SafeERC20 for IERC20;
    using Sanctions for ISanctionsList;

    /// @notice The two pools streamed to accounts.
    enum Pool {
        Providers,
        Users
    }

    /// @notice May fund the distributor (the Vault).
    bytes32 public constant FUNDER_ROLE = keccak256("FUNDER_ROLE");
    /// @notice May upload points and start epochs (the RewardsCron operator).
    bytes32 public constant REWARDS_ROLE = keccak256("REWARDS_ROLE");
    /// @notice May withdraw the protocol share (the Safe multisig).
    bytes32 public constant TREASURER_ROLE = keccak256("TREASURER_ROLE");
    /// @notice May void an upload during its review delay (the Safe, or a guardian it names), besides the admin.
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    /// @notice The longest review delay the admin may set.
    uint256 public constant MAX_REVIEW_DELAY = 7 days;

    uint256 private constant BPS = 10_000;
    uint256 private constant POOLS = 2;
    /// @notice The longest epoch accepted.
    uint256 public constant MAX_EPOCH_DURATION = 366 days;

    struct Epoch {
        uint64 start;
        uint64 end;
    }

    struct PoolEpoch {
        uint128 totalShares;
        uint128 budget;
    }

    /// @dev An account's standing in one pool. `cur` is the older unfolded epoch entry, `next`
    /// the newer (staged) one. `credit` is what ended epochs earned minus everything claimed,
    /// so it is negative by what was claimed from `cur`'s running stream; what the account can
    /// claim is `credit` plus what `cur` and `next` have released. `credit` shares its slot with
    /// the epoch ids so that a claim only ever rewrites a slot that is already non-zero.
    struct Stake {
        int128 credit;
        uint32 curEpoch;
        uint32 nextEpoch;
        uint96 curShares;
        uint96 nextShares;
    }

    /// @custom:storage-location erc7201:cxpt.storage.RewardDistributor
    struct DistributorStorage {
        IERC20 token;
        uint16 protocolBps;
        uint16 providersBps;
        uint16 usersBps;
        uint32 currentEpoch;
        address forwarder;
        uint256 protocolBalance;
        uint256[POOLS] pending;
        mapping(uint256 epoch => Epoch) epochs;
        mapping(uint256 epoch => PoolEpoch[POOLS]) poolEpochs;
        mapping(address account => Stake[POOLS]) stakes;
        // Added by the trust bounds (issue 12); appended so the layout stays upgrade-safe.
        // Epoch duration bounds (0: 1 s and MAX_EPOCH_DURATION), the review delay after the last
        // upload, when the next epoch's shares were last uploaded, and the epoch whose upload a
        // guardian voided (it runs with no budget).
        uint32 minEpochDuration;
        uint32 maxEpochDuration;
        uint32 reviewDelay;
        uint64 lastUploadAt;
        uint32 voidedEpoch;
        // Added by claim screening and rescue (issue 12); appended, one slot. The oracle screening
        // claimants (address(0): none), and the started epoch budgets not yet claimed (what the
        // pools owe accounts; below the token's 1e27 wei genesis supply, so uint96 holds it).
        ISanctionsList sanctionsOracle;
        uint96 outstanding;
    }

    // keccak256(abi.encode(uint256(keccak256("cxpt.storage.RewardDistributor")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant DISTRIBUTOR_STORAGE = 0x05f704302ae7c88296849cb40121b4103b52460bd7d80318e7f9a18265384500;

    event Funded(uint256 amount, uint256 protocolShare, uint256 providersShare, uint256 usersShare);
    event SplitSet(uint256 protocolBps, uint256 providersBps, uint256 usersBps);
    event SharesUpdated(uint256 indexed epoch, Pool indexed pool, address indexed account, uint256 shares);
    event EpochStarted(uint256 indexed epoch, uint256 start, uint256 end, uint256 providersBudget, uint256 usersBudget);
    event Claimed(address indexed account, Pool indexed pool, uint256 amount);
    event ProtocolWithdrawn(address indexed to, uint256 amount);
    event TrustedForwarderSet(address forwarder);
    event EpochBoundsSet(uint256 minDuration, uint256 maxDuration, uint256 reviewDelay);
    event UploadVoided(uint256 indexed epoch, address indexed by);
    event EpochEnded(uint256 indexed epoch, uint256 end, uint256 providersReturned, uint256 usersReturned);
    /// @notice The proxy was initialized: `admin` holds the admin role, `token` is the CXPT it pays.
    event DistributorInitialized(address admin, address token);
    /// @notice Claimants are screened by `oracle` from now on (address(0): no screening).
    event SanctionsOracleSet(address oracle);
    /// @notice An upgraded distributor booked `amount` of started budgets not yet claimed as owed.
    event OwedBooked(uint256 amount);

    error InvalidSplit(uint256 protocolBps, uint256 providersBps, uint256 usersBps);
    error LengthMismatch(uint256 accounts, uint256 shares);
    error NotNextEpoch(uint256 epoch, uint256 expected);
    error EpochNotEnded(uint256 epoch, uint256 end);
    error InvalidDuration(uint256 duration);
    error InvalidEpochBounds(uint256 minDuration, uint256 maxDuration, uint256 reviewDelay);
    error ReviewPending(uint256 epoch, uint256 startableAt);
    error UploadIsVoided(uint256 epoch);
    error EpochNotRunning(uint256 epoch);
    error NotGuardian(address account);
    error NoShares(uint256 epoch);
    error SharesTooLarge(uint256 shares);
    error NothingToClaim(address account);
    error InsufficientProtocolBalance(uint256 requested, uint256 available);
    /// @notice The sanctions oracle flags the claimant.
    error SanctionedAddress(address account);
    /// @notice The sanctions oracle did not answer (reverted or answered garbage): claims wait for it.
    error SanctionsOracleUnavailable(address oracle);

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() ERC2771ContextUpgradeable(address(0)) {}

    function _distributor() private pure returns (DistributorStorage storage $) {
        assembly {
            $.slot := DISTRIBUTOR_STORAGE
        }
    }

    /// @notice Initializes the proxy.
    /// @param admin Holder of the admin role (the timelock).
    /// @param token_ The CXPT token.
    /// @param forwarder_ The ERC-2771 trusted forwarder for gasless claims (may be zero).
    /// @param protocolBps_ Protocol share of each funding, in basis points.
    /// @param providersBps_ Provider pool share.
    /// @param usersBps_ User (cashback) pool share; the three must sum to 10,000.
    function initialize(
        address admin,
        address token_,
        address forwarder_,
        uint256 protocolBps_,
        uint256 providersBps_,
        uint256 usersBps_
    ) external initializer {
        _requireNonZero(token_);
        __Governed_init(admin);
        DistributorStorage storage $ = _distributor();
        $.token = IERC20(token_);
        $.forwarder = forwarder_;
        emit DistributorInitialized(admin, token_);
        emit TrustedForwarderSet(forwarder_);
        _setSplit(protocolBps_, providersBps_, usersBps_);
    }

    /// @notice Upgrades a distributor deployed before claim screening and rescue (admin, run by the
    /// timelock with the upgrade, in `upgradeToAndCall`): books the started budgets not yet claimed,
    /// the balance above the protocol balance and the pending funding, as owed. Tokens that reached
    /// the distributor outside fundings before this call count as owed too: they are never rescued.
    /// Until it runs on such a proxy, claims revert.
    function initializeOwed() external reinitializer(2) onlyRole(DEFAULT_ADMIN_ROLE) {
        DistributorStorage storage $ = _distributor();
        uint256 held = $.token.balanceOf(address(this)) - $.protocolBalance - $.pending[0] - $.pending[1];
        $.outstanding = SafeCast.toUint96(held);
        emit OwedBooked(held);
    }

    // ───────────────────────────── funding ─────────────────────────────

    /// @inheritdoc IRewardDistributor
    /// @dev The pools' shares wait in `pending` until the next epoch starts.
    function notifyFunding(uint256 amount) external onlyRole(FUNDER_ROLE) {
        _requireNonZero(amount);
        DistributorStorage storage $ = _distributor();
        uint256 protocolShare = amount * $.protocolBps / BPS;
        uint256 providersShare = amount * $.providersBps / BPS;
        uint256 usersShare = amount - protocolShare - providersShare;
        $.protocolBalance += protocolShare;
        $.pending[uint256(Pool.Providers)] += providersShare;
        $.pending[uint256(Pool.Users)] += usersShare;
        emit Funded(amount, protocolShare, providersShare, usersShare);
    }

    // ───────────────────────────── epochs and shares ─────────────────────────────

    /// @notice Sets the points of `accounts` in `pool` for the next epoch (one batch of many).
    /// @dev Overwrites an account's earlier upload for the same epoch. Zero removes the account.
    function updateShares(uint256 epoch, Pool pool, address[] calldata accounts, uint256[] calldata shares)
        external
        onlyRole(REWARDS_ROLE)
    {
        if (accounts.length != shares.length) revert LengthMismatch(accounts.length, shares.length);
        DistributorStorage storage $ = _distributor();
        uint256 current = $.currentEpoch;
        if (epoch != current + 1) revert NotNextEpoch(epoch, current + 1);
        if ($.voidedEpoch == epoch) revert UploadIsVoided(epoch);
        // Every upload restarts the review delay: the Safe reviews what will actually start.
        $.lastUploadAt = uint64(block.timestamp);
        PoolEpoch storage target = $.poolEpochs[epoch][uint256(pool)];
        uint256 total = target.totalShares;
        for (uint256 i; i < accounts.length; ++i) {
            total = total - _updateShare(epoch, pool, current, accounts[i], shares[i]) + shares[i];
        }
        target.totalShares = SafeCast.toUint128(total);
    }

    /// @notice Starts the next epoch: each pool with points gets its pending funding as the
    /// epoch's budget, released linearly over `duration` seconds (within the admin's bounds), once
    /// the review delay after the last upload has passed. An epoch whose upload a guardian voided
    /// starts at once with no budget: its funding waits for the next epoch.
    function startEpoch(uint256 epoch, uint256 duration) external onlyRole(REWARDS_ROLE) {
        DistributorStorage storage $ = _distributor();
        uint256 current = $.currentEpoch;
        if (epoch != current + 1) revert NotNextEpoch(epoch, current + 1);
        uint256 previousEnd = $.epochs[current].end;
        if (block.timestamp < previousEnd) revert EpochNotEnded(current, previousEnd);
        (uint256 minDuration, uint256 maxDuration) = _durationBounds($);
        if (duration < minDuration || duration > maxDuration) revert InvalidDuration(duration);
        PoolEpoch[POOLS] storage pools = $.poolEpochs[epoch];
        bool voided = $.voidedEpoch == epoch;
        if (!voided) {
            if (pools[0].totalShares == 0 && pools[1].totalShares == 0) revert NoShares(epoch);
            uint256 startableAt = uint256($.lastUploadAt) + $.reviewDelay;
            if (block.timestamp < startableAt) revert ReviewPending(epoch, startableAt);
        }

        uint256[POOLS] memory budgets;
        for (uint256 p; p < POOLS; ++p) {
            // A pool nobody earns in keeps its funding for a later epoch, as does a voided upload.
            if (voided || pools[p].totalShares == 0) continue;
            budgets[p] = $.pending[p];
            $.pending[p] = 0;
            pools[p].budget = uint128(budgets[p]);
        }
        uint256 end = block.timestamp + duration;
        $.epochs[epoch] = Epoch(uint64(block.timestamp), uint64(end));
        $.currentEpoch = uint32(epoch);
        $.outstanding = SafeCast.toUint96(uint256($.outstanding) + budgets[0] + budgets[1]);
        emit EpochStarted(epoch, block.timestamp, end, budgets[0], budgets[1]);
    }

    // ───────────────────────────── oversight ─────────────────────────────

    /// @notice Voids the upload for the next epoch during its review (guardian or admin): that
    /// epoch can take no more shares and starts with no budget, its funding kept for the next.
    function voidUpload(uint256 epoch) external {
        if (!hasRole(GUARDIAN_ROLE, msg.sender) && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) revert NotGuardian(msg.sender);
        DistributorStorage storage $ = _distributor();
        uint256 current = $.currentEpoch;
        if (epoch != current + 1) revert NotNextEpoch(epoch, current + 1);
        if ($.voidedEpoch == epoch) revert UploadIsVoided(epoch);
        $.voidedEpoch = uint32(epoch);
        emit UploadVoided(epoch, msg.sender);
    }

    /// @notice Ends the running epoch now (admin): what it released so far stays released (rounded
    /// up, so no account ever sees its released amount fall), the rest of each budget returns to
    /// the pool's pending funding for the next epoch.
    function endEpoch() external onlyRole(DEFAULT_ADMIN_ROLE) {
        DistributorStorage storage $ = _distributor();
        uint256 current = $.currentEpoch;
        Epoch storage e = $.epochs[current];
        if (current == 0 || block.timestamp >= e.end) revert EpochNotRunning(current);
        (uint256 elapsed, uint256 duration) = (block.timestamp - e.start, e.end - e.start);
        uint256[POOLS] memory returned;
        for (uint256 p; p < POOLS; ++p) {
            PoolEpoch storage pe = $.poolEpochs[current][p];
            uint256 kept = Math.mulDiv(pe.budget, elapsed, duration, Math.Rounding.Ceil);
            returned[p] = pe.budget - kept;
            pe.budget = uint128(kept);
            $.pending[p] += returned[p];
        }
        $.outstanding = uint96(uint256($.outstanding) - returned[0] - returned[1]);
        e.end = uint64(block.timestamp);
        emit EpochEnded(current, block.timestamp, returned[0], returned[1]);
    }

    /// @notice Sets the epoch duration bounds and the review delay after an upload (admin); a zero
    /// bound means 1 s (min) or MAX_EPOCH_DURATION (max).
    function setEpochBounds(uint256 minDuration, uint256 maxDuration, uint256 reviewDelay_)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        uint256 max = maxDuration == 0 ? MAX_EPOCH_DURATION : maxDuration;
        if (minDuration > max || max > MAX_EPOCH_DURATION || reviewDelay_ > MAX_REVIEW_DELAY) {
            revert InvalidEpochBounds(minDuration, maxDuration, reviewDelay_);
        }
        DistributorStorage storage $ = _distributor();
        ($.minEpochDuration, $.maxEpochDuration, $.reviewDelay) = (uint32(minDuration), uint32(maxDuration), uint32(reviewDelay_));
        emit EpochBoundsSet(minDuration, maxDuration, reviewDelay_);
    }

    /// @notice The epoch duration bounds, the review delay, and when the next epoch can start by it.
    function epochBounds()
        external
        view
        returns (uint256 minDuration, uint256 maxDuration, uint256 reviewDelay, uint256 startableAt, uint256 voidedEpoch)
    {
        DistributorStorage storage $ = _distributor();
        (minDuration, maxDuration) = _durationBounds($);
        return (minDuration, maxDuration, $.reviewDelay, uint256($.lastUploadAt) + $.reviewDelay, $.voidedEpoch);
    }

    // ───────────────────────────── claims ─────────────────────────────

    /// @notice Pays the caller everything released to it so far, in both pools, once the sanctions
    /// oracle (when set) clears it; what it cannot claim now stays claimable.
    /// @dev Accepts ERC-2771 forward requests, so a relayer can pay the gas of a signed claim; the
    /// screened account is the signer.
    /// @return amount The CXPT paid.
    function claim() external returns (uint256 amount) {
        address account = _msgSender();
        DistributorStorage storage $ = _distributor();
        _requireCleared($.sanctionsOracle, account);
        uint256 current = $.currentEpoch;
        for (uint256 p; p < POOLS; ++p) {
            Stake storage stake = $.stakes[account][p];
            _settle(stake, p, current);
            uint256 claimed = _release(stake, p, current);
            if (claimed != 0) {
                amount += claimed;
                emit Claimed(account, Pool(p), claimed);
            }
        }
        if (amount == 0) revert NothingToClaim(account);
        // Never underflows: an account is paid at most its share of the budgets started.
        $.outstanding = uint96(uint256($.outstanding) - amount);
        $.token.safeTransfer(account, amount);
    }

    /// @notice Withdraws `amount` of the protocol share to `to` (the multisig treasurer).
    function withdrawProtocol(address to, uint256 amount) external onlyRole(TREASURER_ROLE) {
        _requireNonZero(to);
        _requireNonZero(amount);
        DistributorStorage storage $ = _distributor();
        uint256 available = $.protocolBalance;
        if (amount > available) revert InsufficientProtocolBalance(amount, available);
        $.protocolBalance = available - amount;
        emit ProtocolWithdrawn(to, amount);
        $.token.safeTransfer(to, amount);
    }

    // ───────────────────────────── admin ─────────────────────────────

    /// @notice Sets the protocol : providers : users split of future fundings (admin).
    function setSplit(uint256 protocolBps_, uint256 providersBps_, uint256 usersBps_)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _setSplit(protocolBps_, providersBps_, usersBps_);
    }

    /// @notice Sets the ERC-2771 forwarder trusted to relay claims (admin); zero disables relaying.
    function setTrustedForwarder(address forwarder_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _distributor().forwarder = forwarder_;
        emit TrustedForwarderSet(forwarder_);
    }

    /// @notice Sets the sanctions oracle screening claimants (admin); address(0) disables screening.
    function setSanctionsOracle(address oracle) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _distributor().sanctionsOracle = ISanctionsList(oracle);
        emit SanctionsOracleSet(oracle);
    }

    // ───────────────────────────── views ─────────────────────────────

    /// @notice The sanctions oracle screening claimants, or address(0) when screening is off.
    function sanctionsOracle() external view returns (address) {
        return address(_distributor().sanctionsOracle);
    }

    /// @notice How the oracle screens `account` now: Clear (it may claim), Sanctioned, or
    /// Unanswered (the oracle fails: reverts, has no code or answers a non-boolean; claims wait for it).
    function screenOf(address account) external view returns (Sanctions.Verdict) {
        return _distributor().sanctionsOracle.screen(account);
    }

    /// @notice The CXPT the distributor owes: the protocol balance, the funding pending for the next
    /// epoch and the started budgets not yet claimed. Only its balance above this can be rescued.
    function owed() public view returns (uint256) {
        DistributorStorage storage $ = _distributor();
        return $.protocolBalance + $.pending[0] + $.pending[1] + $.outstanding;
    }

    /// @notice CXPT `account` can claim now, over both pools.
    function pendingOf(address account) external view returns (uint256 amount) {
        for (uint256 p; p < POOLS; ++p) {
            amount += pendingOf(account, Pool(p));
        }
    }

    /// @notice CXPT `account` can claim now from `pool`.
    function pendingOf(address account, Pool pool) public view returns (uint256) {
        DistributorStorage storage $ = _distributor();
        Stake memory s = $.stakes[account][uint256(pool)];
        uint256 current = $.currentEpoch;
        uint256 p = uint256(pool);
        int256 released = int256(_released(p, s.curEpoch, s.curShares, current) + _released(p, s.nextEpoch, s.nextShares, current));
        return uint256(s.credit + released);
    }

    /// @notice The full amount `account` earns from `pool` in `epoch`, while its entry for that
    /// epoch is unfolded (0 once a later claim or upload folded it into its balance; the
    /// `SharesUpdated` and `Claimed` events keep the history).
    function entitlementOf(address account, Pool pool, uint256 epoch) external view returns (uint256) {
        Stake memory s = _distributor().stakes[account][uint256(pool)];
        uint256 shares = s.curEpoch == epoch ? s.curShares : s.nextEpoch == epoch ? s.nextShares : 0;
        return _entitlement(uint256(pool), epoch, shares);
    }

    /// @notice The points of `account` in `pool` for `epoch`, while the account still holds that entry.
    function sharesOf(address account, Pool pool, uint256 epoch) external view returns (uint256) {
        Stake memory s = _distributor().stakes[account][uint256(pool)];
        if (s.curEpoch == epoch) return s.curShares;
        if (s.nextEpoch == epoch) return s.nextShares;
        return 0;
    }

    /// @notice Total points and budget of `pool` in `epoch`.
    function poolEpoch(uint256 epoch, Pool pool) external view returns (uint256 totalShares, uint256 budget) {
        PoolEpoch memory pe = _distributor().poolEpochs[epoch][uint256(pool)];
        return (pe.totalShares, pe.budget);
    }

    /// @notice Start and end of `epoch` (zeroes until it starts).
    function epochTimes(uint256 epoch) external view returns (uint256 start, uint256 end) {
        Epoch memory e = _distributor().epochs[epoch];
        return (e.start, e.end);
    }

    /// @notice The most recently started epoch (0 before the first).
    function currentEpoch() external view returns (uint256) {
        return _distributor().currentEpoch;
    }

    /// @notice Funding of `pool` waiting for the next epoch.
    function pendingFunding(Pool pool) external view returns (uint256) {
        return _distributor().pending[uint256(pool)];
    }

    /// @notice The protocol share not yet withdrawn.
    function protocolBalance() external view returns (uint256) {
        return _distributor().protocolBalance;
    }

    /// @notice The current split, in basis points.
    function split() external view returns (uint256 protocolBps, uint256 providersBps, uint256 usersBps) {
        DistributorStorage storage $ = _distributor();
        return ($.protocolBps, $.providersBps, $.usersBps);
    }

    /// @notice The CXPT token.
    function token() external view returns (address) {
        return address(_distributor().token);
    }

    /// @inheritdoc ERC2771ContextUpgradeable
    function trustedForwarder() public view override returns (address) {
        return _distributor().forwarder;
    }

    // ───────────────────────────── internals ─────────────────────────────

    /// @dev Folds every ended epoch entry of `stake` into `credit`. Epochs before the current
    /// one have all ended, since an epoch starts only after its predecessor ends.
    function _settle(Stake storage stake, uint256 pool, uint256 current) private {
        uint256 curEpoch = stake.curEpoch;
        while (curEpoch != 0 && curEpoch < current) {
            stake.credit += SafeCast.toInt128(int256(_entitlement(pool, curEpoch, stake.curShares)));
            (stake.curEpoch, stake.curShares) = (stake.nextEpoch, stake.nextShares);
            (stake.nextEpoch, stake.nextShares) = (0, 0);
            curEpoch = stake.curEpoch;
        }
    }

    /// @dev Settles `account` in `pool` and stages its points for `epoch`.
    /// @return previous The points it held for `epoch` before.
    function _updateShare(uint256 epoch, Pool pool, uint256 current, address account, uint256 shares)
        private
        returns (uint256 previous)
    {
        _requireNonZero(account);
        if (shares > type(uint96).max) revert SharesTooLarge(shares);
        Stake storage stake = _distributor().stakes[account][uint256(pool)];
        _settle(stake, uint256(pool), current);
        previous = _stage(stake, epoch, uint96(shares));
        emit SharesUpdated(epoch, pool, account, shares);
    }

    /// @dev Puts `shares` for `epoch` (the next epoch) into a settled stake.
    /// @return previous The shares the stake held for `epoch` before.
    function _stage(Stake storage stake, uint256 epoch, uint96 shares) private returns (uint256 previous) {
        if (stake.curEpoch == 0 || stake.curEpoch == epoch) {
            previous = stake.curEpoch == epoch ? stake.curShares : 0;
            (stake.curEpoch, stake.curShares) = (uint32(epoch), shares);
        } else {
            previous = stake.nextEpoch == epoch ? stake.nextShares : 0;
            (stake.nextEpoch, stake.nextShares) = (uint32(epoch), shares);
        }
    }

    /// @dev Marks everything released to a settled stake as claimed and returns it.
    function _release(Stake storage stake, uint256 pool, uint256 current) private returns (uint256 amount) {
        // A pool the account never earned in costs one storage read: its shares' slot is not read.
        uint256 curEpoch = stake.curEpoch;
        uint256 released = curEpoch == 0 ? 0 : _released(pool, curEpoch, stake.curShares, current);
        amount = uint256(stake.credit + int256(released));
        if (amount != 0) stake.credit = -SafeCast.toInt128(int256(released));
    }

    /// @dev What `shares` in `epoch` of `pool` have released so far: linear over the epoch.
    function _released(uint256 pool, uint256 epoch, uint256 shares, uint256 current) private view returns (uint256) {
        if (epoch == 0 || epoch > current || shares == 0) return 0;
        DistributorStorage storage $ = _distributor();
        Epoch memory e = $.epochs[epoch];
        PoolEpoch memory pe = $.poolEpochs[epoch][pool];
        if (block.timestamp >= e.end) return shares * pe.budget / pe.totalShares;
        return Math.mulDiv(shares * pe.budget, block.timestamp - e.start, uint256(pe.totalShares) * (e.end - e.start));
    }

    /// @dev The full amount `shares` earn in an epoch of `pool`.
    function _entitlement(uint256 pool, uint256 epoch, uint256 shares) private view returns (uint256) {
        if (shares == 0) return 0;
        PoolEpoch memory pe = _distributor().poolEpochs[epoch][pool];
        return shares * pe.budget / pe.totalShares;
    }

    /// @dev Refuses a claimant the oracle flags, or cannot screen.
    function _requireCleared(ISanctionsList oracle, address account) private view {
        Sanctions.Verdict verdict = oracle.screen(account);
        if (verdict == Sanctions.Verdict.Sanctioned) revert SanctionedAddress(account);
        if (verdict == Sanctions.Verdict.Unanswered) revert SanctionsOracleUnavailable(address(oracle));
    }

    /// @dev Of CXPT the distributor owes `owed()`; of any other token, nothing.
    function _owed(address token_) internal view override returns (uint256) {
        return token_ == address(_distributor().token) ? owed() : 0;
    }

    function _durationBounds(DistributorStorage storage $) private view returns (uint256 minDuration, uint256 maxDuration) {
        minDuration = $.minEpochDuration == 0 ? 1 : $.minEpochDuration;
        maxDuration = $.maxEpochDuration == 0 ? MAX_EPOCH_DURATION : $.maxEpochDuration;
    }

    function _setSplit(uint256 protocolBps_, uint256 providersBps_, uint256 usersBps_) private {
        if (protocolBps_ + providersBps_ + usersBps_ != BPS) {
            revert InvalidSplit(protocolBps_, providersBps_, usersBps_);
        }
        DistributorStorage storage $ = _distributor();
        ($.protocolBps, $.providersBps, $.usersBps) = (uint16(protocolBps_), uint16(providersBps_), uint16(usersBps_));
        emit SplitSet(protocolBps_, providersBps_, usersBps_);
    }

    /// @dev Roles are checked against the transaction's own sender, never a forwarder-supplied one:
    /// a bad forwarder cannot act as the admin, the treasurer, the funder or the rewards key. Only
    /// `claim` honours ERC-2771 (gasless claims).
    function _checkRole(bytes32 role) internal view override {
        _checkRole(role, msg.sender);
    }

    /// @dev As `_checkRole`: a forwarder cannot renounce a role on someone's behalf.
    function renounceRole(bytes32 role, address callerConfirmation) public override {
        if (callerConfirmation != msg.sender) revert AccessControlBadConfirmation();
        _revokeRole(role, callerConfirmation);
    }

    function _msgSender() internal view override(ContextUpgradeable, ERC2771ContextUpgradeable) returns (address) {
        return ERC2771ContextUpgradeable._msgSender();
    }

    function _msgData() internal view override(ContextUpgradeable, ERC2771ContextUpgradeable) returns (bytes calldata) {
        return ERC2771ContextUpgradeable._msgData();
    }

    function _contextSuffixLength() internal view override(ContextUpgradeable, ERC2771ContextUpgradeable) returns (uint256) {
        return ERC2771ContextUpgradeable._contextSuffixLength();
    }
}
