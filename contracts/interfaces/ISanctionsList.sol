// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @notice The Chainalysis on-chain sanctions oracle interface.
interface ISanctionsList {
    function isSanctioned(address addr) external view returns (bool);
}
