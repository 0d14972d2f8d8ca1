// providerBreakdowns: the rewards job's points (providerPoints) with the sums behind them, stage by
// stage, that the provider dashboard shows as "points by multiplier".
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getAddress } from "viem";
import { providerBreakdowns, providerPoints, type ProviderStats } from "../../../src/rewards/epoch.ts";
import { BPS } from "../../../src/rewards/multipliers.ts";

const P1 = getAddress("0x00000000000000000000000000000000000000a1");
const P2 = getAddress("0x00000000000000000000000000000000000000a2");
const h0 = new Date("2026-01-01T00:00:00Z");
const h1 = new Date("2026-01-01T01:00:00Z");

// 2 hours; network: 30 in h0, 10 in h1 → demand 1.5 and 0.5.
const stats: ProviderStats = {
  served: [
    { wallet: P1, tier: "open-ocean", hour: h0, requests: 20n },
    { wallet: P2, tier: "tide-pool", hour: h0, requests: 10n },
    { wallet: P2, tier: "tide-pool", hour: h1, requests: 10n },
    { wallet: P1, tier: "tide-pool", hour: h1, requests: 0n },
  ],
  health: [{ wallet: P1, day: "2026-01-01", uptimeBps: 9995, p50Ms: 250 }],
  hours: 2n,
};

describe("provider points breakdown", () => {
  it("gives every provider the points providerPoints gives it", () => {
    const points = new Map(providerPoints(stats).map((e) => [e.wallet, e.points]));
    for (const b of providerBreakdowns(stats)) assert.equal(b.points, points.get(b.wallet));
  });

  it("adds one multiplier per stage, exactly, and divides once", () => {
    const [p1, p2] = providerBreakdowns(stats);
    assert.deepEqual(p1, {
      wallet: P1,
      tiers: [
        { tier: "open-ocean", requests: 20n, basePoints: 1_400_000n },
        { tier: "tide-pool", requests: 0n, basePoints: 0n },
      ],
      base: 1_400_000n,
      withUptime: 1_400_000n * 13_000n,
      withLatency: 1_400_000n * 13_000n * 11_500n,
      withDemand: 1_400_000n * 13_000n * 11_500n * 15_000n,
      points: 3_139_500n,
    });
    // No health figures: the floors 0.80 and 0.85; demand 1.5 for one half and 0.5 for the other.
    assert.equal(p2!.base, 200_000n);
    assert.equal(p2!.withUptime, 200_000n * 8_000n);
    assert.equal(p2!.withLatency, 200_000n * 8_000n * 8_500n);
    assert.equal(p2!.withDemand, 100_000n * 8_000n * 8_500n * 15_000n + 100_000n * 8_000n * 8_500n * 5_000n);
    assert.equal(p2!.points, p2!.withDemand / BPS ** 3n);
    assert.equal(p2!.points, 136_000n);
  });

  it("rejects unknown tiers like the job", () => {
    assert.throws(() => providerBreakdowns({ served: [{ wallet: P1, tier: "nope", hour: h0, requests: 1n }], health: [], hours: 1n }), { code: "UNKNOWN_TIER" });
  });
});
