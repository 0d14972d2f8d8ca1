import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { parseEther, toHex, type Address, type Hash, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createAccount, createSession } from "../../../src/accounts/store.ts";
import { drainOnce } from "../../../src/billing/index.ts";
import { cxptAbi, subscriptionsAbi, vaultAbi } from "../../../src/chain/abis.ts";
import { bookTransaction } from "../../../src/tokens/ledger.ts";
import { auth, BACKENDS, fundCxpt, networkHelpers, signIn, startStack, USERS, viem, walletOf, type Stack } from "./harness.ts";
import { expectReply as expect } from "./harness.ts";

type Method = "GET" | "POST";

const REF = toHex(7n, { size: 32 });
const wallet = (key: Hex): Address => privateKeyToAccount(key).address;
const randomHash = (): Hash => toHex(randomBytes(32));

const request = (stack: Stack, method: Method, url: string, token?: string, payload?: object) =>
  stack.api.inject({ method, url: `/api/v1/tokens/${url}`, headers: token ? auth(token) : {}, ...(payload ? { payload } : {}) });


/** Sends a transaction from `key`'s wallet and waits for it. */
async function send(key: Hex, write: (w: Awaited<ReturnType<typeof walletOf>>) => Promise<Hash>): Promise<Hash> {
  const hash = await write(await walletOf(key));
  const receipt = await (await viem.getPublicClient()).waitForTransactionReceipt({ hash });
  assert.equal(receipt.status, "success");
  return hash;
}

const approveVault = (stack: Stack, key: Hex, amount: bigint) =>
  send(key, (w) => w.writeContract({ address: stack.deployment.contracts.cxpt!, abi: cxptAbi, functionName: "approve", args: [stack.deployment.contracts.vault!, amount] }));

/** `key`'s wallet deposits `amount` into the Vault for itself; returns the transaction hash. */
async function vaultDeposit(stack: Stack, key: Hex, amount: bigint): Promise<Hash> {
  await approveVault(stack, key, amount);
  return send(key, (w) => w.writeContract({ address: stack.deployment.contracts.vault!, abi: vaultAbi, functionName: "deposit", args: [amount, REF] }));
}

/** A session of an account that has no wallet linked. */
async function walletlessToken(stack: Stack): Promise<string> {
  const account = await createAccount(stack.app.db, { kind: "user" });
  return (await createSession(stack.app.db, account.id, 3600)).token;
}

for (const backend of BACKENDS) {
  describe(`tokens API (${backend})`, () => {
    let stack: Stack;
    let phase0: Stack;
    let chainOff: Stack;
    before(async () => {
      // Every stack restores the same chain snapshot, so all of them start before any transaction.
      // The drain waits for the test to run it, so undrained usage stays undrained.
      stack = await startStack(backend, { DRAIN_INTERVAL_MS: "3600000" });
      phase0 = await startStack(backend, { CHAIN_PHASE: "0" });
      chainOff = await startStack(backend, { CHAIN_STAGE: "off" });
      for (const key of [USERS.alice, USERS.bob]) await fundCxpt(stack.deployment, wallet(key), parseEther("1000"));
    });
    after(async () => {
      await stack.close();
      await phase0.close();
      await chainOff.close();
    });

    it("answers 401 without a valid session on every route, before reading the input", async () => {
      const routes: [Method, string, object?][] = [
        ["POST", "deposit", { txHash: "nope" }],
        ["POST", "withdraw", {}],
        ["GET", "balance"],
        ["GET", "transactions?limit=0"],
      ];
      for (const [method, url, payload] of routes) {
        expect(await request(stack, method, url, undefined, payload), 401, "UNAUTHENTICATED");
        expect(await request(stack, method, url, "cxs_unknown", payload), 401, "SESSION_EXPIRED");
      }
    });

    it("documents the token and reward routes in the OpenAPI document, with their errors", async () => {
      const doc = (await stack.api.inject({ method: "GET", url: "/api/docs/json" })).json();
      const routes: [string, string, string, string[]][] = [
        ["/api/v1/tokens/deposit", "post", "tokens", ["200", "400", "401", "403", "404", "409", "422"]],
        ["/api/v1/tokens/withdraw", "post", "tokens", ["200", "400", "401", "403", "409", "502", "503"]],
        ["/api/v1/tokens/balance", "get", "tokens", ["200", "401"]],
        ["/api/v1/tokens/transactions", "get", "tokens", ["200", "400", "401"]],
        ["/api/v1/rewards/available", "get", "rewards", ["200", "401", "409"]],
        ["/api/v1/rewards/claim-request", "get", "rewards", ["200", "400", "401", "409"]],
        ["/api/v1/rewards/claim", "post", "rewards", ["200", "400", "401", "403", "409", "502", "503"]],
      ];
      for (const [path, method, tag, statuses] of routes) {
        const operation = doc.paths[path]?.[method];
        assert.ok(operation, `${method} ${path}`);
        assert.deepEqual(operation.tags, [tag]);
        assert.deepEqual(Object.keys(operation.responses).sort(), statuses);
      }
      assert.match(doc.paths["/api/v1/rewards/claim-request"].get.description, /eth_signTypedData_v4/);
    });

    it("credits a deposit once, however often and however concurrently it is submitted", async () => {
      const { token, accountId } = await signIn(stack.api, USERS.alice);
      const amount = parseEther("100");
      const hash = await vaultDeposit(stack, USERS.alice, amount);

      const first = expect(await request(stack, "POST", "deposit", token, { txHash: hash }), 200);
      assert.equal(first.credited, true);
      assert.equal(first.creditsWei, amount.toString());
      const { transaction } = first;
      assert.equal(transaction.type, "deposit");
      assert.equal(transaction.status, "confirmed");
      assert.equal(transaction.amountWei, amount.toString());
      assert.equal(transaction.txHash, hash);
      assert.equal(transaction.ref, REF);
      assert.equal(transaction.details.payer, wallet(USERS.alice));
      assert.equal(transaction.details.burnedWei, ((amount * 500n) / 10_000n).toString());
      for (let i = 0; i < 9; i++) {
        const again = expect(await request(stack, "POST", "deposit", token, { txHash: hash }), 200);
        assert.equal(again.credited, false);
        assert.equal(again.creditsWei, amount.toString());
        assert.deepEqual(again.transaction, transaction);
      }

      const second = await vaultDeposit(stack, USERS.alice, parseEther("50"));
      const answers = await Promise.all(Array.from({ length: 10 }, () => request(stack, "POST", "deposit", token, { txHash: second })));
      const bodies = answers.map((answer) => expect(answer, 200));
      assert.equal(bodies.filter((b) => b.credited).length, 1, "exactly one submission credits");
      assert.equal(new Set(bodies.map((b) => b.transaction.id)).size, 1);

      const total = parseEther("150");
      const me = (await stack.api.inject({ method: "GET", url: "/api/v1/accounts/me", headers: auth(token) })).json();
      assert.equal(me.creditsWei, total.toString());
      const { rows } = await stack.app.db.query<{ n: string | number }>(
        "select count(*) as n from token_transactions where account_id = $1 and type = 'deposit'",
        [accountId],
      );
      assert.equal(Number(rows[0]!.n), 2);
    });

    it("refuses what is not the account's own deposit into the Vault, crediting nothing", async () => {
      const { token } = await signIn(stack.api, USERS.alice);
      const creditsBefore = expect(await request(stack, "GET", "balance", token), 200).creditsWei;

      const bobs = await vaultDeposit(stack, USERS.bob, parseEther("10"));
      const notYours = expect(await request(stack, "POST", "deposit", token, { txHash: bobs }), 403, "DEPOSIT_NOT_YOURS");
      assert.match(notYours.error.message, new RegExp(wallet(USERS.bob)));

      // A subscription activation pays the Vault too, but is no deposit.
      await approveVault(stack, USERS.alice, parseEther("1000"));
      const activation = await send(USERS.alice, (w) =>
        w.writeContract({ address: stack.deployment.contracts.subscriptions!, abi: subscriptionsAbi, functionName: "activatePlan", args: [1n] }),
      );
      expect(await request(stack, "POST", "deposit", token, { txHash: activation }), 422, "NOT_A_DEPOSIT");

      const transfer = await send(USERS.alice, (w) =>
        w.writeContract({ address: stack.deployment.contracts.cxpt!, abi: cxptAbi, functionName: "transfer", args: [stack.deployment.contracts.vault!, 1n] }),
      );
      expect(await request(stack, "POST", "deposit", token, { txHash: transfer }), 422, "NOT_A_VAULT_DEPOSIT");
      expect(await request(stack, "POST", "deposit", token, { txHash: randomHash() }), 404, "TX_NOT_FOUND");

      assert.equal(expect(await request(stack, "GET", "balance", token), 200).creditsWei, creditsBefore);
      // Bob's deposit is still his to credit.
      const bob = await signIn(stack.api, USERS.bob);
      assert.equal(expect(await request(stack, "POST", "deposit", bob.token, { txHash: bobs }), 200).credited, true);
    });

    it("credits a deposit only once DEPOSIT_CONFIRMATIONS blocks are on top of it (409 TX_PENDING before)", async () => {
      const { token } = await signIn(stack.api, USERS.alice);
      const { config } = stack.app;
      Object.assign(stack.app, { config: { ...config, chain: { ...config.chain, confirmations: 2 } } });
      try {
        const hash = await vaultDeposit(stack, USERS.alice, parseEther("2"));
        const pending = expect(await request(stack, "POST", "deposit", token, { txHash: hash }), 409, "TX_PENDING");
        assert.deepEqual(pending.error.details, { confirmations: 1, required: 3 });
        await networkHelpers.mine(2);
        assert.equal(expect(await request(stack, "POST", "deposit", token, { txHash: hash }), 200).credited, true);
      } finally {
        Object.assign(stack.app, { config });
      }
    });

    it("refuses malformed deposits with 400, and deposits to an account without a wallet with 409", async () => {
      const { token } = await signIn(stack.api, USERS.alice);
      for (const payload of [{}, { txHash: "0x1234" }, { txHash: 12 }, { txHash: `0x${"g".repeat(64)}` }, { txHash: randomHash(), extra: 1 }]) {
        expect(await request(stack, "POST", "deposit", token, payload), 400, "VALIDATION_FAILED");
      }
      const hash = await vaultDeposit(stack, USERS.alice, parseEther("1"));
      expect(await request(stack, "POST", "deposit", await walletlessToken(stack), { txHash: hash }), 409, "WALLET_NOT_LINKED");
    });

    it("shows the balances: the wallet on chain, credits, and usage not yet paid (undrained, then drained)", async () => {
      const { token, accountId } = await signIn(stack.api, USERS.bob);
      const publicClient = await viem.getPublicClient();
      const { cxpt, vault } = stack.deployment.contracts;
      await approveVault(stack, USERS.bob, parseEther("25"));
      const balance = await publicClient.readContract({ address: cxpt!, abi: cxptAbi, functionName: "balanceOf", args: [wallet(USERS.bob)] });
      const credits = (await stack.app.db.query<{ credits_wei: string }>("select credits_wei from accounts where id = $1", [accountId])).rows[0]!.credits_wei;
      await stack.app.db.query("update accounts set legacy_credits_ausd = 42 where id = $1", [accountId]);

      const first = expect(await request(stack, "GET", "balance", token), 200);
      assert.deepEqual(first, {
        wallet: wallet(USERS.bob),
        onchain: { balanceWei: balance.toString(), allowanceToVaultWei: parseEther("25").toString(), paygCapacityWei: parseEther("25").toString() },
        creditsWei: credits,
        legacyCreditsAusd: "42",
        pendingUsageWei: "0",
        billedIn: "cxpt",
      });
      assert.equal(
        await publicClient.readContract({ address: cxpt!, abi: cxptAbi, functionName: "allowance", args: [wallet(USERS.bob), vault!] }),
        parseEther("25"),
      );

      // Spend the credits so that metered usage becomes PAYG once drained.
      await stack.app.db.query("update accounts set credits_wei = 0 where id = $1", [accountId]);
      const { meter, store } = stack.app.billing;
      const usage = await meter.recordUsage({ requestId: "bal-1", accountId, endpoint: "/api/v1/chat/completions", service: "chat", tier: "open-ocean", unitsIn: 1000, unitsOut: 1000, billedIn: "cxpt" });
      assert.ok(usage.costWei > 0n);
      assert.equal(expect(await request(stack, "GET", "balance", token), 200).pendingUsageWei, usage.costWei.toString(), "undrained");
      await meter.flush();
      while ((await drainOnce({ store, db: stack.app.db })).drained > 0);
      assert.equal(expect(await request(stack, "GET", "balance", token), 200).pendingUsageWei, usage.costWei.toString(), "drained, unsettled");
      await stack.app.db.query("update usage_events set settled_at = now() where account_id = $1", [accountId]);
      assert.equal(expect(await request(stack, "GET", "balance", token), 200).pendingUsageWei, "0", "settled");
    });

    it("shows no on-chain balance without a wallet or with the chain off", async () => {
      const walletless = expect(await request(stack, "GET", "balance", await walletlessToken(stack)), 200);
      assert.equal(walletless.wallet, null);
      assert.equal(walletless.onchain, null);
      assert.equal(walletless.creditsWei, "0");
      const { token } = await signIn(chainOff.api, USERS.alice);
      const off = expect(await request(chainOff, "GET", "balance", token), 200);
      assert.equal(off.wallet, wallet(USERS.alice));
      assert.equal(off.onchain, null);
      assert.equal(off.billedIn, "legacy");
    });

    it("pages the history newest first, by type, and refuses bad paging with 400", async () => {
      const { token, accountId } = await signIn(stack.api, USERS.carol);
      const booked: string[] = [];
      const start = Date.now() - 60_000;
      for (const [i, type] of (["deposit", "claim", "deposit", "withdrawal", "claim"] as const).entries()) {
        const { transaction } = await bookTransaction(stack.app.db, { accountId, type, status: "confirmed", amountWei: BigInt(i + 1), txHash: randomHash() });
        // One second apart: bookings within the same millisecond have no order but their id's.
        await stack.app.db.query("update token_transactions set created_at = $2 where id = $1", [transaction.id, new Date(start + i * 1000)]);
        booked.push(transaction.id);
      }
      // Three more at one and the same instant, older than the rest: paging must still see each once.
      const tied: string[] = [];
      for (let i = 0; i < 3; i++) {
        const { transaction } = await bookTransaction(stack.app.db, { accountId, type: "reward", status: "confirmed", amountWei: 0n, txHash: randomHash() });
        await stack.app.db.query("update token_transactions set created_at = $2 where id = $1", [transaction.id, new Date(start - 1000)]);
        tied.push(transaction.id);
      }
      // Someone else's transactions never show.
      const other = await signIn(stack.api, USERS.admin);
      await bookTransaction(stack.app.db, { accountId: other.accountId, type: "deposit", status: "confirmed", amountWei: 9n, txHash: randomHash() });

      const seen: { id: string; amountWei: string }[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { transactions: { id: string; amountWei: string }[]; nextCursor: string | null } = expect(
          await request(stack, "GET", `transactions?limit=2${cursor ? `&cursor=${cursor}` : ""}`, token),
          200,
        );
        assert.ok(page.transactions.length <= 2);
        seen.push(...page.transactions);
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== null);
      assert.equal(pages, 4);
      assert.deepEqual(seen.slice(0, 5).map((t) => t.id), [...booked].reverse());
      assert.deepEqual(seen.slice(0, 5).map((t) => t.amountWei), ["5", "4", "3", "2", "1"]);
      assert.deepEqual(seen.slice(5).map((t) => t.id).sort(), tied.sort());

      const all = expect(await request(stack, "GET", "transactions", token), 200);
      assert.equal(all.transactions.length, 8, "20 by default");
      assert.equal(all.nextCursor, null);
      const claims = expect(await request(stack, "GET", "transactions?type=claim", token), 200);
      assert.deepEqual(claims.transactions.map((t: { amountWei: string }) => t.amountWei), ["5", "2"]);

      for (const query of ["limit=0", "limit=101", "limit=abc", "limit=-1", "type=bogus", "colour=red"]) {
        expect(await request(stack, "GET", `transactions?${query}`, token), 400, "VALIDATION_FAILED");
      }
      expect(await request(stack, "GET", "transactions?cursor=bm90LWEtY3Vyc29y", token), 400, "INVALID_CURSOR");
      assert.equal(expect(await request(stack, "GET", "transactions?limit=100", token), 200).transactions.length, 8);
    });

    it("refuses malformed withdrawals with 400, and a withdrawal without a wallet with 409", async () => {
      const { token } = await signIn(stack.api, USERS.carol, { kind: "provider" });
      const request_ = { from: wallet(USERS.carol), to: stack.deployment.contracts.distributor!, value: "0", gas: "150000", deadline: 2_000_000_000, data: "0x4e71d92d" };
      const signature = `0x${"11".repeat(65)}`;
      for (const payload of [
        {},
        { request: request_ },
        { request: request_, signature: "0x123" },
        { request: { ...request_, value: 0 }, signature },
        { request: { ...request_, from: "0x1234" }, signature },
        { request: { ...request_, deadline: -1 }, signature },
        { request: { ...request_, extra: true }, signature },
        { request: request_, signature, extra: true },
      ]) {
        expect(await request(stack, "POST", "withdraw", token, payload), 400, "VALIDATION_FAILED");
      }
      expect(await request(stack, "POST", "withdraw", await walletlessToken(stack), { request: request_, signature }), 409, "WALLET_NOT_LINKED");
    });

    it("turns deposits and withdrawals off before phase 1 and with the chain off (409 FEATURE_DISABLED)", async () => {
      const hash = await vaultDeposit(stack, USERS.alice, parseEther("1"));
      const withdrawal = { request: { from: wallet(USERS.alice), to: stack.deployment.contracts.distributor!, value: "0", gas: "150000", deadline: 2_000_000_000, data: "0x4e71d92d" }, signature: `0x${"11".repeat(65)}` };
      for (const off of [phase0, chainOff]) {
        const { token } = await signIn(off.api, USERS.alice);
        const disabled = expect(await request(off, "POST", "deposit", token, { txHash: hash }), 409, "FEATURE_DISABLED");
        assert.equal(disabled.error.details.feature, "deposits");
        expect(await request(off, "POST", "withdraw", token, withdrawal), 409, "FEATURE_DISABLED");
        // Balances and history stay readable.
        expect(await request(off, "GET", "balance", token), 200);
        assert.deepEqual(expect(await request(off, "GET", "transactions", token), 200).transactions, []);
      }
      const { token } = await signIn(phase0.api, USERS.alice);
      assert.notEqual(expect(await request(phase0, "GET", "balance", token), 200).onchain, null, "phase 0 has the chain");
    });
  });
}
