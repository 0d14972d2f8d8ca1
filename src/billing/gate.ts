// The billing gate in front of every paid endpoint: resolves the API key and checks that the
// account can pay for the request on top of what it already used, from in-memory caches only. A
// cache hit does no I/O at all; entries refresh in the background after their TTL and are
// invalidated by chain events, deposits and key revocations, and reloaded after each drain.
import { AppError, paymentRequired } from "../errors.ts";
import { hashSecret } from "../accounts/secrets.ts";
import type { Meter, Quote, Undrained } from "./meter.ts";
import type { BilledIn } from "./meter-store.ts";
import { createTtlCache } from "./ttl-cache.ts";

/** What an account can spend, as of its last load (PostgreSQL, plus the chain for PAYG capacity). */
export interface Spending {
  readonly creditsWei: bigint;
  /** Legacy credits net of legacy debt (atto-USD). */
  readonly legacyCreditsAusd: bigint;
  /** Subscription bucket tokens left (drained usage already deducted). */
  readonly bucketRemaining: bigint;
  /** When the subscription ends (ms), null without one. */
  readonly subscriptionEnd: number | null;
  /** min(allowance to the Vault, wallet balance), read from the chain by the loader; 0 without PAYG. */
  readonly paygCapacityWei: bigint;
  /** Drained PAYG usage not yet settled on chain. */
  readonly pendingPaygWei: bigint;
  readonly billedIn: BilledIn;
  /** The linked wallet, lower-case (for `invalidateWallet`). */
  readonly wallet: string | null;
}

/** The account an API key belongs to, as the gate resolved it. */
export interface GateAccount {
  readonly accountId: string;
  readonly billedIn: BilledIn;
}

export interface Gate {
  /**
   * Resolves the key's account and checks that it covers `required` on top of its pending usage.
   * Throws AppError 401 INVALID_API_KEY, the key's refusal (402 ACCOUNT_SUSPENDED) or 402
   * INSUFFICIENT_FUNDS (details: required, available, pending, unit). No I/O when both the key and
   * the account are cached.
   */
  ensureAllowance(apiKey: string, required: Quote): Promise<GateAccount>;
  /** A deposit, a subscription or a settlement changed the account: the next request reloads it. */
  invalidateAccount(accountId: string): void;
  /** An allowance or balance of this wallet changed on chain. */
  invalidateWallet(wallet: string): void;
  /** How every account is billed changed (a stage switch): reload each on its next request. */
  invalidateAll(): void;
  /** A key was revoked (or created for a hash seen as unknown). */
  invalidateApiKey(keyHash: string): void;
  /** Reloads these accounts' spending now if cached (the drain calls it after committing a batch). */
  reloadAccounts(accountIds: Iterable<string>): Promise<void>;
}

export interface GateConfig {
  /**
   * Key hash → its account, null when no active key has this hash; `refusal`: the error every
   * request with the key is refused with (its account's keys are suspended).
   */
  readonly resolveKey: (keyHash: string) => Promise<{ readonly accountId: string; readonly refusal?: AppError } | null>;
  readonly loadSpending: (accountId: string) => Promise<Spending>;
  readonly meter: Pick<Meter, "undrained">;
  /** How long a cached entry is served before a background refresh; default 5 s. */
  readonly ttlMs?: number;
  readonly maxEntries?: number;
  readonly onError?: (error: unknown) => void;
  readonly now?: () => number;
}

const NONE: Undrained = { tokens: 0, wei: 0n, ausd: 0n };

/**
 * Whether spending plus undrained usage covers `required`: the subscription bucket alone covers a
 * token-priced request, otherwise credits + PAYG capacity (CXPT) or legacy credits must.
 * Returns the 402 to throw, or undefined when it passes.
 */
export function checkCoverage(s: Spending, undrained: Undrained, required: Quote, at: number): AppError | undefined {
  if (
    required.tokens > 0 &&
    s.subscriptionEnd !== null &&
    s.subscriptionEnd > at &&
    s.bucketRemaining - BigInt(undrained.tokens) >= BigInt(required.tokens)
  )
    return undefined;
  const legacy = s.billedIn === "legacy";
  const available = legacy ? s.legacyCreditsAusd : s.creditsWei + s.paygCapacityWei - s.pendingPaygWei;
  const pending = legacy ? undrained.ausd : undrained.wei;
  const need = legacy ? required.ausd : required.wei;
  if (available - pending >= need) return undefined;
  return paymentRequired("INSUFFICIENT_FUNDS", "credits, subscription and PAYG allowance do not cover this request", {
    required: need.toString(),
    available: available.toString(),
    pending: pending.toString(),
    unit: legacy ? "ausd" : "wei",
  });
}

export function createGate(config: GateConfig): Gate {
  const { resolveKey, loadSpending, meter, ttlMs = 5_000, maxEntries, onError, now = Date.now } = config;
  const walletAccounts = new Map<string, string>();
  const keys = createTtlCache({ load: resolveKey, ttlMs, maxEntries, onError, now });
  const spendings = createTtlCache<string, Spending>({
    load: loadSpending,
    ttlMs,
    maxEntries,
    onError,
    now,
    onLoad: (accountId, s) => s.wallet && walletAccounts.set(s.wallet, accountId),
  });

  return {
    async ensureAllowance(apiKey: string, required: Quote): Promise<GateAccount> {
      const key = await keys.get(hashSecret(apiKey));
      if (key === null) throw new AppError("INVALID_API_KEY", "unknown or revoked API key", 401);
      if (key.refusal) throw key.refusal;
      const spending = await spendings.get(key.accountId);
      const refusal = checkCoverage(spending, meter.undrained(key.accountId) ?? NONE, required, now());
      if (refusal) throw refusal;
      return { accountId: key.accountId, billedIn: spending.billedIn };
    },

    invalidateAccount: (accountId) => spendings.invalidate(accountId),

    invalidateWallet(wallet: string): void {
      const accountId = walletAccounts.get(wallet.toLowerCase());
      if (accountId !== undefined) spendings.invalidate(accountId);
    },

    invalidateAll: () => spendings.clear(),

    invalidateApiKey: (keyHash) => keys.invalidate(keyHash),

    async reloadAccounts(accountIds: Iterable<string>): Promise<void> {
      await Promise.all([...new Set(accountIds)].map((id) => spendings.reload(id)));
    },
  };
}
