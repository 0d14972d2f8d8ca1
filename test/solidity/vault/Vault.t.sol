// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ERC20PermitUpgradeable} from
    "@openzeppelin/contracts-upgradeable/token/ERC20/extensions/ERC20PermitUpgradeable.sol";
import {CXPT} from "../../../contracts/token/CXPT.sol";
import {Vault} from "../../../contracts/vault/Vault.sol";
import {Governed} from "../../../contracts/access/Governed.sol";
import {IVault} from "../../../contracts/interfaces/IVault.sol";
import {RewardDistributor} from "../../../contracts/rewards/RewardDistributor.sol";
import {SanctionsListMock} from "../../../contracts/mocks/SanctionsListMock.sol";
import {Assertions} from "../utils/Assertions.sol";
import {InvariantTest} from "../utils/InvariantTest.sol";
import {Deploy, Defaults} from "../utils/Deploy.sol";
import {Permits} from "../utils/Permits.sol";
import {RevertingOracle} from "../mocks/Oracles.sol";
import {VaultHandler} from "./VaultHandler.sol";

/// @notice The token, distributor and Vault wired as deployed, with the test contract as admin.
abstract contract VaultSetup is Assertions {
    CXPT internal token;
    RewardDistributor internal distributor;
    Vault internal vault;

    function _deployVault() internal {
        token = Deploy.cxpt(address(this), address(this));
        distributor = Deploy.distributor(address(this), address(token));
        vault = Deploy.vault(address(this), address(token), address(distributor));
        distributor.grantRole(distributor.FUNDER_ROLE(), address(vault));
    }
}

/// @notice Fuzz tests of the Vault's payment arithmetic and one-shot deposits.
contract VaultTest is VaultSetup {
    uint256 private constant BPS = 10_000;
    address private user = address(0xA11CE);
    address private operator = address(0x0be2a702);
    address private collector = address(0xC011EC702);
    address private consumer = address(0xC025E3E2);

    function setUp() public {
        _deployVault();
        vault.grantRole(vault.OPERATOR_ROLE(), operator);
        vault.grantRole(vault.COLLECTOR_ROLE(), collector);
        vault.grantRole(vault.DEPOSIT_CONSUMER_ROLE(), consumer);
        token.transfer(user, 1_000_000 ether);
        token.transfer(operator, 1_000_000 ether);
        vm.prank(user);
        token.approve(address(vault), type(uint256).max);
        vm.prank(operator);
        token.approve(address(vault), type(uint256).max);
    }

    /// @notice For any amount and rate up to the cap: burned + accrued == amount, burned at the rate.
    function testFuzz_BurnSplitAddsUpToPayment(uint256 amount, uint256 bps) public {
        amount = bound(amount, 1, token.balanceOf(user));
        bps = bound(bps, 0, vault.MAX_BURN_BPS());
        vault.setBurnRate(bps);
        vm.prank(user);
        vault.deposit(amount, "ref");
        uint256 burned = vault.totalBurned();
        assertEq(burned, amount * bps / BPS, "burned at the rate");
        assertEq(burned + vault.accrued(), amount, "burned + accrued == amount");
        assertEq(token.totalSupply(), Defaults.GENESIS_SUPPLY - burned, "supply fell by the burn");
        assertEq(token.balanceOf(address(vault)), vault.accrued(), "vault holds accrued");
    }

    /// @notice A permit deposit goes through even when someone already submitted its permit.
    function testFuzz_DepositWithPermitToleratesAFrontRunPermit(uint256 amount, bool frontRun) public {
        uint256 key = 0xA11CE;
        address signer = vm.addr(key);
        token.transfer(signer, 1_000 ether);
        amount = bound(amount, 1, 1_000 ether);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(key, amount, deadline);
        if (frontRun) token.permit(signer, address(vault), amount, deadline, v, r, s);
        vm.prank(signer);
        vault.depositWithPermit(amount, "ref", deadline, v, r, s);
        assertEq(vault.totalBurned() + vault.accrued(), amount, "payment booked");
        assertEq(token.balanceOf(signer), 1_000 ether - amount, "signer paid");
    }

    /// @notice A permit deposit leaves the standing (PAYG) allowance as it was: the permit is
    /// signed for allowance + amount and the payment spends the amount.
    function testFuzz_DepositWithPermitKeepsTheAllowance(uint256 amount, uint256 standing, bool unlimited) public {
        uint256 key = 0xA11CE;
        address signer = vm.addr(key);
        token.transfer(signer, 1_000 ether);
        amount = bound(amount, 1, 1_000 ether);
        standing = unlimited ? type(uint256).max : bound(standing, 0, 1_000_000 ether);
        vm.prank(signer);
        token.approve(address(vault), standing);
        uint256 deadline = block.timestamp + 1 hours;
        uint256 value = unlimited ? type(uint256).max : standing + amount;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(key, value, deadline);
        vm.prank(signer);
        vault.depositWithPermit(amount, "ref", deadline, v, r, s);
        assertEq(token.allowance(signer, address(vault)), standing, "allowance after == allowance before");
        assertEq(token.balanceOf(signer), 1_000 ether - amount, "signer paid");
    }

    /// @notice A permit for the amount alone (which would reset a standing allowance) is refused.
    function test_DepositWithPermitForTheAmountAloneReverts() public {
        uint256 key = 0xA11CE;
        address signer = vm.addr(key);
        token.transfer(signer, 1_000 ether);
        vm.prank(signer);
        token.approve(address(vault), 5 ether);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(key, 10 ether, deadline);
        vm.prank(signer);
        vm.expectRevert();
        vault.depositWithPermit(10 ether, "ref", deadline, v, r, s);
        assertEq(token.allowance(signer, address(vault)), 5 ether, "allowance untouched");
    }

    /// @notice An oracle that reverts does not halt a settlement chunk: the payers it cannot clear
    /// are left short (collected later), nobody is charged unscreened.
    function testFuzz_RevertingOracleLeavesPayersShort(uint256 amount) public {
        amount = bound(amount, 1, 1_000 ether);
        vault.setSanctionsOracle(address(new RevertingOracle()));
        address[] memory from = new address[](2);
        uint256[] memory amounts = new uint256[](2);
        (from[0], from[1], amounts[0], amounts[1]) = (user, operator, amount, amount);
        uint256 balance = token.balanceOf(user);
        vm.prank(collector);
        (uint256 total, bool[] memory collected) = vault.collectBatch(from, amounts, "batch");
        assertEq(total, 0, "nothing collected");
        assertFalse(collected[0] || collected[1], "both short");
        assertEq(token.balanceOf(user), balance, "nobody charged");
        vault.setSanctionsOracle(address(0));
        vm.prank(collector);
        (total,) = vault.collectBatch(from, amounts, "batch");
        assertEq(total, 2 * amount, "collected once the oracle is off");
    }

    /// @notice The initializer names the admin and the token in an event.
    function test_InitializerEmitsAnEvent() public {
        vm.expectEmit();
        emit IVault.VaultInitialized(user, address(token));
        Deploy.vault(user, address(token), address(distributor));
    }

    /// @notice Only tokens sent outside payments leave by rescue, and only by the admin (the timelock).
    function testFuzz_RescueTakesOnlyStrayTokens(uint256 paid, uint256 stray, address caller) public {
        vm.assume(caller != address(this));
        paid = bound(paid, 1, 1_000 ether);
        stray = bound(stray, 1, 1_000 ether);
        vm.prank(user);
        vault.deposit(paid, "ref");
        token.transfer(address(vault), stray);
        address treasury = address(0x7EA5);
        bytes32 admin = vault.DEFAULT_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, caller, admin));
        vm.prank(caller);
        vault.rescue(address(token), treasury);
        assertEq(vault.rescue(address(token), treasury), stray, "rescued the stray tokens");
        assertEq(token.balanceOf(treasury), stray, "treasury got them");
        assertEq(token.balanceOf(address(vault)), vault.accrued(), "payments stay for the sweep");
        vm.expectRevert(Governed.ZeroAmount.selector);
        vault.rescue(address(token), treasury);
    }

    function testFuzz_DepositWithExpiredPermitReverts(uint256 amount, uint256 deadline) public {
        vm.warp(1_000_000);
        uint256 key = 0xA11CE;
        address signer = vm.addr(key);
        token.transfer(signer, 1_000 ether);
        amount = bound(amount, 1, 1_000 ether);
        deadline = bound(deadline, 0, block.timestamp - 1);
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(key, amount, deadline);
        vm.prank(signer);
        vm.expectRevert(abi.encodeWithSelector(ERC20PermitUpgradeable.ERC2612ExpiredSignature.selector, deadline));
        vault.depositWithPermit(amount, "ref", deadline, v, r, s);
    }

    function testFuzz_BurnRateAboveCapReverts(uint256 bps) public {
        bps = bound(bps, vault.MAX_BURN_BPS() + 1, type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(IVault.BurnRateTooHigh.selector, bps, vault.MAX_BURN_BPS()));
        vault.setBurnRate(bps);
    }

    function testFuzz_SetBurnRateOnlyAdmin(address caller, uint256 bps) public {
        vm.assume(caller != address(this));
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, caller, vault.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(caller);
        vault.setBurnRate(bps);
    }

    /// @notice A batch collects exactly the payers whose allowance covers their amount.
    function testFuzz_CollectBatchSkipsShortPayers(uint256[3] memory amounts, uint256[3] memory allowances) public {
        address[] memory payers = new address[](3);
        uint256[] memory asked = new uint256[](3);
        bool[] memory covered = new bool[](3);
        uint256 expectedTotal;
        for (uint256 i; i < 3; ++i) {
            payers[i] = address(uint160(0x1000 + i));
            token.transfer(payers[i], 1_000 ether);
            asked[i] = bound(amounts[i], 0, 1_000 ether);
            uint256 allowance = bound(allowances[i], 0, 1_000 ether);
            vm.prank(payers[i]);
            token.approve(address(vault), allowance);
            covered[i] = asked[i] <= allowance;
            if (covered[i]) expectedTotal += asked[i];
        }
        vm.prank(collector);
        (uint256 total, bool[] memory collected) = vault.collectBatch(payers, asked, "batch");
        assertEq(total, expectedTotal, "collected total");
        for (uint256 i; i < 3; ++i) {
            assertEq(collected[i], covered[i], "collected exactly the covered payers");
            assertEq(token.balanceOf(payers[i]), 1_000 ether - (collected[i] ? asked[i] : 0), "payer balance");
        }
        assertEq(vault.totalBurned() + vault.accrued(), total, "burned + accrued == collected");
    }

    function testFuzz_SweepForwardsAccrued(uint256 amount) public {
        amount = bound(amount, 1, token.balanceOf(user));
        vm.prank(user);
        vault.deposit(amount, "ref");
        uint256 accrued = vault.accrued();
        vm.assume(accrued != 0);
        vault.sweep();
        assertEq(vault.accrued(), 0, "accrued after sweep");
        assertEq(token.balanceOf(address(vault)), 0, "vault balance after sweep");
        assertEq(token.balanceOf(address(distributor)), accrued, "distributor received accrued");
        assertEq(
            distributor.protocolBalance() + distributor.pendingFunding(RewardDistributor.Pool.Providers)
                + distributor.pendingFunding(RewardDistributor.Pool.Users),
            accrued,
            "distributor booked all of it"
        );
        vm.expectRevert(IVault.NothingToSweep.selector);
        vault.sweep();
    }

    /// @notice An operator deposit pays for one purchase, for its own user only.
    function testFuzz_DepositForIsConsumedOnce(uint256 amount, address other) public {
        vm.assume(other != user);
        amount = bound(amount, 1, token.balanceOf(operator));
        vm.prank(operator);
        uint256 depositId = vault.depositFor(user, amount, "fiat");
        vm.prank(consumer);
        vm.expectRevert(abi.encodeWithSelector(IVault.DepositUserMismatch.selector, depositId, user, other));
        vault.consumeDeposit(depositId, other);
        vm.prank(consumer);
        assertEq(vault.consumeDeposit(depositId, user), amount, "consumed amount");
        assertTrue(vault.isDepositConsumed(depositId), "deposit marked consumed");
        vm.prank(consumer);
        vm.expectRevert(abi.encodeWithSelector(IVault.DepositAlreadyConsumed.selector, depositId));
        vault.consumeDeposit(depositId, user);
    }

    function testFuzz_DepositForAboveUint96Reverts(uint256 amount) public {
        amount = bound(amount, uint256(type(uint96).max) + 1, type(uint256).max);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(IVault.AmountTooLarge.selector, amount));
        vault.depositFor(user, amount, "fiat");
    }

    function testFuzz_SanctionedPayerIsRejected(uint256 amount) public {
        amount = bound(amount, 1, token.balanceOf(user));
        SanctionsListMock sanctions = new SanctionsListMock();
        sanctions.setSanctioned(user, true);
        vault.setSanctionsOracle(address(sanctions));
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(IVault.SanctionedAddress.selector, user));
        vault.deposit(amount, "ref");
    }

    function testFuzz_CollectRequiresCollectorRole(address caller, uint256 amount) public {
        vm.assume(caller != collector);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, caller, vault.COLLECTOR_ROLE()
            )
        );
        vm.prank(caller);
        vault.collect(user, amount, "ref");
    }

    /// @notice A deposit id never made cannot be consumed, whoever it names.
    function testFuzz_UnknownDepositReverts(uint256 depositId) public {
        vm.prank(consumer);
        vm.expectRevert(abi.encodeWithSelector(IVault.UnknownDeposit.selector, depositId));
        vault.consumeDeposit(depositId, user);
    }

    /// @notice A chunk whose payers and amounts differ in length is refused whole.
    function testFuzz_CollectBatchLengthMismatchReverts(uint8 payers, uint8 amounts) public {
        vm.assume(payers != amounts);
        address[] memory from = new address[](payers);
        uint256[] memory values = new uint256[](amounts);
        vm.prank(collector);
        vm.expectRevert(abi.encodeWithSelector(IVault.LengthMismatch.selector, uint256(payers), uint256(amounts)));
        vault.collectBatch(from, values, "ref");
    }

    /// @notice A proxy initialized without an admin would be ungovernable: it is refused.
    function test_InitializeWithoutAdminReverts() public {
        address implementation = address(new Vault());
        bytes memory init = abi.encodeCall(Vault.initialize, (address(0), address(token), address(distributor), 0));
        vm.expectRevert(Governed.ZeroAddress.selector);
        Deploy.proxy(implementation, init);
    }

    /// @notice The views name the token, the distributor and the oracle the Vault was wired with.
    function test_ViewsNameTheWiring() public {
        assertEq(vault.token(), address(token), "token");
        assertEq(vault.distributor(), address(distributor), "distributor");
        assertEq(vault.sanctionsOracle(), address(0), "no oracle by default");
        SanctionsListMock sanctions = new SanctionsListMock();
        vault.setSanctionsOracle(address(sanctions));
        assertEq(vault.sanctionsOracle(), address(sanctions), "oracle set");
    }

    function _signPermit(uint256 key, uint256 amount, uint256 deadline) private view returns (uint8, bytes32, bytes32) {
        return vm.sign(key, Permits.digest(token, vm.addr(key), address(vault), amount, deadline));
    }
}

/// @notice Invariants of the Vault under random payments, sweeps and configuration changes.
contract VaultInvariantTest is VaultSetup, InvariantTest {
    VaultHandler internal handler;

    function setUp() public {
        _deployVault();
        handler = new VaultHandler(token, vault, distributor, address(this));
        vault.grantRole(vault.OPERATOR_ROLE(), handler.OPERATOR());
        vault.grantRole(vault.COLLECTOR_ROLE(), handler.COLLECTOR());
        vault.grantRole(vault.DEPOSIT_CONSUMER_ROLE(), handler.CONSUMER());
        vault.setSanctionsOracle(address(handler.sanctions()));
        address[] memory users = handler.actors();
        for (uint256 i; i < users.length; ++i) {
            token.transfer(users[i], 1_000_000 ether);
        }
        token.transfer(handler.OPERATOR(), 1_000_000 ether);

        bytes4[] memory selectors = new bytes4[](11);
        selectors[0] = VaultHandler.deposit.selector;
        selectors[1] = VaultHandler.depositFor.selector;
        selectors[2] = VaultHandler.collect.selector;
        selectors[3] = VaultHandler.collectBatch.selector;
        selectors[4] = VaultHandler.consumeDeposit.selector;
        selectors[5] = VaultHandler.sweep.selector;
        selectors[6] = VaultHandler.setBurnRate.selector;
        selectors[7] = VaultHandler.setSanctioned.selector;
        selectors[8] = VaultHandler.setAllowance.selector;
        selectors[9] = VaultHandler.burnDirectly.selector;
        selectors[10] = VaultHandler.donate.selector;
        _target(address(handler), selectors);
    }

    /// @notice Property 1: supply never rises and equals genesis minus the Vault's and direct burns.
    function invariant_SupplyIsGenesisMinusBurns() public view {
        _assertNoViolation(handler);
        assertEq(
            token.totalSupply(),
            Defaults.GENESIS_SUPPLY - vault.totalBurned() - handler.ghostDirectBurned(),
            "supply == genesis - vault burns - direct burns"
        );
    }

    /// @notice Property 2: the Vault holds exactly the accrued, unswept payments (plus stray transfers,
    /// which no function can move).
    function invariant_VaultHoldsAccrued() public view {
        assertEq(
            token.balanceOf(address(vault)), vault.accrued() + handler.ghostDonated(), "vault balance == accrued + stray"
        );
    }

    /// @notice Every payment is burned, accrued or swept to the distributor, which books all of it.
    function invariant_PaymentsAreBurnedAccruedOrSwept() public view {
        assertEq(
            handler.ghostPaid(),
            vault.totalBurned() + vault.accrued() + handler.ghostSwept(),
            "paid == burned + accrued + swept"
        );
        assertEq(token.balanceOf(address(distributor)), handler.ghostSwept(), "distributor holds the sweeps");
        assertEq(
            distributor.protocolBalance() + distributor.pendingFunding(RewardDistributor.Pool.Providers)
                + distributor.pendingFunding(RewardDistributor.Pool.Users),
            handler.ghostSwept(),
            "distributor booked the sweeps"
        );
    }
}
