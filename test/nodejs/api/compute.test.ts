import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseEther, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { cxptAbi } from "../../../src/chain/abis.ts";
import { drainOnce } from "../../../src/billing/index.ts";
import { auth, BACKENDS, fundCxpt, setSpendingCap, signIn, startStack, USERS, viem, walletOf, type Stack } from "./harness.ts";

const chat = (max_tokens = 64) => ({ model: "llama-3-8b", messages: [{ role: "user", content: "What is CXPT?" }], max_tokens, tier: "open-ocean" });

for (const backend of BACKENDS) {
  describe(`metered compute API (${backend})`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack(backend);
    });
    after(async () => stack.close());

    const call = (key: string | undefined, body: object = chat(), requestId?: string) =>
      stack.api.inject({
        method: "POST",
        url: "/api/v1/chat/completions",
        payload: body,
        headers: { ...(key ? auth(key) : {}), ...(requestId ? { "x-request-id": requestId } : {}) },
      });

    async function newKey(privateKey: `0x${string}`) {
      const { token, accountId } = await signIn(stack.api, privateKey);
      const key = (await stack.api.inject({ method: "POST", url: "/api/v1/keys", headers: auth(token), payload: { name: "t" } })).json().key as string;
      return { token, accountId, key };
    }
    const drainAll = async () => {
      await stack.app.billing.meter.flush();
      while ((await drainOnce({ store: stack.app.billing.store, db: stack.app.db })).drained > 0);
    };
    const account = async (id: string) =>
      (await stack.app.db.query<{ credits_wei: string }>("select credits_wei from accounts where id = $1", [id])).rows[0]!;
    const grantCredits = async (id: string, wei: bigint) => {
      await stack.app.db.query("update accounts set credits_wei = credits_wei + $2 where id = $1", [id, wei]);
      stack.app.billing.gate.invalidateAccount(id);
    };

    it("needs a valid, unrevoked API key (401 with a code)", async () => {
      assert.equal((await call(undefined)).json().error.code, "API_KEY_REQUIRED");
      const unknown = await call("cxk_unknown");
      assert.equal(unknown.statusCode, 401);
      assert.equal(unknown.json().error.code, "INVALID_API_KEY");
      const { token, key, accountId } = await newKey(USERS.carol);
      await grantCredits(accountId, parseEther("1"));
      assert.equal((await call(key)).statusCode, 200);
      const id = (await stack.api.inject({ method: "GET", url: "/api/v1/keys", headers: auth(token) })).json().keys[0].id;
      await stack.api.inject({ method: "DELETE", url: `/api/v1/keys/${id}`, headers: auth(token) });
      assert.equal((await call(key)).json().error.code, "INVALID_API_KEY");
    });

    it("answers 402 with a machine-readable error when nothing can pay", async () => {
      const { key } = await newKey(USERS.bob);
      const response = await call(key);
      assert.equal(response.statusCode, 402);
      const { error } = response.json();
      assert.equal(error.code, "INSUFFICIENT_FUNDS");
      assert.match(error.message, /\w/);
      assert.ok(BigInt(error.details.required) > 0n);
      assert.equal(error.details.available, "0");
    });

    it("bills credits exactly once per request id and drains every event into PostgreSQL", async () => {
      const { key, accountId } = await newKey(USERS.alice);
      const start = parseEther("1");
      await grantCredits(accountId, start);
      const first = await call(key, chat(), "req-1");
      assert.equal(first.statusCode, 200);
      const bill = first.json().cxpt;
      assert.equal(bill.billedIn, "cxpt");
      assert.equal(bill.charged, true);
      const cost = BigInt(bill.costWei);
      assert.ok(cost > 0n);
      // A repeated id is never served again (that would be free compute): 409, nothing charged.
      for (let i = 0; i < 9; i++) {
        const again = await call(key, chat(), "req-1");
        assert.equal(again.statusCode, 409);
        assert.equal(again.json().error.code, "REQUEST_ID_REUSED");
      }
      const second = await call(key, chat(), "req-2");
      await drainAll();
      const rows = (await stack.app.db.query<{ request_id: string; credits_wei: string; payg_wei: string }>(
        "select request_id, credits_wei, payg_wei from usage_events where account_id = $1 order by request_id",
        [accountId],
      )).rows;
      assert.deepEqual(rows.map((r) => r.request_id), [`${accountId}:req-1`, `${accountId}:req-2`]); // ids are scoped to their account
      const charged = rows.reduce((sum, r) => sum + BigInt(r.credits_wei) + BigInt(r.payg_wei), 0n);
      assert.equal(charged, cost + BigInt(second.json().cxpt.costWei));
      assert.equal(BigInt((await account(accountId)).credits_wei), start - charged);
    });

    it("lets a wallet's allowance and balance pay as you go once credits are gone", async () => {
      const { key, accountId } = await newKey(USERS.admin);
      assert.equal((await call(key)).statusCode, 402);
      const wallet = privateKeyToAccount(USERS.admin).address as Address;
      const publicClient = await viem.getPublicClient();
      await fundCxpt(stack.deployment, wallet, parseEther("10"));
      const holder = await walletOf(USERS.admin);
      const approve = await holder.writeContract({ address: stack.deployment.contracts.cxpt!, abi: cxptAbi, functionName: "approve", args: [stack.deployment.contracts.vault!, parseEther("5")] });
      await publicClient.waitForTransactionReceipt({ hash: approve });
      stack.app.billing.gate.invalidateWallet(wallet.toLowerCase());
      // An allowance alone is no consent to PAYG: without a spending cap on UsageBilling, still 402.
      assert.equal((await call(key, chat(), "payg-0")).statusCode, 402);
      await setSpendingCap(stack.deployment, USERS.admin, { amount: parseEther("5"), period: 86_400n });
      stack.app.billing.gate.invalidateWallet(wallet.toLowerCase());
      const response = await call(key, chat(), "payg-1");
      assert.equal(response.statusCode, 200);
      await drainAll();
      const row = (await stack.app.db.query<{ payg_wei: string; credits_wei: string }>("select payg_wei, credits_wei from usage_events where request_id = $1", [`${accountId}:payg-1`])).rows[0]!;
      assert.equal(row.credits_wei, "0");
      assert.equal(BigInt(row.payg_wei), BigInt(response.json().cxpt.costWei));
      assert.equal((await account(accountId)).credits_wei, "0");
    });

    it("refuses malformed requests with 400 and a code", async () => {
      const { key, accountId } = await newKey(USERS.carol);
      await grantCredits(accountId, parseEther("1"));
      const bad: [object, string?][] = [
        [{ model: "m", messages: [] }],
        [{ model: "m", messages: [{ role: "user", content: "x" }], tier: "deep-space" }],
        [{ model: "m", messages: [{ role: "user", content: "x" }], max_tokens: 0 }],
        [{ model: "m", messages: [{ role: "user", content: 7 }] }],
        [chat(), "bad id with spaces"],
      ];
      for (const [body, requestId] of bad) {
        const response = await call(key, body, requestId);
        assert.equal(response.statusCode, 400, JSON.stringify(body));
        assert.match(response.json().error.code, /^(VALIDATION_FAILED|INVALID_REQUEST_ID)$/);
      }
    });
  });
}
