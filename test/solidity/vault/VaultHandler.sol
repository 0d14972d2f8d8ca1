// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {CXPT} from "../../../contracts/token/CXPT.sol";
import {Vault} from "../../../contracts/vault/Vault.sol";
import {RewardDistributor} from "../../../contracts/rewards/RewardDistributor.sol";
import {SanctionsListMock} from "../../../contracts/mocks/SanctionsListMock.sol";
import {Actors} from "../utils/Actors.sol";

/// @notice Drives the Vault through every payment path, sweeps, burn-rate changes, sanctions,
/// direct burns and stray transfers, keeping ghost totals of what went in and out.
contract VaultHandler is Actors {
    uint256 private constant BPS = 10_000;

    address public constant OPERATOR = address(0x0be2a702);
    address public constant COLLECTOR = address(0xC011EC702);
    address public constant CONSUMER = address(0xC025E3E2);

    CXPT public immutable token;
    Vault public immutable vault;
    RewardDistributor public immutable distributor;
    SanctionsListMock public immutable sanctions;
    address public immutable admin;

    uint256 public ghostPaid;
    uint256 public ghostSwept;
    uint256 public ghostDirectBurned;
    uint256 public ghostDonated;
    uint256 public lastSupply;

    mapping(uint256 depositId => bool) public ghostConsumed;

    constructor(CXPT token_, Vault vault_, RewardDistributor distributor_, address admin_) {
        (token, vault, distributor, admin) = (token_, vault_, distributor_, admin_);
        sanctions = new SanctionsListMock();
        lastSupply = token_.totalSupply();
        address[] memory list = actors();
        for (uint256 i; i < list.length; ++i) {
            vm.prank(list[i]);
            token_.approve(address(vault_), type(uint256).max);
        }
        vm.prank(OPERATOR);
        token_.approve(address(vault_), type(uint256).max);
    }

    /// @dev After each action: the supply never rose, and the Vault burned exactly its rate.
    modifier tracked() {
        uint256 burnedBefore = vault.totalBurned();
        uint256 paidBefore = ghostPaid;
        uint256 bps = vault.burnBps();
        _;
        uint256 supply = token.totalSupply();
        _flag(supply > lastSupply, "total supply rose");
        lastSupply = supply;
        _flag(
            vault.totalBurned() - burnedBefore != (ghostPaid - paidBefore) * bps / BPS,
            "vault burned other than burnBps of the payment"
        );
    }

    // ───────────────────────────── payments ─────────────────────────────

    function deposit(uint256 seed, uint256 amount) external tracked {
        address user = actor(seed);
        uint256 max = _payable(user);
        if (max == 0) return;
        amount = bound(amount, 1, max);
        vm.prank(user);
        vault.deposit(amount, bytes32(seed));
        ghostPaid += amount;
    }

    function depositFor(uint256 seed, uint256 amount) external tracked {
        uint256 max = _payable(OPERATOR);
        if (max == 0) return;
        amount = bound(amount, 1, max);
        address user = actor(seed);
        uint256 expectedId = vault.lastDepositId() + 1;
        vm.prank(OPERATOR);
        uint256 depositId = vault.depositFor(user, amount, bytes32(seed));
        ghostPaid += amount;
        (address depositUser, uint256 depositAmount) = vault.depositOf(depositId);
        _flag(depositId != expectedId, "deposit ids not sequential");
        _flag(depositUser != user || depositAmount != amount, "deposit recorded wrongly");
    }

    function collect(uint256 seed, uint256 amount) external tracked {
        address user = actor(seed);
        uint256 max = _payable(user);
        if (max == 0) return;
        amount = bound(amount, 1, max);
        vm.prank(COLLECTOR);
        vault.collect(user, amount, bytes32(seed));
        ghostPaid += amount;
    }

    /// @dev Amounts up to twice a payer's funds, so some payers fall short and must be skipped.
    function collectBatch(uint256[3] calldata seeds, uint256[3] calldata rawAmounts) external tracked {
        address[] memory payers = new address[](3);
        uint256[] memory amounts = new uint256[](3);
        bool[] memory expected = new bool[](3);
        uint256 expectedTotal;
        // Model the Vault: payers are pulled in order, each from what earlier pulls left.
        uint256[ACTOR_COUNT] memory spent;
        for (uint256 i; i < 3; ++i) {
            uint256 index = seeds[i] % ACTOR_COUNT;
            payers[i] = actor(index);
            amounts[i] = bound(rawAmounts[i], 0, 2 * _payable(payers[i]) + 1);
            if (!sanctions.isSanctioned(payers[i]) && amounts[i] <= _payable(payers[i]) - spent[index]) {
                expected[i] = true;
                spent[index] += amounts[i];
                expectedTotal += amounts[i];
            }
        }
        vm.prank(COLLECTOR);
        (uint256 total, bool[] memory collected) = vault.collectBatch(payers, amounts, bytes32(seeds[0]));
        ghostPaid += total;
        _flag(total != expectedTotal, "collectBatch total differs from the covered payers' sum");
        for (uint256 i; i < 3; ++i) {
            _flag(collected[i] != expected[i], "collectBatch collected an uncovered payer or skipped a covered one");
        }
    }

    function consumeDeposit(uint256 idSeed) external tracked {
        uint256 last = vault.lastDepositId();
        if (last == 0) return;
        uint256 depositId = bound(idSeed, 1, last);
        (address user, uint256 amount) = vault.depositOf(depositId);
        vm.prank(CONSUMER);
        try vault.consumeDeposit(depositId, user) returns (uint256 consumed) {
            _flag(ghostConsumed[depositId], "a deposit paid for two purchases");
            _flag(consumed != amount, "consumeDeposit returned another amount");
            ghostConsumed[depositId] = true;
        } catch {
            _flag(!ghostConsumed[depositId], "a fresh deposit could not be consumed");
        }
    }

    function sweep() external tracked {
        uint256 accrued = vault.accrued();
        try vault.sweep() {
            ghostSwept += accrued;
            _flag(accrued == 0, "sweep of nothing succeeded");
        } catch {
            _flag(accrued != 0, "sweep of accrued funds failed");
        }
    }

    // ───────────────────────────── environment ─────────────────────────────

    function setBurnRate(uint256 bps) external tracked {
        bps = bound(bps, 0, vault.MAX_BURN_BPS());
        vm.prank(admin);
        vault.setBurnRate(bps);
    }

    function setSanctioned(uint256 seed, bool sanctioned) external tracked {
        sanctions.setSanctioned(actor(seed), sanctioned);
    }

    function setAllowance(uint256 seed, uint256 amount) external tracked {
        address user = actor(seed);
        amount = bound(amount, 0, 2 * token.balanceOf(user));
        vm.prank(user);
        token.approve(address(vault), amount);
    }

    /// @dev A holder burns CXPT outside the Vault.
    function burnDirectly(uint256 seed, uint256 amount) external tracked {
        address user = actor(seed);
        amount = bound(amount, 0, token.balanceOf(user));
        vm.prank(user);
        token.burn(amount);
        ghostDirectBurned += amount;
    }

    /// @dev A holder transfers CXPT straight to the Vault, bypassing payments.
    function donate(uint256 seed, uint256 amount) external tracked {
        address user = actor(seed);
        amount = bound(amount, 0, token.balanceOf(user));
        vm.prank(user);
        token.transfer(address(vault), amount);
        ghostDonated += amount;
    }

    /// @dev What `account` can pay now: the lower of its balance and its Vault allowance.
    function _payable(address account) private view returns (uint256) {
        uint256 balance = token.balanceOf(account);
        uint256 allowance = token.allowance(account, address(vault));
        return balance < allowance ? balance : allowance;
    }
}
