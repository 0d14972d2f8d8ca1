import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, it } from "node:test";
import { createMeter, type Meter, type UsageInput } from "../../../../src/billing/meter.ts";
import type { MeterStore } from "../../../../src/billing/meter-store.ts";
import { fixedPriceSource } from "../../../../src/billing/price-source.ts";
import { DEFAULT_PRICE_TABLE, ausdToWei, parseDecimal, priceRequest } from "../../../../src/billing/pricing.ts";
import { AppError } from "../../../../src/errors.ts";
import { unitsUp } from "../../../../src/billing/funds.ts";
import { STORE_KINDS, instrument, type StoreHarness } from "./helpers.ts";

const TEN_CENTS = parseDecimal("0.10");

/** The store's undrained tally of an account: bucket tokens and cash units. */
async function tally(store: MeterStore, accountId: string) {
  const u = await store.usage(accountId);
  return { tokens: u.undrainedTokens, units: u.undrainedUnits };
}

const chat = (fields: Partial<UsageInput> = {}): UsageInput => ({
  requestId: randomUUID(),
  accountId: "acc-1",
  endpoint: "/v1/chat/completions",
  service: "chat",
  tier: "open-ocean",
  unitsIn: 500,
  unitsOut: 250,
  billedIn: "cxpt",
  ...fields,
});

for (const kind of STORE_KINDS) {
  describe(`meter on the ${kind.name} store`, () => {
    let harness: StoreHarness;
    let store: ReturnType<typeof instrument>;
    let meter: Meter;
    let clock: number;
    beforeEach(async () => {
      clock = 1_750_000_000_000;
      harness = kind.create();
      store = instrument(await harness.open());
      meter = createMeter({
        store,
        prices: () => DEFAULT_PRICE_TABLE,
        priceSource: fixedPriceSource("0.10"),
        now: () => clock,
        maxBatch: 100,
      });
    });
    afterEach(async () => {
      await store.close();
      await harness.cleanup();
    });

    it("sends calls made in the same turn as ONE store call, each caller getting its own result", async () => {
      const inputs = Array.from({ length: 80 }, (_, i) => chat({ unitsIn: i, unitsOut: 2 * i, accountId: `acc-${i % 3}` }));
      const results = await Promise.all(inputs.map((input) => meter.recordUsage(input)));
      assert.deepEqual(store.recordCalls, [80]);
      results.forEach((result, i) => {
        const costAusd = priceRequest(DEFAULT_PRICE_TABLE, inputs[i]).costAusd;
        assert.deepEqual(result, { recorded: true, costAusd, costWei: ausdToWei(costAusd, TEN_CENTS) });
      });
      const { events } = await store.pull(1000);
      assert.deepEqual(events.map((e) => [e.requestId, e.unitsIn, e.recordedAt]), inputs.map((i) => [i.requestId, i.unitsIn, clock]));
    });

    it("splits a burst larger than maxBatch into several calls in the same turn", async () => {
      await Promise.all(Array.from({ length: 250 }, () => meter.recordUsage(chat())));
      assert.deepEqual(store.recordCalls, [100, 100, 50]);
    });

    it("records a request id once, within one batch and across batches", async () => {
      const input = chat();
      const [first, second] = await Promise.all([meter.recordUsage(input), meter.recordUsage(input)]);
      assert.equal(first.recorded, true);
      assert.equal(second.recorded, false);
      assert.equal(second.costWei, first.costWei, "the duplicate still learns the price");
      assert.equal((await meter.recordUsage(input)).recorded, false);
      assert.equal((await store.pull(10)).events.length, 1);
    });

    it("keeps an undrained tally per account in the store that duplicates do not add to, until the drain acknowledges", async () => {
      const a = chat({ accountId: "acc-a" });
      const b = chat({ accountId: "acc-a", service: "tts", tier: undefined, unitsIn: 0, unitsOut: 60, pool: "cash" });
      const c = chat({ accountId: "acc-b", billedIn: "legacy" });
      const d = chat({ accountId: "acc-b", pool: "bucket" });
      const [ra, rb, rc] = await Promise.all([a, b, c, a, d].map((i) => meter.recordUsage(i)));
      assert.deepEqual(await tally(store, "acc-a"), { tokens: 0, units: unitsUp(ra.costWei) + unitsUp(rb.costWei) });
      assert.equal(rc.costWei, 0n, "legacy usage is never billed in CXPT");
      assert.deepEqual(await tally(store, "acc-b"), { tokens: 750, units: unitsUp(rc.costAusd) }, "bucket usage counts its tokens, legacy its USD");
      assert.deepEqual(await tally(store, "acc-c"), { tokens: 0, units: 0 });

      const pulled = await store.pull(10);
      assert.equal(pulled.events.length, 4);
      await store.ack(pulled.ids.slice(0, 1));
      await store.ack(pulled.ids.slice(0, 1)); // acknowledged twice: counted off once
      assert.deepEqual(await tally(store, "acc-a"), { tokens: 0, units: unitsUp(rb.costWei) });
      await store.ack(pulled.ids);
      assert.deepEqual(await tally(store, "acc-a"), { tokens: 0, units: 0 });
      assert.deepEqual(await tally(store, "acc-b"), { tokens: 0, units: 0 });
    });

    it("rejects invalid usage without sending it", async () => {
      const bad: [Partial<UsageInput>, string][] = [
        [{ requestId: "" }, "INVALID_USAGE"],
        [{ requestId: "x".repeat(241) }, "INVALID_USAGE"],
        [{ accountId: "" }, "INVALID_USAGE"],
        [{ billedIn: "usd" as never }, "INVALID_USAGE"],
        [{ tier: "abyss" }, "UNKNOWN_TIER"],
        [{ service: "video" }, "UNKNOWN_SERVICE"],
        [{ unitsIn: -1 }, "INVALID_UNITS"],
      ];
      for (const [fields, code] of bad)
        await assert.rejects(meter.recordUsage(chat(fields)), (e: unknown) => e instanceof AppError && e.code === code && e.status === 400);
      assert.deepEqual(store.recordCalls, []);
    });

    it("quotes without recording", () => {
      const quote = meter.quote({ service: "chat", tier: "tide-pool", unitsIn: 1000, unitsOut: 1000 });
      assert.deepEqual(quote, { tokens: 2000, ausd: parseDecimal("0.00045"), wei: parseDecimal("0.0045") });
      assert.deepEqual(store.recordCalls, []);
    });

    it("flush waits until every call reached the store", async () => {
      const pending = Array.from({ length: 10 }, () => meter.recordUsage(chat()));
      await meter.flush();
      assert.equal((await store.pull(100)).events.length, 10);
      await Promise.all(pending);
    });
  });
}

describe("meter: store failures", () => {
  it("rejects every call of the failed batch", async () => {
    const down = async (): Promise<never> => {
      throw new Error("redis down");
    };
    const failing: MeterStore = {
      hold: down,
      release: down,
      putBudget: down,
      invalidate: down,
      putKeyBudget: down,
      invalidateKey: down,
      usage: down,
      record: down,
      pull: async () => ({ ids: [], events: [] }),
      ack: async () => {},
      close: async () => {},
    };
    const meter = createMeter({ store: failing, prices: () => DEFAULT_PRICE_TABLE, priceSource: fixedPriceSource("0.10") });
    const calls = Array.from({ length: 5 }, () => meter.recordUsage(chat()));
    for (const call of calls) await assert.rejects(call, /redis down/);
  });

  it("prices with the table and rate current at the call", async () => {
    let table = DEFAULT_PRICE_TABLE;
    let rate = "0.10";
    const harness = STORE_KINDS.find((k) => k.name === "embedded (memory)")!.create();
    const store = await harness.open();
    const meter = createMeter({ store, prices: () => table, priceSource: { cxptUsd: () => parseDecimal(rate), refresh: async () => {}, close: () => {} } });
    const input = { service: "scrape", unitsIn: 1, unitsOut: 0 };
    assert.equal(meter.quote(input).wei, parseDecimal("0.006"));
    rate = "0.20";
    assert.equal(meter.quote(input).wei, parseDecimal("0.003"));
    table = { ...table, services: new Map([["scrape", { unit: "page", per: 1n, inputAusd: parseDecimal("0.001"), outputAusd: 0n }]]) };
    assert.equal((await meter.recordUsage(chat({ ...input, tier: undefined }))).costWei, parseDecimal("0.005"));
    await store.close();
  });
});
