// Receipts of users' transactions, seen from the backend: a transaction looked up with the
// confirmations the caller wants (did it really happen, and can it still be reorganised away?),
// and the logs of one contract in it. The backend's own transactions are sent by ./send.ts.
import {
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  isAddressEqual,
  isHash,
  type Address,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
} from "viem";
import { AppError, badRequest, conflict, notFound } from "../errors.ts";

/**
 * The receipt of `txHash` once it is mined, successful and buried under at least `minConfirmations`
 * blocks (its own block counts as one; default 1: mined).
 *
 * @throws AppError 400 `INVALID_TX_HASH`, 404 `TX_NOT_FOUND` (unknown to the node), 409 `TX_PENDING`
 * (in the mempool, or too few confirmations: `details.confirmations` / `details.required`),
 * 422 `TX_REVERTED`.
 */
export async function confirmedReceipt(client: PublicClient, txHash: Hex, minConfirmations = 1): Promise<TransactionReceipt> {
  if (!isHash(txHash)) throw badRequest("INVALID_TX_HASH", `${txHash} is not a transaction hash`);
  const required = Math.max(1, minConfirmations);
  const receipt = await client.getTransactionReceipt({ hash: txHash }).catch((error: unknown) => {
    if (!(error instanceof TransactionReceiptNotFoundError)) throw error;
    return undefined;
  });
  if (receipt === undefined) {
    // No receipt: the node either holds it in its mempool or has never seen it.
    const pending = await client.getTransaction({ hash: txHash }).catch((error: unknown) => {
      if (!(error instanceof TransactionNotFoundError)) throw error;
      return undefined;
    });
    if (pending === undefined) throw notFound("TX_NOT_FOUND", `transaction ${txHash} is unknown to the chain`);
    throw conflict("TX_PENDING", `transaction ${txHash} is not mined yet`, { confirmations: 0, required });
  }
  // A fresh block number (no client cache): confirmations decide whether a payment counts.
  const confirmations = Number((await client.getBlockNumber({ cacheTime: 0 })) - receipt.blockNumber + 1n);
  // Too shallow comes first: a reorganisation could still include the transaction with another outcome.
  if (confirmations < required) {
    throw conflict("TX_PENDING", `transaction ${txHash} has ${confirmations} of ${required} confirmations`, {
      confirmations,
      required,
    });
  }
  if (receipt.status !== "success") throw new AppError("TX_REVERTED", `transaction ${txHash} reverted`, 422);
  return receipt;
}

/** The logs `address` emitted: events of look-alike contracts never count. */
export function emittedBy<T extends { readonly address: Address }>(logs: readonly T[], address: Address): T[] {
  return logs.filter((log) => isAddressEqual(log.address, address));
}
