// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";
import {CXPT} from "../../../contracts/token/CXPT.sol";
import {Vault} from "../../../contracts/vault/Vault.sol";
import {RewardDistributor} from "../../../contracts/rewards/RewardDistributor.sol";
import {SubscriptionManager} from "../../../contracts/subscriptions/SubscriptionManager.sol";
import {UsageBilling} from "../../../contracts/billing/UsageBilling.sol";

/// @notice The published defaults (shared/PRICING.md) the suite is deployed with.
library Defaults {
    uint256 internal constant GENESIS_SUPPLY = 1_000_000_000 ether;
    uint256 internal constant BURN_BPS = 500;
    uint256 internal constant PROTOCOL_BPS = 3_000;
    uint256 internal constant PROVIDERS_BPS = 5_500;
    uint256 internal constant USERS_BPS = 1_500;
    uint256 internal constant OVERAGE_BPS = 1_000;
    uint256 internal constant ROLLOVER = 90 days;
}

/// @notice Deploys each contract behind an ERC1967 proxy, initialized in the proxy's constructor,
/// as the fixture does. Internal functions: a test embeds only the contracts it deploys.
library Deploy {
    function proxy(address implementation, bytes memory data) internal returns (address) {
        return address(new ERC1967Proxy(implementation, data));
    }

    function cxpt(address admin, address distribution) internal returns (CXPT) {
        return CXPT(proxy(address(new CXPT()), abi.encodeCall(CXPT.initialize, (admin, distribution))));
    }

    function distributor(address admin, address token) internal returns (RewardDistributor) {
        bytes memory init = abi.encodeCall(
            RewardDistributor.initialize,
            (admin, token, address(0), Defaults.PROTOCOL_BPS, Defaults.PROVIDERS_BPS, Defaults.USERS_BPS)
        );
        return RewardDistributor(proxy(address(new RewardDistributor()), init));
    }

    function vault(address admin, address token, address distributor_) internal returns (Vault) {
        bytes memory init = abi.encodeCall(Vault.initialize, (admin, token, distributor_, Defaults.BURN_BPS));
        return Vault(proxy(address(new Vault()), init));
    }

    function subscriptions(address admin, address vault_) internal returns (SubscriptionManager) {
        bytes memory init =
            abi.encodeCall(SubscriptionManager.initialize, (admin, vault_, Defaults.OVERAGE_BPS, Defaults.ROLLOVER));
        return SubscriptionManager(proxy(address(new SubscriptionManager()), init));
    }

    function billing(address admin, address vault_) internal returns (UsageBilling) {
        return UsageBilling(proxy(address(new UsageBilling()), abi.encodeCall(UsageBilling.initialize, (admin, vault_))));
    }
}
