// The billing gate in front of every paid endpoint: authorize, then capture. `authorize` resolves the
// API key and, in ONE atomic store call shared by every API instance, checks the request id, the
// plan's concurrency and requests per minute, and the account's funds, and reserves the request's
// ceiling. After serving, the meter captures the actual cost (≤ the ceiling) and ends the hold; a
// request that fails before any output releases it; a hold left by an instance that died expires
// after `holdMs`. The account's budget (funds in the draw order of ./funds.ts, and its limits) is
// loaded from PostgreSQL and the chain when the store has none or it is older than its TTL, dropped
// whenever the funds change outside billing (a deposit, a chain event), and moved by each drain
// (usage leaves the undrained tally and the funds together).
import { AppError, conflict, paymentRequired, unavailable } from "../errors.ts";
import { hashSecret } from "../accounts/secrets.ts";
import { budgetOf, CASH_UNIT, unitsDown, unitsUp, type BillingMode, type Spending } from "./funds.ts";
import type { Quote } from "./meter.ts";
import { scopedRequestId, type MeterStore, type Pool, type RateState } from "./meter-store.ts";
import { createTtlCache } from "./ttl-cache.ts";

export type { Spending } from "./funds.ts";

/** A request the gate let through: its hold is open until captured or released. */
export interface Authorization {
  readonly accountId: string;
  readonly apiKeyHash: string;
  /** The key's id (usage is recorded per key), when the resolver knows it. */
  readonly apiKeyId: string | undefined;
  /** The account-scoped request id its usage is captured under. */
  readonly requestId: string;
  readonly billedIn: BillingMode;
  /** The pool its ceiling was reserved in (its capture counts there until drained). */
  readonly pool: Pool;
  /** Whether the account is a subscriber (priority on busy nodes). */
  readonly subscriber: boolean;
  readonly rate: RateState;
}

export interface Gate {
  /** The account of an API key (401 INVALID_API_KEY), for routes that read but do not spend. */
  identify(apiKey: string): Promise<{ readonly accountId: string }>;
  /**
   * Resolves the key's account and reserves `ceiling` for request `requestId` (the client's id).
   * Throws AppError 401 INVALID_API_KEY, the key's refusal (402 ACCOUNT_SUSPENDED), 409
   * REQUEST_ID_REUSED, 429 RATE_LIMITED / CONCURRENCY_LIMITED (details: the rate state), 402
   * INSUFFICIENT_FUNDS (details: required, available, pending, held, unit) or 503
   * METERING_UNAVAILABLE.
   */
  authorize(apiKey: string, ceiling: Quote, requestId: string): Promise<Authorization>;
  /** Ends a hold without charging anything (the request failed before any output). */
  release(authorization: Authorization): Promise<void>;
  /** A deposit, a subscription or a settlement changed the account: the next request reloads it. */
  invalidateAccount(accountId: string): void;
  /** An allowance or balance of this wallet changed on chain. */
  invalidateWallet(wallet: string): void;
  /** How every account is billed changed (a stage switch): reload each on its next request. */
  invalidateAll(): void;
  /** A key was revoked (or created for a hash seen as unknown). */
  invalidateApiKey(keyHash: string): void;
  /** A key's monthly spend limit changed. */
  invalidateKeyBudget(keyId: string): void;
}

export interface GateConfig {
  /**
   * Key hash → its account, null when no active key has this hash; `refusal`: the error every
   * request with the key is refused with (its account's keys are suspended).
   */
  readonly resolveKey: (keyHash: string) => Promise<{ readonly accountId: string; readonly keyId?: string; readonly refusal?: AppError } | null>;
  readonly loadSpending: (accountId: string) => Promise<Spending>;
  /** What an API key may still spend this month (wei), null without a monthly limit; omitted: keys have no limits. */
  readonly loadKeyBudget?: (keyId: string) => Promise<bigint | null>;
  readonly store: Pick<MeterStore, "hold" | "release" | "putBudget" | "invalidate" | "putKeyBudget" | "invalidateKey">;
  /** How usage is billed now. */
  readonly billedIn: () => BillingMode;
  /** How long a loaded budget and a cached key are served; default 5 s. */
  readonly ttlMs?: number;
  /** How long a hold outlives an instance that died before capturing it; default 10 min. */
  readonly holdMs?: number;
  readonly maxEntries?: number;
  readonly onError?: (error: unknown) => void;
  readonly now?: () => number;
}

/** Longest a hold may stay open by default: longer than any request the gateway lets run. */
export const DEFAULT_HOLD_MS = 10 * 60_000;

const rateDetails = (rate: RateState) => ({ limit: rate.limit, remaining: rate.remaining, resetMs: rate.resetMs });

export function createGate(config: GateConfig): Gate {
  const { resolveKey, loadSpending, loadKeyBudget, store, billedIn, ttlMs = 5_000, holdMs = DEFAULT_HOLD_MS, maxEntries, onError = () => {}, now = Date.now } = config;
  const walletAccounts = new Map<string, string>();
  const knownAccounts = new Set<string>();
  const keys = createTtlCache({ load: resolveKey, ttlMs, maxEntries, onError, now });

  // One load per account at a time in this instance: a burst of first requests shares it.
  const loading = new Map<string, Promise<void>>();

  async function load(accountId: string, generation: number): Promise<void> {
    const spending = await loadSpending(accountId);
    if (spending.wallet) walletAccounts.set(spending.wallet.toLowerCase(), accountId);
    knownAccounts.add(accountId);
    const at = now();
    await store.putBudget(accountId, budgetOf(spending, at, holdMs), generation, at + ttlMs);
  }

  function loadBudget(accountId: string, generation: number): Promise<void> {
    let pending = loading.get(accountId);
    if (pending === undefined) {
      pending = load(accountId, generation).finally(() => loading.delete(accountId));
      loading.set(accountId, pending);
    }
    return pending;
  }

  async function loadKey(keyId: string, generation: number): Promise<void> {
    const remaining = (await loadKeyBudget?.(keyId)) ?? null;
    await store.putKeyBudget(keyId, remaining === null ? null : unitsDown(remaining), generation, now() + ttlMs);
  }

  const drop = (accountId: string) => void store.invalidate(accountId).catch(onError);

  async function resolve(apiKeyHash: string) {
    const key = await keys.get(apiKeyHash);
    if (key === null) throw new AppError("INVALID_API_KEY", "unknown or revoked API key", 401);
    return key;
  }

  return {
    identify: async (apiKey) => ({ accountId: (await resolve(hashSecret(apiKey))).accountId }),

    async authorize(apiKey: string, ceiling: Quote, clientRequestId: string): Promise<Authorization> {
      const apiKeyHash = hashSecret(apiKey);
      const key = await resolve(apiKeyHash);
      if (key.refusal) throw key.refusal;
      const { accountId } = key;
      const mode = billedIn();
      const requestId = scopedRequestId(accountId, clientRequestId);
      const cash = mode === "legacy" ? ceiling.ausd : ceiling.wei;
      // The key's monthly limit is in CXPT: it applies while billing is in CXPT.
      const keyId = mode === "cxpt" && loadKeyBudget !== undefined ? key.keyId : undefined;
      // A budget loaded by another instance, or dropped meanwhile, is loaded again: twice at most.
      for (let attempt = 0; attempt < 4; attempt++) {
        const result = await store.hold({ accountId, requestId, mode, tokens: ceiling.tokens, cashUnits: unitsUp(cash), now: now(), holdMs, keyId });
        switch (result.kind) {
          case "held":
            return { accountId, apiKeyHash, apiKeyId: key.keyId, requestId, billedIn: mode, pool: result.pool, subscriber: result.subscriber, rate: result.rate };
          case "load":
            await loadBudget(accountId, result.generation);
            continue;
          case "loadKey":
            await loadKey(keyId as string, result.generation);
            continue;
          case "keyLimit":
            throw paymentRequired("KEY_LIMIT_REACHED", "this API key has reached its monthly spend limit; raise or remove it on the dashboard, or use another key", {
              required: cash.toString(),
              available: (BigInt(result.availableUnits) * CASH_UNIT).toString(),
              unit: "wei",
            });
          case "reused":
            throw conflict("REQUEST_ID_REUSED", `request id ${clientRequestId} was already used by this account: send a new x-request-id for a new request`);
          case "busy":
            throw new AppError("CONCURRENCY_LIMITED", `your plan allows ${result.concurrency} request(s) in flight at once; retry when one finishes`, 429, {
              concurrency: result.concurrency,
              ...rateDetails(result.rate),
            });
          case "rate":
            throw new AppError("RATE_LIMITED", `your plan allows ${result.rate.limit} requests per minute; retry in ${Math.ceil(result.rate.resetMs / 1000)} s`, 429, rateDetails(result.rate));
          case "funds":
            throw paymentRequired("INSUFFICIENT_FUNDS", "credits, subscription and PAYG allowance do not cover this request", {
              required: cash.toString(),
              available: (BigInt(Math.max(0, result.availableUnits)) * CASH_UNIT).toString(),
              pending: (BigInt(result.undrainedUnits) * CASH_UNIT).toString(),
              held: (BigInt(result.heldUnits) * CASH_UNIT).toString(),
              unit: mode === "legacy" ? "ausd" : "wei",
            });
        }
      }
      throw unavailable("METERING_UNAVAILABLE", "the account's funds changed repeatedly while this request was authorized; retry");
    },

    release: (authorization) => store.release(authorization.accountId, authorization.requestId),

    invalidateAccount: drop,

    invalidateWallet(wallet: string): void {
      const accountId = walletAccounts.get(wallet.toLowerCase());
      if (accountId !== undefined) drop(accountId);
    },

    invalidateAll(): void {
      // The budget records its billing mode, so a stage switch is seen by the next hold anyway;
      // PAYG capacity read from another chain is dropped here.
      for (const accountId of knownAccounts) drop(accountId);
    },

    invalidateApiKey: (keyHash) => keys.invalidate(keyHash),

    invalidateKeyBudget: (keyId) => void store.invalidateKey(keyId).catch(onError),
  };
}
