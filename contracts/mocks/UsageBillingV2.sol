// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {UsageBilling} from "../billing/UsageBilling.sol";

/// @notice A harmless UsageBilling upgrade for tests: same storage, one new view. It adds no initializer:
/// the proxy keeps the state its V1 initializer set.
/// @custom:oz-upgrades-unsafe-allow missing-initializer
contract UsageBillingV2 is UsageBilling {
    /// @notice The implementation's version.
    function version() external pure returns (string memory) {
        return "2";
    }
}
