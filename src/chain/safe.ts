// Executes a transaction from a Safe multisig with viem: each owner signs the EIP-712 SafeTx,
// signatures are concatenated in ascending owner order, and one account submits execTransaction
// through the backend's sender (./send.ts), in its key's queue.
import { concat, hashTypedData, zeroAddress, type Address, type Hash, type Hex, type PublicClient } from "viem";
import { safeAbi } from "./abis.ts";
import { send, succeeded, type Signer } from "./send.ts";

/** A key: an owner that signs, or the account that submits. */
export type { Signer };

/** A call the Safe makes: `operation` 0 is CALL (the default), 1 is DELEGATECALL. */
export interface SafeTransaction {
  readonly to: Address;
  readonly data: Hex;
  readonly value?: bigint;
  readonly operation?: 0 | 1;
}

/** The Safe's EIP-712 SafeTx type (Safe ≥ 1.3; its domain is { chainId, verifyingContract: safe }). */
export const SAFE_TX_TYPES = {
  SafeTx: [
    { name: "to", type: "address" },
    { name: "value", type: "uint256" },
    { name: "data", type: "bytes" },
    { name: "operation", type: "uint8" },
    { name: "safeTxGas", type: "uint256" },
    { name: "baseGas", type: "uint256" },
    { name: "gasPrice", type: "uint256" },
    { name: "gasToken", type: "address" },
    { name: "refundReceiver", type: "address" },
    { name: "nonce", type: "uint256" },
  ],
} as const;

/** The SafeTx message for `tx` at `nonce`, with no gas refund (the submitter pays its own gas). */
export function safeTxMessage(tx: SafeTransaction, nonce: bigint) {
  return {
    to: tx.to,
    value: tx.value ?? 0n,
    data: tx.data,
    operation: tx.operation ?? 0,
    safeTxGas: 0n,
    baseGas: 0n,
    gasPrice: 0n,
    gasToken: zeroAddress,
    refundReceiver: zeroAddress,
    nonce,
  };
}

/** One owner's EIP-712 signature of `tx` for `safe` at `nonce` (65 bytes, v = 27 or 28). */
export async function signSafeTransaction(
  signer: Signer,
  safe: Address,
  chainId: number,
  tx: SafeTransaction,
  nonce: bigint,
): Promise<Hex> {
  return signer.signTypedData({ account: signer.account, ...safeTypedData(safe, chainId, tx, nonce) });
}

/** The EIP-712 typed data an owner signs to confirm `tx` for `safe` at `nonce`. */
export function safeTypedData(safe: Address, chainId: number, tx: SafeTransaction, nonce: bigint) {
  return {
    domain: { chainId, verifyingContract: safe },
    types: SAFE_TX_TYPES,
    primaryType: "SafeTx" as const,
    message: safeTxMessage(tx, nonce),
  };
}

/** The SafeTx hash owners sign (what the Safe's getTransactionHash returns). */
export function safeTxHash(safe: Address, chainId: number, tx: SafeTransaction, nonce: bigint): Hash {
  return hashTypedData(safeTypedData(safe, chainId, tx, nonce));
}

export interface ExecSafeTransactionArgs {
  readonly publicClient: PublicClient;
  readonly safe: Address;
  readonly tx: SafeTransaction;
  /** At least `threshold` owners; their order does not matter. */
  readonly owners: readonly Signer[];
  /** The account that submits and pays gas; the first owner by default. */
  readonly executor?: Signer;
}

/**
 * Signs `tx` with `owners` at the Safe's current nonce and submits it. Resolves with the mined
 * transaction's hash; rejects with the inner call's revert data when the call fails (Safe ≥ 1.5
 * bubbles it up when no safeTxGas is set).
 */
export async function execSafeTransaction(args: ExecSafeTransactionArgs): Promise<Hash> {
  const { publicClient, safe, tx, owners } = args;
  const [nonce, chainId] = await Promise.all([
    publicClient.readContract({ address: safe, abi: safeAbi, functionName: "nonce" }),
    publicClient.getChainId(),
  ]);
  const confirmations = await Promise.all(
    owners.map(async (owner) => ({ owner: owner.account.address, signature: await signSafeTransaction(owner, safe, chainId, tx, nonce) })),
  );
  return submitSafeTransaction({ publicClient, safe, tx, nonce, confirmations, executor: args.executor ?? owners[0]! });
}

/** One owner's signature of a SafeTx. */
export interface SafeConfirmation {
  readonly owner: Address;
  readonly signature: Hex;
}

export interface SubmitSafeTransactionArgs {
  readonly publicClient: PublicClient;
  readonly safe: Address;
  readonly tx: SafeTransaction;
  /** The nonce the owners signed: the Safe's current one, or the Safe refuses the signatures. */
  readonly nonce: bigint;
  /** At least `threshold` owners' signatures, in any order. */
  readonly confirmations: readonly SafeConfirmation[];
  /** The account that submits and pays gas. */
  readonly executor: Signer;
}

/** execTransaction's arguments for `tx` at `nonce`: `confirmations` concatenated in ascending owner order (the order the Safe checks). */
export function execTransactionArgs(tx: SafeTransaction, nonce: bigint, confirmations: readonly SafeConfirmation[]) {
  const sorted = [...confirmations].sort((a, b) => (a.owner.toLowerCase() < b.owner.toLowerCase() ? -1 : 1));
  const m = safeTxMessage(tx, nonce);
  return [m.to, m.value, m.data, m.operation, m.safeTxGas, m.baseGas, m.gasPrice, m.gasToken, m.refundReceiver, concat(sorted.map((c) => c.signature))] as const;
}

/**
 * Submits execTransaction with `confirmations` concatenated in ascending owner order (the order
 * the Safe checks). Resolves with the mined transaction's hash.
 * @throws AppError 502 `SAFE_TX_FAILED` when it would revert, is not mined or reverts (its cause
 * holds the sender's error, and under it the node's revert data).
 */
export async function submitSafeTransaction(args: SubmitSafeTransactionArgs): Promise<Hash> {
  const { publicClient, safe, tx, nonce, executor } = args;
  const confirmed = execTransactionArgs(tx, nonce, args.confirmations);
  const exec = { address: safe, abi: safeAbi, functionName: "execTransaction", args: confirmed } as const;
  const sending = send({ client: publicClient, signer: executor }, exec, { purpose: "safe_transaction" });
  return (await succeeded(sending, { code: "SAFE_TX_FAILED", message: `the Safe transaction to ${tx.to} failed` })).hash;
}
