// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {CXPT} from "../../../contracts/token/CXPT.sol";
import {CXPTInflatingUpgrade, CXPTDeflatingUpgrade} from "../mocks/CXPTUpgrades.sol";
import {Assertions} from "../utils/Assertions.sol";
import {InvariantTest} from "../utils/InvariantTest.sol";
import {Deploy, Defaults} from "../utils/Deploy.sol";
import {Permits} from "../utils/Permits.sol";
import {CXPTHandler} from "./CXPTHandler.sol";

/// @notice Fuzz tests of CXPT: supply only falls, by exactly what is burned.
contract CXPTTest is Assertions {
    uint256 private constant SECP256K1_ORDER =
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    CXPT internal token;
    address internal holder = address(0xB0B);

    function setUp() public {
        token = Deploy.cxpt(address(this), address(this));
        token.transfer(holder, 1_000 ether);
    }

    function testFuzz_GenesisMintsFixedSupplyToDistribution(address distribution) public {
        vm.assume(distribution != address(0));
        CXPT fresh = Deploy.cxpt(address(this), distribution);
        assertEq(fresh.totalSupply(), Defaults.GENESIS_SUPPLY, "genesis supply");
        assertEq(fresh.balanceOf(distribution), Defaults.GENESIS_SUPPLY, "distribution balance");
    }

    function testFuzz_TransferKeepsSupply(address to, uint256 amount) public {
        vm.assume(to != address(0) && to != holder);
        amount = bound(amount, 0, token.balanceOf(holder));
        uint256 before = token.balanceOf(to);
        vm.prank(holder);
        token.transfer(to, amount);
        assertEq(token.balanceOf(to), before + amount, "receiver balance");
        assertEq(token.totalSupply(), Defaults.GENESIS_SUPPLY, "supply after transfer");
    }

    function testFuzz_BurnLowersSupplyByAmount(uint256 amount) public {
        amount = bound(amount, 0, Defaults.GENESIS_SUPPLY - 1_000 ether);
        token.burn(amount);
        assertEq(token.totalSupply(), Defaults.GENESIS_SUPPLY - amount, "supply after burn");
    }

    function testFuzz_BurnBeyondBalanceReverts(uint256 excess) public {
        uint256 balance = token.balanceOf(holder);
        excess = bound(excess, 1, type(uint256).max - balance);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, holder, balance, balance + excess)
        );
        vm.prank(holder);
        token.burn(balance + excess);
    }

    function testFuzz_BurnFromSpendsAllowance(uint256 allowance, uint256 amount) public {
        allowance = bound(allowance, 0, token.balanceOf(holder));
        amount = bound(amount, 0, allowance);
        vm.prank(holder);
        token.approve(address(this), allowance);
        token.burnFrom(holder, amount);
        assertEq(token.allowance(holder, address(this)), allowance - amount, "allowance left");
        assertEq(token.totalSupply(), Defaults.GENESIS_SUPPLY - amount, "supply after burnFrom");
    }

    function testFuzz_BurnFromBeyondAllowanceReverts(uint256 allowance, uint256 excess) public {
        allowance = bound(allowance, 0, token.balanceOf(holder) - 1);
        excess = bound(excess, 1, token.balanceOf(holder) - allowance);
        vm.prank(holder);
        token.approve(address(this), allowance);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(this), allowance, allowance + excess
            )
        );
        token.burnFrom(holder, allowance + excess);
    }

    function testFuzz_PermitSetsAllowance(uint256 ownerKey, address spender, uint256 value, uint256 deadline) public {
        ownerKey = bound(ownerKey, 1, SECP256K1_ORDER - 1);
        vm.assume(spender != address(0));
        deadline = bound(deadline, block.timestamp, type(uint256).max);
        address owner = vm.addr(ownerKey);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ownerKey, Permits.digest(token, owner, spender, value, deadline));
        token.permit(owner, spender, value, deadline, v, r, s);
        assertEq(token.allowance(owner, spender), value, "permit allowance");
        assertEq(token.nonces(owner), 1, "permit nonce");
    }

    /// @notice An upgrade that re-mints burned supply (staying under the cap) is refused by the upgrade guard.
    function testFuzz_UpgradeRaisingSupplyReverts(address to, uint256 amount) public {
        vm.assume(to != address(0));
        amount = bound(amount, 1, token.balanceOf(address(this)));
        token.burn(amount);
        uint256 supply = Defaults.GENESIS_SUPPLY - amount;
        address v2 = address(new CXPTInflatingUpgrade());
        vm.expectRevert(abi.encodeWithSelector(CXPT.SupplyIncreased.selector, supply, supply + amount));
        token.upgradeToAndCall(v2, abi.encodeCall(CXPTInflatingUpgrade.inflate, (to, amount)));
        assertEq(token.totalSupply(), supply, "supply after refused upgrade");
    }

    /// @notice The supply cap holds in the token's update path: neither the upgrade call nor a later
    /// call of the new version's minting function can take the supply past genesis.
    function testFuzz_NoMintPastGenesis(address to, uint256 burned, uint256 amount) public {
        vm.assume(to != address(0));
        burned = bound(burned, 0, token.balanceOf(address(this)));
        if (burned != 0) token.burn(burned);
        amount = bound(amount, burned + 1, type(uint128).max);
        address v2 = address(new CXPTInflatingUpgrade());
        uint256 capped = Defaults.GENESIS_SUPPLY - burned + amount;
        vm.expectRevert(abi.encodeWithSelector(CXPT.SupplyCapExceeded.selector, capped, Defaults.GENESIS_SUPPLY));
        token.upgradeToAndCall(v2, abi.encodeCall(CXPTInflatingUpgrade.inflate, (to, amount)));
        // Upgraded without the call, the minting function run later is refused all the same.
        token.upgradeToAndCall(v2, "");
        vm.expectRevert(abi.encodeWithSelector(CXPT.SupplyCapExceeded.selector, capped, Defaults.GENESIS_SUPPLY));
        CXPTInflatingUpgrade(address(token)).inflate(to, amount);
        assertEq(token.totalSupply(), Defaults.GENESIS_SUPPLY - burned, "supply unchanged");
    }

    function testFuzz_UpgradeLoweringSupplyIsAllowed(uint256 amount) public {
        amount = bound(amount, 0, token.balanceOf(address(this)));
        address v2 = address(new CXPTDeflatingUpgrade());
        token.upgradeToAndCall(v2, abi.encodeCall(CXPTDeflatingUpgrade.deflate, (address(this), amount)));
        assertEq(token.totalSupply(), Defaults.GENESIS_SUPPLY - amount, "supply after upgrade");
    }

    function testFuzz_UpgradeByNonAdminReverts(address caller) public {
        vm.assume(caller != address(this));
        address v2 = address(new CXPTDeflatingUpgrade());
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, caller, token.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(caller);
        token.upgradeToAndCall(v2, "");
    }
}

/// @notice Invariants of CXPT under random transfers, approvals and burns.
contract CXPTInvariantTest is InvariantTest {
    CXPT internal token;
    CXPTHandler internal handler;

    function setUp() public {
        token = Deploy.cxpt(address(this), address(this));
        handler = new CXPTHandler(token);
        address[] memory holders = handler.actors();
        for (uint256 i; i < holders.length; ++i) {
            token.transfer(holders[i], Defaults.GENESIS_SUPPLY / holders.length);
        }
        bytes4[] memory selectors = new bytes4[](5);
        selectors[0] = CXPTHandler.transfer.selector;
        selectors[1] = CXPTHandler.approve.selector;
        selectors[2] = CXPTHandler.transferFrom.selector;
        selectors[3] = CXPTHandler.burn.selector;
        selectors[4] = CXPTHandler.burnFrom.selector;
        _target(address(handler), selectors);
    }

    /// @notice Property 1: supply never rises and equals genesis minus everything burned.
    function invariant_SupplyIsGenesisMinusBurns() public view {
        _assertNoViolation(handler);
        assertEq(token.totalSupply(), Defaults.GENESIS_SUPPLY - handler.ghostBurned(), "supply == genesis - burned");
    }

    /// @notice The holders' balances always add up to the supply.
    function invariant_BalancesSumToSupply() public view {
        address[] memory holders = handler.actors();
        uint256 sum;
        for (uint256 i; i < holders.length; ++i) {
            sum += token.balanceOf(holders[i]);
        }
        assertEq(sum, token.totalSupply(), "sum of balances == supply");
    }
}
