// The gate's loaders over PostgreSQL: API key hash → account, and an account's spending (credits,
// legacy credits net of debt, bucket, subscription end, drained-but-unsettled PAYG). The PAYG
// capacity comes from the chain through a function the caller passes (none: no PAYG).
import { activeKeyByHash } from "../accounts/store.ts";
import type { Queryable } from "../db/db.ts";
import { notFound, type AppError } from "../errors.ts";
import { keySuspension } from "../accounts/suspension.ts";
import type { Limits, Spending } from "./funds.ts";
import type { BilledIn } from "./meter-store.ts";

/** Resolves an active (not revoked) API key by its hash, with its refusal while the account's keys are suspended. */
export function dbKeyResolver(db: Queryable): (keyHash: string) => Promise<{ accountId: string; keyId: string; refusal?: AppError } | null> {
  return async (keyHash) => {
    const key = await activeKeyByHash(db, keyHash);
    if (key === undefined) return null;
    const refusal = await keySuspension(db, key.accountId);
    return refusal ? { ...key, refusal } : key;
  };
}

/**
 * What an API key may still spend this calendar month (UTC), in wei: its monthly limit minus the CXPT
 * cost of the usage drained under it since the month began (never below 0); null without a limit.
 */
export function dbKeyBudgetLoader(db: Queryable, now: () => number = Date.now): (keyId: string) => Promise<bigint | null> {
  return async (keyId) => {
    const at = new Date(now());
    const monthStart = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
    const { rows } = await db.query<{ monthly_limit_wei: string | null; spent: string }>(
      `select k.monthly_limit_wei,
              (select coalesce(sum(u.cost_wei), 0) from usage_events u where u.api_key_id = k.id and u.recorded_at >= $2)::text as spent
         from api_keys k where k.id = $1`,
      [keyId, monthStart],
    );
    const row = rows[0];
    if (row === undefined || row.monthly_limit_wei === null) return null;
    const left = BigInt(row.monthly_limit_wei) - BigInt(row.spent);
    return left > 0n ? left : 0n;
  };
}

export interface DbSpendingLoaderConfig {
  readonly db: Queryable;
  /** How usage is billed now ("legacy" while CHAIN_STAGE=off or before PAYG in CXPT). */
  readonly billedIn: () => BilledIn;
  /** min(allowance to the Vault, balance) of a wallet, from the chain; omitted = no PAYG capacity. */
  readonly paygCapacity?: (wallet: string) => Promise<bigint>;
  /** The limits of a subscription plan (from the chain); undefined: the plan is unknown. */
  readonly planLimits?: (planId: number) => Promise<Limits | undefined>;
  /** The limits of accounts without an active plan (PAYG). */
  readonly defaultLimits: Limits;
}

type SpendingRow = {
  credits_wei: string;
  legacy_credits_ausd: string;
  legacy_debt_ausd: string;
  bucket_remaining: string;
  subscription_end: Date | string | null;
  subscription_plan_id: number | null;
  wallet: string | null;
  pending_payg_wei: string;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Waiter {
  readonly resolve: (spending: Spending) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Loads an account's spending; throws 404 ACCOUNT_NOT_FOUND. Loads asked for in the same turn (the
 * drain reloading every account it charged, a burst of first requests) are ONE query.
 */
export function dbSpendingLoader(config: DbSpendingLoaderConfig): (accountId: string) => Promise<Spending> {
  const { db, billedIn, paygCapacity, planLimits, defaultLimits } = config;
  let batch: Map<string, Waiter[]> | undefined;

  async function spendingOf(row: SpendingRow, mode: BilledIn): Promise<Spending> {
    const legacy = BigInt(row.legacy_credits_ausd) - BigInt(row.legacy_debt_ausd);
    const subscriptionEnd = row.subscription_end === null ? null : new Date(row.subscription_end).getTime();
    const planId = row.subscription_plan_id;
    const plan = subscriptionEnd !== null && subscriptionEnd > Date.now() && planId !== null && planLimits ? await planLimits(planId) : undefined;
    return {
      creditsWei: BigInt(row.credits_wei),
      legacyCreditsAusd: legacy > 0n ? legacy : 0n,
      bucketRemaining: BigInt(row.bucket_remaining),
      subscriptionEnd,
      paygCapacityWei: mode === "cxpt" && row.wallet && paygCapacity ? await paygCapacity(row.wallet) : 0n,
      pendingPaygWei: BigInt(row.pending_payg_wei),
      billedIn: mode,
      wallet: row.wallet,
      limits: plan ?? defaultLimits,
      subscriber: plan !== undefined,
    };
  }

  function run(): void {
    const waiting = batch as Map<string, Waiter[]>;
    batch = undefined;
    const mode = billedIn();
    const rows = db
      .query<SpendingRow & { id: string }>(
        `select a.id, a.credits_wei, a.legacy_credits_ausd, a.legacy_debt_ausd, a.bucket_remaining, a.subscription_end,
                a.subscription_plan_id, a.wallet,
                coalesce((select sum(u.payg_wei) from usage_events u
                           where u.account_id = a.id and u.payg_wei > 0 and u.settled_at is null), 0) as pending_payg_wei
           from accounts a where a.id = any($1::uuid[])`,
        [[...waiting.keys()]],
      )
      .then(({ rows }) => new Map(rows.map((row) => [row.id, row])));
    // Each account on its own: one wallet's failed chain read fails only that account's load.
    for (const [id, waiters] of waiting) {
      rows
        .then((found) => {
          const row = found.get(id);
          if (row === undefined) throw notFound("ACCOUNT_NOT_FOUND", `no account ${id}`);
          return spendingOf(row, mode);
        })
        .then(
          (spending) => waiters.forEach((w) => w.resolve(spending)),
          (error: unknown) => waiters.forEach((w) => w.reject(error)),
        );
    }
  }

  return (accountId) =>
    new Promise<Spending>((resolve, reject) => {
      if (!UUID.test(accountId)) return reject(notFound("ACCOUNT_NOT_FOUND", `no account ${accountId}`));
      const id = accountId.toLowerCase(); // PostgreSQL answers uuids in lower case
      if (batch === undefined) {
        batch = new Map();
        queueMicrotask(run);
      }
      const waiters = batch.get(id);
      if (waiters) waiters.push({ resolve, reject });
      else batch.set(id, [{ resolve, reject }]);
    });
}
