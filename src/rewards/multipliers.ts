// Provider reward multipliers (PRICING.md): exact integer math. A multiplier is a whole number of
// basis points (10_000 = ×1.00); base points are scaled by POINTS_SCALE (10^4, so 0.5 points =
// 5_000). Tables are plain data, so the admin can configure them; DEFAULT_MULTIPLIERS holds the
// published defaults. PRICING.md publishes only the ranges and the top steps (≥ 99.95 % uptime
// → 1.30, p50 < 300 ms → 1.15); the intermediate steps below are this backend's defaults.

/** Basis points of ×1.00. */
export const BPS = 10_000n;
/** Points are stored ×10^4: 1 point = 10_000 scaled points. */
export const POINTS_SCALE = 10_000n;

/** One step: values at or past `threshold` earn `multiplierBps`. */
export interface Step {
  readonly threshold: number;
  readonly multiplierBps: number;
}

export interface MultiplierTables {
  /** Scaled base points (× POINTS_SCALE) per request, by tier. */
  readonly basePoints: Readonly<Record<string, bigint>>;
  /** Uptime steps, highest threshold first: uptime (bps of 100 %) ≥ threshold earns the step. */
  readonly uptime: { readonly steps: readonly Step[]; readonly floorBps: number };
  /** Latency steps, lowest threshold first: p50 (ms) < threshold earns the step. */
  readonly latency: { readonly steps: readonly Step[]; readonly floorBps: number };
  /** The demand multiplier's bounds (bps); see demandBps. */
  readonly demand: { readonly minBps: number; readonly maxBps: number };
}

export const DEFAULT_MULTIPLIERS: MultiplierTables = {
  basePoints: { "tide-pool": 10_000n, "blue-surge": 30_000n, "open-ocean": 70_000n, "mariana-depth": 150_000n },
  uptime: {
    steps: [
      { threshold: 9995, multiplierBps: 13_000 },
      { threshold: 9990, multiplierBps: 12_000 },
      { threshold: 9950, multiplierBps: 11_000 },
      { threshold: 9900, multiplierBps: 10_000 },
      { threshold: 9800, multiplierBps: 9_000 },
    ],
    floorBps: 8_000,
  },
  latency: {
    steps: [
      { threshold: 300, multiplierBps: 11_500 },
      { threshold: 500, multiplierBps: 10_500 },
      { threshold: 1000, multiplierBps: 10_000 },
      { threshold: 2000, multiplierBps: 9_500 },
    ],
    floorBps: 8_500,
  },
  demand: { minBps: 5_000, maxBps: 20_000 },
};

/** The uptime multiplier (bps) for `uptimeBps` (9995 = 99.95 %). */
export function uptimeBps(tables: MultiplierTables, uptime: number): bigint {
  const step = tables.uptime.steps.find((s) => uptime >= s.threshold);
  return BigInt(step?.multiplierBps ?? tables.uptime.floorBps);
}

/** The latency multiplier (bps) for a p50 of `p50Ms`. */
export function latencyBps(tables: MultiplierTables, p50Ms: number): bigint {
  const step = tables.latency.steps.find((s) => p50Ms < s.threshold);
  return BigInt(step?.multiplierBps ?? tables.latency.floorBps);
}

/**
 * The network demand multiplier (bps) of an hour: the hour's network requests over the mean
 * hourly requests of the window (`totalRequests / hours`), floored to a basis point and clamped
 * to the table's bounds. An empty window gives ×1.00.
 */
export function demandBps(tables: MultiplierTables, hourRequests: bigint, totalRequests: bigint, hours: bigint): bigint {
  if (totalRequests === 0n || hours === 0n) return BPS;
  const raw = (hourRequests * hours * BPS) / totalRequests;
  const min = BigInt(tables.demand.minBps);
  const max = BigInt(tables.demand.maxBps);
  return raw < min ? min : raw > max ? max : raw;
}
