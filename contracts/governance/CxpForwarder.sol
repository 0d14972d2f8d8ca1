// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ERC2771Forwarder} from "@openzeppelin/contracts/metatx/ERC2771Forwarder.sol";

/// @title CxpForwarder
/// @notice ERC-2771 trusted forwarder through which a relayer submits claims that accounts
/// signed as EIP-712 forward requests (nonce and deadline protect against replay).
contract CxpForwarder is ERC2771Forwarder {
    constructor() ERC2771Forwarder("CxpForwarder") {}
}
