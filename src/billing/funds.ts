// What an account can pay with, and the one draw order every charge follows: the subscription
// bucket first (token-priced services, while the pass is active), then credits, then PAYG (the
// wallet's CXPT through its Vault allowance, collected on chain later) — or, while billing is off
// chain, the legacy credits and then legacy debt. The drain splits each metered event with
// `splitCharge`; the gate reserves against `budgetOf`, which pools the same sources in the same
// order, so what the gate lets through is what the drain can charge.
import type { UsageEvent } from "./meter-store.ts";
import { ceilDiv } from "./pricing.ts";

/** What an account holds in PostgreSQL: what the drain draws from. */
export interface Funds {
  readonly creditsWei: bigint;
  readonly legacyCreditsAusd: bigint;
  readonly bucketRemaining: bigint;
  /** ms, null without a subscription. */
  readonly subscriptionEnd: number | null;
}

/** How one event's charge is met. */
export interface Split {
  readonly bucketTokens: bigint;
  readonly creditsWei: bigint;
  readonly paygWei: bigint;
  readonly legacyAusd: bigint;
  readonly legacyDebtAusd: bigint;
}

/**
 * Splits an event's charge over the account's funds, exactly. The bucket covers
 * min(tokens, bucket) tokens while the subscription is active at the event's time; the cost of the
 * tokens it does not cover, pro rata and rounded up (ceil(cost × uncovered / tokens)), is drawn from
 * credits and the rest is PAYG. Legacy events draw legacy credits and the rest becomes legacy debt.
 * Returns the split and the funds left.
 */
export function splitCharge(funds: Funds, event: UsageEvent): { split: Split; rest: Funds } {
  const tokens = BigInt(event.tokens);
  const active = funds.subscriptionEnd !== null && funds.subscriptionEnd > event.recordedAt;
  const bucketTokens = active && tokens > 0n ? min(tokens, funds.bucketRemaining) : 0n;
  const legacy = event.billedIn === "legacy";
  const cost = legacy ? event.costAusd : event.costWei;
  const uncoveredCost = tokens === 0n ? cost : ceilDiv(cost * (tokens - bucketTokens), tokens);
  const fromCredits = min(uncoveredCost, legacy ? funds.legacyCreditsAusd : funds.creditsWei);
  const shortfall = uncoveredCost - fromCredits;
  return {
    split: {
      bucketTokens,
      creditsWei: legacy ? 0n : fromCredits,
      paygWei: legacy ? 0n : shortfall,
      legacyAusd: legacy ? fromCredits : 0n,
      legacyDebtAusd: legacy ? shortfall : 0n,
    },
    rest: {
      ...funds,
      bucketRemaining: funds.bucketRemaining - bucketTokens,
      creditsWei: legacy ? funds.creditsWei : funds.creditsWei - fromCredits,
      legacyCreditsAusd: legacy ? funds.legacyCreditsAusd - fromCredits : funds.legacyCreditsAusd,
    },
  };
}

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/**
 * The gate's unit of cash: 10^9 wei (1 gwei of CXPT) or 10^9 atto-USD. Reservations are kept in
 * Redis, whose scripts count in doubles: whole units stay exact up to 2^53 (9 million CXPT). A
 * reservation rounds its amount up and a budget rounds down, so the gate errs only on the side of
 * refusing; charges themselves stay exact wei.
 */
export const CASH_UNIT = 10n ** 9n;
/** The largest budget the gate counts (2^53 − 1 units): a bigger one is capped, never wrapped. */
export const MAX_UNITS = 2n ** 53n - 1n;

export const unitsUp = (amount: bigint): number => Number(min(ceilDiv(amount > 0n ? amount : 0n, CASH_UNIT), MAX_UNITS));
export const unitsDown = (amount: bigint): number => Number(amount > 0n ? min(amount / CASH_UNIT, MAX_UNITS) : 0n);

/** How billing is done now: CXPT (credits, bucket, PAYG) or the legacy off-chain USD credits. */
export type BillingMode = "cxpt" | "legacy";

/** What an account may spend and how fast, as the gate loads it (PostgreSQL, plus the chain for PAYG capacity). */
export interface Spending extends Funds {
  /** min(allowance to the Vault, wallet balance) read from the chain; 0 without PAYG. */
  readonly paygCapacityWei: bigint;
  /** Drained PAYG usage not yet settled on chain. */
  readonly pendingPaygWei: bigint;
  /** Legacy credits net of legacy debt (atto-USD). */
  readonly legacyCreditsAusd: bigint;
  readonly billedIn: BillingMode;
  /** The linked wallet, lower-case. */
  readonly wallet: string | null;
  /** The account's plan limits: its subscription plan's, or the PAYG defaults. */
  readonly limits: Limits;
  /** Whether the limits are a subscription plan's (subscribers get priority on busy nodes). */
  readonly subscriber: boolean;
}

/** Requests per minute and requests in flight an account may have. */
export interface Limits {
  readonly requestsPerMinute: number;
  readonly concurrency: number;
}

/** What the reservation store checks a request against: two pools in the draw order, and the limits. */
export interface Budget {
  readonly mode: BillingMode;
  /** Bucket tokens the gate may reserve (0 when the pass ends before a reservation could be captured). */
  readonly bucketTokens: number;
  /** Credits + PAYG capacity − unsettled PAYG (CXPT), or legacy credits (legacy), in CASH_UNITs, rounded down. */
  readonly cashUnits: number;
  readonly limits: Limits;
  readonly subscriber: boolean;
}

/**
 * The budget of an account's spending at `at`: the bucket counts only if the pass outlives every
 * reservation made now (`holdMs`), since the drain charges a token to the bucket only while the pass is
 * active at the time it was metered.
 */
export function budgetOf(s: Spending, at: number, holdMs: number): Budget {
  const active = s.subscriptionEnd !== null && s.subscriptionEnd > at + holdMs;
  const cash = s.billedIn === "legacy" ? s.legacyCreditsAusd : s.creditsWei + s.paygCapacityWei - s.pendingPaygWei;
  return {
    mode: s.billedIn,
    bucketTokens: active ? Number(min(s.bucketRemaining, MAX_UNITS)) : 0,
    cashUnits: unitsDown(cash),
    limits: s.limits,
    subscriber: s.subscriber,
  };
}
