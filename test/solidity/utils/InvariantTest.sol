// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Assertions} from "./Assertions.sol";
import {Actors} from "./Actors.sol";

/// @notice Base of an invariant test: the runner calls only the handler functions registered
/// here (`targetContracts` / `targetSelectors`, the names the Foundry-compatible runner looks up).
/// @dev The runner identifies a handler only from the files it was given: to run one suite alone,
/// pass its handler file too, e.g.
/// `npx hardhat test solidity test/solidity/vault/Vault.t.sol test/solidity/vault/VaultHandler.sol`.
abstract contract InvariantTest is Assertions {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetedContracts;
    FuzzSelector[] private _targetedSelectors;

    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }

    /// @dev Fuzz only `selectors` of `handler`.
    function _target(address handler, bytes4[] memory selectors) internal {
        _targetedContracts.push(handler);
        _targetedSelectors.push(FuzzSelector(handler, selectors));
    }

    /// @dev Fails with the first property the handler saw broken during a call.
    function _assertNoViolation(Actors handler) internal view {
        string memory violation = handler.violation();
        assertTrue(bytes(violation).length == 0, violation);
    }
}
