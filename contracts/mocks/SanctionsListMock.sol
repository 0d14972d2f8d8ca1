// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ISanctionsList} from "../interfaces/ISanctionsList.sol";

/// @notice A sanctions oracle for local chains and tests: its owner flags addresses, as
/// Chainalysis does on mainnets.
contract SanctionsListMock is ISanctionsList {
    address public immutable owner;
    mapping(address account => bool) private _sanctioned;

    event SanctionSet(address indexed account, bool sanctioned);

    error NotOwner();

    constructor() {
        owner = msg.sender;
    }

    /// @notice Flags or clears `account`.
    function setSanctioned(address account, bool sanctioned) external {
        if (msg.sender != owner) revert NotOwner();
        _sanctioned[account] = sanctioned;
        emit SanctionSet(account, sanctioned);
    }

    /// @inheritdoc ISanctionsList
    function isSanctioned(address addr) external view returns (bool) {
        return _sanctioned[addr];
    }
}
