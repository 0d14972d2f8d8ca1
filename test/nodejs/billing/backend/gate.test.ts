import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { hashSecret } from "../../../../src/accounts/secrets.ts";
import { drainOnce } from "../../../../src/billing/drain.ts";
import { createGate, type Gate, type Spending } from "../../../../src/billing/gate.ts";
import { createMeter, type Meter, type Quote } from "../../../../src/billing/meter.ts";
import type { MeterStore } from "../../../../src/billing/meter-store.ts";
import { fixedPriceSource } from "../../../../src/billing/price-source.ts";
import { DEFAULT_PRICE_TABLE } from "../../../../src/billing/pricing.ts";
import { dbKeyResolver, dbSpendingLoader } from "../../../../src/billing/spending-db.ts";
import type { Db } from "../../../../src/db/db.ts";
import { AppError } from "../../../../src/errors.ts";
import { ENGINES, STORE_KINDS, createAccount, openTestDb, type TestDb } from "./helpers.ts";

const KEY = "cxpt_live_key";
const ACCOUNT = "7f000000-0000-4000-8000-000000000001";
const WALLET = "0x00000000000000000000000000000000000000aa";

const spending = (fields: Partial<Spending> = {}): Spending => ({
  creditsWei: 1_000n,
  legacyCreditsAusd: 0n,
  bucketRemaining: 0n,
  subscriptionEnd: null,
  paygCapacityWei: 0n,
  pendingPaygWei: 0n,
  billedIn: "cxpt",
  wallet: WALLET,
  ...fields,
});

const need = (wei: bigint, tokens = 0, ausd = 0n): Quote => ({ wei, tokens, ausd });

const rejectsWith = (status: number, code: string, details?: Record<string, string>) => (error: unknown) => {
  assert.ok(error instanceof AppError, String(error));
  assert.equal(error.status, status);
  assert.equal(error.code, code);
  if (details) assert.deepEqual(error.details, details);
  return true;
};

describe("api key hash", () => {
  it("is the hex SHA-256", () => {
    assert.equal(hashSecret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});

describe("gate (in-memory loaders)", () => {
  let clock: number;
  let current: Spending;
  let keyCalls: number;
  let spendingCalls: number;
  let undrained: { tokens: number; wei: bigint; ausd: bigint } | undefined;
  let gate: Gate;
  let release: (() => void) | undefined;

  beforeEach(() => {
    clock = 1_750_000_000_000;
    current = spending();
    keyCalls = spendingCalls = 0;
    undrained = undefined;
    release = undefined;
    gate = createGate({
      resolveKey: async (hash) => {
        keyCalls++;
        return hash === hashSecret(KEY) ? { accountId: ACCOUNT } : null;
      },
      loadSpending: async () => {
        spendingCalls++;
        const snapshot = current;
        if (release === undefined) return snapshot;
        await new Promise<void>((resolve) => (release = resolve));
        return snapshot;
      },
      meter: { undrained: () => undrained },
      ttlMs: 1_000,
      now: () => clock,
    });
  });

  it("resolves the key and passes a covered request", async () => {
    assert.deepEqual(await gate.ensureAllowance(KEY, need(1_000n)), { accountId: ACCOUNT, billedIn: "cxpt" });
  });

  it("401 for an unknown key, remembered (no lookup storm)", async () => {
    await assert.rejects(gate.ensureAllowance("nope", need(1n)), rejectsWith(401, "INVALID_API_KEY"));
    await assert.rejects(gate.ensureAllowance("nope", need(1n)), rejectsWith(401, "INVALID_API_KEY"));
    assert.equal(keyCalls, 1);
  });

  it("402 with required, available and pending when it cannot cover", async () => {
    current = spending({ creditsWei: 700n, paygCapacityWei: 500n, pendingPaygWei: 200n });
    undrained = { tokens: 0, wei: 300n, ausd: 0n };
    await gate.ensureAllowance(KEY, need(700n)); // 700 + 500 − 200 − 300 = 700
    await assert.rejects(
      gate.ensureAllowance(KEY, need(701n)),
      rejectsWith(402, "INSUFFICIENT_FUNDS", { required: "701", available: "1000", pending: "300", unit: "wei" }),
    );
  });

  it("does no I/O on a cache hit", async () => {
    await gate.ensureAllowance(KEY, need(1n));
    for (let i = 0; i < 100; i++) await gate.ensureAllowance(KEY, need(1n));
    assert.deepEqual([keyCalls, spendingCalls], [1, 1]);
  });

  it("concurrent first misses share one load", async () => {
    await Promise.all(Array.from({ length: 20 }, () => gate.ensureAllowance(KEY, need(1n))));
    assert.deepEqual([keyCalls, spendingCalls], [1, 1]);
  });

  it("serves the stale entry while one background refresh runs, then the new one", async () => {
    await gate.ensureAllowance(KEY, need(1_000n));
    clock += 1_001;
    current = spending({ creditsWei: 10n });
    release = () => {}; // the next load waits until released
    for (let i = 0; i < 10; i++) await gate.ensureAllowance(KEY, need(1_000n)); // stale, still passes
    assert.equal(spendingCalls, 2, "one refresh in flight");
    release();
    await new Promise((resolve) => setImmediate(resolve));
    await assert.rejects(gate.ensureAllowance(KEY, need(1_000n)), rejectsWith(402, "INSUFFICIENT_FUNDS"));
  });

  it("keeps serving the stale entry when a refresh fails", async () => {
    const errors: unknown[] = [];
    let fail = false;
    const flaky = createGate({
      resolveKey: async () => ({ accountId: ACCOUNT }),
      loadSpending: async () => {
        if (fail) throw new Error("db down");
        return spending();
      },
      meter: { undrained: () => undefined },
      ttlMs: 1_000,
      now: () => clock,
      onError: (e) => errors.push(e),
    });
    await flaky.ensureAllowance(KEY, need(1n));
    fail = true;
    clock += 2_000;
    await flaky.ensureAllowance(KEY, need(1n));
    await new Promise((resolve) => setImmediate(resolve));
    await flaky.ensureAllowance(KEY, need(1n));
    assert.equal(errors.length, 1);
  });

  it("invalidateAccount / invalidateWallet: the next request loads again", async () => {
    await gate.ensureAllowance(KEY, need(1_000n));
    current = spending({ creditsWei: 5_000n });
    await assert.rejects(gate.ensureAllowance(KEY, need(5_000n)), rejectsWith(402, "INSUFFICIENT_FUNDS"));
    gate.invalidateAccount(ACCOUNT);
    await gate.ensureAllowance(KEY, need(5_000n));
    current = spending({ creditsWei: 9_000n });
    gate.invalidateWallet(WALLET.toUpperCase().replace("0X", "0x"));
    await gate.ensureAllowance(KEY, need(9_000n));
    assert.equal(spendingCalls, 3);
    gate.invalidateWallet("0x00000000000000000000000000000000000000bb"); // unknown: no effect
    await gate.ensureAllowance(KEY, need(9_000n));
    assert.equal(spendingCalls, 3);
  });

  it("an invalidation is not undone by a load that started before it", async () => {
    await gate.ensureAllowance(KEY, need(1n));
    clock += 1_001;
    current = spending({ creditsWei: 1n }); // what the slow, old refresh will see
    release = () => {};
    await gate.ensureAllowance(KEY, need(1n)); // starts the background refresh
    const releaseOld = release;
    current = spending({ creditsWei: 50_000n });
    release = undefined;
    gate.invalidateAccount(ACCOUNT);
    await gate.ensureAllowance(KEY, need(50_000n));
    releaseOld();
    await new Promise((resolve) => setImmediate(resolve));
    await gate.ensureAllowance(KEY, need(50_000n));
  });

  it("invalidateApiKey: a revoked key stops working", async () => {
    await gate.ensureAllowance(KEY, need(1n));
    gate.invalidateApiKey(hashSecret(KEY));
    await gate.ensureAllowance(KEY, need(1n));
    assert.equal(keyCalls, 2);
  });

  it("counts undrained usage against the funds", async () => {
    undrained = { tokens: 0, wei: 600n, ausd: 0n };
    await gate.ensureAllowance(KEY, need(400n));
    await assert.rejects(gate.ensureAllowance(KEY, need(401n)), rejectsWith(402, "INSUFFICIENT_FUNDS"));
  });

  it("the subscription bucket covers token-priced requests while it lasts", async () => {
    current = spending({ creditsWei: 0n, bucketRemaining: 1_000n, subscriptionEnd: clock + 60_000 });
    undrained = { tokens: 400, wei: 999n, ausd: 0n };
    await gate.ensureAllowance(KEY, need(10n ** 18n, 600));
    await assert.rejects(gate.ensureAllowance(KEY, need(1n, 601)), rejectsWith(402, "INSUFFICIENT_FUNDS"));
    await assert.rejects(gate.ensureAllowance(KEY, need(1n, 0)), rejectsWith(402, "INSUFFICIENT_FUNDS"), "not token-priced");
    clock += 60_000;
    await assert.rejects(gate.ensureAllowance(KEY, need(1n, 1)), rejectsWith(402, "INSUFFICIENT_FUNDS"), "subscription over");
  });

  it("legacy accounts are checked in atto-USD against legacy credits", async () => {
    current = spending({ billedIn: "legacy", creditsWei: 10n ** 30n, legacyCreditsAusd: 1_000n });
    undrained = { tokens: 0, wei: 0n, ausd: 250n };
    assert.deepEqual(await gate.ensureAllowance(KEY, need(10n ** 30n, 0, 750n)), { accountId: ACCOUNT, billedIn: "legacy" });
    await assert.rejects(
      gate.ensureAllowance(KEY, need(0n, 0, 751n)),
      rejectsWith(402, "INSUFFICIENT_FUNDS", { required: "751", available: "1000", pending: "250", unit: "ausd" }),
    );
  });

  it("reloadAccounts reloads cached accounts only", async () => {
    await gate.ensureAllowance(KEY, need(1n));
    await gate.reloadAccounts([ACCOUNT, ACCOUNT, "other"]);
    assert.equal(spendingCalls, 2);
  });
});

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
        loadSpending: dbSpendingLoader({ db, billedIn: () => billedIn, paygCapacity: async (w) => capacity.get(w) ?? 0n }),
        meter,
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
      const { id, key } = await accountWithKey({ creditsWei: 10n });
      assert.deepEqual(await gate.ensureAllowance(key, need(10n)), { accountId: id, billedIn: "cxpt" });
      await assert.rejects(gate.ensureAllowance(`${key}x`, need(0n)), rejectsWith(401, "INVALID_API_KEY"));
      await db.query("update api_keys set revoked_at = now() where key_hash = $1", [hashSecret(key)]);
      gate.invalidateApiKey(hashSecret(key));
      await assert.rejects(gate.ensureAllowance(key, need(0n)), rejectsWith(401, "INVALID_API_KEY"));
    });

    it("counts PAYG capacity from the chain minus drained-but-unsettled PAYG", async () => {
      const wallet = `0x${randomBytes(20).toString("hex")}`;
      capacity.set(wallet, 1_000n);
      const { id, key } = await accountWithKey({ creditsWei: 100n, wallet });
      await db.query(
        `insert into usage_events (request_id, account_id, endpoint, service, units_in, units_out, cost_ausd, cost_wei, billed_in, payg_wei, recorded_at)
         values ($1, $2, '/v1', 'chat', 1, 1, 1, 300, 'cxpt', 300, now()), ($3, $2, '/v1', 'chat', 1, 1, 1, 50, 'cxpt', 50, now())`,
        [`settled-${id}`, id, `open-${id}`],
      );
      await db.query("update usage_events set settled_at = now() where request_id = $1", [`settled-${id}`]);
      await gate.ensureAllowance(key, need(1_050n)); // 100 + 1000 − 50
      await assert.rejects(
        gate.ensureAllowance(key, need(1_051n)),
        rejectsWith(402, "INSUFFICIENT_FUNDS", { required: "1051", available: "1050", pending: "0", unit: "wei" }),
      );
      capacity.set(wallet, 5_000n);
      gate.invalidateWallet(wallet);
      await gate.ensureAllowance(key, need(5_050n));
    });

    it("legacy mode: legacy credits net of legacy debt, no chain read", async () => {
      billedIn = "legacy";
      const wallet = `0x${randomBytes(20).toString("hex")}`;
      capacity.set(wallet, 10n ** 30n);
      const { key } = await accountWithKey({ legacyCreditsAusd: 1_000n, legacyDebtAusd: 300n, creditsWei: 10n ** 30n, wallet });
      await gate.ensureAllowance(key, need(0n, 0, 700n));
      await assert.rejects(gate.ensureAllowance(key, need(0n, 0, 701n)), rejectsWith(402, "INSUFFICIENT_FUNDS"));
    });

    it("the funds the gate sees are the same before and after a drain", async () => {
      const { id, key } = await accountWithKey({ creditsWei: 10n ** 17n });
      const usage = { service: "chat", tier: "mariana-depth", unitsIn: 1000, unitsOut: 0 } as const; // 0.0035 USD = 0.035 CXPT
      const quote = meter.quote(usage);
      const { accountId } = await gate.ensureAllowance(key, quote);
      const { costWei } = await meter.recordUsage({ ...usage, requestId: `req-${id}`, accountId, endpoint: "/v1/chat", billedIn: "cxpt" });
      const left = 10n ** 17n - costWei;
      const boundary = async () => {
        await gate.ensureAllowance(key, need(left));
        await assert.rejects(gate.ensureAllowance(key, need(left + 1n)), rejectsWith(402, "INSUFFICIENT_FUNDS"));
      };
      await boundary(); // undrained usage counted from the meter's tally
      assert.deepEqual(await drainOnce({ store, db, meter, refresh: (ids) => gate.reloadAccounts(ids) }), {
        drained: 1,
        duplicates: 0,
        orphaned: 0,
      });
      assert.equal(meter.undrained(id), undefined);
      await boundary(); // now from PostgreSQL, reloaded by the drain
    });

    it("an unknown account behind a key is a 404 from the loader", async () => {
      await assert.rejects(dbSpendingLoader({ db, billedIn: () => "cxpt" })("7f000000-0000-4000-8000-00000000dead"), rejectsWith(404, "ACCOUNT_NOT_FOUND"));
    });
  });
}
