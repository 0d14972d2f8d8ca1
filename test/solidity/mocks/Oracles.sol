// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @notice A sanctions oracle that is down: every query reverts.
contract RevertingOracle {
    function isSanctioned(address) external pure returns (bool) {
        revert("oracle down");
    }
}

/// @notice A broken sanctions oracle: answers a word that is not a boolean.
contract GarbageOracle {
    function isSanctioned(address) external pure returns (uint256) {
        return 2;
    }
}
