// The metering store: the gate's reservations and an idempotent, durable queue of usage events
// between the API (which authorizes and captures) and the drain (which moves them into PostgreSQL).
// Two implementations with the same guarantees: Redis (meter-store-redis.ts, one script per call,
// shared by every API instance) and an embedded in-process store with a journal file
// (meter-store-embedded.ts).
//
// Per account the store keeps: the budget the gate last loaded (funds in two pools, the plan's
// limits, a generation that every invalidation and drain bumps), the reservations ("holds") of
// requests in flight, the captured usage not yet drained, and the rate limiter's state. Authorizing
// checks all of them and takes a hold in one atomic step, so concurrent requests on any number of
// instances can never reserve more than the budget.
import { unitsUp, type Budget, type BillingMode } from "./funds.ts";

/** How an event is paid: CXPT (credits, bucket, PAYG) or the legacy off-chain USD credits (chain off). */
export type BilledIn = BillingMode;

/** The gate's pool a reservation (and so its captured usage) counts against until drained. */
export type Pool = "bucket" | "cash";

/** One metered request. */
export interface UsageEvent {
  /** The idempotency key: an event is recorded (and charged) once per request id. */
  readonly requestId: string;
  readonly accountId: string;
  readonly endpoint: string;
  readonly service: string;
  readonly unitsIn: number;
  readonly unitsOut: number;
  /** Units that draw a subscription token bucket (unitsIn + unitsOut of token-priced services, else 0). */
  readonly tokens: number;
  readonly costAusd: bigint;
  /** 0 for legacy events: they are never billed in CXPT. */
  readonly costWei: bigint;
  readonly billedIn: BilledIn;
  /** Milliseconds since the epoch. */
  readonly recordedAt: number;
  /** The pool the gate counted it in until it is drained; absent: cash. */
  readonly pool?: Pool;
  /** The API key it came with, and the model it asked for (the usage views); absent for older events. */
  readonly apiKeyId?: string;
  readonly model?: string;
}

/** A request to reserve: its ceiling, in the gate's units. */
export interface HoldRequest {
  readonly accountId: string;
  /** The account-scoped request id (`scopedRequestId`): a hold and, once captured, an event. */
  readonly requestId: string;
  readonly mode: BillingMode;
  /** Bucket tokens the request may use (0 when it is not priced per token). */
  readonly tokens: number;
  /** Its ceiling in CASH_UNITs, rounded up. */
  readonly cashUnits: number;
  readonly now: number;
  /** How long the hold lives if never captured nor released (an instance that died). */
  readonly holdMs: number;
  /** The API key, when its monthly spend limit applies (CXPT billing): the ceiling is held against it too. */
  readonly keyId?: string | undefined;
}

/** Requests-per-minute state as OpenAI's x-ratelimit-* headers report it. */
export interface RateState {
  readonly limit: number;
  readonly remaining: number;
  /** ms until the limit is whole again (refused: until the next request is allowed). */
  readonly resetMs: number;
}

export type HoldResult =
  /** Reserved: capture or release it. */
  | { readonly kind: "held"; readonly pool: Pool; readonly rate: RateState; readonly subscriber: boolean }
  /** No current budget for this account and mode: load one and `putBudget` it at this generation. */
  | { readonly kind: "load"; readonly generation: number }
  /** The request id was captured already, or is in flight. */
  | { readonly kind: "reused" }
  /** As many requests in flight as the plan allows. */
  | { readonly kind: "busy"; readonly concurrency: number; readonly rate: RateState }
  /** Over the plan's requests per minute. */
  | { readonly kind: "rate"; readonly rate: RateState }
  /** No current budget for the API key: load what it may still spend this month and `putKeyBudget` it. */
  | { readonly kind: "loadKey"; readonly generation: number }
  /** The API key's monthly limit does not cover the ceiling. */
  | { readonly kind: "keyLimit"; readonly availableUnits: number }
  /** Neither pool covers the ceiling. Cash figures in CASH_UNITs. */
  | { readonly kind: "funds"; readonly availableUnits: number; readonly undrainedUnits: number; readonly heldUnits: number };

/** Captured-but-undrained usage and open holds of an account (tokens, and cash in CASH_UNITs). */
export interface AccountUsage {
  readonly undrainedTokens: number;
  readonly undrainedUnits: number;
  readonly heldTokens: number;
  readonly heldUnits: number;
  readonly inFlight: number;
}

/** Events handed to the drain, with the store ids to acknowledge once they are committed. */
export interface PulledBatch {
  readonly ids: readonly string[];
  readonly events: readonly UsageEvent[];
}

export interface MeterStore {
  /** Checks the request id, the plan's limits and the budget, and reserves the ceiling: one atomic step. */
  hold(request: HoldRequest): Promise<HoldResult>;
  /** Ends a hold without usage (the request failed before any output). Unknown holds are ignored. */
  release(accountId: string, requestId: string): Promise<void>;
  /** Stores a freshly loaded budget unless the account's generation moved on meanwhile; false then. */
  putBudget(accountId: string, budget: Budget, generation: number, expiresAt: number): Promise<boolean>;
  /** Drops the account's budget (its funds changed): the next hold loads it again. */
  invalidate(accountId: string): Promise<void>;
  /** Stores what an API key may still spend this month (CASH_UNITs; null: no limit) unless its generation moved on. */
  putKeyBudget(keyId: string, remainingUnits: number | null, generation: number, expiresAt: number): Promise<boolean>;
  /** Drops the key's budget (its limit changed). */
  invalidateKey(keyId: string): Promise<void>;
  /** Captured usage not yet drained, and open holds. */
  usage(accountId: string): Promise<AccountUsage>;
  /**
   * Captures each event atomically: records it and ends its hold (if any). true when newly
   * recorded, false when its request id was already recorded (within the dedupe window, ≥ 7 days by
   * default). Resolved = durable in the store.
   */
  record(events: readonly UsageEvent[]): Promise<boolean[]>;
  /**
   * The oldest unacknowledged events, at most `max`, including events pulled earlier (by a drain that
   * crashed) but never acknowledged: delivery to the drain is at least once.
   */
  pull(max: number): Promise<PulledBatch>;
  /**
   * Removes delivered events for good, moving their usage from the accounts' undrained tallies into
   * their budgets (the drain has just charged them in PostgreSQL, so the funds are that much
   * smaller). Unknown ids are ignored.
   */
  ack(ids: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** Seven days: how long a request id is remembered after it was recorded. */
export const DEFAULT_DEDUPE_TTL_SECONDS = 7 * 24 * 3600;

// Compact wire form: a JSON array in a fixed field order, amounts as decimal strings; then, for
// events of the gateway, the pool ("b" bucket, "c" cash), the API key id and the model (or null).
type EventTuple = [string, string, string, string, number, number, number, string, string, "c" | "l", number, ("b" | "c")?, (string | null)?, (string | null)?];

/** Serializes an event compactly (one JSON array). */
export function encodeEvent(e: UsageEvent): string {
  const tuple: EventTuple = [
    e.requestId, e.accountId, e.endpoint, e.service, e.unitsIn, e.unitsOut, e.tokens,
    e.costAusd.toString(), e.costWei.toString(), e.billedIn === "cxpt" ? "c" : "l", e.recordedAt,
  ];
  if (e.pool !== undefined || e.apiKeyId !== undefined || e.model !== undefined) tuple.push(e.pool === "bucket" ? "b" : "c", e.apiKeyId ?? null, e.model ?? null);
  return JSON.stringify(tuple);
}

/** Parses `encodeEvent` output; throws on anything else (a corrupt store must not be billed from). */
export function decodeEvent(text: string): UsageEvent {
  return tupleToEvent(JSON.parse(text));
}

/** Builds an event from its decoded tuple (the embedded journal nests tuples in its lines). */
export function tupleToEvent(tuple: unknown): UsageEvent {
  const t = tuple as EventTuple;
  const ok =
    Array.isArray(t) && (t.length === 11 || (t.length === 14 && (t[11] === "b" || t[11] === "c") && [12, 13].every((i) => t[i] === null || typeof t[i] === "string"))) &&
    [0, 1, 2, 3, 7, 8].every((i) => typeof t[i] === "string") &&
    [4, 5, 6, 10].every((i) => Number.isSafeInteger(t[i])) &&
    (t[9] === "c" || t[9] === "l");
  if (!ok) throw new Error(`malformed usage event: ${JSON.stringify(tuple)}`);
  return {
    requestId: t[0], accountId: t[1], endpoint: t[2], service: t[3],
    unitsIn: t[4], unitsOut: t[5], tokens: t[6],
    costAusd: BigInt(t[7]), costWei: BigInt(t[8]), billedIn: t[9] === "c" ? "cxpt" : "legacy", recordedAt: t[10],
    ...(t[11] === "b" ? { pool: "bucket" as const } : {}),
    ...(typeof t[12] === "string" ? { apiKeyId: t[12] } : {}),
    ...(typeof t[13] === "string" ? { model: t[13] } : {}),
  };
}

/** The scoped id of a request: request ids are the client's, unique per account, never across accounts. */
export const scopedRequestId = (accountId: string, requestId: string): string => `${accountId.toLowerCase()}:${requestId}`;

/** What an event counts against its API key's monthly limit until drained: its CXPT cost in CASH_UNITs. */
export const keyUnits = (e: UsageEvent): number => (e.apiKeyId === undefined ? 0 : unitsUp(e.costWei));

/** What an event counts for in its pool until drained: its tokens (bucket) or its cost in CASH_UNITs. */
export function usedAmount(e: UsageEvent): number {
  return e.pool === "bucket" ? e.tokens : unitsUp(e.billedIn === "legacy" ? e.costAusd : e.costWei);
}
