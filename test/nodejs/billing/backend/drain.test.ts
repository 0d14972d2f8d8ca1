import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { drainOnce, startDrainLoop } from "../../../../src/billing/drain.ts";
import { splitCharge, type Funds } from "../../../../src/billing/funds.ts";
import { createMeter } from "../../../../src/billing/meter.ts";
import type { MeterStore, UsageEvent } from "../../../../src/billing/meter-store.ts";
import { fixedPriceSource } from "../../../../src/billing/price-source.ts";
import { DEFAULT_PRICE_TABLE, ceilDiv } from "../../../../src/billing/pricing.ts";
import type { Db } from "../../../../src/db/db.ts";
import {
  ENGINES,
  STORE_KINDS,
  balancesOf,
  createAccount,
  eventRows,
  instrument,
  openTestDb,
  usageEvent,
  type AccountBalances,
  type EventRow,
  type StoreHarness,
  type TestDb,
} from "./helpers.ts";

/** A small seeded PRNG (mulberry32): property loops are reproducible. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number) => Math.floor(next() * (max + 1));
  const big = (digits: number) => BigInt(Math.floor(next() * 10 ** Math.min(digits, 15))) * 10n ** BigInt(Math.max(0, digits - 15));
  return { next, int, big, pick: <T>(items: readonly T[]) => items[int(items.length - 1)] };
}

const NOW = Date.now();
const FUTURE = new Date(NOW + 30 * 86_400_000);
const PAST = new Date(NOW - 86_400_000);

/** The charge-split invariants of one drained event. */
function assertSplitCovers(row: EventRow, tokens: bigint, bucketActive: boolean): void {
  const legacy = row.billedIn === "legacy";
  const cost = legacy ? row.costAusd : row.costWei;
  for (const part of [row.bucketTokens, row.creditsWei, row.paygWei, row.legacyAusd, row.legacyDebtAusd]) assert.ok(part >= 0n, "nothing negative");
  assert.ok(row.bucketTokens <= tokens);
  if (!bucketActive) assert.equal(row.bucketTokens, 0n);
  const uncovered = tokens === 0n ? cost : ceilDiv(cost * (tokens - row.bucketTokens), tokens);
  const paid = legacy ? row.legacyAusd + row.legacyDebtAusd : row.creditsWei + row.paygWei;
  assert.equal(paid, uncovered, `${row.requestId}: credits + PAYG = the cost the bucket did not cover`);
  // The bucket's share (rounded down) plus what was paid is exactly the cost: bucket + credits + PAYG cover it.
  const bucketShare = tokens === 0n ? 0n : (cost * row.bucketTokens) / tokens;
  assert.equal(bucketShare + paid, cost);
}

describe("splitCharge (property)", () => {
  it("covers every cost exactly from bucket, credits and PAYG, never negative", () => {
    const rnd = random(42);
    for (let i = 0; i < 5000; i++) {
      const legacy = rnd.next() < 0.3;
      const tokens = rnd.pick([0, 1, 2, 3, rnd.int(10_000), rnd.int(1_000_000)]);
      const cost = rnd.big(rnd.int(25));
      const event = usageEvent({
        tokens,
        billedIn: legacy ? "legacy" : "cxpt",
        costWei: legacy ? 0n : cost,
        costAusd: legacy ? cost : rnd.big(10),
        recordedAt: NOW,
      });
      const funds: Funds = {
        creditsWei: rnd.big(rnd.int(25)),
        legacyCreditsAusd: rnd.big(rnd.int(20)),
        bucketRemaining: BigInt(rnd.pick([0, 1, rnd.int(5000), rnd.int(2_000_000)])),
        subscriptionEnd: rnd.pick([null, NOW - 1, NOW, NOW + 1]),
      };
      const { split, rest } = splitCharge(funds, event);
      const active = funds.subscriptionEnd !== null && funds.subscriptionEnd > NOW;
      const row: EventRow = { requestId: String(i), accountId: "", billedIn: event.billedIn, costWei: event.costWei, costAusd: event.costAusd, ...split };
      assertSplitCovers(row, BigInt(tokens), active);
      assert.equal(split.bucketTokens, active ? (BigInt(tokens) < funds.bucketRemaining ? BigInt(tokens) : funds.bucketRemaining) : 0n);
      assert.equal(rest.bucketRemaining, funds.bucketRemaining - split.bucketTokens);
      assert.equal(rest.creditsWei, funds.creditsWei - split.creditsWei);
      assert.equal(rest.legacyCreditsAusd, funds.legacyCreditsAusd - split.legacyAusd);
      for (const left of [rest.bucketRemaining, rest.creditsWei, rest.legacyCreditsAusd]) assert.ok(left >= 0n);
      if (split.paygWei > 0n) assert.equal(rest.creditsWei, 0n, "PAYG only once credits are exhausted");
      if (split.legacyDebtAusd > 0n) assert.equal(rest.legacyCreditsAusd, 0n, "debt only once legacy credits are exhausted");
      if (legacy) assert.equal(split.paygWei + split.creditsWei, 0n, "legacy never touches CXPT");
    }
  });
});

const DRAIN_STORES = STORE_KINDS.filter((k) => k.name !== "embedded (memory)");

for (const engine of ENGINES) {
  for (const kind of DRAIN_STORES) {
    describe(`drain: ${kind.name} → ${engine}`, () => {
      let testDb: TestDb;
      let db: Db;
      let harness: StoreHarness;
      let store: MeterStore;
      before(async () => {
        testDb = await openTestDb(engine);
        db = testDb.db;
      });
      after(() => testDb.drop());
      beforeEach(async () => {
        harness = kind.create();
        store = await harness.open();
      });
      afterEach(async () => {
        await store.close();
        await harness.cleanup();
      });

      const rowsOf = async (accountId: string) => (await eventRows(db)).filter((r) => r.accountId === accountId);

      it("charges the bucket first, then credits, then PAYG, exactly", async () => {
        const account = await createAccount(db, { bucketRemaining: 1000n, subscriptionEnd: FUTURE, creditsWei: 5_000n });
        const at = NOW;
        const events = [
          usageEvent({ accountId: account, requestId: `${account}-1`, tokens: 600, costWei: 6_000n, recordedAt: at }),
          usageEvent({ accountId: account, requestId: `${account}-2`, tokens: 600, costWei: 6_000n, recordedAt: at + 1 }),
          usageEvent({ accountId: account, requestId: `${account}-3`, tokens: 300, costWei: 4_000n, recordedAt: at + 2 }),
          usageEvent({ accountId: account, requestId: `${account}-4`, tokens: 0, service: "tts", costWei: 1_000n, recordedAt: at + 3 }),
          usageEvent({ accountId: account, requestId: `${account}-5`, tokens: 3, costWei: 10n, recordedAt: at + 4 }),
        ];
        await store.record(events);
        assert.deepEqual(await drainOnce({ store, db }), { drained: 5, duplicates: 0, orphaned: 0 });
        const rows = await rowsOf(account);
        const split = (r: EventRow) => [r.requestId.slice(-1), r.bucketTokens, r.creditsWei, r.paygWei];
        assert.deepEqual(rows.map(split), [
          ["1", 600n, 0n, 0n], // all in the bucket
          ["2", 400n, 2_000n, 0n], // 200 of 600 tokens uncovered: a third of the cost from credits
          ["3", 0n, 3_000n, 1_000n], // bucket empty: credits run out, the rest is PAYG
          ["4", 0n, 0n, 1_000n], // not token-priced: never the bucket
          ["5", 0n, 0n, 10n],
        ]);
        assert.deepEqual(await balancesOf(db, account), { creditsWei: 0n, legacyCreditsAusd: 0n, legacyDebtAusd: 0n, bucketRemaining: 0n });
        assert.deepEqual(await store.pull(10), { ids: [], events: [] }, "acknowledged after the commit");
      });

      it("rounds the uncovered share up", async () => {
        const account = await createAccount(db, { bucketRemaining: 1n, subscriptionEnd: FUTURE, creditsWei: 100n });
        await store.record([usageEvent({ accountId: account, tokens: 3, costWei: 10n, recordedAt: NOW })]);
        await drainOnce({ store, db });
        const [row] = await rowsOf(account);
        assert.deepEqual([row.bucketTokens, row.creditsWei, row.paygWei], [1n, 7n, 0n]); // ceil(10 × 2/3)
      });

      it("uses no bucket once the subscription ended", async () => {
        const account = await createAccount(db, { bucketRemaining: 1000n, subscriptionEnd: PAST, creditsWei: 100n });
        await store.record([usageEvent({ accountId: account, tokens: 10, costWei: 150n, recordedAt: NOW })]);
        await drainOnce({ store, db });
        const [row] = await rowsOf(account);
        assert.deepEqual([row.bucketTokens, row.creditsWei, row.paygWei], [0n, 100n, 50n]);
        assert.equal((await balancesOf(db, account)).bucketRemaining, 1000n);
      });

      it("legacy billing draws legacy credits, then records legacy debt, never CXPT", async () => {
        const account = await createAccount(db, { legacyCreditsAusd: 5n, creditsWei: 1_000n });
        await store.record([
          usageEvent({ accountId: account, billedIn: "legacy", costAusd: 3n, costWei: 0n, tokens: 10 }),
          usageEvent({ accountId: account, billedIn: "legacy", costAusd: 4n, costWei: 0n, tokens: 10 }),
        ]);
        await drainOnce({ store, db });
        const rows = await rowsOf(account);
        assert.deepEqual(rows.map((r) => [r.legacyAusd, r.legacyDebtAusd, r.creditsWei, r.paygWei]).sort(), [[2n, 2n, 0n, 0n], [3n, 0n, 0n, 0n]]);
        assert.deepEqual(await balancesOf(db, account), { creditsWei: 1_000n, legacyCreditsAusd: 0n, legacyDebtAusd: 2n, bucketRemaining: 0n });
      });

      it("a drain that crashed before committing: the events are delivered again and charged once", async () => {
        const account = await createAccount(db, { creditsWei: 10_000n });
        const events = Array.from({ length: 5 }, () => usageEvent({ accountId: account, costWei: 100n, tokens: 0 }));
        await store.record(events);
        await store.pull(3); // pulled, then the process died
        if (kind.durable) {
          await store.close();
          store = await harness.open();
        }
        assert.deepEqual(await drainOnce({ store, db }), { drained: 5, duplicates: 0, orphaned: 0 });
        assert.equal((await balancesOf(db, account)).creditsWei, 9_500n);
      });

      it("a drain that crashed between commit and ack: re-delivery charges nothing twice", async () => {
        const account = await createAccount(db, { creditsWei: 10_000n });
        const events = Array.from({ length: 4 }, () => usageEvent({ accountId: account, costWei: 1_000n, tokens: 0 }));
        const crashing = instrument(store);
        await crashing.record(events);
        crashing.failAcks = true;
        await assert.rejects(drainOnce({ store: crashing, db }), /simulated crash/);
        await store.close();
        store = await harness.open();
        assert.deepEqual(await drainOnce({ store, db }), { drained: 0, duplicates: 4, orphaned: 0 });
        assert.deepEqual(await drainOnce({ store, db }), { drained: 0, duplicates: 0, orphaned: 0 });
        assert.equal((await balancesOf(db, account)).creditsWei, 6_000n);
        assert.equal((await rowsOf(account)).length, 4);
      });

      it("two drains racing over the same events charge each once", async () => {
        const account = await createAccount(db, { creditsWei: 10_000n });
        await store.record(Array.from({ length: 20 }, () => usageEvent({ accountId: account, costWei: 100n, tokens: 0 })));
        const results = await Promise.all([drainOnce({ store, db }), drainOnce({ store, db })]);
        assert.equal(results[0].drained + results[1].drained, 20);
        assert.equal((await balancesOf(db, account)).creditsWei, 8_000n);
        assert.equal((await rowsOf(account)).length, 20);
      });

      it("drops (and counts) events of accounts that do not exist", async () => {
        const account = await createAccount(db, { creditsWei: 10n });
        await store.record([
          usageEvent({ accountId: randomUUID(), costWei: 1n }),
          usageEvent({ accountId: "not-a-uuid", costWei: 1n }),
          usageEvent({ accountId: account, costWei: 1n, tokens: 0 }),
        ]);
        assert.deepEqual(await drainOnce({ store, db }), { drained: 1, duplicates: 0, orphaned: 2 });
        assert.deepEqual(await store.pull(10), { ids: [], events: [] });
      });

      it("random usage over random accounts: sums exact, nothing negative (property)", async () => {
        const rnd = random(engine.length * 7 + kind.name.length);
        const accounts = new Map<string, { initial: AccountBalances; active: boolean }>();
        for (let i = 0; i < 6; i++) {
          const active = rnd.next() < 0.6;
          const fields = {
            creditsWei: rnd.big(rnd.int(22)),
            legacyCreditsAusd: rnd.big(rnd.int(18)),
            bucketRemaining: BigInt(rnd.int(50_000)),
            subscriptionEnd: active ? FUTURE : rnd.pick([null, PAST]),
          };
          accounts.set(await createAccount(db, fields), {
            initial: { creditsWei: fields.creditsWei, legacyCreditsAusd: fields.legacyCreditsAusd, legacyDebtAusd: 0n, bucketRemaining: fields.bucketRemaining },
            active,
          });
        }
        const ids = [...accounts.keys()];
        const events: UsageEvent[] = [];
        for (let i = 0; i < 400; i++) {
          const legacy = rnd.next() < 0.25;
          const cost = rnd.big(rnd.int(20));
          events.push(
            usageEvent({
              accountId: rnd.pick(ids),
              tokens: rnd.pick([0, rnd.int(3), rnd.int(5000)]),
              billedIn: legacy ? "legacy" : "cxpt",
              costWei: legacy ? 0n : cost,
              costAusd: legacy ? cost : cost / 10n,
              recordedAt: NOW + i,
            }),
          );
        }
        const tokensOf = new Map(events.map((e) => [e.requestId, e.tokens]));
        for (let i = 0; i < events.length; i += 50) await store.record(events.slice(i, i + 50));
        let drained = 0;
        for (let r = await drainOnce({ store, db, max: 37 }); r.drained > 0; r = await drainOnce({ store, db, max: 37 })) drained += r.drained;
        assert.equal(drained, events.length);

        for (const [id, { initial, active }] of accounts) {
          const rows = await rowsOf(id);
          for (const row of rows) assertSplitCovers(row, BigInt(tokensOf.get(row.requestId)!), active);
          const sum = (pick: (r: EventRow) => bigint) => rows.reduce((s, r) => s + pick(r), 0n);
          const final = await balancesOf(db, id);
          assert.equal(initial.creditsWei - final.creditsWei, sum((r) => r.creditsWei));
          assert.equal(initial.bucketRemaining - final.bucketRemaining, sum((r) => r.bucketTokens));
          assert.equal(initial.legacyCreditsAusd - final.legacyCreditsAusd, sum((r) => r.legacyAusd));
          assert.equal(final.legacyDebtAusd, sum((r) => r.legacyDebtAusd));
          for (const value of Object.values(final)) assert.ok(value >= 0n);
        }
      });

      it("loses no event under 10,000 concurrent recordUsage calls with a running drain loop", async () => {
        const accounts = await Promise.all(Array.from({ length: 10 }, () => createAccount(db, { creditsWei: 10n ** 24n })));
        const meter = createMeter({ store, prices: () => DEFAULT_PRICE_TABLE, priceSource: fixedPriceSource("0.10") });
        const loop = startDrainLoop({ store, db, meter, intervalMs: 5, max: 500 });
        const results = await Promise.all(
          Array.from({ length: 10_000 }, (_, i) =>
            meter.recordUsage({
              requestId: `load-${engine}-${i % 9_000}`, // 1,000 repeats of earlier ids
              accountId: accounts[i % 10],
              endpoint: "/v1/chat/completions",
              service: "chat",
              tier: "blue-surge",
              unitsIn: 1 + (i % 700),
              unitsOut: i % 300,
              billedIn: "cxpt",
            }),
          ),
        );
        await loop.stop();
        const recorded = results.filter((r) => r.recorded);
        assert.equal(recorded.length, 9_000);
        const { rows } = await db.query<{ n: string; wei: string }>(
          "select count(*) as n, sum(cost_wei) as wei from usage_events where account_id = any($1::uuid[])",
          [accounts],
        );
        assert.equal(Number(rows[0].n), recorded.length);
        assert.equal(BigInt(rows[0].wei), recorded.reduce((s, r) => s + r.costWei, 0n));
        const credits = await Promise.all(accounts.map(async (a) => (await balancesOf(db, a)).creditsWei));
        assert.equal(10n ** 25n - credits.reduce((s, c) => s + c, 0n), BigInt(rows[0].wei), "credits drawn = cost of recorded events");
        for (const account of accounts) assert.equal((await store.usage(account)).undrainedUnits, 0, "the tally is settled");
        assert.deepEqual(await store.pull(10), { ids: [], events: [] });
      });
    });
  }
}
