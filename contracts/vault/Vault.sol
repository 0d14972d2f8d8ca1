// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";
import {Rescuable} from "../access/Rescuable.sol";
import {Sanctions} from "../access/Sanctions.sol";
import {IBurnableERC20} from "../interfaces/IBurnableERC20.sol";
import {IRewardDistributor} from "../interfaces/IRewardDistributor.sol";
import {ISanctionsList} from "../interfaces/ISanctionsList.sol";
import {IVault} from "../interfaces/IVault.sol";

/// @title Vault
/// @notice Receives every user payment (PAYG settlement, subscriptions, direct deposits). Each
/// payment burns `burnBps` of itself and accrues the rest, which `sweep` forwards to the
/// RewardDistributor. That is the only way payments leave: there is no owner withdrawal. Only
/// tokens sent to the Vault outside a payment (never accrued) can be rescued, by the timelock.
contract Vault is Rescuable, IVault {
    using SafeERC20 for IBurnableERC20;
    using BitMaps for BitMaps.BitMap;
    using Sanctions for ISanctionsList;

    /// @notice May pay on a user's behalf with `depositFor` (the backend after a fiat swap).
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice May pull payments from users' allowances (SubscriptionManager, UsageBilling).
    bytes32 public constant COLLECTOR_ROLE = keccak256("COLLECTOR_ROLE");
    /// @notice May spend an operator deposit on something (SubscriptionManager).
    bytes32 public constant DEPOSIT_CONSUMER_ROLE = keccak256("DEPOSIT_CONSUMER_ROLE");

    /// @notice The hard cap on the burn rate: 10 %.
    uint256 public constant MAX_BURN_BPS = 1_000;
    uint256 private constant BPS = 10_000;

    struct Deposit {
        address user;
        uint96 amount;
    }

    /// @custom:storage-location erc7201:cxpt.storage.Vault
    struct VaultStorage {
        IBurnableERC20 token;
        IRewardDistributor distributor;
        ISanctionsList sanctionsOracle;
        uint16 burnBps;
        uint256 accrued;
        uint256 totalBurned;
        uint256 lastDepositId;
        mapping(uint256 depositId => Deposit) deposits;
        BitMaps.BitMap consumedDeposits;
    }

    // keccak256(abi.encode(uint256(keccak256("cxpt.storage.Vault")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant VAULT_STORAGE = 0x8ffe223749312e0b55b64f977190c45d242f001acc1bfe6f55be0275cc926000;

    function _vault() private pure returns (VaultStorage storage $) {
        assembly {
            $.slot := VAULT_STORAGE
        }
    }

    /// @notice Initializes the proxy.
    /// @param admin Holder of the admin role (the timelock).
    /// @param token_ The CXPT token.
    /// @param distributor_ The RewardDistributor that receives swept funds.
    /// @param burnBps_ Share of every payment burned, in basis points (≤ MAX_BURN_BPS).
    function initialize(address admin, address token_, address distributor_, uint256 burnBps_) external initializer {
        _requireNonZero(token_);
        _requireNonZero(distributor_);
        __Governed_init(admin);
        VaultStorage storage $ = _vault();
        $.token = IBurnableERC20(token_);
        $.distributor = IRewardDistributor(distributor_);
        emit VaultInitialized(admin, token_);
        emit DistributorSet(distributor_);
        _setBurnRate(burnBps_);
    }

    // ───────────────────────────── payments ─────────────────────────────

    /// @notice Pays `amount` CXPT from the caller's allowance, for the caller.
    /// @param amount Gross payment in wei; `burnBps` of it is burned.
    /// @param ref Opaque reference for the backend (e.g. an invoice id).
    function deposit(uint256 amount, bytes32 ref) external {
        _pay(msg.sender, msg.sender, amount, ref, 0);
    }

    /// @notice Pays `amount` CXPT after approving it with an EIP-2612 permit, in one transaction,
    /// leaving the caller's allowance to the Vault (their PAYG allowance) as it was.
    /// @dev The permit must be signed for the current allowance plus `amount` (saturating at
    /// 2^256-1): it raises the allowance by `amount`, which the payment then spends. A permit
    /// already used by a front-runner is tolerated when the allowance is in place; otherwise the
    /// permit's own error (expired, invalid signer, a value for another allowance) is raised.
    function depositWithPermit(uint256 amount, bytes32 ref, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
    {
        IBurnableERC20 token_ = _vault().token;
        uint256 standing = token_.allowance(msg.sender, address(this));
        uint256 value = standing > type(uint256).max - amount ? type(uint256).max : standing + amount;
        // solhint-disable-next-line no-empty-blocks
        try IERC20Permit(address(token_)).permit(msg.sender, address(this), value, deadline, v, r, s) {}
        catch (bytes memory reason) {
            if (token_.allowance(msg.sender, address(this)) < amount) {
                assembly {
                    revert(add(reason, 32), mload(reason))
                }
            }
        }
        _pay(msg.sender, msg.sender, amount, ref, 0);
    }

    /// @notice An operator pays `amount` CXPT on `user`'s behalf (e.g. after swapping their fiat).
    /// @return depositId The deposit's id, which can pay for one subscription activation.
    function depositFor(address user, uint256 amount, bytes32 ref)
        external
        onlyRole(OPERATOR_ROLE)
        returns (uint256 depositId)
    {
        if (amount > type(uint96).max) revert AmountTooLarge(amount);
        VaultStorage storage $ = _vault();
        depositId = ++$.lastDepositId;
        $.deposits[depositId] = Deposit(user, uint96(amount));
        _pay(user, msg.sender, amount, ref, depositId);
    }

    /// @notice Pulls a payment of `amount` from `from`'s allowance to the Vault (collector role).
    function collect(address from, uint256 amount, bytes32 ref) external onlyRole(COLLECTOR_ROLE) {
        _pay(from, from, amount, ref, 0);
    }

    /// @notice Pulls a chunk of payments; a payer whose allowance or balance falls short, or who is
    /// sanctioned, is skipped instead of reverting the chunk.
    /// @return collectedTotal The sum actually collected.
    /// @return collected For each payer, whether its amount was collected.
    function collectBatch(address[] calldata from, uint256[] calldata amounts, bytes32 ref)
        external
        onlyRole(COLLECTOR_ROLE)
        returns (uint256 collectedTotal, bool[] memory collected)
    {
        if (from.length != amounts.length) revert LengthMismatch(from.length, amounts.length);
        VaultStorage storage $ = _vault();
        IBurnableERC20 token_ = $.token;
        ISanctionsList oracle = $.sanctionsOracle;
        bool screening = address(oracle) != address(0);
        collected = new bool[](from.length);
        uint256 payers;
        for (uint256 i; i < from.length; ++i) {
            // An oracle that fails (reverts, answers garbage) clears no one: the payer is left short
            // for a later retry instead of halting the chunk.
            if (screening && oracle.screen(from[i]) != Sanctions.Verdict.Clear) continue;
            // The chunk is the unit of work: a failed transfer marks this payer short and moves on.
            if (token_.trySafeTransferFrom(from[i], address(this), amounts[i])) {
                collected[i] = true;
                collectedTotal += amounts[i];
                ++payers;
            }
        }
        uint256 burned = _accrue(collectedTotal);
        emit BatchCollected(ref, payers, collectedTotal, burned);
        if (burned != 0) token_.burn(burned);
    }

    /// @notice Spends operator deposit `depositId`, made for `user`, on one purchase.
    /// @return amount The deposit's gross amount.
    function consumeDeposit(uint256 depositId, address user)
        external
        onlyRole(DEPOSIT_CONSUMER_ROLE)
        returns (uint256 amount)
    {
        VaultStorage storage $ = _vault();
        Deposit memory d = $.deposits[depositId];
        if (d.user == address(0)) revert UnknownDeposit(depositId);
        if (d.user != user) revert DepositUserMismatch(depositId, d.user, user);
        if ($.consumedDeposits.get(depositId)) revert DepositAlreadyConsumed(depositId);
        $.consumedDeposits.set(depositId);
        emit DepositConsumed(depositId, user, msg.sender, d.amount);
        return d.amount;
    }

    /// @notice Forwards everything accrued since the last sweep to the RewardDistributor.
    /// @dev Permissionless: funds can only go to the configured distributor.
    function sweep() external {
        VaultStorage storage $ = _vault();
        uint256 amount = $.accrued;
        if (amount == 0) revert NothingToSweep();
        $.accrued = 0;
        IRewardDistributor distributor_ = $.distributor;
        emit Swept(address(distributor_), amount);
        $.token.safeTransfer(address(distributor_), amount);
        distributor_.notifyFunding(amount);
    }

    // ───────────────────────────── admin ─────────────────────────────

    /// @notice Sets the share of each payment that is burned (admin).
    function setBurnRate(uint256 burnBps_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setBurnRate(burnBps_);
    }

    /// @notice Sets the sanctions oracle screening payers (admin); address(0) disables screening.
    function setSanctionsOracle(address oracle) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _vault().sanctionsOracle = ISanctionsList(oracle);
        emit SanctionsOracleSet(oracle);
    }

    // ───────────────────────────── views ─────────────────────────────

    /// @notice The CXPT token.
    function token() external view returns (address) {
        return address(_vault().token);
    }

    /// @notice The RewardDistributor that receives swept funds.
    function distributor() external view returns (address) {
        return address(_vault().distributor);
    }

    /// @notice The sanctions oracle, or address(0) when screening is off.
    function sanctionsOracle() external view returns (address) {
        return address(_vault().sanctionsOracle);
    }

    /// @notice The burn rate in basis points.
    function burnBps() external view returns (uint256) {
        return _vault().burnBps;
    }

    /// @notice CXPT received and not yet swept (what the Vault holds from payments).
    function accrued() external view returns (uint256) {
        return _vault().accrued;
    }

    /// @notice CXPT burned by the Vault since deployment.
    function totalBurned() external view returns (uint256) {
        return _vault().totalBurned;
    }

    /// @notice The id of the newest operator deposit (0 when none).
    function lastDepositId() external view returns (uint256) {
        return _vault().lastDepositId;
    }

    /// @notice The user and gross amount of operator deposit `depositId` (zeroes when unknown).
    function depositOf(uint256 depositId) external view returns (address user, uint256 amount) {
        Deposit memory d = _vault().deposits[depositId];
        return (d.user, d.amount);
    }

    /// @notice Whether operator deposit `depositId` has already paid for something.
    function isDepositConsumed(uint256 depositId) external view returns (bool) {
        return _vault().consumedDeposits.get(depositId);
    }

    /// @notice Whether the configured oracle flags `account` (false when screening is off).
    function isSanctioned(address account) public view returns (bool) {
        ISanctionsList oracle = _vault().sanctionsOracle;
        return address(oracle) != address(0) && oracle.isSanctioned(account);
    }

    // ───────────────────────────── internals ─────────────────────────────

    function _pay(address user, address payer, uint256 amount, bytes32 ref, uint256 depositId) private {
        _requireNonZero(user);
        _requireNonZero(amount);
        _screen(user);
        if (payer != user) _screen(payer);
        uint256 burned = _accrue(amount);
        emit Paid(user, payer, amount, burned, ref, depositId);
        IBurnableERC20 token_ = _vault().token;
        token_.safeTransferFrom(payer, address(this), amount);
        if (burned != 0) token_.burn(burned);
    }

    /// @dev Books a received `amount`: the burn share to the burned total, the rest to accrued.
    function _accrue(uint256 amount) private returns (uint256 burned) {
        VaultStorage storage $ = _vault();
        burned = amount * $.burnBps / BPS;
        $.accrued += amount - burned;
        $.totalBurned += burned;
    }

    /// @dev Of CXPT the Vault owes what it accrued from payments (for the sweep); rescue takes the rest.
    function _owed(address token_) internal view override returns (uint256) {
        VaultStorage storage $ = _vault();
        return token_ == address($.token) ? $.accrued : 0;
    }

    function _screen(address account) private view {
        if (isSanctioned(account)) revert SanctionedAddress(account);
    }

    function _setBurnRate(uint256 burnBps_) private {
        if (burnBps_ > MAX_BURN_BPS) revert BurnRateTooHigh(burnBps_, MAX_BURN_BPS);
        _vault().burnBps = uint16(burnBps_);
        emit BurnRateSet(burnBps_);
    }
}
