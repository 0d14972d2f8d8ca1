// Key suspension, as the billing gate reads it: an account whose PAYG leaves settlement could not
// collect (src/settlement/shortfalls.ts suspends and reinstates it) has its API keys refused with a
// 402 saying what it owes and how to pay. Here, not in settlement, so the gate reads it without
// importing settlement (and through it the app).
import { getAddress } from "viem";
import { formatDecimal } from "../billing/pricing.ts";
import type { Queryable } from "../db/db.ts";
import { paymentRequired, type AppError } from "../errors.ts";

/** What settlement could not collect from one account. */
export interface Shortfall {
  readonly accountId: string;
  /** The wallet the leaves charge (lower case). */
  readonly wallet: string;
  readonly owedWei: bigint;
  /** Batches holding the account's short leaves, oldest first. */
  readonly batches: readonly bigint[];
}

export type OwedRow = { account_id: string; wallet: string; owed: string; batches: string };

/** Sum and batches of short leaves per account; the `where` narrows the accounts. */
export const OWED = (where: string) => `
  select l.account_id, min(l.wallet) as wallet, sum(l.amount_wei) as owed,
         string_agg(l.batch_id::text, ',' order by l.batch_id) as batches
    from settlement_leaves l join accounts a on a.id = l.account_id
   where l.status = 'shortfall' and ${where}
   group by l.account_id order by l.account_id`;

export const shortfallOf = (row: OwedRow): Shortfall => ({
  accountId: row.account_id,
  wallet: row.wallet,
  owedWei: BigInt(String(row.owed)),
  batches: row.batches.split(",").map(BigInt),
});

export const owedText = (s: Shortfall): string =>
  `settlement could not collect ${formatDecimal(s.owedWei)} CXPT from wallet ${s.wallet} (batch ${s.batches.join(", ")})`;

/**
 * Why the account's API keys are refused, while they are suspended and it still owes: 402
 * ACCOUNT_SUSPENDED saying what is owed and how to pay. Undefined when its keys may be used (a leaf
 * collected since the suspension lifts it at once, before the next call reinstates the account).
 */
export async function keySuspension(db: Queryable, accountId: string): Promise<AppError | undefined> {
  const { rows } = await db.query<OwedRow>(OWED("a.id = $1 and a.keys_suspended_at is not null"), [accountId]);
  if (rows.length === 0) return undefined;
  // The account's owner reads this: the wallet as wallets show it (checksummed).
  const s = { ...shortfallOf(rows[0]!), wallet: getAddress(rows[0]!.wallet) };
  return paymentRequired(
    "ACCOUNT_SUSPENDED",
    `This account's API keys are suspended: ${owedText(s)}. Hold at least that much CXPT in the wallet and approve the Vault ` +
      "to spend it; the next settlement run (nightly, or `npm run cxpt -- settle`) collects it and reinstates the keys.",
    { owedWei: s.owedWei.toString(), wallet: s.wallet, batches: s.batches.map(String) },
  );
}
