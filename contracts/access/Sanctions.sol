// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ISanctionsList} from "../interfaces/ISanctionsList.sol";

/// @title Sanctions
/// @notice The suite's one screening of an account against a (Chainalysis-style) sanctions oracle,
/// tolerant of an oracle that fails: one that reverts, has no code or answers anything but a
/// boolean leaves the screen unanswered, and the caller decides what that means (a settlement
/// chunk leaves the payer short, a claim waits for the oracle).
library Sanctions {
    /// @notice What a screen found.
    enum Verdict {
        Clear,
        Sanctioned,
        Unanswered
    }

    /// @notice Screens `account` with `oracle`; no oracle (address(0)) clears everyone.
    function screen(ISanctionsList oracle, address account) internal view returns (Verdict) {
        if (address(oracle) == address(0)) return Verdict.Clear;
        bytes4 selector = ISanctionsList.isSanctioned.selector;
        bool ok;
        uint256 size;
        uint256 answer;
        // A plain staticcall into scratch space: a high-level call (even in try/catch) would revert
        // here on an oracle without code or on an answer that does not decode as a bool.
        assembly ("memory-safe") {
            mstore(0x00, selector)
            mstore(0x04, account)
            ok := staticcall(gas(), oracle, 0x00, 0x24, 0x00, 0x20)
            size := returndatasize()
            answer := mload(0x00)
        }
        if (!ok || size != 32 || answer > 1) return Verdict.Unanswered;
        return answer == 1 ? Verdict.Sanctioned : Verdict.Clear;
    }
}
