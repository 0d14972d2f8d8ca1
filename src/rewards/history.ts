// An account's reward history: its claims, read from the token ledger where every claim is booked,
// as `claim` (the rewards dashboard, or the wallet's own) or `withdrawal` (a provider's earnings),
// newest first.
import type { Account } from "../accounts/store.ts";
import type { AppContext } from "../app/context.ts";
import { listTransactions, type Page, type TokenTransaction } from "../tokens/ledger.ts";
import type { ClaimKind } from "./service.ts";

const KINDS: readonly ClaimKind[] = ["claim", "withdrawal"];

/**
 * The account's claims and withdrawals, newest first, `limit` per page.
 * @throws AppError 400 `INVALID_CURSOR` for a cursor this API did not hand out.
 */
export function claimHistory(ctx: AppContext, account: Account, options: { readonly limit: number; readonly cursor?: string }): Promise<Page<TokenTransaction>> {
  return listTransactions(ctx.db, account.id, { ...options, type: KINDS });
}
