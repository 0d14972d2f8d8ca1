// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {Vm, VM_ADDRESS} from "./Vm.sol";

/// @notice Cheatcodes, assertions and input bounding shared by tests and handlers. Every failed
/// assertion reverts with a message naming the property and both values.
abstract contract Assertions {
    Vm internal constant vm = Vm(VM_ADDRESS);

    function assertTrue(bool condition, string memory what) internal pure {
        if (!condition) revert(what);
    }

    function assertFalse(bool condition, string memory what) internal pure {
        if (condition) revert(what);
    }

    function assertEq(uint256 actual, uint256 expected, string memory what) internal pure {
        if (actual != expected) revert(_message(what, actual, " != ", expected));
    }

    function assertEq(address actual, address expected, string memory what) internal pure {
        if (actual != expected) {
            revert(string.concat(what, ": ", Strings.toHexString(actual), " != ", Strings.toHexString(expected)));
        }
    }

    function assertEq(bytes32 actual, bytes32 expected, string memory what) internal pure {
        if (actual != expected) {
            revert(
                string.concat(
                    what, ": ", Strings.toHexString(uint256(actual), 32), " != ", Strings.toHexString(uint256(expected), 32)
                )
            );
        }
    }

    function assertEq(bool actual, bool expected, string memory what) internal pure {
        if (actual != expected) revert(string.concat(what, actual ? ": true != false" : ": false != true"));
    }

    function assertLe(uint256 a, uint256 b, string memory what) internal pure {
        if (a > b) revert(_message(what, a, " > ", b));
    }

    function assertLt(uint256 a, uint256 b, string memory what) internal pure {
        if (a >= b) revert(_message(what, a, " >= ", b));
    }

    function assertGe(uint256 a, uint256 b, string memory what) internal pure {
        if (a < b) revert(_message(what, a, " < ", b));
    }

    function assertGt(uint256 a, uint256 b, string memory what) internal pure {
        if (a <= b) revert(_message(what, a, " <= ", b));
    }

    /// @dev Maps `x` into [min, max] (inclusive), keeping small inputs stable like forge-std's bound.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (min > max) revert(_message("bound: min > max", min, " > ", max));
        if (x >= min && x <= max) return x;
        uint256 size = max - min;
        if (size == type(uint256).max) return x;
        return min + x % (size + 1);
    }

    function _message(string memory what, uint256 a, string memory op, uint256 b)
        private
        pure
        returns (string memory)
    {
        return string.concat(what, ": ", Strings.toString(a), op, Strings.toString(b));
    }
}
