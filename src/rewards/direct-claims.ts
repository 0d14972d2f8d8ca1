// A claim the account's wallet sent itself (RewardDistributor.claim(), paying its own gas) never
// passes through the backend, so the dashboard reports its hash afterwards and it is booked like a
// relayed claim: once per transaction, added to the account's total earnings, shown in the history.
import { parseEventLogs, type Hex } from "viem";
import type { Account } from "../accounts/store.ts";
import { requireChainFeature } from "../app/guards.ts";
import type { AppContext } from "../app/context.ts";
import { distributorAbi } from "../chain/abis.ts";
import { AppError } from "../errors.ts";
import type { TokenTransaction } from "../tokens/ledger.ts";
import { bookClaim } from "./service.ts";
import { requireWallet } from "../tokens/service.ts";
import { confirmedReceipt, emittedBy } from "../chain/receipts.ts";

export interface BookedClaim {
  /** false: booked before (by an earlier report, or relayed by the backend). */
  readonly booked: boolean;
  readonly transaction: TokenTransaction;
  readonly totalEarningsWei: bigint;
}

/**
 * Books the mined claim `txHash` that paid the account's wallet (its `Claimed` events for the
 * wallet, summed over both pools) as a `claim` transaction, once.
 *
 * @throws AppError 409 `FEATURE_DISABLED` / `CHAIN_OFF` / `WALLET_NOT_LINKED`; confirmedReceipt's
 * (400 `INVALID_TX_HASH`, 404 `TX_NOT_FOUND`, 409 `TX_PENDING`, 422 `TX_REVERTED`); 422
 * `NOT_A_CLAIM` when the transaction paid the wallet no rewards; 409 `TX_ALREADY_BOOKED` when the
 * hash is booked as something else.
 */
export async function bookDirectClaim(ctx: AppContext, account: Account, txHash: Hex): Promise<BookedClaim> {
  const chain = requireChainFeature(ctx, "claims");
  const wallet = requireWallet(account);
  const receipt = await confirmedReceipt(chain.client, txHash);
  const paid = parseEventLogs({ abi: distributorAbi, eventName: "Claimed", logs: emittedBy(receipt.logs, chain.addresses.distributor), args: { account: wallet } }).reduce(
    (sum, log) => sum + log.args.amount,
    0n,
  );
  if (paid === 0n) throw new AppError("NOT_A_CLAIM", `transaction ${txHash} paid ${wallet} no rewards from the RewardDistributor`, 422);
  return bookClaim(ctx.db, account.id, "claim", { txHash: receipt.transactionHash, blockNumber: receipt.blockNumber, account: wallet, claimed: paid }, { direct: true });
}
