// Bucket checkpoints and the mirror reconciliation, on both backends and both counter stores: with
// COUNTER_STORE=postgres the bucket usage is read from and marked in usage_events; with
// COUNTER_STORE=dynamodb (dynalite, started here) it is read from the counters the drain wrote, with
// the claims kept in PostgreSQL. The tests drive the drain themselves (the background one waits).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { type Hex } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { DEFAULT_ECONOMICS, onchainPlan } from "../../../../deploy/config.ts";
import { drainOnce, type MeterStore } from "../../../../src/billing/index.ts";
import { countBucketUsage } from "../../../../src/billing/bucket-count.ts";
import { subscriptionsAbi } from "../../../../src/chain/abis.ts";
import type { CounterStore } from "../../../../src/counters/index.ts";
import { startDynalite, type LocalDynamo } from "../../../../src/devstack/dynalite.ts";
import { reconcileBuckets, recordCheckpointIntents } from "../../../../src/subscriptions/reconcile.ts";
import { auth, BACKENDS, expectReply as expect, signIn, startStack, viem, type Stack } from "../../api/harness.ts";
import { instrument } from "../../billing/backend/helpers.ts";

const STARTER = onchainPlan(DEFAULT_ECONOMICS.plans[0]!, DEFAULT_ECONOMICS.cxptUsd);
const OVERAGE = (STARTER.bucket * DEFAULT_ECONOMICS.overageBps) / 10_000n;
const COUNTER_STORES = ["postgres", "dynamodb"] as const;

let dynamo: LocalDynamo;
before(async () => {
  dynamo = await startDynalite();
});
after(async () => dynamo?.close());

for (const backend of BACKENDS) for (const counterStore of COUNTER_STORES) {
  describe(`bucket checkpoints and reconciliation (${backend}, ${counterStore} counters)`, () => {
    let stack: Stack;
    before(async () => {
      let env: Record<string, string> = {};
      if (counterStore === "dynamodb") {
        const table = `cxpt_counters_${randomBytes(4).toString("hex")}`;
        await dynamo.createCountersTable(table);
        env = dynamo.env(table);
      }
      // The tests drain when they choose to (the crash tests need the batches to themselves).
      stack = await startStack(backend, { ...env, DRAIN_INTERVAL_MS: "3600000" });
    });
    after(async () => stack.close());
    const tag = `${backend}_${counterStore}`;

    const subscriptions = () => stack.deployment.contracts.subscriptions!;

    /** A new user on the Starter plan (fiat path), with an API key. */
    async function subscriber(ref: string) {
      const user = await signIn(stack.api, generatePrivateKey());
      const paid = expect(
        await stack.api.inject({ method: "POST", url: "/api/v1/subscriptions/create", headers: auth(user.token), payload: { planId: 1, payment: "fiat", paymentRef: ref } }),
        201,
      );
      const key = expect(await stack.api.inject({ method: "POST", url: "/api/v1/keys", headers: auth(user.token), payload: { name: "k" } }), 201).key as string;
      return { accountId: user.accountId, key, passId: BigInt(paid.payment.passId) };
    }

    /** One chat completion drawn from the bucket, metered (not drained yet); the tokens it used. */
    async function meter(key: string, requestId: string): Promise<bigint> {
      const chat = { model: "llama-3-8b", messages: [{ role: "user", content: "What is CXPT?" }], max_tokens: 64 };
      const answer = await stack.api.inject({ method: "POST", url: "/api/v1/chat/completions", payload: chat, headers: { ...auth(key), "x-request-id": requestId } });
      assert.equal(answer.statusCode, 200, answer.body);
      await stack.app.billing.meter.flush();
      return BigInt(answer.json().usage.total_tokens);
    }

    /** Drains everything metered (from `store`), counting the bucket tokens unless `count` is false. */
    async function drain({ store = stack.app.billing.store, count = true }: { store?: MeterStore; count?: boolean } = {}) {
      const counters = count ? stack.app.counters : undefined;
      while ((await drainOnce({ store, db: stack.app.db, counters })).drained > 0);
    }

    /** One chat completion drawn from the bucket, drained and counted; the tokens it used. */
    async function use(key: string, requestId: string): Promise<bigint> {
      const used = await meter(key, requestId);
      await drain();
      return used;
    }

    async function chainBucket(passId: bigint): Promise<bigint> {
      const client = await viem.getPublicClient();
      return client.readContract({ address: subscriptions(), abi: subscriptionsAbi, functionName: "bucketRemaining", args: [passId] });
    }

    async function mirror(accountId: string): Promise<bigint> {
      const { rows } = await stack.app.db.query<{ bucket_remaining: string }>("select bucket_remaining from accounts where id = $1", [accountId]);
      return BigInt(rows[0]!.bucket_remaining);
    }

    async function usageMarks(accountId: string) {
      const { rows } = await stack.app.db.query<{ checkpointed: boolean; settled: boolean }>(
        "select bucket_checkpointed_at is not null as checkpointed, settled_at is not null as settled from usage_events where account_id = $1 and bucket_tokens > 0",
        [accountId],
      );
      return rows;
    }

    /** The marks of `events` usage rows whose bucket tokens were all consumed on chain, in the store's terms. */
    async function assertConsumed(accountId: string, events: number, tokens: bigint) {
      if (counterStore === "postgres") {
        assert.deepEqual(await usageMarks(accountId), Array.from({ length: events }, () => ({ checkpointed: true, settled: false })));
        return;
      }
      // The counters: every day's count claimed by done checkpoints, no day due, usage_events untouched.
      const { rows } = await stack.app.db.query<{ tokens: string }>(
        `select coalesce(sum(d.tokens), 0)::text as tokens from bucket_checkpoint_days d join bucket_checkpoints c on c.id = d.checkpoint_id
          where d.account_id = $1 and c.state = 'done'`,
        [accountId],
      );
      assert.equal(BigInt(rows[0]!.tokens), tokens);
      assert.deepEqual((await stack.app.db.query("select * from bucket_days_due where account_id = $1", [accountId])).rows, []);
      assert.deepEqual(await usageMarks(accountId), Array.from({ length: events }, () => ({ checkpointed: false, settled: false })));
    }

    it("consumes the metered bucket tokens on chain once; the mirror stays consistent; a second run does nothing", async () => {
      const user = await subscriber(`pi_rec_${tag}`);
      const used = (await use(user.key, `rec-1-${tag}`)) + (await use(user.key, `rec-2-${tag}`));
      assert.equal(await chainBucket(user.passId), STARTER.bucket);
      assert.equal(await mirror(user.accountId), STARTER.bucket + OVERAGE - used);

      const result = await reconcileBuckets(stack.app);
      assert.equal(result.checkpointed.length, 1);
      const [checkpoint] = result.checkpointed;
      assert.deepEqual({ ...checkpoint!, txHash: undefined }, { accountId: user.accountId, passId: user.passId, tokens: used, txHash: undefined });
      assert.match(checkpoint!.txHash, /^0x[0-9a-f]{64}$/);
      assert.deepEqual(result.failed, []);
      assert.deepEqual(result.drift, []);
      assert.equal(await chainBucket(user.passId), STARTER.bucket - used);
      assert.equal(await mirror(user.accountId), STARTER.bucket + OVERAGE - used);
      // The bucket has its own mark: settled_at stays PAYG's.
      await assertConsumed(user.accountId, 2, used);

      assert.deepEqual(await reconcileBuckets(stack.app), { checkpointed: [], failed: [], pending: 0, drift: [] });
      assert.equal(await chainBucket(user.passId), STARTER.bucket - used);
    });

    it("corrects an off-chain drift toward the chain and reports it", async () => {
      const user = await subscriber(`pi_drift_${tag}`);
      const used = await use(user.key, `drift-${tag}`);
      await stack.app.db.query("update accounts set bucket_remaining = 123 where id = $1", [user.accountId]);

      const result = await reconcileBuckets(stack.app);
      assert.deepEqual(result.checkpointed.map((c) => c.tokens), [used]);
      const expected = STARTER.bucket + OVERAGE - used;
      assert.deepEqual(result.drift, [{ accountId: user.accountId, passId: user.passId, offchain: 123n, onchain: expected, unsettled: 0n, corrected: expected }]);
      assert.equal(await mirror(user.accountId), expected);
      assert.deepEqual((await reconcileBuckets(stack.app)).drift, []);
    });

    it("a crash between recording the intent and sending: the next run sends it once", async () => {
      const user = await subscriber(`pi_crash_before_${tag}`);
      const used = await use(user.key, `crash-before-${tag}`);
      const intents = await recordCheckpointIntents(stack.app);
      assert.deepEqual(intents.map((i) => [i.account_id, BigInt(i.tokens)]), [[user.accountId, used]]);
      assert.equal(await chainBucket(user.passId), STARTER.bucket);

      const result = await reconcileBuckets(stack.app);
      assert.deepEqual(result.checkpointed.map((c) => [c.accountId, c.tokens]), [[user.accountId, used]]);
      assert.equal(await chainBucket(user.passId), STARTER.bucket - used);
      assert.deepEqual(await reconcileBuckets(stack.app), { checkpointed: [], failed: [], pending: 0, drift: [] });
      assert.equal(await chainBucket(user.passId), STARTER.bucket - used);
    });

    for (const recorded of [false, true]) {
      it(`a crash after sending, before recording ${recorded ? "the receipt" : "the hash"}: nothing is consumed twice`, async () => {
        const user = await subscriber(`pi_crash_after_${recorded}_${tag}`);
        const used = await use(user.key, `crash-after-${recorded}-${tag}`);
        const [intent] = await recordCheckpointIntents(stack.app);
        // What the crashed run had sent.
        const billing = stack.app.chain!.signers.billing!;
        const hash: Hex = await billing.writeContract({
          address: subscriptions(),
          abi: subscriptionsAbi,
          functionName: "consumeTokens",
          args: [user.passId, used],
          account: billing.account,
          chain: billing.chain,
        });
        await (await viem.getPublicClient()).waitForTransactionReceipt({ hash });
        if (recorded) await stack.app.db.query("update bucket_checkpoints set state = 'sent', tx_hash = $2 where id = $1", [intent!.id, hash]);
        assert.equal(await chainBucket(user.passId), STARTER.bucket - used);

        const result = await reconcileBuckets(stack.app);
        assert.deepEqual(result.checkpointed, [{ accountId: user.accountId, passId: user.passId, tokens: used, txHash: hash }]);
        assert.deepEqual(result.drift, []);
        assert.equal(await chainBucket(user.passId), STARTER.bucket - used);
        await assertConsumed(user.accountId, 1, used);
        assert.deepEqual(await reconcileBuckets(stack.app), { checkpointed: [], failed: [], pending: 0, drift: [] });
        assert.equal(await chainBucket(user.passId), STARTER.bucket - used);
      });
    }

    it("a drain that crashed before acknowledging: the redelivered usage is counted and consumed on chain once", async () => {
      const user = await subscriber(`pi_redrain_${tag}`);
      const used = await meter(user.key, `redrain-${tag}`);
      const crashing = instrument(stack.app.billing.store);
      crashing.failAcks = true;
      await assert.rejects(drain({ store: crashing }), /simulated crash/);
      await drain(); // the same batch, delivered again

      const result = await reconcileBuckets(stack.app);
      assert.deepEqual(result.checkpointed.map((c) => [c.accountId, c.tokens]), [[user.accountId, used]]);
      assert.deepEqual(result.drift, []);
      assert.equal(await chainBucket(user.passId), STARTER.bucket - used);
      assert.equal(await mirror(user.accountId), STARTER.bucket + OVERAGE - used);
      await assertConsumed(user.accountId, 1, used);
      assert.deepEqual(await reconcileBuckets(stack.app), { checkpointed: [], failed: [], pending: 0, drift: [] });
    });

    it("usage counted after a run crashed with its intent open: the intent is sent as recorded, the new usage next, once each", async () => {
      const user = await subscriber(`pi_between_${tag}`);
      const first = await use(user.key, `between-1-${tag}`);
      const [intent] = await recordCheckpointIntents(stack.app); // the run crashed here
      assert.equal(BigInt(intent!.tokens), first);
      const second = await use(user.key, `between-2-${tag}`);
      assert.deepEqual(await recordCheckpointIntents(stack.app), [], "one open checkpoint per pass: the new usage waits");

      const result = await reconcileBuckets(stack.app);
      assert.deepEqual(result.checkpointed.map((c) => c.tokens), [first, second]);
      assert.deepEqual(result.drift, []);
      assert.equal(await chainBucket(user.passId), STARTER.bucket - first - second);
      assert.equal(await mirror(user.accountId), STARTER.bucket + OVERAGE - first - second);
      await assertConsumed(user.accountId, 2, first + second);
      assert.deepEqual(await reconcileBuckets(stack.app), { checkpointed: [], failed: [], pending: 0, drift: [] });
    });

    // A count that lands while the run reads the counters (the drain counts after its commit, so this
    // is any drain running beside the reconciliation): the run claims what it read, the day stays due
    // and the next run claims the rest. It needs a second database connection, so the server backend.
    if (counterStore === "dynamodb" && backend === "servers") {
      it("a count landing while a run reads the counters is claimed by the next run, never lost nor claimed twice", async () => {
        const user = await subscriber(`pi_race_${tag}`);
        const first = await use(user.key, `race-1-${tag}`);
        const second = await meter(user.key, `race-2-${tag}`);
        await drain({ count: false }); // committed to PostgreSQL, not counted yet
        const { rows } = await stack.app.db.query<{ request_id: string }>(
          "select request_id from usage_events where account_id = $1 and request_id like $2",
          [user.accountId, `%race-2-${tag}`],
        );
        let raced = false;
        const counters: CounterStore = {
          ...stack.app.counters,
          async bucketTokens(accountId, window) {
            const read = await stack.app.counters.bucketTokens(accountId, window);
            if (!raced) {
              raced = true;
              assert.equal(await countBucketUsage(stack.app.db, stack.app.counters, rows.map((r) => r.request_id)), 1);
            }
            return read;
          },
        };
        const [intent] = await recordCheckpointIntents({ ...stack.app, counters });
        assert.ok(raced);
        assert.equal(BigInt(intent!.tokens), first, "the run claims what it read");

        const result = await reconcileBuckets(stack.app);
        assert.deepEqual(result.checkpointed.map((c) => c.tokens), [first, second]);
        assert.equal(await chainBucket(user.passId), STARTER.bucket - first - second);
        await assertConsumed(user.accountId, 2, first + second);
        assert.deepEqual(await reconcileBuckets(stack.app), { checkpointed: [], failed: [], pending: 0, drift: [] });
      });
    }
  });
}
