// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @notice The Vault: entry point of every user payment.
interface IVault {
    /// @notice A payment of `amount` was credited to `user`, paid by `payer`; `burned` of it was destroyed.
    /// @param depositId Non-zero for operator deposits (`depositFor`) that can pay one activation.
    event Paid(
        address indexed user, address indexed payer, uint256 amount, uint256 burned, bytes32 indexed ref, uint256 depositId
    );
    /// @notice A settlement chunk collected `amount` in total from `payers` users; `burned` of it was destroyed.
    event BatchCollected(bytes32 indexed ref, uint256 payers, uint256 amount, uint256 burned);
    /// @notice The accrued, unburned part of payments was forwarded to the RewardDistributor.
    event Swept(address indexed distributor, uint256 amount);
    /// @notice Operator deposit `depositId` paid for something and can pay for nothing else.
    event DepositConsumed(uint256 indexed depositId, address indexed user, address indexed consumer, uint256 amount);
    /// @notice The proxy was initialized: `admin` holds the admin role, `token` is the CXPT it takes.
    event VaultInitialized(address admin, address token);
    event BurnRateSet(uint256 burnBps);
    event SanctionsOracleSet(address oracle);
    event DistributorSet(address distributor);

    error SanctionedAddress(address account);
    error BurnRateTooHigh(uint256 burnBps, uint256 maxBps);
    error NothingToSweep();
    error UnknownDeposit(uint256 depositId);
    error DepositAlreadyConsumed(uint256 depositId);
    error DepositUserMismatch(uint256 depositId, address expected, address actual);
    error AmountTooLarge(uint256 amount);
    error LengthMismatch(uint256 a, uint256 b);

    function collect(address from, uint256 amount, bytes32 ref) external;
    function collectBatch(address[] calldata from, uint256[] calldata amounts, bytes32 ref)
        external
        returns (uint256 collectedTotal, bool[] memory collected);
    function consumeDeposit(uint256 depositId, address user) external returns (uint256 amount);
    function depositOf(uint256 depositId) external view returns (address user, uint256 amount);
    function isSanctioned(address account) external view returns (bool);
}
