// The account's token ledger as the API shows it (GET /api/v1/tokens/transactions and
// GET /api/v1/rewards/history): one row per deposit, claim, withdrawal, charge or payment.
import type { Hex } from "viem";

export type TransactionType = "deposit" | "withdrawal" | "claim" | "usage_charge" | "subscription_payment" | "reward";

export interface TokenTransaction {
  readonly id: string;
  readonly type: TransactionType;
  readonly status: "pending" | "confirmed" | "failed";
  readonly amountWei: string;
  readonly txHash: Hex | null;
  readonly blockNumber: string | null;
  readonly ref: string | null;
  readonly details: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
}

export interface TransactionPage {
  readonly transactions: readonly TokenTransaction[];
  readonly nextCursor: string | null;
}

export const TYPE_LABELS: Readonly<Record<TransactionType, string>> = {
  deposit: "Deposit",
  withdrawal: "Withdrawal",
  claim: "Reward claim",
  usage_charge: "Usage charge (PAYG)",
  subscription_payment: "Subscription",
  reward: "Reward",
};

/** The transaction a row points at: its own hash, or (a settled PAYG charge) the collection's. */
export const txHashOf = (t: TokenTransaction): string | null => t.txHash ?? (typeof t.details.txHash === "string" ? t.details.txHash : null);

/** The query key of the token history pages; "tokens" first, so a balance change refreshes them too. */
export const transactionsKey = (filter?: string) => ["tokens", "transactions", filter ?? "all"] as const;

/** The token history page path after `cursor`, optionally of one `type`. */
export function transactionsPath(cursor: string | null, type?: TransactionType, limit = 10): string {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor !== null) query.set("cursor", cursor);
  if (type !== undefined) query.set("type", type);
  return `/api/v1/tokens/transactions?${query}`;
}

/** The reward claims' first page (GET /api/v1/rewards/history). */
export const CLAIMS_PATH = "/api/v1/rewards/history?limit=10";
