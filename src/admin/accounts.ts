// The admin's view of accounts (the dashboard's list with balances, one account with its usage) and
// the top-up of the legacy off-chain credits, the USD-denominated balance billed while the chain is
// off or before PAYG in CXPT. A grant pays the account's legacy debt (usage its credits could not
// cover) first and credits the rest, in one transaction, audited; the billing gate then reloads the
// account so the new balance counts from its next request.
import { toAccount, type Account } from "../accounts/store.ts";
import type { AppContext } from "../app/context.ts";
import { formatDecimal, ONE_E18, parseDecimal } from "../billing/pricing.ts";
import type { Queryable } from "../db/db.ts";
import { AppError, badRequest, notFound } from "../errors.ts";
import { auditedTransaction } from "../audit/log.ts";
import { hasBadText } from "../text.ts";

/** An account as the admin sees it: the account and what it owes in legacy usage. */
export interface AdminAccount extends Account {
  /** Legacy usage its legacy credits could not cover (atto-USD); a grant pays it first. */
  readonly legacyDebtAusd: bigint;
  /** Since when its API keys are refused for an unpaid settlement shortfall; null when they are not. */
  readonly keysSuspendedAt: Date | null;
}

/** One account's usage, all time (drained into PostgreSQL). */
export interface UsageSummary {
  readonly events: number;
  readonly costAusd: bigint;
  /** Billed in CXPT (legacy events cost 0 wei). */
  readonly costWei: bigint;
  /** PAYG drawn but not yet settled on chain. */
  readonly unsettledPaygWei: bigint;
}

export interface AdminAccountDetail extends AdminAccount {
  readonly usage: UsageSummary;
}

type Row = Parameters<typeof toAccount>[0] & { legacy_debt_ausd: string; keys_suspended_at: Date | null };

const toAdminAccount = (row: Row): AdminAccount => ({ ...toAccount(row), legacyDebtAusd: BigInt(row.legacy_debt_ausd), keysSuspendedAt: row.keys_suspended_at ?? null });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const WALLET = /^0x[0-9a-f]{40}$/i;

const accountNotFound = (id: string) => notFound("ACCOUNT_NOT_FOUND", `no account ${id}`);

export const MAX_ACCOUNTS_PAGE = 200;
export const DEFAULT_ACCOUNTS_PAGE = 50;

export interface AccountsQuery {
  /** 1–MAX_ACCOUNTS_PAGE, 50 by default. */
  readonly limit?: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
  /** Only the account linked to this wallet (any case). */
  readonly wallet?: string;
}

export interface AccountsPage {
  /** Newest first. */
  readonly accounts: readonly AdminAccount[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  readonly nextCursor: string | null;
}

/**
 * Accounts newest first, `limit` a page, after `cursor` (the id of the last account of the previous
 * page). 400 `INVALID_LIMIT` / `INVALID_CURSOR` (malformed, or no such account) / `INVALID_WALLET`.
 */
export async function listAccounts(db: Queryable, query: AccountsQuery = {}): Promise<AccountsPage> {
  const limit = query.limit ?? DEFAULT_ACCOUNTS_PAGE;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_ACCOUNTS_PAGE) {
    throw badRequest("INVALID_LIMIT", `limit must be an integer from 1 to ${MAX_ACCOUNTS_PAGE}, got ${limit}`);
  }
  const { cursor, wallet } = query;
  if (wallet !== undefined && !WALLET.test(wallet)) throw badRequest("INVALID_WALLET", `not a wallet address: "${wallet}"`);
  if (cursor !== undefined) {
    const { rows } = UUID.test(cursor) ? await db.query("select 1 from accounts where id = $1", [cursor]) : { rows: [] };
    if (rows.length === 0) throw badRequest("INVALID_CURSOR", `cursor must be nextCursor of an earlier page, got "${cursor}"`);
  }
  // Keyset pagination on (created_at, id), compared in SQL (JavaScript dates drop the microseconds):
  // exact however many accounts are created meanwhile.
  const { rows } = await db.query<Row>(
    `select * from accounts
      where ($1::uuid is null or (created_at, id) < (select created_at, id from accounts where id = $1::uuid))
        and ($2::text is null or wallet = $2)
      order by created_at desc, id desc
      limit $3`,
    [cursor ?? null, wallet?.toLowerCase() ?? null, limit + 1],
  );
  const accounts = rows.slice(0, limit).map(toAdminAccount);
  return { accounts, nextCursor: rows.length > limit ? accounts[accounts.length - 1]!.id : null };
}

/** The account `id` with its usage totals; 404 `ACCOUNT_NOT_FOUND`. */
export async function readAccount(db: Queryable, id: string): Promise<AdminAccountDetail> {
  if (!UUID.test(id)) throw accountNotFound(id);
  const { rows } = await db.query<Row & { events: string | number | bigint; cost_ausd: string; cost_wei: string; unsettled_payg_wei: string }>(
    `select a.*, u.events, u.cost_ausd, u.cost_wei, u.unsettled_payg_wei
       from accounts a,
            lateral (select count(*) as events, coalesce(sum(cost_ausd), 0) as cost_ausd, coalesce(sum(cost_wei), 0) as cost_wei,
                            coalesce(sum(payg_wei) filter (where settled_at is null), 0) as unsettled_payg_wei
                       from usage_events where account_id = a.id) u
      where a.id = $1`,
    [id],
  );
  const row = rows[0];
  if (row === undefined) throw accountNotFound(id);
  return {
    ...toAdminAccount(row),
    usage: { events: Number(row.events), costAusd: BigInt(row.cost_ausd), costWei: BigInt(row.cost_wei), unsettledPaygWei: BigInt(row.unsettled_payg_wei) },
  };
}

/** The most one grant may add: a typo guard, far above any real top-up. */
export const MAX_GRANT_USD = 1_000_000_000n;

export interface LegacyGrant {
  /** US dollars as a decimal string: exact, at most 18 decimals, more than 0 ("12.50"). */
  readonly usd: string;
  /** Why, for the audit log. */
  readonly reason: string;
}

export interface LegacyGrantResult {
  readonly accountId: string;
  readonly grantedAusd: bigint;
  /** The part of the grant that paid legacy debt. */
  readonly paidDebtAusd: bigint;
  /** The part added to the legacy credits. */
  readonly creditedAusd: bigint;
  /** The balances after the grant. */
  readonly legacyCreditsAusd: bigint;
  readonly legacyDebtAusd: bigint;
}

/** `usd` in atto-USD; 400 `INVALID_AMOUNT` unless a plain decimal, > 0, ≤ MAX_GRANT_USD, ≤ 18 decimals. */
function grantAmount(usd: string): bigint {
  let ausd: bigint;
  try {
    ausd = parseDecimal(usd);
  } catch (error) {
    throw badRequest("INVALID_AMOUNT", `usd must be a positive decimal of at most 18 decimals ("12.50"): ${(error as AppError).message}`);
  }
  if (ausd === 0n) throw badRequest("INVALID_AMOUNT", "usd must be more than 0");
  if (ausd > MAX_GRANT_USD * ONE_E18) throw badRequest("INVALID_AMOUNT", `usd must be at most ${MAX_GRANT_USD} per grant, got ${usd}`);
  return ausd;
}

/** Pays the debt, then credits the rest, on the locked account row. */
async function applyGrant(tx: Queryable, accountId: string, ausd: bigint): Promise<LegacyGrantResult> {
  const { rows } = await tx.query<{ id: string; legacy_debt_ausd: string }>("select id, legacy_debt_ausd from accounts where id = $1 for update", [accountId]);
  const row = rows[0];
  if (row === undefined) throw accountNotFound(accountId);
  const debt = BigInt(row.legacy_debt_ausd);
  const paidDebtAusd = ausd < debt ? ausd : debt;
  const creditedAusd = ausd - paidDebtAusd;
  const { rows: after } = await tx.query<{ legacy_credits_ausd: string; legacy_debt_ausd: string }>(
    `update accounts set legacy_debt_ausd = legacy_debt_ausd - $2, legacy_credits_ausd = legacy_credits_ausd + $3
      where id = $1 returning legacy_credits_ausd, legacy_debt_ausd`,
    [row.id, paidDebtAusd, creditedAusd],
  );
  return {
    accountId: row.id,
    grantedAusd: ausd,
    paidDebtAusd,
    creditedAusd,
    legacyCreditsAusd: BigInt(after[0]!.legacy_credits_ausd),
    legacyDebtAusd: BigInt(after[0]!.legacy_debt_ausd),
  };
}

/**
 * Grants `grant.usd` of legacy credits to account `accountId`: its legacy debt is paid first, the
 * rest is added to its legacy credits, in one transaction. Audited as `grant_legacy_credits`
 * (refusals too). 400 `INVALID_AMOUNT` / `INVALID_REASON`, 404 `ACCOUNT_NOT_FOUND`.
 */
export async function grantLegacyCredits(ctx: AppContext, actorId: string | null, accountId: string, grant: LegacyGrant): Promise<LegacyGrantResult> {
  const params = { accountId, usd: grant.usd, reason: grant.reason };
  const result = await auditedTransaction(ctx.db, { actorId, action: "grant_legacy_credits", params }, async (tx) => {
    const ausd = grantAmount(grant.usd);
    if (grant.reason.trim() === "") throw badRequest("INVALID_REASON", "say why the credits are granted (reason)");
    if (hasBadText(grant.reason)) throw badRequest("INVALID_REASON", "the reason holds a control character or an unpaired surrogate");
    if (!UUID.test(accountId)) throw accountNotFound(accountId);
    const applied = await applyGrant(tx, accountId, ausd);
    const { grantedAusd, paidDebtAusd, creditedAusd, legacyCreditsAusd, legacyDebtAusd } = applied;
    return {
      result: applied,
      outcome: { status: "executed", usd: formatDecimal(grantedAusd), grantedAusd, paidDebtAusd, creditedAusd, legacyCreditsAusd, legacyDebtAusd },
    };
  });
  ctx.billing.gate.invalidateAccount(result.accountId); // after the commit: the next request counts the new balance
  return result;
}
