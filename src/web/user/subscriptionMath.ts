// Pure figures of the subscription card: the bucket's capacity (bigint: token counts run far above
// 2^53), token counts and periods for people, and whether a plan can be bought or cancelled now.

/**
 * What the bucket bar is measured against: the plan's bucket, or more when rolled-over tranches
 * (each period's unused tokens stay usable a while) hold more than one period's bucket.
 */
export function bucketCapacity(planBucket: bigint, tranches: readonly { readonly tokens: string }[]): bigint {
  const held = tranches.reduce((sum, t) => sum + BigInt(t.tokens), 0n);
  return held > planBucket ? held : planBucket;
}

/** A token count with thousands grouped ("12,500,000"), exact for any size. */
export const formatTokens = (tokens: bigint | string): string => BigInt(tokens).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");

/** A plan period in seconds as "30 days", "12 hours" or "90 seconds". */
export function formatPeriod(seconds: number): string {
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (seconds > 0 && seconds % 86_400 === 0) return unit(seconds / 86_400, "day");
  if (seconds > 0 && seconds % 3_600 === 0) return unit(seconds / 3_600, "hour");
  return unit(seconds, "second");
}

/** The state of a pass that decides what the card offers. */
export interface PassFacts {
  readonly active: boolean;
  readonly cancelled: boolean;
  readonly periodEnd: string | null;
}

/**
 * Why no plan can be bought right now, or null when one can: the contract starts a new plan only
 * after the paid period ends (it reverts PassActive otherwise).
 */
export function purchaseBlock(pass: PassFacts | undefined): string | null {
  if (pass?.active && pass.periodEnd !== null) return "Your pass is in a paid period: a new plan can be bought once it ends.";
  return null;
}

/** Whether the renewal can be cancelled: a pass in a paid period that still renews. */
export const canCancel = (pass: PassFacts | undefined): boolean => pass?.active === true && !pass.cancelled;

/** A fresh fiat payment reference: one per purchase attempt, kept for its retries. */
export const newPaymentRef = (): string => `web-${crypto.randomUUID()}`;
