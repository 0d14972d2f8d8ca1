// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {CXPT} from "../../../contracts/token/CXPT.sol";

/// @notice A CXPT upgrade whose reinitializer mints: the upgrade must be refused.
contract CXPTInflatingUpgrade is CXPT {
    /// @notice Mints `amount` to `to` as part of the upgrade call.
    /// @custom:oz-upgrades-validate-as-initializer
    function inflate(address to, uint256 amount) external reinitializer(2) {
        _mint(to, amount);
    }
}

/// @notice A CXPT upgrade whose reinitializer burns from the caller: supply falls, so it is allowed.
contract CXPTDeflatingUpgrade is CXPT {
    /// @notice Burns `amount` of `from` as part of the upgrade call.
    /// @custom:oz-upgrades-validate-as-initializer
    function deflate(address from, uint256 amount) external reinitializer(2) {
        _burn(from, amount);
    }
}
