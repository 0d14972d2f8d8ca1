// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {CXPT} from "../../../contracts/token/CXPT.sol";
import {RewardDistributor} from "../../../contracts/rewards/RewardDistributor.sol";
import {Actors} from "../utils/Actors.sol";

/// @notice Drives the RewardDistributor through fundings, point uploads, epochs, claims,
/// protocol withdrawals, split changes, stray transfers and their rescue, and time, with a ghost
/// model of every budget and of what each account was paid per pool.
contract RewardDistributorHandler is Actors {
    uint256 private constant BPS = 10_000;
    uint256 private constant POOLS = 2;
    uint256 public constant MAX_SHARES = 1_000_000;

    address public constant FUNDER = address(0xF0DE2);
    address public constant REWARDS_OPERATOR = address(0x2E3A2D5);
    address public constant TREASURER = address(0x72EA5);

    CXPT public immutable token;
    RewardDistributor public immutable distributor;
    address public immutable admin;

    uint256 public ghostFunded;
    uint256 public ghostClaimed;
    uint256 public ghostWithdrawn;
    /// @dev CXPT sent straight to the distributor and not rescued yet.
    uint256 public ghostStray;
    uint256 public ghostProtocol;
    uint256[POOLS] public ghostPending;
    uint256 public ghostProtocolBps = 3_000;
    uint256 public ghostProvidersBps = 5_500;

    /// @dev Points as uploaded, per epoch, pool and account, and their totals.
    mapping(uint256 epoch => mapping(uint256 pool => mapping(address account => uint256))) public ghostShares;
    mapping(uint256 epoch => mapping(uint256 pool => uint256)) public ghostTotalShares;
    mapping(uint256 epoch => mapping(uint256 pool => uint256)) public ghostBudget;
    mapping(uint256 epoch => uint256) public ghostEnd;
    /// @dev What each account was paid from each pool.
    mapping(address account => mapping(uint256 pool => uint256)) public ghostClaimedBy;
    /// @dev Claimed + claimable at the previous check: it may never fall.
    mapping(address account => mapping(uint256 pool => uint256)) private lastEarned;

    constructor(CXPT token_, RewardDistributor distributor_, address admin_) {
        (token, distributor, admin) = (token_, distributor_, admin_);
    }

    /// @dev After each action: an account's claimed + claimable never falls (linear release is monotonic).
    modifier tracked() {
        _;
        address[] memory list = actors();
        for (uint256 i; i < list.length; ++i) {
            for (uint256 p; p < POOLS; ++p) {
                uint256 earned = earnedOf(list[i], p);
                _flag(earned < lastEarned[list[i]][p], "claimed + claimable fell");
                lastEarned[list[i]][p] = earned;
            }
        }
    }

    // ───────────────────────────── actions ─────────────────────────────

    /// @dev The Vault's part: transfer, then notify.
    function fund(uint256 amount) external tracked {
        amount = bound(amount, 1, 10_000_000 ether);
        vm.startPrank(FUNDER);
        token.transfer(address(distributor), amount);
        distributor.notifyFunding(amount);
        vm.stopPrank();
        uint256 protocolShare = amount * ghostProtocolBps / BPS;
        uint256 providersShare = amount * ghostProvidersBps / BPS;
        ghostFunded += amount;
        ghostProtocol += protocolShare;
        ghostPending[0] += providersShare;
        ghostPending[1] += amount - protocolShare - providersShare;
    }

    /// @dev Uploads points of three (possibly repeated) accounts for the next epoch.
    function updateShares(bool usersPool, uint256[3] calldata seeds, uint256[3] calldata points) external tracked {
        uint256 pool = usersPool ? 1 : 0;
        uint256 epoch = distributor.currentEpoch() + 1;
        address[] memory accounts = new address[](3);
        uint256[] memory shares = new uint256[](3);
        for (uint256 i; i < 3; ++i) {
            accounts[i] = actor(seeds[i]);
            shares[i] = bound(points[i], 0, MAX_SHARES);
        }
        vm.prank(REWARDS_OPERATOR);
        distributor.updateShares(epoch, RewardDistributor.Pool(pool), accounts, shares);
        for (uint256 i; i < 3; ++i) {
            ghostTotalShares[epoch][pool] =
                ghostTotalShares[epoch][pool] - ghostShares[epoch][pool][accounts[i]] + shares[i];
            ghostShares[epoch][pool][accounts[i]] = shares[i];
        }
        (uint256 totalShares,) = distributor.poolEpoch(epoch, RewardDistributor.Pool(pool));
        _flag(totalShares != ghostTotalShares[epoch][pool], "pool total shares differ from the uploads");
    }

    /// @dev Starts the next epoch, first waiting for the running one to end.
    function startEpoch(uint256 duration) external tracked {
        uint256 epoch = distributor.currentEpoch() + 1;
        if (ghostTotalShares[epoch][0] == 0 && ghostTotalShares[epoch][1] == 0) return;
        uint256 previousEnd = ghostEnd[epoch - 1];
        if (block.timestamp < previousEnd) vm.warp(previousEnd);
        duration = bound(duration, 1 hours, 30 days);
        vm.prank(REWARDS_OPERATOR);
        distributor.startEpoch(epoch, duration);
        ghostEnd[epoch] = block.timestamp + duration;
        for (uint256 p; p < POOLS; ++p) {
            if (ghostTotalShares[epoch][p] == 0) continue;
            ghostBudget[epoch][p] = ghostPending[p];
            ghostPending[p] = 0;
            (, uint256 budget) = distributor.poolEpoch(epoch, RewardDistributor.Pool(p));
            _flag(budget != ghostBudget[epoch][p], "epoch budget differs from the pending funding");
        }
    }

    function claim(uint256 seed) external tracked {
        address account = actor(seed);
        uint256[POOLS] memory pending;
        for (uint256 p; p < POOLS; ++p) {
            pending[p] = distributor.pendingOf(account, RewardDistributor.Pool(p));
        }
        uint256 balanceBefore = token.balanceOf(account);
        vm.prank(account);
        try distributor.claim() returns (uint256 amount) {
            _flag(amount != pending[0] + pending[1], "claim paid other than pendingOf");
            _flag(token.balanceOf(account) - balanceBefore != amount, "claim transferred other than it returned");
            ghostClaimedBy[account][0] += pending[0];
            ghostClaimedBy[account][1] += pending[1];
            ghostClaimed += amount;
        } catch {
            _flag(pending[0] + pending[1] != 0, "claim of a positive pendingOf failed");
        }
    }

    function withdrawProtocol(uint256 amount) external tracked {
        uint256 available = distributor.protocolBalance();
        if (available == 0) return;
        amount = bound(amount, 1, available);
        vm.prank(TREASURER);
        distributor.withdrawProtocol(TREASURER, amount);
        ghostProtocol -= amount;
        ghostWithdrawn += amount;
    }

    /// @dev Someone sends CXPT straight to the distributor (no funding notice).
    function sendStray(uint256 amount) external tracked {
        amount = bound(amount, 1, 1_000_000 ether);
        vm.prank(FUNDER);
        token.transfer(address(distributor), amount);
        ghostStray += amount;
    }

    /// @dev The admin rescues: exactly the stray CXPT leaves, never what is owed.
    function rescue() external tracked {
        if (ghostStray == 0) return;
        vm.prank(admin);
        uint256 rescued = distributor.rescue(address(token), admin);
        _flag(rescued != ghostStray, "rescue took other than the stray tokens");
        ghostStray = 0;
    }

    function setSplit(uint256 protocolBps, uint256 providersBps) external tracked {
        protocolBps = bound(protocolBps, 0, BPS);
        providersBps = bound(providersBps, 0, BPS - protocolBps);
        vm.prank(admin);
        distributor.setSplit(protocolBps, providersBps, BPS - protocolBps - providersBps);
        (ghostProtocolBps, ghostProvidersBps) = (protocolBps, providersBps);
    }

    function warp(uint256 seconds_) external tracked {
        vm.warp(block.timestamp + bound(seconds_, 1, 20 days));
    }

    // ───────────────────────────── ghost views ─────────────────────────────

    /// @notice What `account` was paid from `pool` plus what it can claim now.
    function earnedOf(address account, uint256 pool) public view returns (uint256) {
        return ghostClaimedBy[account][pool] + distributor.pendingOf(account, RewardDistributor.Pool(pool));
    }

    /// @notice The full amount `account` earns in `epoch` of `pool`, by the uploaded points.
    function entitlement(address account, uint256 pool, uint256 epoch) public view returns (uint256) {
        uint256 total = ghostTotalShares[epoch][pool];
        return total == 0 ? 0 : ghostShares[epoch][pool][account] * ghostBudget[epoch][pool] / total;
    }
}
