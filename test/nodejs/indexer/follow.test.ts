// The indexer as the app runs it (src/indexer/follow.ts), over both backends: it follows the chain
// from the deployment block, its events reach the billing gate (no manual invalidation, no TTL),
// and PAYG leaf outcomes land in the user's transaction history, rolled back with a reorg.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { afterEach, describe, it } from "node:test";
import { maxUint256, parseEther, type Hex } from "viem";
import { cxptAbi } from "../../../src/chain/abis.ts";
import { runSettlement } from "../../../src/settlement/settle.ts";
import { auth, BACKENDS, connection, fundCxpt, signIn, startStack, USERS, viem, walletOf, type Stack } from "../api/harness.ts";

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

    async function approve(key: Hex, amount: bigint) {
      const wallet = await walletOf(key);
      const hash = await wallet.writeContract({ address: stack.deployment.contracts.cxpt!, abi: cxptAbi, functionName: "approve", args: [stack.deployment.contracts.vault!, amount] });
      await (await viem.getPublicClient()).waitForTransactionReceipt({ hash });
    }

    it("indexes from the deployment block and lets an on-chain approval reach the billing gate", async () => {
      stack = await start();
      const { token, wallet } = await signIn(stack.api, USERS.alice);
      const key = (await stack.api.inject({ method: "POST", url: "/api/v1/keys", headers: auth(token), payload: { name: "t" } })).json().key as string;
      const call = () => stack.api.inject({ method: "POST", url: "/api/v1/chat/completions", payload: chat, headers: auth(key) });
      assert.equal((await call()).statusCode, 402); // caches "nothing can pay"

      await fundCxpt(stack.deployment, wallet, parseEther("10"));
      await approve(USERS.alice, parseEther("5"));
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
      await approve(USERS.bob, maxUint256);
      const payg = 123_456_789n;
      await stack.app.db.query(
        `insert into usage_events (request_id, account_id, endpoint, service, units_in, units_out, cost_ausd, cost_wei, billed_in, payg_wei, recorded_at)
         values ($1, $2, '/v1/chat/completions', 'chat', 1, 1, 1, $3, 'cxpt', $3, now())`,
        [`req-${randomBytes(8).toString("hex")}`, accountId, payg],
      );
      const snapshot = (await connection.provider.request({ method: "evm_snapshot" })) as Hex;
      await runSettlement(stack.app);
      const history = async () =>
        (await stack.api.inject({ method: "GET", url: "/api/v1/tokens/transactions", headers: auth(token) })).json().transactions as {
          type: string;
          status: string;
          amountWei: string;
          ref: string | null;
        }[];
      const charge = await eventually("the usage charge in the history", async () => (await history()).find((t) => t.type === "usage_charge"));
      assert.equal(charge.status, "confirmed");
      assert.equal(BigInt(charge.amountWei), payg);

      // The blocks that collected it leave the chain; a longer chain without them replaces them.
      await connection.provider.request({ method: "evm_revert", params: [snapshot] });
      await connection.provider.request({ method: "hardhat_mine", params: ["0x10"] });
      await eventually("the reorg to remove the charge", async () => ((await history()).some((t) => t.type === "usage_charge") ? undefined : true));
    });
  });
}
