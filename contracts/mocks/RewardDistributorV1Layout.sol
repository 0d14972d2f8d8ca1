// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Governed} from "../access/Governed.sol";

/// @notice RewardDistributor's storage as deployed before the trust bounds (issue 12): the reference
/// the upgrades plugin checks the current RewardDistributor's namespace against. Storage only.
/// @custom:oz-upgrades-unsafe-allow missing-initializer
contract RewardDistributorV1Layout is Governed {
    struct Epoch {
        uint64 start;
        uint64 end;
    }

    struct PoolEpoch {
        uint128 totalShares;
        uint128 budget;
    }

    struct Stake {
        int128 credit;
        uint32 curEpoch;
        uint32 nextEpoch;
        uint96 curShares;
        uint96 nextShares;
    }

    /// @custom:storage-location erc7201:cxpt.storage.RewardDistributor
    struct DistributorStorage {
        IERC20 token;
        uint16 protocolBps;
        uint16 providersBps;
        uint16 usersBps;
        uint32 currentEpoch;
        address forwarder;
        uint256 protocolBalance;
        uint256[2] pending;
        mapping(uint256 epoch => Epoch) epochs;
        mapping(uint256 epoch => PoolEpoch[2]) poolEpochs;
        mapping(address account => Stake[2]) stakes;
    }
}
