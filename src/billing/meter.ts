// The meter: prices a finished request and records it in the metering store. Calls are collected and
// sent as ONE store call (for Redis: one script call), each caller getting its own result: those made
// in the same turn of the event loop, and, while a store call is in flight, every call made until it
// returns (a busy server makes fewer, larger calls instead of one per request). It also keeps, per
// account, what was recorded but not yet drained into PostgreSQL, which the gate adds to the
// account's committed spending.
import { badRequest } from "../errors.ts";
import type { BilledIn, MeterStore, UsageEvent } from "./meter-store.ts";
import type { PriceSource } from "./price-source.ts";
import { ausdToWei, priceRequest, type PriceInput, type PriceTable } from "./pricing.ts";

/** A finished request to meter. */
export interface UsageInput extends PriceInput {
  /** Idempotency key: the same request id is recorded and charged once. */
  readonly requestId: string;
  readonly accountId: string;
  readonly endpoint: string;
  readonly billedIn: BilledIn;
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

/** Recorded but not yet drained, per account: tokens, wei of CXPT events, atto-USD of legacy events. */
export interface Undrained {
  readonly tokens: number;
  readonly wei: bigint;
  readonly ausd: bigint;
}

export interface Meter {
  /** Prices and records a request (micro-batched with concurrent calls). */
  recordUsage(input: UsageInput): Promise<UsageResult>;
  /** Prices a request without recording it (what the gate requires up front). */
  quote(input: PriceInput): Quote;
  /** The account's undrained usage; undefined when there is none. No I/O. */
  undrained(accountId: string): Undrained | undefined;
  /** Drops drained events from the undrained tally (request ids this meter did not record are ignored). */
  settle(requestIds: Iterable<string>): void;
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
  /**
   * Undrained entries older than this are dropped from the tally even if this process never saw them
   * drained (another instance drained them, or the drain raced the recording); default 15 min.
   */
  readonly undrainedTtlMs?: number;
  readonly now?: () => number;
}

interface Call {
  readonly event: UsageEvent;
  readonly resolve: (result: UsageResult) => void;
  readonly reject: (error: unknown) => void;
}

interface TallyEntry {
  readonly accountId: string;
  readonly tokens: number;
  readonly wei: bigint;
  readonly ausd: bigint;
  readonly at: number;
}

interface AccountTally {
  tokens: number;
  wei: bigint;
  ausd: bigint;
  count: number;
}

const MAX_ID_LENGTH = 200;

export function createMeter(config: MeterConfig): Meter {
  const { store, prices, priceSource, maxBatch = 1000, undrainedTtlMs = 15 * 60_000, now = Date.now } = config;
  let queue: Call[] = [];
  let scheduled = false;
  const inflight = new Set<Promise<void>>();
  const byRequest = new Map<string, TallyEntry>(); // insertion order = recording order
  const byAccount = new Map<string, AccountTally>();

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
    };
  }

  function addToTally(event: UsageEvent): void {
    if (byRequest.has(event.requestId)) return;
    const entry: TallyEntry = {
      accountId: event.accountId,
      tokens: event.tokens,
      wei: event.costWei,
      ausd: event.billedIn === "legacy" ? event.costAusd : 0n,
      at: event.recordedAt,
    };
    byRequest.set(event.requestId, entry);
    const tally = byAccount.get(entry.accountId);
    if (tally === undefined) byAccount.set(entry.accountId, { tokens: entry.tokens, wei: entry.wei, ausd: entry.ausd, count: 1 });
    else {
      tally.tokens += entry.tokens;
      tally.wei += entry.wei;
      tally.ausd += entry.ausd;
      tally.count++;
    }
  }

  function removeFromTally(requestId: string): void {
    const entry = byRequest.get(requestId);
    if (entry === undefined) return;
    byRequest.delete(requestId);
    const tally = byAccount.get(entry.accountId) as AccountTally;
    if (--tally.count === 0) byAccount.delete(entry.accountId);
    else {
      tally.tokens -= entry.tokens;
      tally.wei -= entry.wei;
      tally.ausd -= entry.ausd;
    }
  }

  function expireTally(): void {
    const cutoff = now() - undrainedTtlMs;
    for (const [requestId, entry] of byRequest) {
      if (entry.at > cutoff) break;
      removeFromTally(requestId);
    }
  }

  function send(calls: Call[]): void {
    const done = store.record(calls.map((c) => c.event)).then(
      (results) => {
        for (let i = 0; i < calls.length; i++) {
          const { event, resolve } = calls[i];
          if (results[i]) addToTally(event);
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
    expireTally();
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

    undrained: (accountId) => byAccount.get(accountId),

    settle(requestIds: Iterable<string>): void {
      for (const requestId of requestIds) removeFromTally(requestId);
      expireTally();
    },

    async flush(): Promise<void> {
      while (queue.length > 0 || inflight.size > 0) {
        if (inflight.size === 0) flushQueue();
        await Promise.allSettled([...inflight]);
      }
    },
  };
}
