// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {AccessControlUpgradeable} from "@openzeppelin/contracts-upgradeable/access/AccessControlUpgradeable.sol";

/// @title Governed
/// @notice Shared base of the suite's upgradeable contracts: a UUPS proxy implementation whose
/// upgrades and admin settings are reserved to `DEFAULT_ADMIN_ROLE`, which the deployment
/// hands to the CxpProxyAdmin timelock.
abstract contract Governed is Initializable, AccessControlUpgradeable, UUPSUpgradeable {
    /// @notice An address argument that must be set was zero.
    error ZeroAddress();
    /// @notice An amount argument that must be positive was zero.
    error ZeroAmount();

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    // solhint-disable-next-line func-name-mixedcase
    function __Governed_init(address admin) internal onlyInitializing {
        _requireNonZero(admin);
        __AccessControl_init();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @dev Only the admin (the timelock) may move the proxy to a new implementation.
    // solhint-disable-next-line no-empty-blocks
    function _authorizeUpgrade(address) internal virtual override onlyRole(DEFAULT_ADMIN_ROLE) {}

    function _requireNonZero(address account) internal pure {
        if (account == address(0)) revert ZeroAddress();
    }

    function _requireNonZero(uint256 amount) internal pure {
        if (amount == 0) revert ZeroAmount();
    }
}
