// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice An ERC-20 whose holders can destroy their own tokens (CXPT).
interface IBurnableERC20 is IERC20 {
    function burn(uint256 value) external;
}
