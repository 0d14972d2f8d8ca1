// The fragments of the suite's, the timelock's and the Safe's ABIs that deployment, tests and the
// admin tools call. Human-readable so viem infers argument and result types.
import { parseAbi } from "viem";

export const accessControlAbi = parseAbi([
  "function hasRole(bytes32 role, address account) view returns (bool)",
  "function grantRole(bytes32 role, address account)",
  "function revokeRole(bytes32 role, address account)",
  "function renounceRole(bytes32 role, address callerConfirmation)",
  "error AccessControlUnauthorizedAccount(address account, bytes32 neededRole)",
]);

export const uupsAbi = parseAbi(["function upgradeToAndCall(address newImplementation, bytes data) payable"]);

export const vaultAbi = parseAbi([
  "function burnBps() view returns (uint256)",
  "function setBurnRate(uint256 burnBps)",
  "function sanctionsOracle() view returns (address)",
  "function setSanctionsOracle(address oracle)",
]);

export const distributorAbi = parseAbi([
  "function split() view returns (uint256 protocolBps, uint256 providersBps, uint256 usersBps)",
  "function setSplit(uint256 protocolBps, uint256 providersBps, uint256 usersBps)",
  "function trustedForwarder() view returns (address)",
  "function setTrustedForwarder(address forwarder)",
]);

export const subscriptionsAbi = parseAbi([
  "struct Plan { uint128 price; uint32 period; bool active; uint96 bucket; uint32 requestsPerMinute; uint32 concurrency; }",
  "function settings() view returns (address vault, uint256 overageBps, uint256 rolloverPeriod)",
  "function setOverageBps(uint256 overageBps)",
  "function setRolloverPeriod(uint256 rolloverPeriod)",
  "function lastPlanId() view returns (uint256)",
  "function planOf(uint256 planId) view returns (Plan)",
  "function createPlan(Plan plan) returns (uint256 planId)",
  "function updatePlan(uint256 planId, Plan plan)",
]);

export const timelockAbi = parseAbi([
  "function schedule(address target, uint256 value, bytes data, bytes32 predecessor, bytes32 salt, uint256 delay)",
  "function execute(address target, uint256 value, bytes payload, bytes32 predecessor, bytes32 salt) payable",
  "function cancel(bytes32 id)",
  "function getMinDelay() view returns (uint256)",
  "function updateDelay(uint256 newDelay)",
  "function isOperationPending(bytes32 id) view returns (bool)",
  "function isOperationReady(bytes32 id) view returns (bool)",
  "function isOperationDone(bytes32 id) view returns (bool)",
  "function getTimestamp(bytes32 id) view returns (uint256)",
  "error TimelockUnexpectedOperationState(bytes32 operationId, bytes32 expectedStates)",
  "error TimelockInsufficientDelay(uint256 delay, uint256 minDelay)",
]);

export const safeAbi = parseAbi([
  "function setup(address[] owners, uint256 threshold, address to, bytes data, address fallbackHandler, address paymentToken, uint256 payment, address paymentReceiver)",
  "function execTransaction(address to, uint256 value, bytes data, uint8 operation, uint256 safeTxGas, uint256 baseGas, uint256 gasPrice, address gasToken, address refundReceiver, bytes signatures) payable returns (bool success)",
  "function nonce() view returns (uint256)",
  "function getOwners() view returns (address[])",
  "function getThreshold() view returns (uint256)",
]);

export const safeProxyFactoryAbi = parseAbi([
  "function createProxyWithNonce(address singleton, bytes initializer, uint256 saltNonce) returns (address proxy)",
]);
