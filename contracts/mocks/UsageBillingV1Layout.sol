// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";
import {Governed} from "../access/Governed.sol";
import {IVault} from "../interfaces/IVault.sol";

/// @notice UsageBilling's storage as deployed before the trust bounds (issue 12): the reference the
/// upgrades plugin checks the current UsageBilling's namespace against. Storage only, no logic.
/// @custom:oz-upgrades-unsafe-allow missing-initializer
contract UsageBillingV1Layout is Governed {
    struct Batch {
        bytes32 root;
        uint128 total;
        uint64 count;
        uint64 committedAt;
        uint128 collected;
        uint128 shortfall;
    }

    /// @custom:storage-location erc7201:cxpt.storage.UsageBilling
    struct BillingStorage {
        IVault vault;
        mapping(uint256 batchId => Batch) batches;
        mapping(uint256 batchId => BitMaps.BitMap) collected;
        mapping(uint256 batchId => BitMaps.BitMap) short;
    }
}
