// The counters (src/counters) on both stores, the same suite: PostgreSQL (a scratch database on
// this machine's server) and DynamoDB (dynalite, started here). Each request id counts once, also
// when sent many times at once; windows are [from, to) by hour and day; big amounts stay exact. A
// bad DynamoDB configuration is refused at start with one line naming the problem. With
// COUNTER_STORE=dynamodb the served-work recorder counts there and the rewards epoch reads there; the
// app's own drain (its thread, with a PostgreSQL server and Redis) counts bucket tokens there.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, afterEach, before, describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../../src/config/config.ts";
import { openCounters, openDynamoCounters, servedWorkRecorder, type CounterStore } from "../../../src/counters/index.ts";
import { openDb, type Db } from "../../../src/db/db.ts";
import { migrate } from "../../../src/db/migrate.ts";
import { startDynalite, LOCAL_REGION, type LocalDynamo } from "../../../src/devstack/dynalite.ts";
import { scratchDatabase, type ScratchDatabase } from "../../../src/devstack/scratch.ts";
import { createLogger } from "../../../src/monitoring/log.ts";
import { runJob } from "../../../src/jobs/run.ts";
import { createApp } from "../../../src/app/create.ts";
import { auth, expectReply, signIn, startStack, TEST_DATABASE_URL, type Stack } from "../api/harness.ts";
import { devKey } from "../../../src/devstack/keys.ts";
import { reconcileBuckets } from "../../../src/subscriptions/reconcile.ts";

const H = 3_600_000;
const T0 = new Date("2026-12-06T00:00:00Z");
const at = (hours: number) => new Date(T0.getTime() + hours * H);
const tableName = () => `cxpt_counters_${randomBytes(4).toString("hex")}`;

let dynamo: LocalDynamo;
before(async () => {
  dynamo = await startDynalite();
});
after(async () => dynamo?.close());

/** Two accounts in `db` (the counters reference accounts in PostgreSQL). */
async function accounts(db: Db): Promise<[string, string]> {
  const { rows } = await db.query<{ id: string }>("insert into accounts (kind) values ('provider'), ('user') returning id::text");
  return [rows[0]!.id, rows[1]!.id];
}

const STORES = ["postgres", "dynamodb"] as const;

for (const kind of STORES) {
  describe(`counters (${kind})`, () => {
    let database: ScratchDatabase;
    let db: Db;
    let store: CounterStore;
    let provider: string;
    let user: string;

    before(async () => {
      database = await scratchDatabase(TEST_DATABASE_URL, "cxpt_counters");
      db = await openDb({ url: database.url });
      await migrate(db);
      [provider, user] = await accounts(db);
    });
    after(async () => {
      await db?.close();
      await database?.drop();
    });
    afterEach(async () => store?.close());

    const open = async () => {
      if (kind === "postgres") return openCounters({ store: "postgres" }, db);
      const table = tableName();
      await dynamo.createCountersTable(table);
      return openCounters({ store: "dynamodb", table, region: LOCAL_REGION, endpoint: dynamo.endpoint }, db);
    };

    it("counts each served request once, per provider, tier and UTC hour", async () => {
      store = await open();
      assert.equal(store.kind, kind);
      assert.equal(await store.countServed("r1", { providerAccountId: provider, tier: "open-ocean", at: at(1.2) }), true);
      assert.equal(await store.countServed("r2", { providerAccountId: provider, tier: "open-ocean", at: at(1.9) }), true);
      assert.equal(await store.countServed("r1", { providerAccountId: provider, tier: "open-ocean", at: at(1.2) }), false, "a repeated request id");
      assert.equal(await store.countServed("r3", { providerAccountId: provider, tier: "tide-pool", at: at(1.5) }), true);
      assert.equal(await store.countServed("r4", { providerAccountId: provider, tier: "open-ocean", at: at(2) }), true);
      assert.equal(await store.countServed("r5", { providerAccountId: provider, tier: "open-ocean", at: at(30) }), true);
      const byKey = (window: { from: Date; to: Date }) =>
        store.served(window).then((rows) => rows.map((r) => `${r.tier}@${r.hour.toISOString()}=${r.requests}`).sort());
      assert.deepEqual(await byKey({ from: T0, to: at(24) }), [
        `open-ocean@${at(1).toISOString()}=2`,
        `open-ocean@${at(2).toISOString()}=1`,
        `tide-pool@${at(1).toISOString()}=1`,
      ]);
      // [from, to): the hour starting at `to` is out, the one at `from` in.
      assert.deepEqual(await byKey({ from: at(2), to: at(30) }), [`open-ocean@${at(2).toISOString()}=1`]);
      assert.deepEqual(await byKey({ from: at(24), to: at(48) }), [`open-ocean@${at(30).toISOString()}=1`]);
    });

    it("a request id sent many times at once counts once", async () => {
      store = await open();
      const results = await Promise.all(Array.from({ length: 20 }, () => store.countServed("same", { providerAccountId: provider, tier: "blue-surge", at: at(5) })));
      assert.equal(results.filter(Boolean).length, 1);
      const many = await Promise.all(Array.from({ length: 50 }, (_, i) => store.countServed(`many-${i}`, { providerAccountId: provider, tier: "blue-surge", at: at(5) })));
      assert.ok(many.every(Boolean));
      const [row] = await store.served({ from: at(5), to: at(6) });
      assert.equal(row!.requests, 51n);
    });

    it("adds bucket tokens per account and day, once per request id, exactly (past 2^53)", async () => {
      store = await open();
      const big = 2n ** 60n + 7n;
      assert.equal(await store.countBucket("b1", { accountId: user, at: at(3), tokens: 1_000n }), true);
      assert.equal(await store.countBucket("b1", { accountId: user, at: at(3), tokens: 1_000n }), false);
      assert.equal(await store.countBucket("b2", { accountId: user, at: at(20), tokens: big }), true);
      assert.equal(await store.countBucket("b3", { accountId: user, at: at(26), tokens: 5n }), true);
      assert.equal(await store.bucketTokens(user, { from: T0, to: at(24) }), 1_000n + big);
      assert.equal(await store.bucketTokens(user, { from: T0, to: at(48) }), 1_005n + big);
      assert.equal(await store.bucketTokens(user, { from: at(24), to: at(48) }), 5n);
      assert.equal(await store.bucketTokens(provider, { from: T0, to: at(48) }), 0n);
      await assert.rejects(store.countBucket("neg", { accountId: user, at: at(1), tokens: -1n }), RangeError);
    });

    it("the served-work recorder counts in the store, never throws into the request, and flushes", async () => {
      store = await open();
      const recorder = servedWorkRecorder(store, createLogger({ level: "silent" }));
      const served = { requestId: "acct:r1", nodeId: "node-1", providerAccountId: provider, tier: "mariana-depth" as const, at: at(7.5).getTime(), tokens: 120, latencyMs: 80 };
      recorder.record(served);
      recorder.record(served); // the same request recorded twice
      recorder.record({ ...served, requestId: "acct:r2", at: at(7.6).getTime() });
      await recorder.flush();
      const rows = await store.served({ from: at(7), to: at(8) });
      assert.deepEqual(rows.map((r) => [r.tier, r.requests]), [["mariana-depth", 2n]]);
    });
  });
}

describe("counters configuration", () => {
  it("COUNTER_STORE=dynamodb needs a table and a region; bad values are named", () => {
    assert.deepEqual(loadConfig({}).counters, { store: "postgres" });
    assert.throws(() => loadConfig({ COUNTER_STORE: "mongo" }), /COUNTER_STORE must be postgres or dynamodb/);
    assert.throws(() => loadConfig({ COUNTER_STORE: "dynamodb" }), /needs DYNAMODB_TABLE/);
    assert.throws(() => loadConfig({ COUNTER_STORE: "dynamodb", DYNAMODB_TABLE: "cxpt" }), /needs AWS_REGION/);
    assert.throws(() => loadConfig({ COUNTER_STORE: "dynamodb", DYNAMODB_TABLE: "cxpt", AWS_REGION: "Frankfurt" }), /AWS_REGION is not an AWS region/);
    assert.throws(() => loadConfig({ COUNTER_STORE: "dynamodb", DYNAMODB_TABLE: "c", AWS_REGION: "eu-central-1" }), /DYNAMODB_TABLE is not a DynamoDB table name/);
    assert.throws(() => loadConfig({ COUNTER_STORE: "dynamodb", DYNAMODB_TABLE: "cxpt", AWS_REGION: "eu-central-1", DYNAMODB_ENDPOINT: "not a url" }), /DYNAMODB_ENDPOINT is not a URL/);
    assert.deepEqual(loadConfig({ COUNTER_STORE: "dynamodb", DYNAMODB_TABLE: "cxpt", AWS_REGION: "eu-central-1" }).counters, { store: "dynamodb", table: "cxpt", region: "eu-central-1", endpoint: undefined });
  });

  const oneLine = (pattern: RegExp) => (error: unknown) => error instanceof ConfigError && pattern.test(error.message) && !error.message.includes("\n");

  it("refuses a missing table, a table with other keys and an endpoint nobody answers, in one line each", async () => {
    const local = { region: LOCAL_REGION, credentials: { accessKeyId: "local", secretAccessKey: "local" } };
    await assert.rejects(openDynamoCounters({ ...local, table: "cxpt_missing", endpoint: dynamo.endpoint }), oneLine(/table "cxpt_missing" \(DYNAMODB_TABLE\) does not exist/));
    const { CreateTableCommand, DynamoDBClient } = await import("@aws-sdk/client-dynamodb");
    const client = new DynamoDBClient({ ...local, endpoint: dynamo.endpoint });
    await client.send(new CreateTableCommand({ TableName: "cxpt_wrong_keys", AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }], KeySchema: [{ AttributeName: "id", KeyType: "HASH" }], BillingMode: "PAY_PER_REQUEST" }));
    client.destroy();
    await assert.rejects(openDynamoCounters({ ...local, table: "cxpt_wrong_keys", endpoint: dynamo.endpoint }), oneLine(/must have the string hash key "pk" and the string range key "sk"/));
    await assert.rejects(openDynamoCounters({ ...local, table: "cxpt_counters", endpoint: "http://127.0.0.1:9" }), oneLine(/cannot reach DynamoDB at DYNAMODB_ENDPOINT http:\/\/127\.0\.0\.1:9/));
  });
});

describe("COUNTER_STORE=dynamodb in the app", () => {
  let stack: Stack;
  afterEach(async () => stack?.close());

  it("the app refuses to start without the table; with it, the rewards epoch reads the served requests from DynamoDB", async () => {
    const table = tableName();
    const refused = createApp(loadConfig({ DATABASE_URL: "memory", LOG_LEVEL: "silent", ...dynamo.env(table) }));
    await assert.rejects(refused, oneLineConfig(new RegExp(`table "${table}" \\(DYNAMODB_TABLE\\) does not exist`)));
    await dynamo.createCountersTable(table);
    stack = await startStack("servers", dynamo.env(table));
    assert.equal(stack.app.counters.kind, "dynamodb");
    const provider = await signIn(stack.api, devKey(18), { kind: "provider" });
    // Yesterday (UTC), the day the next rewards run counts: served requests recorded in DynamoDB only.
    const yesterday = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000);
    const recorder = servedWorkRecorder(stack.app.counters, stack.app.monitor.log);
    for (let i = 0; i < 10; i++) recorder.record({ requestId: `acct:y${i}`, nodeId: "n1", providerAccountId: provider.accountId, tier: "open-ocean", at: yesterday.getTime() + 3 * H + i, tokens: 10, latencyMs: 50 });
    await recorder.flush();
    const { rows } = await stack.app.db.query("select * from provider_requests");
    assert.deepEqual(rows, [], "nothing went to PostgreSQL");

    const run = (await runJob(stack.app, "rewards", { trigger: "manual" }))!;
    assert.equal(run.outcome, "ok", run.error ?? "");
    assert.equal(run.summary!.providers, 1, JSON.stringify(run.summary));
  });

  it("the app's drain thread counts a subscriber's bucket tokens in DynamoDB; the reconciliation consumes them from there", async () => {
    const table = tableName();
    await dynamo.createCountersTable(table);
    stack = await startStack("servers", dynamo.env(table));
    const user = await signIn(stack.api, devKey(19));
    const payment = { planId: 1, payment: "fiat", paymentRef: `pi_counters_${table}` };
    expectReply(await stack.api.inject({ method: "POST", url: "/api/v1/subscriptions/create", headers: auth(user.token), payload: payment }), 201);
    const key = expectReply(await stack.api.inject({ method: "POST", url: "/api/v1/keys", headers: auth(user.token), payload: { name: "k" } }), 201).key as string;
    const chat = { model: "llama-3-8b", messages: [{ role: "user", content: "What is CXPT?" }], max_tokens: 64 };
    const answer = await stack.api.inject({ method: "POST", url: "/api/v1/chat/completions", payload: chat, headers: auth(key) });
    assert.equal(answer.statusCode, 200, answer.body);
    const used = BigInt(answer.json().usage.total_tokens);
    await stack.app.billing.meter.flush();
    const today = { from: new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000), to: new Date(Date.now() + 86_400_000) };
    // No drain here: the app's drain thread (every 250 ms) counts the usage.
    for (let i = 0; i < 100 && (await stack.app.counters.bucketTokens(user.accountId, today)) < used; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await stack.app.counters.bucketTokens(user.accountId, today), used);
    const { rows } = await stack.app.db.query("select * from bucket_counters");
    assert.deepEqual(rows, [], "nothing counted in PostgreSQL's counters");

    const result = await reconcileBuckets(stack.app);
    assert.deepEqual(result.checkpointed.map((c) => [c.accountId, c.tokens]), [[user.accountId, used]]);
  });
});

function oneLineConfig(pattern: RegExp) {
  return (error: unknown) => error instanceof ConfigError && pattern.test(error.message) && !error.message.includes("\n");
}
