// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {CXPT} from "../token/CXPT.sol";

/// @notice A malicious CXPT upgrade for tests: its reinitializer mints, which the current
/// implementation's `upgradeToAndCall` must refuse with `SupplyIncreased`.
contract CXPTMintingV2 is CXPT {
    /// @notice Mints `amount` to `to` as part of the upgrade call.
    /// @custom:oz-upgrades-validate-as-initializer
    function initializeV2(address to, uint256 amount) external reinitializer(2) {
        _mint(to, amount);
    }
}
