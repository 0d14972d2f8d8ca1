import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DEFAULT_PRICE_TABLE,
  DEFAULT_PRICE_TABLE_JSON,
  ausdToWei,
  formatDecimal,
  parseDecimal,
  parsePriceTable,
  priceRequest,
  priceTableToJson,
} from "../../../../src/billing/pricing.ts";
import { AppError } from "../../../../src/errors.ts";

const code = (expected: string) => (error: unknown) => error instanceof AppError && error.code === expected;

describe("pricing: decimals", () => {
  it("parses USD decimals exactly into atto-USD", () => {
    assert.equal(parseDecimal("0.00015"), 150_000_000_000_000n);
    assert.equal(parseDecimal("1.5e-4"), 150_000_000_000_000n);
    assert.equal(parseDecimal("0.10"), 100_000_000_000_000_000n);
    assert.equal(parseDecimal("12"), 12n * 10n ** 18n);
    assert.equal(parseDecimal("0.000000000000000001"), 1n);
    assert.equal(parseDecimal("0.1000000000000000000000"), 10n ** 17n, "trailing zeros beyond 18 decimals are exact");
    assert.equal(parseDecimal("2E3"), 2000n * 10n ** 18n);
  });

  it("refuses negatives, garbage and more precision than 18 decimals", () => {
    for (const bad of ["-1", "abc", "", "1.2.3", "0x10", "0.0000000000000000001", "1e-19", " "])
      assert.throws(() => parseDecimal(bad), code("INVALID_DECIMAL"), bad);
  });

  it("formats back", () => {
    assert.equal(formatDecimal(150_000_000_000_000n), "0.00015");
    assert.equal(formatDecimal(3n * 10n ** 18n), "3");
    assert.equal(formatDecimal(1n), "0.000000000000000001");
  });
});

describe("pricing: the published table", () => {
  // Expected atto-USD per single unit in and out, straight from PRICING.md (USD per 1K tokens × 1e15).
  const perToken = {
    "tide-pool": [150_000_000_000n, 300_000_000_000n],
    "blue-surge": [350_000_000_000n, 700_000_000_000n],
    "open-ocean": [1_200_000_000_000n, 2_400_000_000_000n],
    "mariana-depth": [3_500_000_000_000n, 7_000_000_000_000n],
  } as const;

  for (const [tier, [input, output]] of Object.entries(perToken)) {
    for (const service of ["chat", "completions"]) {
      it(`${service} on ${tier}: exact per token, in and out`, () => {
        assert.deepEqual(priceRequest(DEFAULT_PRICE_TABLE, { service, tier, unitsIn: 1, unitsOut: 0 }), { costAusd: input, tokens: 1 });
        assert.deepEqual(priceRequest(DEFAULT_PRICE_TABLE, { service, tier, unitsIn: 0, unitsOut: 1 }), { costAusd: output, tokens: 1 });
        assert.deepEqual(priceRequest(DEFAULT_PRICE_TABLE, { service, tier, unitsIn: 1234, unitsOut: 567 }), {
          costAusd: 1234n * input + 567n * output,
          tokens: 1801,
        });
      });
    }
  }

  it("1K tokens in + 1K out on tide-pool is 0.00045 USD", () => {
    const { costAusd } = priceRequest(DEFAULT_PRICE_TABLE, { service: "chat", tier: "tide-pool", unitsIn: 1000, unitsOut: 1000 });
    assert.equal(costAusd, parseDecimal("0.00045"));
  });

  it("embeddings: 0.00002 USD per 1K input tokens, tokens draw the bucket", () => {
    assert.deepEqual(priceRequest(DEFAULT_PRICE_TABLE, { service: "embeddings", unitsIn: 1000, unitsOut: 0 }), {
      costAusd: parseDecimal("0.00002"),
      tokens: 1000,
    });
    assert.equal(priceRequest(DEFAULT_PRICE_TABLE, { service: "embeddings", unitsIn: 1, unitsOut: 0 }).costAusd, 20_000_000_000n);
  });

  it("tts: 0.008 USD per minute, billed by the second and rounded up; not bucket tokens", () => {
    const tts = (seconds: number) => priceRequest(DEFAULT_PRICE_TABLE, { service: "tts", unitsIn: 0, unitsOut: seconds });
    assert.deepEqual(tts(60), { costAusd: parseDecimal("0.008"), tokens: 0 });
    assert.equal(tts(90).costAusd, parseDecimal("0.012"));
    // 0.008 / 60 = 0.000133333… USD: one second rounds UP to the next atto-USD.
    assert.equal(tts(1).costAusd, 133_333_333_333_334n);
    assert.equal(tts(7).costAusd, 933_333_333_333_334n); // ceil(7 × 8e15 / 60)
  });

  it("scrape: 0.0006 USD per page", () => {
    assert.deepEqual(priceRequest(DEFAULT_PRICE_TABLE, { service: "scrape", unitsIn: 3, unitsOut: 0 }), {
      costAusd: parseDecimal("0.0018"),
      tokens: 0,
    });
  });

  it("rounds a fractional total up by at most one atto-USD", () => {
    const table = parsePriceTable({
      tieredServices: [],
      tiers: {},
      services: { odd: { unit: "token", per: 1000, inputUsd: "0.000000000000000007", outputUsd: "0" } },
    });
    for (let units = 0; units < 3000; units += 37) {
      const { costAusd } = priceRequest(table, { service: "odd", unitsIn: units, unitsOut: 0 });
      const exactTimes1000 = BigInt(units) * 7n;
      assert.ok(costAusd * 1000n >= exactTimes1000, "never under-charges");
      assert.ok((costAusd - 1n) * 1000n < exactTimes1000, "over-charges by less than one unit");
    }
  });

  it("zero units cost nothing", () => {
    assert.equal(priceRequest(DEFAULT_PRICE_TABLE, { service: "chat", tier: "open-ocean", unitsIn: 0, unitsOut: 0 }).costAusd, 0n);
  });

  it("refuses unknown services and tiers and bad units", () => {
    assert.throws(() => priceRequest(DEFAULT_PRICE_TABLE, { service: "video", unitsIn: 1, unitsOut: 1 }), code("UNKNOWN_SERVICE"));
    assert.throws(() => priceRequest(DEFAULT_PRICE_TABLE, { service: "chat", unitsIn: 1, unitsOut: 1 }), code("UNKNOWN_TIER"));
    assert.throws(() => priceRequest(DEFAULT_PRICE_TABLE, { service: "chat", tier: "abyss", unitsIn: 1, unitsOut: 1 }), code("UNKNOWN_TIER"));
    for (const [unitsIn, unitsOut] of [[-1, 0], [0, 1.5], [Number.NaN, 0], [2 ** 53, 0]])
      assert.throws(() => priceRequest(DEFAULT_PRICE_TABLE, { service: "scrape", unitsIn, unitsOut }), code("INVALID_UNITS"));
  });
});

describe("pricing: CXPT conversion", () => {
  it("converts atto-USD to wei at the CXPT/USD rate", () => {
    const tenCents = parseDecimal("0.10");
    assert.equal(ausdToWei(parseDecimal("0.00045"), tenCents), 4_500_000_000_000_000n); // 0.0045 CXPT
    assert.equal(ausdToWei(parseDecimal("1"), parseDecimal("2")), 5n * 10n ** 17n);
  });

  it("rounds up, never under-charging", () => {
    const thirtyCents = parseDecimal("0.3");
    assert.equal(ausdToWei(1n, thirtyCents), 4n); // 3.33… wei
    assert.equal(ausdToWei(3n, thirtyCents), 10n);
    assert.equal(ausdToWei(0n, thirtyCents), 0n);
  });

  it("refuses a non-positive rate", () => {
    assert.throws(() => ausdToWei(1n, 0n), RangeError);
  });
});

describe("pricing: admin-configurable table", () => {
  it("round-trips through JSON", () => {
    const json = JSON.parse(JSON.stringify(priceTableToJson(DEFAULT_PRICE_TABLE)));
    assert.deepEqual(parsePriceTable(json), DEFAULT_PRICE_TABLE);
    assert.deepEqual(parsePriceTable(JSON.parse(JSON.stringify(DEFAULT_PRICE_TABLE_JSON))), DEFAULT_PRICE_TABLE);
  });

  it("applies a changed price", () => {
    const json = structuredClone(DEFAULT_PRICE_TABLE_JSON) as { tiers: Record<string, { inputUsd: string }> };
    json.tiers["tide-pool"].inputUsd = "0.001";
    const table = parsePriceTable(json);
    assert.equal(priceRequest(table, { service: "chat", tier: "tide-pool", unitsIn: 1000, unitsOut: 0 }).costAusd, parseDecimal("0.001"));
  });

  it("rejects malformed tables", () => {
    const base = DEFAULT_PRICE_TABLE_JSON;
    const bad: unknown[] = [
      null,
      "x",
      { ...base, tieredServices: "chat" },
      { ...base, tiers: [] },
      { ...base, tiers: {} },
      { ...base, services: { tts: { unit: "second", per: 0, inputUsd: "0", outputUsd: "0.008" } } },
      { ...base, services: { tts: { unit: "second", per: 1.5, inputUsd: "0", outputUsd: "0.008" } } },
      { ...base, services: { tts: { unit: "", per: 60, inputUsd: "0", outputUsd: "0.008" } } },
      { ...base, services: { tts: { unit: "second", per: 60, inputUsd: "-1", outputUsd: "0.008" } } },
      { ...base, services: { tts: { unit: "second", per: 60, inputUsd: 0.1, outputUsd: "0.008" } } },
      { ...base, services: { chat: { unit: "token", per: 1000, inputUsd: "0", outputUsd: "0" } } },
    ];
    for (const table of bad) assert.throws(() => parsePriceTable(table), code("INVALID_PRICE_TABLE"), JSON.stringify(table));
  });
});
