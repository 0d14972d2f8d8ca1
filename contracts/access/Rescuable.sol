// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Governed} from "./Governed.sol";

/// @title Rescuable
/// @notice Lets the admin (the timelock) send tokens that reached a contract outside its own
/// accounting (a transfer straight to it) to the treasury. What the contract owes is never
/// rescued: each contract says what it owes of a token. Adds no storage.
abstract contract Rescuable is Governed {
    using SafeERC20 for IERC20;

    /// @notice Tokens held outside the contract's accounting were sent to `to` by the admin.
    event Rescued(address indexed token, address indexed to, uint256 amount);

    /// @notice Sends the contract's `token_` above what it owes to `to` (the treasury), admin (the
    /// timelock) only.
    /// @return amount What was sent.
    function rescue(address token_, address to) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint256 amount) {
        _requireNonZero(to);
        amount = IERC20(token_).balanceOf(address(this)) - _owed(token_);
        _requireNonZero(amount);
        emit Rescued(token_, to, amount);
        IERC20(token_).safeTransfer(to, amount);
    }

    /// @dev What the contract holds of `token_` for others (payments, pools): never rescued.
    function _owed(address token_) internal view virtual returns (uint256);
}
