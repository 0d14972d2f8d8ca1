// The indexer as the app runs it (src/indexer/follow.ts), over both backends: it follows the chain
// from the deployment block, its events reach the billing gate (no manual invalidation, no TTL),
// PAYG leaf outcomes land in the user's transaction history (rolled back with a reorg), and a pass
// bought straight on the contract reaches the account's mirror.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { maxUint256, parseEther, type Hex } from "viem";
import { runSettlement } from "../../../src/settlement/settle.ts";
import { DEFAULT_ECONOMICS, onchainPlan } from "../../../deploy/config.ts";
import { subscriptionsAbi } from "../../../src/chain/abis.ts";
import { readPass } from "../../../src/subscriptions/chain.ts";
import { approveVault, auth, BACKENDS, connection, fundCxpt, paygUsage, signIn, startStack, USERS, viem, walletOf, type Stack } from "../api/harness.ts";

/** Polls `check` until it holds (bounded: a follower that never delivers fails the test, not hangs it). */
async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const chat = { model: "llama-3-8b", messages: [{ role: "user", content: "hi" }], max_tokens: 16, tier: "open-ocean" };

for (const backend of BACKENDS) {
  describe(`the app's chain follower (${backend})`, () => {
    let stack: Stack;
    afterEach(async () => stack?.close());
    // A gate that trusts its cache for ten minutes: only the follower can explain a change seen sooner.
    const start = () => startStack(backend, { INDEXER_INTERVAL_MS: "50", GATE_TTL_MS: "600000" });

    it("indexes from the deployment block and lets an on-chain approval reach the billing gate", async () => {
      stack = await start();
      const { token, wallet } = await signIn(stack.api, USERS.alice);
      const key = (await stack.api.inject({ method: "POST", url: "/api/v1/keys", headers: auth(token), payload: { name: "t" } })).json().key as string;
      const call = () => stack.api.inject({ method: "POST", url: "/api/v1/chat/completions", payload: chat, headers: auth(key) });
      assert.equal((await call()).statusCode, 402); // caches "nothing can pay"

      await fundCxpt(stack.deployment, wallet, parseEther("10"));
      await approveVault(stack.deployment, USERS.alice, parseEther("5"));
      const approval = await eventually("the Approval event", async () => {
        const { rows } = await stack.app.db.query<{ block_number: unknown }>(
          "select block_number from chain_events where event = 'Approval' and args->>'owner' = $1",
          [wallet.toLowerCase()],
        );
        return rows[0];
      });
      const deploymentBlock = BigInt(stack.deployment.deploymentBlock);
      const { rows: first } = await stack.app.db.query<{ block_number: unknown }>("select min(block_number) as block_number from chain_events");
      assert.ok(BigInt(String(first[0]!.block_number)) >= deploymentBlock, "nothing before the deployment block is indexed");
      assert.ok(BigInt(String(approval.block_number)) > deploymentBlock);
      const paid = await eventually("the gate to see the allowance", async () => ((await call()).statusCode === 200 ? true : undefined));
      assert.equal(paid, true);
    });

    it("books PAYG collections into the payer's transaction history, and a reorg takes them back out", async () => {
      stack = await start();
      const { token, accountId, wallet } = await signIn(stack.api, USERS.bob);
      await fundCxpt(stack.deployment, wallet, parseEther("10"));
      await approveVault(stack.deployment, USERS.bob, maxUint256);
      const payg = 123_456_789n;
      await paygUsage(stack.app.db, accountId, payg);
      const snapshot = (await connection.provider.request({ method: "evm_snapshot" })) as Hex;
      await runSettlement(stack.app);
      const history = async () =>
        (await stack.api.inject({ method: "GET", url: "/api/v1/tokens/transactions", headers: auth(token) })).json().transactions as {
          type: string;
          status: string;
          amountWei: string;
          ref: string | null;
          txHash: string | null;
        }[];
      const charge = await eventually("the usage charge in the history", async () => (await history()).find((t) => t.type === "usage_charge"));
      assert.equal(charge.status, "confirmed");
      assert.equal(BigInt(charge.amountWei), payg);
      // The collection's hash, where every other transaction has its own (not only in details).
      assert.match(String(charge.txHash), /^0x[0-9a-f]{64}$/i);

      // The blocks that collected it leave the chain; a longer chain without them replaces them.
      await connection.provider.request({ method: "evm_revert", params: [snapshot] });
      await connection.provider.request({ method: "hardhat_mine", params: ["0x10"] });
      await eventually("the reorg to remove the charge", async () => ((await history()).some((t) => t.type === "usage_charge") ? undefined : true));
    });

    it("refreshes the mirror of a plan bought straight on the contract, without waiting for reconciliation", async () => {
      stack = await start();
      const { accountId, wallet } = await signIn(stack.api, USERS.carol);
      const plan = onchainPlan(DEFAULT_ECONOMICS.plans[0]!, DEFAULT_ECONOMICS.cxptUsd);
      await fundCxpt(stack.deployment, wallet, plan.price);
      await approveVault(stack.deployment, USERS.carol, plan.price);
      const buyer = await walletOf(USERS.carol);
      const hash = await buyer.writeContract({ address: stack.deployment.contracts.subscriptions!, abi: subscriptionsAbi, functionName: "activatePlan", args: [1n] });
      assert.equal((await (await viem.getPublicClient()).waitForTransactionReceipt({ hash })).status, "success");

      const mirror = await eventually("the account's mirror of the new pass", async () => {
        const { rows } = await stack.app.db.query<{ subscription_pass_id: string | null; subscription_plan_id: number | null; bucket_remaining: string }>(
          "select subscription_pass_id::text, subscription_plan_id, bucket_remaining::text from accounts where id = $1",
          [accountId],
        );
        return rows[0]!.subscription_pass_id === null ? undefined : rows[0]!;
      });
      assert.equal(Number(mirror.subscription_plan_id), 1);
      const pass = (await readPass(await viem.getPublicClient(), stack.deployment.contracts.subscriptions!, wallet))!;
      assert.equal(BigInt(mirror.subscription_pass_id!), pass.passId);
      assert.ok(pass.bucketRemaining >= plan.bucket);
      assert.equal(BigInt(mirror.bucket_remaining), pass.bucketRemaining + pass.overageRemaining);
    });
  });
}
