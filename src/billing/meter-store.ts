// The metering store: an idempotent, durable queue of usage events between the API (which records)
// and the drain (which moves them into PostgreSQL). Two implementations with the same guarantees:
// Redis (meter-store-redis.ts) and an embedded in-process store with a journal file
// (meter-store-embedded.ts).

/** How an event is paid: CXPT (credits, bucket, PAYG) or the legacy off-chain USD credits (chain off). */
export type BilledIn = "cxpt" | "legacy";

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
}

/** Events handed to the drain, with the store ids to acknowledge once they are committed. */
export interface PulledBatch {
  readonly ids: readonly string[];
  readonly events: readonly UsageEvent[];
}

export interface MeterStore {
  /**
   * Records each event atomically: true when newly recorded, false when its request id was already
   * recorded (within the dedupe window, ≥ 7 days by default). Resolved = durable in the store.
   */
  record(events: readonly UsageEvent[]): Promise<boolean[]>;
  /**
   * The oldest unacknowledged events, at most `max`, including events pulled earlier (by a drain that
   * crashed) but never acknowledged: delivery to the drain is at least once.
   */
  pull(max: number): Promise<PulledBatch>;
  /** Removes delivered events for good. Unknown ids are ignored. */
  ack(ids: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** Seven days: how long a request id is remembered after it was recorded. */
export const DEFAULT_DEDUPE_TTL_SECONDS = 7 * 24 * 3600;

// Compact wire form: a JSON array in a fixed field order, amounts as decimal strings.
type EventTuple = [string, string, string, string, number, number, number, string, string, "c" | "l", number];

/** Serializes an event compactly (one JSON array). */
export function encodeEvent(e: UsageEvent): string {
  const tuple: EventTuple = [
    e.requestId, e.accountId, e.endpoint, e.service, e.unitsIn, e.unitsOut, e.tokens,
    e.costAusd.toString(), e.costWei.toString(), e.billedIn === "cxpt" ? "c" : "l", e.recordedAt,
  ];
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
    Array.isArray(t) && t.length === 11 &&
    [0, 1, 2, 3, 7, 8].every((i) => typeof t[i] === "string") &&
    [4, 5, 6, 10].every((i) => Number.isSafeInteger(t[i])) &&
    (t[9] === "c" || t[9] === "l");
  if (!ok) throw new Error(`malformed usage event: ${JSON.stringify(tuple)}`);
  return {
    requestId: t[0], accountId: t[1], endpoint: t[2], service: t[3],
    unitsIn: t[4], unitsOut: t[5], tokens: t[6],
    costAusd: BigInt(t[7]), costWei: BigInt(t[8]), billedIn: t[9] === "c" ? "cxpt" : "legacy", recordedAt: t[10],
  };
}
