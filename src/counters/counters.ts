// Hot counters the jobs read: the subscription bucket tokens each account draws per UTC day, and the
// requests each provider serves per tier and UTC hour. PostgreSQL holds them by default (the ledger
// it already is); COUNTER_STORE=dynamodb keeps them in a DynamoDB table instead, for operators on
// the blueprint's AWS stack. Both stores count each request id once, atomically: a retried or
// redelivered increment never counts twice.

/** Requests one provider served in one tier during one UTC hour. */
export interface ServedCount {
  readonly providerAccountId: string;
  readonly tier: string;
  /** The hour's start (UTC). */
  readonly hour: Date;
  readonly requests: bigint;
}

/** [from, to): from inclusive, to exclusive. */
export interface CounterWindow {
  readonly from: Date;
  readonly to: Date;
}

export interface CounterStore {
  readonly kind: "postgres" | "dynamodb";
  /** Counts one served request for its provider, tier and UTC hour; false when `requestId` was counted already. */
  countServed(requestId: string, served: { readonly providerAccountId: string; readonly tier: string; readonly at: Date }): Promise<boolean>;
  /** Requests served per provider, tier and hour, for the hours starting in `window`. */
  served(window: CounterWindow): Promise<ServedCount[]>;
  /** Adds the bucket tokens one request drew from an account's subscription; false when `requestId` was counted already. */
  countBucket(requestId: string, usage: { readonly accountId: string; readonly at: Date; readonly tokens: bigint }): Promise<boolean>;
  /** Bucket tokens `accountId` drew on the UTC days starting in `window`. */
  bucketTokens(accountId: string, window: CounterWindow): Promise<bigint>;
  close(): Promise<void>;
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** The start of `at`'s UTC hour / day. */
export const hourOf = (at: Date): Date => new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);
export const dayOf = (at: Date): Date => new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);

/** Every period start of `stepMs` from the first one at or after `window.from` until `window.to`. */
export function periodsIn(window: CounterWindow, stepMs: number): Date[] {
  const periods: Date[] = [];
  for (let t = Math.ceil(window.from.getTime() / stepMs) * stepMs; t < window.to.getTime(); t += stepMs) periods.push(new Date(t));
  return periods;
}

/**
 * A request id as the stores key it: non-empty, at most 256 characters (an account-scoped request id,
 * a 36-character account id and a client id of up to 200 characters, behind its kind, e.g. `bucket:`).
 */
export function checkRequestId(requestId: string): string {
  if (requestId.length === 0 || requestId.length > 256) throw new RangeError(`a counter request id must be 1–256 characters, got ${requestId.length}`);
  return requestId;
}
