// The meter: prices a finished request and captures it in the metering store (recording the usage
// and ending the request's hold). Calls are collected and sent as ONE store call (for Redis: one
// script call), each caller getting its own result: those made in the same turn of the event loop,
// and, while a store call is in flight, every call made until it returns (a busy server makes fewer,
// larger calls instead of one per request). What was captured but not yet drained is counted in the
// store, per account, where the gate's next hold sees it from every instance.
import { badRequest } from "../errors.ts";
import type { BilledIn, MeterStore, Pool, UsageEvent } from "./meter-store.ts";
import type { PriceSource } from "./price-source.ts";
import { ausdToWei, priceRequest, type PriceInput, type PriceTable } from "./pricing.ts";

/** A finished request to meter. */
export interface UsageInput extends PriceInput {
  /** Idempotency key: the same request id is recorded and charged once. */
  readonly requestId: string;
  readonly accountId: string;
  readonly endpoint: string;
  readonly billedIn: BilledIn;
  /** The pool the gate reserved it in (its hold is ended by the capture); absent: cash. */
  readonly pool?: Pool;
  readonly apiKeyId?: string | undefined;
  readonly model?: string | undefined;
}

export interface UsageResult {
  /** false: a duplicate request id, not charged again. */
  readonly recorded: boolean;
  readonly costAusd: bigint;
  /** 0 for legacy billing. */
  readonly costWei: bigint;
}

/** What a request costs, in every unit the gate may check it in. */
export interface Quote {
  /** Units that a subscription bucket can cover (0 for services not priced per token). */
  readonly tokens: number;
  readonly ausd: bigint;
  /** At the current CXPT/USD rate. */
  readonly wei: bigint;
}

export interface Meter {
  /** Prices and records a request (micro-batched with concurrent calls). */
  recordUsage(input: UsageInput): Promise<UsageResult>;
  /** Prices a request without recording it (what the gate requires up front). */
  quote(input: PriceInput): Quote;
  /** Resolves once every call made so far has reached the store. */
  flush(): Promise<void>;
}

export interface MeterConfig {
  readonly store: MeterStore;
  /** The current price table (admin-configurable, so read per request). */
  readonly prices: () => PriceTable;
  readonly priceSource: PriceSource;
  /**
   * Most events per store call; default 1000. Full batches are sent at once (several in flight);
   * a partial batch waits while a store call is in flight.
   */
  readonly maxBatch?: number;
  readonly now?: () => number;
}

interface Call {
  readonly event: UsageEvent;
  readonly resolve: (result: UsageResult) => void;
  readonly reject: (error: unknown) => void;
}

/** An account-scoped request id: a UUID, ':' and the client's id of at most 200 characters. */
const MAX_ID_LENGTH = 240;

export function createMeter(config: MeterConfig): Meter {
  const { store, prices, priceSource, maxBatch = 1000, now = Date.now } = config;
  let queue: Call[] = [];
  let scheduled = false;
  const inflight = new Set<Promise<void>>();

  function quote(input: PriceInput): Quote {
    const { costAusd, tokens } = priceRequest(prices(), input);
    return { tokens, ausd: costAusd, wei: ausdToWei(costAusd, priceSource.cxptUsd()) };
  }

  function toEvent(input: UsageInput): UsageEvent {
    const { requestId, accountId, endpoint, billedIn } = input;
    for (const [name, value] of [["requestId", requestId], ["accountId", accountId], ["endpoint", endpoint]] as const)
      if (typeof value !== "string" || value === "" || value.length > MAX_ID_LENGTH)
        throw badRequest("INVALID_USAGE", `${name} must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
    if (billedIn !== "cxpt" && billedIn !== "legacy") throw badRequest("INVALID_USAGE", "billedIn must be cxpt or legacy");
    const { costAusd, tokens } = priceRequest(prices(), input);
    return {
      requestId, accountId, endpoint, billedIn, tokens, costAusd,
      service: input.service,
      unitsIn: input.unitsIn,
      unitsOut: input.unitsOut,
      costWei: billedIn === "cxpt" ? ausdToWei(costAusd, priceSource.cxptUsd()) : 0n,
      recordedAt: now(),
      ...(input.pool !== undefined ? { pool: input.pool } : {}),
      ...(input.apiKeyId !== undefined ? { apiKeyId: input.apiKeyId } : {}),
      ...(input.model !== undefined ? { model: input.model.slice(0, 128) } : {}),
    };
  }

  function send(calls: Call[]): void {
    const done = store.record(calls.map((c) => c.event)).then(
      (results) => {
        for (let i = 0; i < calls.length; i++) {
          const { event, resolve } = calls[i];
          resolve({ recorded: results[i], costAusd: event.costAusd, costWei: event.costWei });
        }
      },
      (error: unknown) => {
        for (const call of calls) call.reject(error);
      },
    );
    inflight.add(done);
    void done.finally(() => {
      inflight.delete(done);
      if (queue.length > 0) flushQueue(); // what queued up meanwhile goes out now, as one call
    });
  }

  function flushQueue(): void {
    scheduled = false;
    let sent = 0;
    while (queue.length - sent >= maxBatch) send(queue.slice(sent, (sent += maxBatch)));
    // A partial batch waits for the call in flight: the queue grows until it returns.
    if (queue.length > sent && inflight.size === 0) send(queue.slice(sent, (sent = queue.length)));
    queue = sent === queue.length ? [] : queue.slice(sent);
  }

  return {
    recordUsage(input: UsageInput): Promise<UsageResult> {
      let event: UsageEvent;
      try {
        event = toEvent(input);
      } catch (error) {
        return Promise.reject(error);
      }
      return new Promise<UsageResult>((resolve, reject) => {
        queue.push({ event, resolve, reject });
        // With a call in flight, its return flushes the queue (so does a full batch, at once).
        if (queue.length >= maxBatch) flushQueue();
        else if (!scheduled && inflight.size === 0) {
          scheduled = true;
          setImmediate(flushQueue);
        }
      });
    },

    quote,

    async flush(): Promise<void> {
      while (queue.length > 0 || inflight.size > 0) {
        if (inflight.size === 0) flushQueue();
        await Promise.allSettled([...inflight]);
      }
    },
  };
}
