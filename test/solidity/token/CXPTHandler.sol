// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {CXPT} from "../../../contracts/token/CXPT.sol";
import {Actors} from "../utils/Actors.sol";

/// @notice Drives CXPT through transfers, approvals and burns by a fixed set of holders,
/// tracking every burn and whether the supply ever rose.
contract CXPTHandler is Actors {
    CXPT public immutable token;

    uint256 public ghostBurned;
    uint256 public lastSupply;

    constructor(CXPT token_) {
        token = token_;
        lastSupply = token_.totalSupply();
    }

    /// @dev After each action: the supply may only have fallen.
    modifier watchSupply() {
        _;
        uint256 supply = token.totalSupply();
        _flag(supply > lastSupply, "total supply rose");
        lastSupply = supply;
    }

    function transfer(uint256 fromSeed, uint256 toSeed, uint256 amount) external watchSupply {
        address from = actor(fromSeed);
        amount = bound(amount, 0, token.balanceOf(from));
        vm.prank(from);
        token.transfer(actor(toSeed), amount);
    }

    function approve(uint256 ownerSeed, uint256 spenderSeed, uint256 amount) external watchSupply {
        vm.prank(actor(ownerSeed));
        token.approve(actor(spenderSeed), amount);
    }

    function transferFrom(uint256 spenderSeed, uint256 fromSeed, uint256 toSeed, uint256 amount) external watchSupply {
        address from = actor(fromSeed);
        address spender = actor(spenderSeed);
        amount = bound(amount, 0, _min(token.balanceOf(from), token.allowance(from, spender)));
        vm.prank(spender);
        token.transferFrom(from, actor(toSeed), amount);
    }

    function burn(uint256 holderSeed, uint256 amount) external watchSupply {
        address holder = actor(holderSeed);
        amount = bound(amount, 0, token.balanceOf(holder));
        vm.prank(holder);
        token.burn(amount);
        ghostBurned += amount;
    }

    function burnFrom(uint256 spenderSeed, uint256 holderSeed, uint256 amount) external watchSupply {
        address holder = actor(holderSeed);
        address spender = actor(spenderSeed);
        amount = bound(amount, 0, _min(token.balanceOf(holder), token.allowance(holder, spender)));
        vm.prank(spender);
        token.burnFrom(holder, amount);
        ghostBurned += amount;
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}
