// Sample API answers for the provider dashboard's component tests.
import type { Earnings, EpochEarnings } from "./data.ts";

const CXPT = 10n ** 18n;

export const epoch = (n: number, earnedCxpt: bigint, releasedCxpt = earnedCxpt): EpochEarnings => ({
  epoch: n,
  start: `2026-03-0${n}T00:00:00.000Z`,
  end: `2026-03-0${n + 1}T00:00:00.000Z`,
  points: "4485000",
  totalPoints: "5085000",
  budgetWei: (100n * CXPT).toString(),
  entitlementWei: (earnedCxpt * CXPT).toString(),
  releasedWei: (releasedCxpt * CXPT).toString(),
  folded: false,
});

export const earnings: Earnings = {
  wallet: "0x1CBd3b2770909D4e10f157cABC84C7264073C9Ec",
  pool: "providers",
  pendingWei: (12n * CXPT).toString(),
  poolPendingWei: (12n * CXPT).toString(),
  claimedWei: (30n * CXPT).toString(),
  currentEpoch: 3,
  epochs: [epoch(1, 30n), epoch(2, 8n), epoch(3, 4n, 2n)],
  pointsBreakdown: {
    epoch: 3,
    from: "2026-03-02T00:00:00.000Z",
    to: "2026-03-03T00:00:00.000Z",
    tiers: [
      { tier: "open-ocean", requests: "20", basePoints: "1400000" },
      { tier: "tide-pool", requests: "10", basePoints: "100000" },
    ],
    basePoints: "1500000",
    steps: [
      { multiplier: "uptime", bps: "13000", points: "1950000" },
      { multiplier: "latency", bps: "11500", points: "2242500" },
      { multiplier: "demand", bps: "20000", points: "4485000" },
    ],
    points: "4485000",
    uploadedPoints: "4485000",
  },
  performance: { from: "2026-03-02T00:00:00.000Z", to: "2026-03-03T00:00:00.000Z", uptimeBps: 9995, p50LatencyMs: 250, servedRequests: "30" },
};
