// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Sanctions} from "../../../contracts/access/Sanctions.sol";
import {ISanctionsList} from "../../../contracts/interfaces/ISanctionsList.sol";
import {SanctionsListMock} from "../../../contracts/mocks/SanctionsListMock.sol";
import {Assertions} from "../utils/Assertions.sol";
import {GarbageOracle, RevertingOracle} from "../mocks/Oracles.sol";

/// @notice The one sanctions screen: the oracle's answer when it gives one, Unanswered whenever it
/// fails (reverts, has no code, answers a non-boolean), Clear without an oracle.
contract SanctionsTest is Assertions {
    using Sanctions for ISanctionsList;

    function testFuzz_ScreenFollowsTheOracle(address account, bool flagged) public {
        SanctionsListMock oracle = new SanctionsListMock();
        oracle.setSanctioned(account, flagged);
        Sanctions.Verdict expected = flagged ? Sanctions.Verdict.Sanctioned : Sanctions.Verdict.Clear;
        assertEq(uint256(ISanctionsList(address(oracle)).screen(account)), uint256(expected), "the oracle's answer");
    }

    function testFuzz_NoOracleClearsEveryone(address account) public view {
        assertEq(uint256(ISanctionsList(address(0)).screen(account)), uint256(Sanctions.Verdict.Clear), "cleared");
    }

    function testFuzz_FailingOracleLeavesItUnanswered(address account, uint256 kind, address noCode) public {
        vm.assume(noCode != address(0) && noCode.code.length == 0 && uint160(noCode) > 0xffff);
        kind = bound(kind, 0, 2);
        address oracle = kind == 0 ? address(new RevertingOracle()) : kind == 1 ? address(new GarbageOracle()) : noCode;
        assertEq(uint256(ISanctionsList(oracle).screen(account)), uint256(Sanctions.Verdict.Unanswered), "unanswered");
    }
}
