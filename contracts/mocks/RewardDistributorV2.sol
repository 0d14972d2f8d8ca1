// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {RewardDistributor} from "../rewards/RewardDistributor.sol";

/// @notice A harmless RewardDistributor upgrade for tests: same storage, one new view. It adds no initializer:
/// the proxy keeps the state its V1 initializer set.
/// @custom:oz-upgrades-unsafe-allow missing-initializer
contract RewardDistributorV2 is RewardDistributor {
    /// @notice The implementation's version.
    function version() external pure returns (string memory) {
        return "2";
    }
}
