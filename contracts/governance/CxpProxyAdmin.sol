// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title CxpProxyAdmin
/// @notice The suite's single upgrade and admin authority: a timelock that holds every
/// proxy's admin role. The Safe multisig proposes to it; the delay gives users time to
/// exit before an upgrade or a parameter change takes effect.
contract CxpProxyAdmin is TimelockController {
    /// @param minDelay Seconds between scheduling and executing an operation (0 locally, 48 h on mainnet).
    /// @param proposers Accounts allowed to schedule and cancel (the Safe).
    /// @param executors Accounts allowed to execute ready operations (the Safe; address(0) opens execution).
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors)
        TimelockController(minDelay, proposers, executors, address(0))
    {}
}
