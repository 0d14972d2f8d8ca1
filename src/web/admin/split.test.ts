import { describe, expect, it } from "vitest";
import { isValidSplit, rebalance, SPLIT_KEYS, TOTAL_BPS, type SplitBps } from "./split.ts";

const sum = (s: SplitBps) => SPLIT_KEYS.reduce((total, k) => total + s[k], 0);

describe("rebalance", () => {
  it("gives the rest to the other two shares in proportion to what they had", () => {
    expect(rebalance({ protocolBps: 3000, providersBps: 5500, usersBps: 1500 }, "protocolBps", 2000)).toEqual({ protocolBps: 2000, providersBps: 6285, usersBps: 1715 });
  });

  it("splits the rest evenly when the other two had nothing, and clamps to 0–100 %", () => {
    expect(rebalance({ protocolBps: 10_000, providersBps: 0, usersBps: 0 }, "protocolBps", 4001)).toEqual({ protocolBps: 4001, providersBps: 2999, usersBps: 3000 });
    expect(rebalance({ protocolBps: 3000, providersBps: 5500, usersBps: 1500 }, "usersBps", 12_345)).toEqual({ protocolBps: 0, providersBps: 0, usersBps: 10_000 });
    expect(rebalance({ protocolBps: 3000, providersBps: 5500, usersBps: 1500 }, "usersBps", -5).usersBps).toBe(0);
    expect(rebalance({ protocolBps: 3000, providersBps: 5500, usersBps: 1500 }, "usersBps", Number.NaN).usersBps).toBe(0);
  });

  it("always sums to 100 % whatever the sequence of moves", () => {
    let split: SplitBps = { protocolBps: 3000, providersBps: 5500, usersBps: 1500 };
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      split = rebalance(split, SPLIT_KEYS[next() % 3]!, (next() % 12_000) - 1000 + (next() % 100) / 7);
      expect(sum(split)).toBe(TOTAL_BPS);
      expect(isValidSplit(split)).toBe(true);
    }
  });
});
