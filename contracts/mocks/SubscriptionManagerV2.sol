// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {SubscriptionManager} from "../subscriptions/SubscriptionManager.sol";

/// @notice A harmless SubscriptionManager upgrade for tests: same storage, one new view.
contract SubscriptionManagerV2 is SubscriptionManager {
    /// @notice The implementation's version.
    function version() external pure returns (string memory) {
        return "2";
    }
}
