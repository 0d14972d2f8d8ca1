import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Hex } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { DEFAULT_ECONOMICS, onchainPlan } from "../../../../deploy/config.ts";
import { drainOnce } from "../../../../src/billing/index.ts";
import { subscriptionsAbi } from "../../../../src/chain/abis.ts";
import { reconcileBuckets, recordCheckpointIntents } from "../../../../src/subscriptions/reconcile.ts";
import { auth, BACKENDS, expectReply as expect, signIn, startStack, viem, type Stack } from "../../api/harness.ts";

const STARTER = onchainPlan(DEFAULT_ECONOMICS.plans[0]!, DEFAULT_ECONOMICS.cxptUsd);
const OVERAGE = (STARTER.bucket * DEFAULT_ECONOMICS.overageBps) / 10_000n;

for (const backend of BACKENDS) {
  describe(`bucket checkpoints and reconciliation (${backend})`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack(backend);
    });
    after(async () => stack.close());

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

    /** One chat completion drawn from the bucket, drained into usage_events; the tokens it used. */
    async function use(key: string, requestId: string): Promise<bigint> {
      const chat = { model: "llama-3-8b", messages: [{ role: "user", content: "What is CXPT?" }], max_tokens: 64 };
      const answer = await stack.api.inject({ method: "POST", url: "/api/v1/chat/completions", payload: chat, headers: { ...auth(key), "x-request-id": requestId } });
      assert.equal(answer.statusCode, 200, answer.body);
      await stack.app.billing.meter.flush();
      while ((await drainOnce({ store: stack.app.billing.store, db: stack.app.db })).drained > 0);
      return BigInt(answer.json().usage.total_tokens);
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

    it("consumes the metered bucket tokens on chain once; the mirror stays consistent; a second run does nothing", async () => {
      const user = await subscriber(`pi_rec_${backend}`);
      const used = (await use(user.key, `rec-1-${backend}`)) + (await use(user.key, `rec-2-${backend}`));
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
      assert.deepEqual(await usageMarks(user.accountId), [
        { checkpointed: true, settled: false },
        { checkpointed: true, settled: false },
      ]);

      assert.deepEqual(await reconcileBuckets(stack.app), { checkpointed: [], failed: [], pending: 0, drift: [] });
      assert.equal(await chainBucket(user.passId), STARTER.bucket - used);
    });

    it("corrects an off-chain drift toward the chain and reports it", async () => {
      const user = await subscriber(`pi_drift_${backend}`);
      const used = await use(user.key, `drift-${backend}`);
      await stack.app.db.query("update accounts set bucket_remaining = 123 where id = $1", [user.accountId]);

      const result = await reconcileBuckets(stack.app);
      assert.deepEqual(result.checkpointed.map((c) => c.tokens), [used]);
      const expected = STARTER.bucket + OVERAGE - used;
      assert.deepEqual(result.drift, [{ accountId: user.accountId, passId: user.passId, offchain: 123n, onchain: expected, unsettled: 0n, corrected: expected }]);
      assert.equal(await mirror(user.accountId), expected);
      assert.deepEqual((await reconcileBuckets(stack.app)).drift, []);
    });

    it("a crash between recording the intent and sending: the next run sends it once", async () => {
      const user = await subscriber(`pi_crash_before_${backend}`);
      const used = await use(user.key, `crash-before-${backend}`);
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
        const user = await subscriber(`pi_crash_after_${recorded}_${backend}`);
        const used = await use(user.key, `crash-after-${recorded}-${backend}`);
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
        assert.deepEqual(await usageMarks(user.accountId), [{ checkpointed: true, settled: false }]);
        assert.deepEqual(await reconcileBuckets(stack.app), { checkpointed: [], failed: [], pending: 0, drift: [] });
        assert.equal(await chainBucket(user.passId), STARTER.bucket - used);
      });
    }
  });
}
