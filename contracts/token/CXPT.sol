// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ERC20Upgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/ERC20Upgradeable.sol";
import {ERC20BurnableUpgradeable} from
    "@openzeppelin/contracts-upgradeable/token/ERC20/extensions/ERC20BurnableUpgradeable.sol";
import {ERC20PermitUpgradeable} from
    "@openzeppelin/contracts-upgradeable/token/ERC20/extensions/ERC20PermitUpgradeable.sol";
import {Governed} from "../access/Governed.sol";

/// @title CXPT, the Cxmpute token
/// @notice Fixed-supply ERC-20 with burn and EIP-2612 permit. The whole supply is minted once,
/// at initialization; there is no mint path afterwards, and an upgrade whose initializer
/// raises the supply is reverted, so total supply only ever decreases. Whatever an upgrade adds
/// later, the token's own update path refuses any mint that would take the supply past genesis.
contract CXPT is Governed, ERC20Upgradeable, ERC20BurnableUpgradeable, ERC20PermitUpgradeable {
    /// @notice The genesis supply: 1,000,000,000 CXPT with 18 decimals.
    uint256 public constant GENESIS_SUPPLY = 1_000_000_000 ether;

    /// @notice An upgrade (or its initializer call) would have raised the total supply.
    error SupplyIncreased(uint256 before, uint256 afterUpgrade);
    /// @notice A mint would have taken the total supply past the genesis supply.
    error SupplyCapExceeded(uint256 supply, uint256 cap);

    /// @notice The genesis supply was minted to `distribution`; `admin` holds the upgrade authority.
    event TokenInitialized(address admin, address distribution, uint256 supply);

    /// @notice Initializes the proxy and mints the genesis supply to `distribution`.
    /// @param admin Holder of the upgrade authority (the timelock).
    /// @param distribution Receiver of the whole genesis supply.
    function initialize(address admin, address distribution) external initializer {
        _requireNonZero(distribution);
        __Governed_init(admin);
        __ERC20_init("Cxmpute Token", "CXPT");
        __ERC20Permit_init("Cxmpute Token");
        _mint(distribution, GENESIS_SUPPLY);
        emit TokenInitialized(admin, distribution, GENESIS_SUPPLY);
    }

    /// @notice Upgrades the implementation, then proves the supply did not grow.
    /// @dev Runs in the current implementation, so a new version cannot opt out of the check
    /// for its own upgrade call.
    /// @param newImplementation Address of the new implementation.
    /// @param data Optional call (e.g. a reinitializer) run in the proxy's context after the upgrade.
    function upgradeToAndCall(address newImplementation, bytes memory data) public payable override {
        uint256 supplyBefore = totalSupply();
        super.upgradeToAndCall(newImplementation, data);
        uint256 supplyAfter = totalSupply();
        if (supplyAfter > supplyBefore) revert SupplyIncreased(supplyBefore, supplyAfter);
    }

    /// @dev Every mint, from any code path of any version built on this one, ends here: the supply
    /// never exceeds the genesis supply.
    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from == address(0)) {
            uint256 supply = totalSupply();
            if (supply > GENESIS_SUPPLY) revert SupplyCapExceeded(supply, GENESIS_SUPPLY);
        }
    }
}
