// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Assertions} from "./Assertions.sol";

/// @notice A fixed set of plain accounts a handler acts as, picked by a fuzzed seed.
abstract contract Actors is Assertions {
    uint256 internal constant ACTOR_COUNT = 4;

    /// @dev Records the first broken property; invariant functions report it. A handler cannot
    /// simply revert on a broken property, because invariant runs ignore reverted calls.
    string public violation;

    function actor(uint256 seed) public pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encode("cxpt.test.actor", seed % ACTOR_COUNT)))));
    }

    function actors() public pure returns (address[] memory list) {
        list = new address[](ACTOR_COUNT);
        for (uint256 i; i < ACTOR_COUNT; ++i) {
            list[i] = actor(i);
        }
    }

    function _flag(bool broken, string memory what) internal {
        if (broken && bytes(violation).length == 0) violation = what;
    }
}
