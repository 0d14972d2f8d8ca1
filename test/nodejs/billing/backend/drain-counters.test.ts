// The drain's bucket counting on both counter stores, the same suite: with COUNTER_STORE=postgres
// usage_events is the bucket ledger; with COUNTER_STORE=dynamodb (dynalite, started here) the drain
// counts each event's bucket tokens in DynamoDB after the commit and marks its account-day due before
// acknowledging. Either way the bucket usage the reconciliation sees is every bucket token charged,
// exactly once: also when a batch is delivered again after a crash before the acknowledgement, when
// the drain crashed between counting and marking, and when a request id is metered twice.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { drainOnce } from "../../../../src/billing/drain.ts";
import type { MeterStore } from "../../../../src/billing/meter-store.ts";
import { DAY_MS, openCounters, type CounterStore } from "../../../../src/counters/index.ts";
import type { Db } from "../../../../src/db/db.ts";
import { startDynalite, LOCAL_REGION, type LocalDynamo } from "../../../../src/devstack/dynalite.ts";
import { bucketUsageOf } from "../../../../src/subscriptions/bucket-usage.ts";
import { ENGINES, STORE_KINDS, createAccount, instrument, openTestDb, usageEvent, type StoreHarness, type TestDb } from "./helpers.ts";

const TODAY = Math.floor(Date.now() / DAY_MS) * DAY_MS;
const FUTURE = new Date(TODAY + 30 * DAY_MS);
const journal = STORE_KINDS.find((k) => k.name === "embedded (journal)")!;

let dynamo: LocalDynamo;
before(async () => {
  dynamo = await startDynalite();
});
after(async () => dynamo?.close());

for (const engine of ENGINES) {
  for (const kind of ["postgres", "dynamodb"] as const) {
    describe(`drain bucket counting: ${kind} counters, ${engine}`, () => {
      let testDb: TestDb;
      let db: Db;
      let counters: CounterStore;
      let harness: StoreHarness;
      let store: MeterStore;
      before(async () => {
        testDb = await openTestDb(engine);
        db = testDb.db;
        if (kind === "postgres") counters = await openCounters({ store: "postgres" }, db);
        else {
          const table = `cxpt_counters_${randomBytes(4).toString("hex")}`;
          await dynamo.createCountersTable(table);
          counters = await openCounters({ store: "dynamodb", table, region: LOCAL_REGION, endpoint: dynamo.endpoint }, db);
        }
      });
      after(async () => {
        await counters?.close();
        await testDb?.drop();
      });
      beforeEach(async () => {
        harness = journal.create();
        store = await harness.open();
      });
      afterEach(async () => {
        await store.close();
        await harness.cleanup();
      });

      const unconsumed = (accountId: string) => bucketUsageOf(counters).unconsumed(db, accountId);
      /** A subscriber with `bucket` tokens, and usage over yesterday and today (UTC): 600 + 600 + 0 tokens. */
      async function subscriberUsage(bucket: bigint) {
        const account = await createAccount(db, { bucketRemaining: bucket, subscriptionEnd: FUTURE, creditsWei: 10n ** 18n });
        const events = [
          usageEvent({ accountId: account, requestId: `${account}:a`, tokens: 600, costWei: 6_000n, recordedAt: TODAY - 60_000 }),
          usageEvent({ accountId: account, requestId: `${account}:b`, tokens: 600, costWei: 6_000n, recordedAt: TODAY + 60_000 }),
          usageEvent({ accountId: account, requestId: `${account}:c`, tokens: 0, service: "tts", costWei: 1_000n, recordedAt: TODAY + 120_000 }),
        ];
        return { account, events };
      }
      /** What the counter store itself holds for `account` on yesterday and today. */
      const counted = async (account: string) =>
        Promise.all([TODAY - DAY_MS, TODAY].map((day) => counters.bucketTokens(account, { from: new Date(day), to: new Date(day + DAY_MS) })));
      const dueDays = async (account: string) =>
        (await db.query<{ day: string }>("select to_char(day, 'YYYY-MM-DD') as day from bucket_days_due where account_id = $1 order by day", [account])).rows.map(
          (r) => r.day,
        );
      const days = [new Date(TODAY - DAY_MS).toISOString().slice(0, 10), new Date(TODAY).toISOString().slice(0, 10)];

      it("counts the bucket tokens of drained usage once; a redrain after a crash before the ack counts nothing twice", async () => {
        const { account, events } = await subscriberUsage(1_000n);
        const crashing = instrument(store);
        await crashing.record(events);
        crashing.failAcks = true;
        await assert.rejects(drainOnce({ store: crashing, db, counters }), /simulated crash/);
        await store.close();
        store = await harness.open();
        assert.deepEqual(await drainOnce({ store, db, counters }), { drained: 0, duplicates: 3, orphaned: 0 });
        // 600 from the bucket, then the 400 left: 1,000 tokens, once.
        assert.equal(await unconsumed(account), 1_000n);
        if (kind === "dynamodb") {
          assert.deepEqual(await counted(account), [600n, 400n]);
          assert.deepEqual(await dueDays(account), days);
        } else {
          assert.deepEqual(await counted(account), [0n, 0n], "postgres: usage_events is the ledger, nothing else is counted");
        }

        // The same request ids metered again (a client retry that slipped past the gate): charged and counted once.
        await store.record(events);
        await drainOnce({ store, db, counters });
        assert.equal(await unconsumed(account), 1_000n);
        if (kind === "dynamodb") assert.deepEqual(await counted(account), [600n, 400n]);
      });

      // Only the DynamoDB path counts apart from the commit: with postgres there is no such point to crash at.
      if (kind === "dynamodb") it("a drain that crashed between counting and marking the days due: the redrain marks them, counting once", async () => {
        const { account, events } = await subscriberUsage(5_000n);
        await store.record(events);
        let crash = true;
        const crashing: CounterStore = {
          ...counters,
          async countBucket(requestId, usage) {
            const first = await counters.countBucket(requestId, usage);
            if (crash) throw new Error("simulated crash after counting");
            return first;
          },
        };
        await assert.rejects(drainOnce({ store, db, counters: crashing }), /simulated crash after counting/);
        assert.deepEqual(await dueDays(account), [], "nothing marked due yet");
        crash = false;
        assert.deepEqual(await drainOnce({ store, db, counters: crashing }), { drained: 0, duplicates: 3, orphaned: 0 });
        assert.equal(await unconsumed(account), 1_200n);
        assert.deepEqual(await counted(account), [600n, 600n]);
        assert.deepEqual(await dueDays(account), days);
      });
    });
  }
}
