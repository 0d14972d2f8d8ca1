// The token side of an account, as the dashboards see it: crediting a Vault deposit the user
// reports, the account's balances (on chain and off), and its transaction history.
import type { Address, Hex } from "viem";
import { getAccount, type Account } from "../accounts/store.ts";
import { requireChainFeature } from "../app/guards.ts";
import type { BilledIn } from "../billing/index.ts";
import type { AppContext } from "../app/context.ts";
import { conflict } from "../errors.ts";
import { readWalletFunds, type WalletFunds } from "./balances.ts";
import { verifyDeposit } from "./deposits.ts";
import { creditDeposit, listTransactions, unsettledUsage, type Page, type TokenTransaction, type TransactionType } from "./ledger.ts";

/** The account's linked wallet, or 409 `WALLET_NOT_LINKED`. */
export function requireWallet(account: Account): Address {
  if (account.wallet === null) {
    throw conflict("WALLET_NOT_LINKED", "Link a wallet to the account first (POST /api/v1/auth/siwe with your session)");
  }
  return account.wallet;
}

/** A deposit submission's outcome. */
export interface DepositResult {
  /** false: the transaction was credited before (by an earlier or a concurrent submission). */
  readonly credited: boolean;
  readonly transaction: TokenTransaction;
  /** The account's credits after the deposit. */
  readonly creditsWei: bigint;
}

/**
 * Credits the Vault deposit made by `txHash` to `account` once: the transaction must be a direct
 * `deposit` / `depositWithPermit` into the Vault crediting the account's wallet, with
 * `DEPOSIT_CONFIRMATIONS` blocks on top of its own. Submitting it again (or concurrently) credits
 * nothing more and answers the booked transaction with `credited: false`. The full gross amount is
 * credited: the Vault's burn is the protocol's, not a fee on the user's credits.
 *
 * @throws AppError 409 `FEATURE_DISABLED` / `CHAIN_OFF` / `WALLET_NOT_LINKED`, and verifyDeposit's
 * (404 `TX_NOT_FOUND`, 409 `TX_PENDING`, 422 `TX_REVERTED` / `NOT_A_VAULT_DEPOSIT` / `NOT_A_DEPOSIT`,
 * 403 `DEPOSIT_NOT_YOURS`).
 */
export async function submitDeposit(ctx: AppContext, account: Account, txHash: Hex): Promise<DepositResult> {
  const chain = requireChainFeature(ctx, "deposits");
  const wallet = requireWallet(account);
  const deposit = await verifyDeposit(chain.client, {
    vault: chain.addresses.vault,
    txHash,
    expectedUser: wallet,
    minConfirmations: ctx.config.chain.confirmations + 1,
  });
  const { transaction, credited } = await creditDeposit(ctx.db, {
    accountId: account.id,
    amountWei: deposit.amount,
    txHash: deposit.txHash,
    blockNumber: deposit.blockNumber,
    ref: deposit.ref,
    details: { logIndex: deposit.logIndex, payer: deposit.payer, burnedWei: deposit.burned },
  });
  if (credited) ctx.billing.gate.invalidateAccount(account.id); // the gate sees the new credits on the next request
  return { credited, transaction, creditsWei: (await getAccount(ctx.db, account.id)).creditsWei };
}

/** What an account holds and owes. */
export interface TokenBalance {
  readonly wallet: Address | null;
  /** The wallet's CXPT towards the Vault; null without a wallet or with the chain off. */
  readonly onchain: WalletFunds | null;
  readonly creditsWei: bigint;
  readonly legacyCreditsAusd: bigint;
  /** Metered usage not yet paid on chain: drained but unsettled PAYG, plus usage not drained yet. */
  readonly pendingUsageWei: bigint;
  /** How usage is billed now. */
  readonly billedIn: BilledIn;
}

/** The account's balances: off-chain from PostgreSQL and the meter, on chain from the wallet's funds. */
export async function readBalance(ctx: AppContext, account: Account): Promise<TokenBalance> {
  const chain = ctx.chain;
  const billedIn = ctx.billing.billedIn();
  const [onchain, unsettled, undrained] = await Promise.all([
    account.wallet === null || chain === undefined
      ? null
      : readWalletFunds(chain.client, { cxpt: chain.addresses.cxpt, vault: chain.addresses.vault, wallet: account.wallet }),
    unsettledUsage(ctx.db, account.id),
    billedIn === "cxpt" ? ctx.billing.undrainedWei(account.id) : 0n,
  ]);
  return {
    wallet: account.wallet,
    onchain,
    creditsWei: account.creditsWei,
    legacyCreditsAusd: account.legacyCreditsAusd,
    pendingUsageWei: unsettled + undrained,
    billedIn,
  };
}

/** Transactions per history page: the default and the most. */
export const HISTORY_PAGE = { default: 20, max: 100 } as const;

/** The account's transactions, newest first (400 `INVALID_CURSOR` for a cursor this API did not hand out). */
export function transactionHistory(
  ctx: AppContext,
  account: Account,
  options: { readonly limit?: number; readonly cursor?: string; readonly type?: TransactionType },
): Promise<Page<TokenTransaction>> {
  return listTransactions(ctx.db, account.id, { ...options, limit: options.limit ?? HISTORY_PAGE.default });
}
