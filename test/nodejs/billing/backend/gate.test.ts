// The gate: authorize (one atomic hold per request, checking the account-scoped request id, the
// plan's limits and the funds), capture (the meter), release, expiry of holds left by a dead
// instance, and budgets loaded from PostgreSQL and the chain. On every store kind: Redis (the Lua
// scripts) and the embedded store (the same rules in memory).
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { hashSecret } from "../../../../src/accounts/secrets.ts";
import { drainOnce } from "../../../../src/billing/drain.ts";
import { CASH_UNIT, type Limits, type Spending } from "../../../../src/billing/funds.ts";
import { createGate, type Authorization, type Gate } from "../../../../src/billing/gate.ts";
import { createMeter, type Meter, type Quote } from "../../../../src/billing/meter.ts";
import type { MeterStore } from "../../../../src/billing/meter-store.ts";
import { fixedPriceSource } from "../../../../src/billing/price-source.ts";
import { DEFAULT_PRICE_TABLE } from "../../../../src/billing/pricing.ts";
import { dbKeyResolver, dbSpendingLoader } from "../../../../src/billing/spending-db.ts";
import type { Db } from "../../../../src/db/db.ts";
import { AppError } from "../../../../src/errors.ts";
import { ENGINES, STORE_KINDS, createAccount, openTestDb, type StoreHarness, type TestDb } from "./helpers.ts";

const KEY = "cxpt_live_key";
const G = CASH_UNIT; // amounts in whole gate units, so every figure below is exact
const WALLET = "0x00000000000000000000000000000000000000aa";
const LIMITS: Limits = { requestsPerMinute: 1_000, concurrency: 100 };

const spending = (fields: Partial<Spending> = {}): Spending => ({
  creditsWei: 1_000n * G,
  legacyCreditsAusd: 0n,
  bucketRemaining: 0n,
  subscriptionEnd: null,
  paygCapacityWei: 0n,
  pendingPaygWei: 0n,
  billedIn: "cxpt",
  wallet: WALLET,
  limits: LIMITS,
  subscriber: false,
  ...fields,
});

const need = (wei: bigint, tokens = 0, ausd = 0n): Quote => ({ wei, tokens, ausd });

const rejectsWith = (status: number, code: string, details?: Record<string, unknown>) => (error: unknown) => {
  assert.ok(error instanceof AppError, String(error));
  assert.equal(error.status, status, error.message);
  assert.equal(error.code, code);
  if (details) for (const [field, value] of Object.entries(details)) assert.deepEqual(error.details?.[field], value, field);
  return true;
};

describe("api key hash", () => {
  it("is the hex SHA-256", () => {
    assert.equal(hashSecret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});

for (const kind of STORE_KINDS.filter((k) => k.name !== "embedded (journal)")) {
  describe(`gate over the ${kind.name} store`, () => {
    let harness: StoreHarness;
    let store: MeterStore;
    let meter: Meter;
    let gate: Gate;
    let clock: number;
    let current: Spending;
    let loads: number;
    let keyCalls: number;
    let account: string;
    let loadGate: Promise<void> | undefined;

    const open = (options: { holdMs?: number; ttlMs?: number } = {}) =>
      createGate({
        resolveKey: async (hash) => {
          keyCalls++;
          return hash === hashSecret(KEY) ? { accountId: account } : null;
        },
        loadSpending: async () => {
          loads++;
          const snapshot = current;
          await loadGate;
          return snapshot;
        },
        store,
        billedIn: () => current.billedIn,
        ttlMs: options.ttlMs ?? 60_000,
        holdMs: options.holdMs ?? 60_000,
        now: () => clock,
      });

    beforeEach(async () => {
      harness = kind.create();
      store = await harness.open();
      meter = createMeter({ store, prices: () => DEFAULT_PRICE_TABLE, priceSource: fixedPriceSource("0.10"), now: () => clock });
      clock = Date.now();
      current = spending();
      loads = keyCalls = 0;
      loadGate = undefined;
      account = randomUUID();
      gate = open();
    });
    afterEach(async () => {
      await store.close();
      await harness.cleanup();
    });

    const capture = (auth: Authorization, wei: bigint) =>
      store.record([
        {
          requestId: auth.requestId, accountId: auth.accountId, endpoint: "/v1", service: "scrape", unitsIn: 1, unitsOut: 0,
          tokens: 0, costAusd: wei, costWei: wei, billedIn: "cxpt", recordedAt: clock, pool: auth.pool,
        },
      ]);

    it("resolves the key, holds the ceiling and remembers an unknown key (no lookup storm)", async () => {
      const auth = await gate.authorize(KEY, need(10n * G), "r1");
      assert.equal(auth.accountId, account);
      assert.equal(auth.requestId, `${account}:r1`);
      assert.equal(auth.pool, "cash");
      assert.equal((await store.usage(account)).heldUnits, 10);
      await assert.rejects(gate.authorize("nope", need(1n), "x"), rejectsWith(401, "INVALID_API_KEY"));
      await assert.rejects(gate.authorize("nope", need(1n), "y"), rejectsWith(401, "INVALID_API_KEY"));
      assert.equal(keyCalls, 2); // KEY once, "nope" once
    });

    it("402 names what is required, available, pending and held", async () => {
      current = spending({ creditsWei: 700n * G, paygCapacityWei: 500n * G, pendingPaygWei: 200n * G }); // 1000 units
      const first = await gate.authorize(KEY, need(300n * G), "a");
      await capture(first, 300n * G); // undrained 300
      await gate.authorize(KEY, need(600n * G), "b"); // held 600
      await assert.rejects(
        gate.authorize(KEY, need(101n * G), "c"),
        rejectsWith(402, "INSUFFICIENT_FUNDS", { required: (101n * G).toString(), available: (100n * G).toString(), pending: (300n * G).toString(), held: (600n * G).toString(), unit: "wei" }),
      );
      await gate.authorize(KEY, need(100n * G), "d");
    });

    it("never holds more than the budget, whatever the concurrency; a release or a smaller capture frees the rest", async () => {
      current = spending({ creditsWei: 1_000n * G });
      const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => gate.authorize(KEY, need(100n * G), `c${i}`)));
      const held = results.filter((r) => r.status === "fulfilled").map((r) => (r as PromiseFulfilledResult<Authorization>).value);
      assert.equal(held.length, 10);
      assert.equal(loads, 1, "one load for the burst (the others waited for the budget)");
      for (const r of results) if (r.status === "rejected") rejectsWith(402, "INSUFFICIENT_FUNDS")(r.reason);
      await gate.release(held[0]!);
      await capture(held[1]!, 40n * G); // captured below its ceiling: 60 units back
      const more = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => gate.authorize(KEY, need(100n * G), `m${i}`)));
      assert.equal(more.filter((r) => r.status === "fulfilled").length, 1, "room for one more: 100 released + 60 unused");
      const usage = await store.usage(account);
      assert.equal(usage.undrainedUnits + usage.heldUnits, 40 + 9 * 100);
    });

    it("a request id is its account's: reused in flight or after capture is 409, after a release it is free again", async () => {
      const auth = await gate.authorize(KEY, need(G), "same");
      await assert.rejects(gate.authorize(KEY, need(G), "same"), rejectsWith(409, "REQUEST_ID_REUSED"));
      await gate.release(auth);
      const again = await gate.authorize(KEY, need(G), "same");
      assert.deepEqual(await capture(again, G), [true]);
      await assert.rejects(gate.authorize(KEY, need(G), "same"), rejectsWith(409, "REQUEST_ID_REUSED"));
      // Another account's "same" is another request.
      account = randomUUID();
      const other = createGate({ resolveKey: async () => ({ accountId: account }), loadSpending: async () => spending(), store, billedIn: () => "cxpt", now: () => clock });
      const theirs = await other.authorize("cxk_other", need(G), "same");
      assert.deepEqual(await capture(theirs, G), [true]);
    });

    it("enforces requests in flight and requests per minute, replenishing with time", async () => {
      current = spending({ limits: { requestsPerMinute: 3, concurrency: 2 } });
      const a = await gate.authorize(KEY, need(G), "1");
      assert.deepEqual(a.rate, { limit: 3, remaining: 2, resetMs: 20_000 });
      const b = await gate.authorize(KEY, need(G), "2");
      await assert.rejects(gate.authorize(KEY, need(G), "3"), rejectsWith(429, "CONCURRENCY_LIMITED", { concurrency: 2 }));
      await capture(a, G);
      await gate.release(b);
      const c = await gate.authorize(KEY, need(G), "3");
      assert.equal(c.rate.remaining, 0);
      await gate.release(c);
      await assert.rejects(gate.authorize(KEY, need(G), "4"), rejectsWith(429, "RATE_LIMITED", { limit: 3, remaining: 0, resetMs: 20_000 }));
      clock += 20_000;
      await gate.authorize(KEY, need(G), "4");
      await assert.rejects(gate.authorize(KEY, need(G), "5"), rejectsWith(429, "RATE_LIMITED"));
    });

    it("a hold left by a dead instance expires and gives its funds back", async () => {
      gate = open({ holdMs: 5_000 });
      current = spending({ creditsWei: 100n * G });
      await gate.authorize(KEY, need(100n * G), "orphan");
      await assert.rejects(gate.authorize(KEY, need(G), "next"), rejectsWith(402, "INSUFFICIENT_FUNDS"));
      clock += 5_001;
      await gate.authorize(KEY, need(100n * G), "next");
    });

    it("the bucket holds token-priced requests while the pass outlives the hold; otherwise cash pays", async () => {
      current = spending({ creditsWei: 0n, bucketRemaining: 1_000n, subscriptionEnd: clock + 3_600_000, subscriber: true });
      const auth = await gate.authorize(KEY, need(50n * G, 600), "t1");
      assert.equal(auth.pool, "bucket");
      assert.equal(auth.subscriber, true);
      await assert.rejects(gate.authorize(KEY, need(50n * G, 600), "t2"), rejectsWith(402, "INSUFFICIENT_FUNDS"));
      gate.invalidateAccount(account);
      current = spending({ creditsWei: 100n * G, bucketRemaining: 1_000n, subscriptionEnd: clock + 30_000 }); // ends before a hold would
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal((await gate.authorize(KEY, need(50n * G, 100), "t3")).pool, "cash");
    });

    it("legacy accounts are held in atto-USD against legacy credits", async () => {
      current = spending({ billedIn: "legacy", creditsWei: 10n ** 30n, legacyCreditsAusd: 700n * G });
      await gate.authorize(KEY, need(0n, 0, 700n * G), "l1");
      await assert.rejects(gate.authorize(KEY, need(0n, 0, G), "l2"), rejectsWith(402, "INSUFFICIENT_FUNDS", { unit: "ausd" }));
    });

    it("an invalidation is not undone by a load that started before it", async () => {
      current = spending({ creditsWei: 100n * G });
      let open!: () => void;
      loadGate = new Promise<void>((resolve) => (open = resolve));
      const pending = gate.authorize(KEY, need(100n * G), "race"); // loads the 100-unit budget, held up
      await new Promise((resolve) => setTimeout(resolve, 20));
      current = spending({ creditsWei: 10n * G });
      await store.invalidate(account); // the funds dropped while the old load was in flight
      loadGate = undefined;
      open();
      // The stale budget is refused (its generation moved on); the gate loads again and sees 10.
      await assert.rejects(pending, rejectsWith(402, "INSUFFICIENT_FUNDS"));
      assert.equal(loads, 2);
    });

    it("an invalidated key stops working", async () => {
      let active = true;
      const revocable = createGate({ resolveKey: async () => (active ? { accountId: account } : null), loadSpending: async () => spending(), store, billedIn: () => "cxpt", now: () => clock });
      await revocable.authorize("cxk_k", need(G), "k1");
      active = false;
      await revocable.authorize("cxk_k", need(G), "k2"); // still cached
      revocable.invalidateApiKey(hashSecret("cxk_k"));
      await assert.rejects(revocable.authorize("cxk_k", need(G), "k3"), rejectsWith(401, "INVALID_API_KEY"));
    });

    it("holds against an API key's monthly limit too: 402 KEY_LIMIT_REACHED past it, across captures and releases", async () => {
      let remaining: bigint | null = 100n * G;
      const limited = createGate({
        resolveKey: async () => ({ accountId: account, keyId: "key-1" }),
        loadSpending: async () => spending({ creditsWei: 10_000n * G }),
        loadKeyBudget: async () => remaining,
        store,
        billedIn: () => "cxpt",
        now: () => clock,
      });
      const first = await limited.authorize("cxk_l", need(60n * G), "k1");
      await assert.rejects(limited.authorize("cxk_l", need(60n * G), "k2"), rejectsWith(402, "KEY_LIMIT_REACHED", { available: (40n * G).toString() }));
      await limited.release(first);
      const second = await limited.authorize("cxk_l", need(60n * G), "k3");
      await store.record([
        {
          requestId: second.requestId, accountId: account, endpoint: "/v1", service: "scrape", unitsIn: 1, unitsOut: 0, tokens: 0,
          costAusd: 50n * G, costWei: 50n * G, billedIn: "cxpt", recordedAt: clock, pool: "cash", apiKeyId: "key-1",
        },
      ]);
      await assert.rejects(limited.authorize("cxk_l", need(51n * G), "k4"), rejectsWith(402, "KEY_LIMIT_REACHED"));
      await limited.authorize("cxk_l", need(50n * G), "k5");
      // The owner lifts the limit: the next request is held against no limit at all.
      remaining = null;
      limited.invalidateKeyBudget("key-1");
      await new Promise((resolve) => setTimeout(resolve, 20));
      await limited.authorize("cxk_l", need(5_000n * G), "k6");
    });

    it("fuzz: random holds, captures, releases and drains never let captures exceed the budget", async () => {
      const budget = 500n;
      current = spending({ creditsWei: budget * G });
      let captured = 0n;
      const open: Authorization[] = [];
      for (let step = 0; step < 300; step++) {
        const roll = Math.random();
        if (roll < 0.5) {
          const ceiling = BigInt(1 + Math.floor(Math.random() * 60));
          const auth = await gate.authorize(KEY, need(ceiling * G), `f${step}`).catch((e: unknown) => (e instanceof AppError && e.status === 402 ? undefined : Promise.reject(e)));
          if (auth) open.push(Object.assign(auth, { ceiling }));
        } else if (open.length > 0) {
          const auth = open.splice(Math.floor(Math.random() * open.length), 1)[0] as Authorization & { ceiling: bigint };
          if (roll < 0.85) {
            const cost = BigInt(Math.floor(Math.random() * Number(auth.ceiling + 1n)));
            await capture(auth, cost * G);
            captured += cost;
          } else await gate.release(auth);
        }
        const usage = await store.usage(account);
        assert.ok(BigInt(usage.undrainedUnits + usage.heldUnits) <= budget, `step ${step}: ${JSON.stringify(usage)}`);
      }
      assert.ok(captured <= budget);
    });
  });
}

for (const engine of ENGINES) {
  describe(`gate on ${engine} loaders, with meter and drain`, () => {
    let testDb: TestDb;
    let db: Db;
    let store: MeterStore;
    let meter: Meter;
    let gate: Gate;
    let billedIn: "cxpt" | "legacy";
    const capacity = new Map<string, bigint>();
    const harness = STORE_KINDS.find((k) => k.name === "embedded (memory)")!.create();
    const defaultLimits: Limits = { requestsPerMinute: 10_000, concurrency: 100 };

    before(async () => {
      testDb = await openTestDb(engine);
      db = testDb.db;
    });
    after(() => testDb.drop());
    beforeEach(async () => {
      billedIn = "cxpt";
      store = await harness.open();
      meter = createMeter({ store, prices: () => DEFAULT_PRICE_TABLE, priceSource: fixedPriceSource("0.10") });
      gate = createGate({
        resolveKey: dbKeyResolver(db),
        loadSpending: dbSpendingLoader({ db, billedIn: () => billedIn, paygCapacity: async (w) => capacity.get(w) ?? 0n, defaultLimits }),
        store,
        billedIn: () => billedIn,
        ttlMs: 60_000,
      });
    });
    afterEach(() => store.close());

    async function accountWithKey(fields: Parameters<typeof createAccount>[1] = {}): Promise<{ id: string; key: string }> {
      const id = await createAccount(db, fields);
      const key = `cxpt_${randomBytes(16).toString("hex")}`;
      await db.query("insert into api_keys (account_id, prefix, key_hash) values ($1, $2, $3)", [id, key.slice(0, 9), hashSecret(key)]);
      return { id, key };
    }

    it("resolves keys by hash; a revoked key is refused once invalidated", async () => {
      const { id, key } = await accountWithKey({ creditsWei: 10n * G });
      assert.equal((await gate.authorize(key, need(10n * G), "a")).accountId, id);
      await assert.rejects(gate.authorize(`${key}x`, need(0n), "b"), rejectsWith(401, "INVALID_API_KEY"));
      await db.query("update api_keys set revoked_at = now() where key_hash = $1", [hashSecret(key)]);
      gate.invalidateApiKey(hashSecret(key));
      await assert.rejects(gate.authorize(key, need(0n), "c"), rejectsWith(401, "INVALID_API_KEY"));
    });

    it("counts PAYG capacity from the chain minus drained-but-unsettled PAYG; PAYG accounts get the default limits", async () => {
      const wallet = `0x${randomBytes(20).toString("hex")}`;
      capacity.set(wallet, 1_000n * G);
      const { id, key } = await accountWithKey({ creditsWei: 100n * G, wallet });
      await db.query(
        `insert into usage_events (request_id, account_id, endpoint, service, units_in, units_out, cost_ausd, cost_wei, billed_in, payg_wei, recorded_at)
         values ($1, $2, '/v1', 'chat', 1, 1, 1, $4, 'cxpt', $4, now()), ($3, $2, '/v1', 'chat', 1, 1, 1, $5, 'cxpt', $5, now())`,
        [`settled-${id}`, id, `open-${id}`, (300n * G).toString(), (50n * G).toString()],
      );
      await db.query("update usage_events set settled_at = now() where request_id = $1", [`settled-${id}`]);
      const auth = await gate.authorize(key, need(1_050n * G), "p1"); // 100 + 1000 − 50
      assert.equal(auth.rate.limit, defaultLimits.requestsPerMinute);
      await gate.release(auth);
      await assert.rejects(gate.authorize(key, need(1_051n * G), "p2"), rejectsWith(402, "INSUFFICIENT_FUNDS", { available: (1_050n * G).toString() }));
      capacity.set(wallet, 5_000n * G);
      gate.invalidateWallet(wallet);
      await gate.authorize(key, need(5_050n * G), "p3");
    });

    it("legacy mode: legacy credits net of legacy debt, no chain read", async () => {
      billedIn = "legacy";
      const wallet = `0x${randomBytes(20).toString("hex")}`;
      capacity.set(wallet, 10n ** 30n);
      const { key } = await accountWithKey({ legacyCreditsAusd: 1_000n * G, legacyDebtAusd: 300n * G, creditsWei: 10n ** 30n, wallet });
      const auth = await gate.authorize(key, need(0n, 0, 700n * G), "l1");
      await gate.release(auth);
      await assert.rejects(gate.authorize(key, need(0n, 0, 701n * G), "l2"), rejectsWith(402, "INSUFFICIENT_FUNDS"));
    });

    it("the funds the gate sees are the same before and after a drain", async () => {
      const { id, key } = await accountWithKey({ creditsWei: 10n ** 17n });
      const usage = { service: "chat", tier: "mariana-depth", unitsIn: 1000, unitsOut: 0 } as const; // 0.0035 USD = 0.035 CXPT
      const auth = await gate.authorize(key, meter.quote(usage), "d1");
      const { costWei } = await meter.recordUsage({ ...usage, requestId: auth.requestId, accountId: auth.accountId, endpoint: "/v1/chat", billedIn: "cxpt", pool: auth.pool });
      const left = 10n ** 17n - costWei;
      let n = 0;
      const boundary = async () => {
        await assert.rejects(gate.authorize(key, need(left + G), `over-${n++}`), rejectsWith(402, "INSUFFICIENT_FUNDS"));
        await gate.release(await gate.authorize(key, need(left), `edge-${n++}`));
      };
      await boundary(); // undrained usage counted in the store's tally
      assert.deepEqual(await drainOnce({ store, db }), { drained: 1, duplicates: 0, orphaned: 0 });
      assert.equal((await store.usage(id)).undrainedUnits, 0);
      await boundary(); // now from PostgreSQL: the drain's ack dropped the budget
    });

    it("an unknown account behind a key is a 404 from the loader", async () => {
      await assert.rejects(dbSpendingLoader({ db, billedIn: () => "cxpt", defaultLimits })("7f000000-0000-4000-8000-00000000dead"), rejectsWith(404, "ACCOUNT_NOT_FOUND"));
    });
  });
}
