// Where the CXPT/USD rate comes from: a fixed rate (local development) or an HTTP JSON feed the
// admin configures. Reads are synchronous from a cached value so pricing never waits on I/O.
import { AppError } from "../errors.ts";
import { parseDecimal } from "./pricing.ts";

/** A CXPT/USD rate, cached. */
export interface PriceSource {
  /** atto-USD per CXPT (1e18 wei); synchronous, the last good value. */
  cxptUsd(): bigint;
  /** Fetches the rate now; on failure throws and keeps the last good value. */
  refresh(): Promise<void>;
  /** Stops background refreshing. */
  close(): void;
}

/** Parses a positive USD price ("0.10", or a JSON number) into atto-USD per CXPT. */
export function parseCxptUsd(value: unknown): bigint {
  const text = typeof value === "number" && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== "string") throw new AppError("INVALID_PRICE", `not a price: ${JSON.stringify(value)}`, 502);
  const ausd = parseDecimal(text);
  if (ausd <= 0n) throw new AppError("INVALID_PRICE", `the CXPT price must be positive, got ${text}`, 502);
  return ausd;
}

/** A fixed rate from configuration, e.g. "0.10" USD per CXPT in local development. */
export function fixedPriceSource(usd: string): PriceSource {
  const ausd = parseCxptUsd(usd);
  return { cxptUsd: () => ausd, refresh: async () => {}, close: () => {} };
}

export interface HttpPriceSourceConfig {
  readonly url: string;
  /** Dot path to the price in the JSON body ("data.cxpt.usd", "prices.0.usd"); "" for the body itself. */
  readonly path: string;
  /** Background refresh period; default 60 s. */
  readonly intervalMs?: number;
  /** Per-request timeout; default 5 s. */
  readonly timeoutMs?: number;
  /** Used when the first fetch fails, so a feed outage does not stop the service from starting. */
  readonly initialUsd?: string;
  /** Called with each failed background refresh (the last good value stays in use). */
  readonly onError?: (error: unknown) => void;
}

/** Reads the value at a dot path of parsed JSON. */
export function valueAtPath(json: unknown, path: string): unknown {
  if (path === "") return json;
  let value = json;
  for (const key of path.split(".")) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/**
 * An HTTP JSON price feed: fetched once before it resolves (falling back to `initialUsd`), then
 * every `intervalMs` in the background. A failed, non-positive or malformed answer keeps the last
 * good value.
 */
export async function openHttpPriceSource(config: HttpPriceSourceConfig): Promise<PriceSource> {
  const { url, path, intervalMs = 60_000, timeoutMs = 5_000, onError = () => {} } = config;
  let current: bigint | undefined;

  async function refresh(): Promise<void> {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: "application/json" } });
    if (!response.ok) throw new AppError("PRICE_SOURCE_FAILED", `${url} answered ${response.status}`, 502);
    current = parseCxptUsd(valueAtPath(await response.json(), path));
  }

  try {
    await refresh();
  } catch (error) {
    if (config.initialUsd === undefined) throw error;
    current = parseCxptUsd(config.initialUsd);
    onError(error);
  }
  const timer = setInterval(() => refresh().catch(onError), intervalMs);
  timer.unref(); // a price feed alone must not keep the process alive

  return {
    cxptUsd: () => current as bigint,
    refresh,
    close: () => clearInterval(timer),
  };
}
