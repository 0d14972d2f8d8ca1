// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @notice The part of the RewardDistributor the Vault calls when it sweeps.
interface IRewardDistributor {
    /// @notice Accounts for `amount` CXPT just transferred in, splitting it among the pools.
    function notifyFunding(uint256 amount) external;
}
