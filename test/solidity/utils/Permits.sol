// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {CXPT} from "../../../contracts/token/CXPT.sol";

/// @notice EIP-2612 permit digests of CXPT, to sign with `vm.sign`.
library Permits {
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    /// @notice The digest `owner` signs to let `spender` spend `value` until `deadline`, at its current nonce.
    function digest(CXPT token, address owner, address spender, uint256 value, uint256 deadline)
        internal
        view
        returns (bytes32)
    {
        bytes32 structHash =
            keccak256(abi.encode(PERMIT_TYPEHASH, owner, spender, value, token.nonces(owner), deadline));
        return keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
    }
}
