// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Governed} from "../access/Governed.sol";

/// @notice A Vault "upgrade" that breaks storage: the ERC-7201 namespace of the Vault with its
/// first fields reordered. The OpenZeppelin upgrades validation must reject it for its layout.
/// @custom:oz-upgrades-unsafe-allow missing-initializer
contract VaultV2BadLayout is Governed {
    /// @custom:storage-location erc7201:cxpt.storage.Vault
    struct VaultStorage {
        uint256 accrued;
        address token;
        address distributor;
        address sanctionsOracle;
        uint16 burnBps;
        uint256 totalBurned;
        uint256 lastDepositId;
    }

    // keccak256(abi.encode(uint256(keccak256("cxpt.storage.Vault")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant VAULT_STORAGE = 0x8ffe223749312e0b55b64f977190c45d242f001acc1bfe6f55be0275cc926000;

    /// @notice Reads the (misplaced) accrued field.
    function accrued() external view returns (uint256) {
        VaultStorage storage $;
        assembly {
            $.slot := VAULT_STORAGE
        }
        return $.accrued;
    }
}
