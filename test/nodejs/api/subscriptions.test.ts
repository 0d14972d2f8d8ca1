import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getAddress, parseEventLogs, parseUnits, toHex, zeroHash, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { DEFAULT_ECONOMICS, onchainPlan } from "../../../deploy/config.ts";
import { createAccount, createSession } from "../../../src/accounts/store.ts";
import { drainOnce } from "../../../src/billing/index.ts";
import { cxptAbi, subscriptionsAbi, vaultAbi } from "../../../src/chain/abis.ts";
import { DEV_KEYS, devKey } from "../../../src/devstack/keys.ts";
import { auth, BACKENDS, fundCxpt, signIn, startStack, USERS, viem, walletOf, type Stack } from "./harness.ts";
import { expectReply as expect } from "./harness.ts";

type Method = "GET" | "POST";

/** The published plans as deployed: Starter 1, Pro 2, Scale 3. */
const PLANS = DEFAULT_ECONOMICS.plans.map((plan) => onchainPlan(plan, DEFAULT_ECONOMICS.cxptUsd));
const [STARTER, PRO, SCALE] = PLANS as [(typeof PLANS)[0], (typeof PLANS)[0], (typeof PLANS)[0]];
const overageOf = (bucket: bigint) => (bucket * DEFAULT_ECONOMICS.overageBps) / 10_000n;

const OPERATOR = privateKeyToAccount(devKey(DEV_KEYS.operator)).address;
const DISTRIBUTION = privateKeyToAccount(devKey(DEV_KEYS.distribution)).address;

const request = (stack: Stack, method: Method, url: string, token?: string, payload?: object) =>
  stack.api.inject({ method, url, headers: token ? auth(token) : {}, ...(payload ? { payload } : {}) });


const CREATE = "/api/v1/subscriptions/create";
const ALIAS = "/api/pay/subscription";
const create = (stack: Stack, token: string | undefined, payload: object, url = CREATE) => request(stack, "POST", url, token, payload);
const status = (stack: Stack, token: string) => request(stack, "GET", "/api/v1/subscriptions/status", token);

async function balanceOf(stack: Stack, who: Address): Promise<bigint> {
  const publicClient = await viem.getPublicClient();
  return publicClient.readContract({ address: stack.deployment.contracts.cxpt!, abi: cxptAbi, functionName: "balanceOf", args: [who] });
}

/** Waits for a transaction sent from a test wallet and checks it succeeded; returns its hash. */
async function mined(sent: Promise<Hex>): Promise<Hex> {
  const hash = await sent;
  const publicClient = await viem.getPublicClient();
  assert.equal((await publicClient.waitForTransactionReceipt({ hash })).status, "success");
  return hash;
}

/**
 * `key`'s wallet gets `price` CXPT, approves the Vault, buys `planId` itself and turns renewal on
 * (its own opt-in: no activation does it); returns the activation transaction.
 */
async function activateFromWallet(stack: Stack, key: Hex, planId: bigint, price: bigint): Promise<Hex> {
  const { cxpt, vault, subscriptions } = stack.deployment.contracts;
  await fundCxpt(stack.deployment, privateKeyToAccount(key).address, price);
  await mined((await walletOf(key)).writeContract({ address: cxpt!, abi: cxptAbi, functionName: "approve", args: [vault!, price] }));
  const hash = await mined((await walletOf(key)).writeContract({ address: subscriptions!, abi: subscriptionsAbi, functionName: "activatePlan", args: [planId] }));
  await optInToRenewal(stack, key);
  return hash;
}

/** `key`'s wallet turns renewal of its pass on (resumeRenewal). */
async function optInToRenewal(stack: Stack, key: Hex): Promise<void> {
  const { subscriptions } = stack.deployment.contracts;
  const publicClient = await viem.getPublicClient();
  const passId = await publicClient.readContract({ address: subscriptions!, abi: subscriptionsAbi, functionName: "passOf", args: [privateKeyToAccount(key).address] });
  await mined((await walletOf(key)).writeContract({ address: subscriptions!, abi: subscriptionsAbi, functionName: "resumeRenewal", args: [passId] }));
}

async function ledger(stack: Stack, accountId: string) {
  const { rows } = await stack.app.db.query<{ type: string; amount_wei: string; tx_hash: string }>(
    "select type, amount_wei, tx_hash from token_transactions where account_id = $1 order by created_at",
    [accountId],
  );
  return rows;
}

const fiat = (planId: number, paymentRef: string, usd?: string) => ({ planId, payment: "fiat", paymentRef, ...(usd === undefined ? {} : { usd }) });

for (const backend of BACKENDS) {
  describe(`subscription API (${backend})`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack(backend);
    });
    after(async () => stack.close());

    /** A new user with a wallet that holds nothing (no gas either: fiat only). */
    const newcomer = () => signIn(stack.api, generatePrivateKey());

    it("lists the plans publicly, with their names and USD prices at the current rate", async () => {
      const body = expect(await request(stack, "GET", "/api/v1/subscriptions/plans"), 200);
      assert.equal(body.cxptUsd, "0.1");
      assert.deepEqual(
        body.plans,
        DEFAULT_ECONOMICS.plans.map((plan, i) => ({
          id: i + 1,
          name: plan.name,
          priceWei: PLANS[i]!.price.toString(),
          priceUsd: plan.usd,
          periodSeconds: 30 * 86_400,
          bucketTokens: plan.bucket.toString(),
          requestsPerMinute: plan.requestsPerMinute,
          concurrency: plan.concurrency,
          active: true,
        })),
      );
    });

    it("answers 401 without a session on every other route, before reading the body", async () => {
      const routes: [Method, string, object?][] = [
        ["POST", CREATE, { planId: "x" }],
        ["POST", ALIAS, fiat(1, "pi_anon")],
        ["POST", "/api/v1/subscriptions/cancel"],
        ["GET", "/api/v1/subscriptions/status"],
      ];
      for (const [method, url, payload] of routes) {
        expect(await request(stack, method, url, undefined, payload), 401, "UNAUTHENTICATED");
        expect(await request(stack, method, url, "cxs_unknown", payload), 401, "SESSION_EXPIRED");
      }
    });

    it("refuses malformed payments with 400 VALIDATION_FAILED", async () => {
      const { token } = await signIn(stack.api, USERS.bob);
      const txHash = toHex(1n, { size: 32 });
      const bad: object[] = [
        {},
        { planId: 1, payment: "card", txHash },
        { planId: 0, payment: "cxpt", txHash },
        { planId: "1", payment: "cxpt", txHash },
        { planId: 1, payment: "cxpt", txHash: "0x1234" },
        { planId: 1, payment: "cxpt" },
        { planId: 1, payment: "cxpt", txHash, paymentRef: "pi_1" },
        { planId: 1, payment: "fiat" },
        fiat(1, "has spaces"),
        fiat(1, "x".repeat(201)),
        fiat(1, "pi_1", "1,50"),
        fiat(1, "pi_1", "-15"),
        { ...fiat(1, "pi_1"), txHash },
      ];
      for (const payload of bad) {
        for (const url of [CREATE, ALIAS]) expect(await create(stack, token, payload, url), 400, "VALIDATION_FAILED");
      }
    });

    it("needs a linked wallet (409 WALLET_NOT_LINKED)", async () => {
      const account = await createAccount(stack.app.db, { kind: "user", email: `no-wallet-${backend}@example.com` });
      const { token } = await createSession(stack.app.db, account.id, 3600);
      expect(await status(stack, token), 409, "WALLET_NOT_LINKED");
      expect(await create(stack, token, fiat(1, "pi_no_wallet")), 409, "WALLET_NOT_LINKED");
      expect(await request(stack, "POST", "/api/v1/subscriptions/cancel", token), 409, "WALLET_NOT_LINKED");
    });

    it("CXPT path: records the user's activatePlan once, mirrors the pass, refuses others' and non-activation transactions", async () => {
      const alice = await signIn(stack.api, USERS.alice);
      const txHash = await activateFromWallet(stack, USERS.alice, 2n, PRO.price);

      const first = expect(await create(stack, alice.token, { planId: 2, payment: "cxpt", txHash }), 201);
      assert.deepEqual(
        { ...first.payment, periodEnd: undefined },
        {
          method: "cxpt",
          kind: "activation",
          txHash,
          amountWei: PRO.price.toString(),
          burnedWei: ((PRO.price * DEFAULT_ECONOMICS.burnBps) / 10_000n).toString(),
          planId: 2,
          passId: first.subscription.passId,
          periodEnd: undefined,
          booked: true,
        },
      );
      const sub = first.subscription;
      assert.equal(sub.wallet, getAddress(alice.wallet));
      assert.equal(sub.subscribed, true);
      assert.equal(sub.active, true);
      assert.equal(sub.planId, 2);
      assert.equal(sub.planName, "Pro");
      assert.equal(sub.autoRenew, true);
      assert.equal(sub.cancelled, false);
      assert.equal(sub.bucketRemaining, PRO.bucket.toString());
      assert.equal(sub.overageRemaining, overageOf(PRO.bucket).toString());
      assert.equal(sub.usableTokens, (PRO.bucket + overageOf(PRO.bucket)).toString());
      assert.equal(sub.unsettledBucketTokens, "0");
      assert.equal(sub.periodEnd, first.payment.periodEnd);
      assert.deepEqual(sub.tranches.map((t: { tokens: string }) => t.tokens), [PRO.bucket.toString()]);

      // The account mirrors the pass for the billing gate.
      const me = expect(await request(stack, "GET", "/api/v1/accounts/me", alice.token), 200);
      assert.deepEqual(me.subscription, {
        type: "pro",
        planId: 2,
        passId: sub.passId,
        end: sub.periodEnd,
        bucketRemaining: (PRO.bucket + overageOf(PRO.bucket)).toString(),
      });

      // Submitted again (on either path): recorded once.
      const again = expect(await create(stack, alice.token, { planId: 2, payment: "cxpt", txHash }), 200);
      assert.equal(again.payment.booked, false);
      assert.equal(expect(await create(stack, alice.token, { planId: 2, payment: "cxpt", txHash }, ALIAS), 200).payment.booked, false);
      assert.deepEqual(await ledger(stack, alice.accountId), [{ type: "subscription_payment", amount_wei: PRO.price.toString(), tx_hash: txHash }]);

      expect(await create(stack, alice.token, { planId: 1, payment: "cxpt", txHash }), 422, "PLAN_MISMATCH");
      const bob = await signIn(stack.api, USERS.bob);
      expect(await create(stack, bob.token, { planId: 2, payment: "cxpt", txHash }), 403, "ACTIVATION_NOT_YOURS");
      expect(await create(stack, alice.token, { planId: 2, payment: "cxpt", txHash: toHex(12345n, { size: 32 }) }), 404, "TX_NOT_FOUND");

      // A plain Vault deposit paid the Vault but activated nothing.
      const { cxpt, vault } = stack.deployment.contracts;
      await fundCxpt(stack.deployment, alice.wallet, parseUnits("1", 18));
      await mined((await walletOf(USERS.alice)).writeContract({ address: cxpt!, abi: cxptAbi, functionName: "approve", args: [vault!, parseUnits("1", 18)] }));
      const deposit = await mined((await walletOf(USERS.alice)).writeContract({ address: vault!, abi: vaultAbi, functionName: "deposit", args: [parseUnits("1", 18), zeroHash] }));
      expect(await create(stack, alice.token, { planId: 2, payment: "cxpt", txHash: deposit }), 422, "NOT_AN_ACTIVATION");
      assert.equal((await ledger(stack, alice.accountId)).length, 1);
    });

    it("fiat path: buys the plan's price once per payment reference and activates it for the user", async () => {
      const carol = await signIn(stack.api, USERS.carol);
      const [treasuryBefore, operatorBefore] = [await balanceOf(stack, DISTRIBUTION), await balanceOf(stack, OPERATOR)];

      const first = expect(await create(stack, carol.token, fiat(1, "pi_carol_1", "15")), 201);
      const { payment, subscription } = first;
      assert.equal(payment.method, "fiat");
      assert.equal(payment.kind, "activation");
      assert.equal(payment.amountWei, STARTER.price.toString());
      assert.equal(payment.burnedWei, ((STARTER.price * DEFAULT_ECONOMICS.burnBps) / 10_000n).toString());
      assert.equal(payment.booked, true);
      assert.equal(payment.fiat.paymentRef, "pi_carol_1");
      assert.equal(payment.fiat.usd, "15");
      assert.match(payment.fiat.swapTxHash, /^0x[0-9a-f]{64}$/);
      assert.match(payment.fiat.depositTxHash, /^0x[0-9a-f]{64}$/);
      assert.equal(subscription.active, true);
      assert.equal(subscription.planName, "Starter");
      assert.equal(subscription.usableTokens, (STARTER.bucket + overageOf(STARTER.bucket)).toString());
      // The treasury sold the price; the operator passed it on to the Vault.
      assert.equal(await balanceOf(stack, DISTRIBUTION), treasuryBefore - STARTER.price);
      assert.equal(await balanceOf(stack, OPERATOR), operatorBefore);
      assert.equal(await balanceOf(stack, carol.wallet), 0n);
      assert.deepEqual(await ledger(stack, carol.accountId), [{ type: "subscription_payment", amount_wei: STARTER.price.toString(), tx_hash: payment.txHash }]);

      // The same payment again: its outcome, nothing bought.
      const again = expect(await create(stack, carol.token, fiat(1, "pi_carol_1", "15")), 200);
      assert.deepEqual(again.payment, { ...payment, booked: false });
      assert.equal(await balanceOf(stack, DISTRIBUTION), treasuryBefore - STARTER.price);
      assert.equal((await ledger(stack, carol.accountId)).length, 1);

      // The reference is carol's; carol is subscribed until the period ends.
      const bob = await signIn(stack.api, USERS.bob);
      expect(await create(stack, bob.token, fiat(1, "pi_carol_1")), 409, "PAYMENT_REF_REUSED");
      expect(await create(stack, carol.token, fiat(2, "pi_carol_1")), 409, "PAYMENT_REF_REUSED");
      const active = expect(await create(stack, carol.token, fiat(2, "pi_carol_2")), 409, "PASS_ACTIVE");
      assert.equal(active.error.details.passId, subscription.passId);
      assert.equal(await balanceOf(stack, DISTRIBUTION), treasuryBefore - STARTER.price);
    });

    it("fiat path: refuses a payment short of the price, an unknown plan, and quotes when no amount is given", async () => {
      const user = await newcomer();
      const treasuryBefore = await balanceOf(stack, DISTRIBUTION);
      const short = expect(await create(stack, user.token, fiat(1, "pi_short", "14.99")), 402, "FIAT_PAYMENT_SHORT");
      assert.deepEqual(short.error.details, { requiredUsd: "15", paidUsd: "14.99" });
      expect(await create(stack, user.token, fiat(99, "pi_unknown_plan")), 404, "PLAN_NOT_FOUND");
      assert.equal(await balanceOf(stack, DISTRIBUTION), treasuryBefore);

      const quoted = expect(await create(stack, user.token, fiat(3, "pi_quoted")), 201);
      assert.equal(quoted.payment.fiat.usd, "249");
      assert.equal(quoted.subscription.planId, 3);
      assert.equal(await balanceOf(stack, DISTRIBUTION), treasuryBefore - SCALE.price);
    });

    it("fiat path: concurrent requests with one reference buy once", async () => {
      const user = await newcomer();
      const treasuryBefore = await balanceOf(stack, DISTRIBUTION);
      const answers = await Promise.all(Array.from({ length: 3 }, () => create(stack, user.token, fiat(1, "pi_concurrent"))));
      const statuses = answers.map((a) => a.statusCode).sort();
      assert.equal(statuses.filter((s) => s === 201).length, 1, JSON.stringify(answers.map((a) => a.json())));
      for (const answer of answers.filter((a) => a.statusCode !== 201)) {
        assert.ok(answer.statusCode === 200 || answer.json().error.code === "PAYMENT_IN_PROGRESS", answer.body);
      }
      assert.equal(await balanceOf(stack, DISTRIBUTION), treasuryBefore - STARTER.price);
    });

    it("fiat path: resumes after the swap without buying again, with the deposit a failed activation left", async () => {
      const db = stack.app.db;
      const treasuryBefore = await balanceOf(stack, DISTRIBUTION);

      // Swapped: the operator holds the price, the activation did not happen yet.
      const swapped = await newcomer();
      await fundCxpt(stack.deployment, OPERATOR, STARTER.price);
      await db.query("insert into fiat_payments (ref, account_id, plan_id, usd_ausd, status, cxpt_wei) values ($1, $2, 1, $3, 'swapped', $4)", [
        "pi_swapped",
        swapped.accountId,
        parseUnits("15", 18),
        STARTER.price,
      ]);
      const operatorFunded = await balanceOf(stack, OPERATOR);
      const resumed = expect(await create(stack, swapped.token, fiat(1, "pi_swapped")), 201);
      assert.equal(resumed.payment.fiat.swapTxHash, null);
      assert.equal(resumed.subscription.active, true);
      assert.equal(await balanceOf(stack, OPERATOR), operatorFunded - STARTER.price);

      // Deposited: an earlier activation failed after the operator's depositFor.
      const deposited = await newcomer();
      const { cxpt, vault } = stack.deployment.contracts;
      await fundCxpt(stack.deployment, OPERATOR, STARTER.price);
      await mined((await walletOf(devKey(DEV_KEYS.operator))).writeContract({ address: cxpt!, abi: cxptAbi, functionName: "approve", args: [vault!, STARTER.price] }));
      const depositFor = { address: vault!, abi: vaultAbi, functionName: "depositFor", args: [deposited.wallet, STARTER.price, zeroHash] } as const;
      const depositTx = await mined((await walletOf(devKey(DEV_KEYS.operator))).writeContract(depositFor));
      const publicClient = await viem.getPublicClient();
      const [paid] = parseEventLogs({ abi: vaultAbi, eventName: "Paid", logs: (await publicClient.getTransactionReceipt({ hash: depositTx })).logs });
      const depositId = paid!.args.depositId;
      await db.query(
        "insert into fiat_payments (ref, account_id, plan_id, usd_ausd, status, cxpt_wei, deposit_id) values ($1, $2, 1, $3, 'swapped', $4, $5)",
        ["pi_deposited", deposited.accountId, parseUnits("15", 18), STARTER.price, depositId],
      );
      const operatorBefore = await balanceOf(stack, OPERATOR);
      const spent = expect(await create(stack, deposited.token, fiat(1, "pi_deposited")), 201);
      assert.equal(spent.payment.fiat.depositId, depositId.toString());
      assert.equal(spent.subscription.active, true);
      assert.equal(await balanceOf(stack, OPERATOR), operatorBefore, "no second deposit");
      assert.equal(await balanceOf(stack, DISTRIBUTION), treasuryBefore - 2n * STARTER.price, "only the test's own funding left the treasury");
    });

    it("fiat path: a payment being processed answers 409, one with an unknown step outcome stays unresolved", async () => {
      const db = stack.app.db;
      const user = await newcomer();
      await db.query("insert into fiat_payments (ref, account_id, plan_id, claimed_until) values ('pi_busy', $1, 1, now() + interval '1 hour')", [user.accountId]);
      expect(await create(stack, user.token, fiat(1, "pi_busy")), 409, "PAYMENT_IN_PROGRESS");

      await db.query("insert into fiat_payments (ref, account_id, plan_id, in_flight) values ('pi_crashed', $1, 1, 'swap')", [user.accountId]);
      const treasuryBefore = await balanceOf(stack, DISTRIBUTION);
      for (let i = 0; i < 2; i++) {
        const body = expect(await create(stack, user.token, fiat(1, "pi_crashed")), 409, "PAYMENT_UNRESOLVED");
        assert.equal(body.error.details.inFlight, "swap");
      }
      assert.equal((await db.query<{ status: string }>("select status from fiat_payments where ref = 'pi_crashed'")).rows[0]!.status, "unresolved");
      assert.equal(await balanceOf(stack, DISTRIBUTION), treasuryBefore);
    });

    it("fiat path: only the local chain takes payment references nothing can verify (503 FIAT_NOT_AVAILABLE)", async () => {
      const user = await newcomer();
      const local = stack.app.chain!;
      stack.app.chain = { ...local, chainId: 9990 }; // as if on peaq agung
      try {
        const treasuryBefore = await balanceOf(stack, DISTRIBUTION);
        for (const url of [CREATE, ALIAS]) expect(await create(stack, user.token, fiat(1, "pi_live"), url), 503, "FIAT_NOT_AVAILABLE");
        assert.equal(await balanceOf(stack, DISTRIBUTION), treasuryBefore);
        assert.equal((await stack.app.db.query("select 1 from fiat_payments where ref = 'pi_live'")).rows.length, 0);
      } finally {
        stack.app.chain = local;
      }
    });

    it("cancels the renewal through the operator: the paid period runs out", async () => {
      const carol = await signIn(stack.api, USERS.carol);
      // A fiat purchase leaves renewal off; carol turned it on from her wallet (her opt-in), then asks to cancel.
      await optInToRenewal(stack, USERS.carol);
      const body = expect(await request(stack, "POST", "/api/v1/subscriptions/cancel", carol.token), 200);
      assert.match(body.txHash, /^0x[0-9a-f]{64}$/);
      assert.equal(body.subscription.cancelled, true);
      assert.equal(body.subscription.autoRenew, false);
      assert.equal(body.subscription.active, true);
      const publicClient = await viem.getPublicClient();
      const [, , autoRenew] = await publicClient.readContract({
        address: stack.deployment.contracts.subscriptions!,
        abi: subscriptionsAbi,
        functionName: "passInfo",
        args: [BigInt(body.subscription.passId)],
      });
      assert.equal(autoRenew, false);
      expect(await request(stack, "POST", "/api/v1/subscriptions/cancel", carol.token), 409, "ALREADY_CANCELLED");
      const bob = await signIn(stack.api, USERS.bob);
      expect(await request(stack, "POST", "/api/v1/subscriptions/cancel", bob.token), 404, "NO_PASS");
    });

    it("shows the status from the chain: no pass, and a subscriber's pass", async () => {
      const bob = await signIn(stack.api, USERS.bob);
      assert.deepEqual(expect(await status(stack, bob.token), 200), {
        wallet: getAddress(bob.wallet),
        subscribed: false,
        active: false,
        planId: null,
        planName: null,
        passId: null,
        periodEnd: null,
        autoRenew: false,
        cancelled: false,
        bucketRemaining: "0",
        overageRemaining: "0",
        overageUsed: "0",
        unsettledBucketTokens: "0",
        usableTokens: "0",
        tranches: [],
      });
      const alice = await signIn(stack.api, USERS.alice);
      const sub = expect(await status(stack, alice.token), 200);
      assert.equal(sub.planId, 2);
      assert.equal(sub.active, true);
      assert.equal(sub.cancelled, false);
      assert.ok(Date.parse(sub.periodEnd) > Date.now());
    });

    it("POST /api/pay/subscription is the same payment route", async () => {
      const admin = await signIn(stack.api, USERS.admin);
      const body = expect(await create(stack, admin.token, fiat(3, "pi_alias"), ALIAS), 201);
      assert.equal(body.subscription.planName, "Scale");
      assert.equal(expect(await create(stack, admin.token, fiat(3, "pi_alias"), CREATE), 200).payment.txHash, body.payment.txHash);
    });

    it("a subscriber uses the compute API from the bucket: no credits, no CXPT, bucket drawn first", async () => {
      const carol = await signIn(stack.api, USERS.carol);
      const key = expect(await request(stack, "POST", "/api/v1/keys", carol.token, { name: "sub" }), 201).key as string;
      const chat = { model: "llama-3-8b", messages: [{ role: "user", content: "What is CXPT?" }], max_tokens: 64 };
      const answer = await stack.api.inject({ method: "POST", url: "/api/v1/chat/completions", payload: chat, headers: { ...auth(key), "x-request-id": `sub-${backend}` } });
      assert.equal(answer.statusCode, 200, answer.body);
      const used = BigInt(answer.json().usage.total_tokens);

      await stack.app.billing.meter.flush();
      while ((await drainOnce({ store: stack.app.billing.store, db: stack.app.db })).drained > 0);
      const event = (
        await stack.app.db.query<{ bucket_tokens: string; credits_wei: string; payg_wei: string }>(
          "select bucket_tokens, credits_wei, payg_wei from usage_events where request_id = $1",
          [`${carol.accountId}:sub-${backend}`], // request ids are stored scoped to their account
        )
      ).rows[0]!;
      assert.deepEqual(event, { bucket_tokens: used.toString(), credits_wei: "0", payg_wei: "0" });

      const usable = STARTER.bucket + overageOf(STARTER.bucket) - used;
      const me = expect(await request(stack, "GET", "/api/v1/accounts/me", carol.token), 200);
      assert.equal(me.creditsWei, "0");
      assert.equal(me.subscription.bucketRemaining, usable.toString());
      // Not consumed on chain yet (settlement comes later): the status deducts it, and keeps it deducted on refresh.
      for (let i = 0; i < 2; i++) {
        const sub = expect(await status(stack, carol.token), 200);
        assert.equal(sub.unsettledBucketTokens, used.toString());
        assert.equal(sub.bucketRemaining, (STARTER.bucket - used).toString());
        assert.equal(sub.usableTokens, usable.toString());
      }
      assert.equal(expect(await request(stack, "GET", "/api/v1/accounts/me", carol.token), 200).subscription.bucketRemaining, usable.toString());

      // Without a subscription (or anything else) the same request is refused.
      const bob = await signIn(stack.api, USERS.bob);
      const bobKey = expect(await request(stack, "POST", "/api/v1/keys", bob.token, { name: "none" }), 201).key as string;
      const refused = await stack.api.inject({ method: "POST", url: "/api/v1/chat/completions", payload: chat, headers: auth(bobKey) });
      assert.equal(refused.statusCode, 402, refused.body);
    });
  });

  describe(`subscription API before phase 3 (${backend})`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack(backend, { CHAIN_PHASE: "2" });
    });
    after(async () => stack.close());

    it("answers 409 FEATURE_DISABLED on every route", async () => {
      const { token } = await signIn(stack.api, USERS.alice);
      const routes: [Method, string, object?][] = [
        ["GET", "/api/v1/subscriptions/plans"],
        ["POST", CREATE, fiat(1, "pi_phase2")],
        ["POST", ALIAS, { planId: 1, payment: "cxpt", txHash: toHex(1n, { size: 32 }) }],
        ["POST", "/api/v1/subscriptions/cancel"],
        ["GET", "/api/v1/subscriptions/status"],
      ];
      for (const [method, url, payload] of routes) {
        const body = expect(await request(stack, method, url, token, payload), 409, "FEATURE_DISABLED");
        assert.deepEqual(body.error.details, { feature: "subscriptions", stage: "testnet", phase: 2 });
      }
    });
  });
}
