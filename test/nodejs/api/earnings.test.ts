// GET /api/v1/rewards/earnings and /rewards/history over both backends, with an epoch reached the
// way production reaches it: the orchestrator reports provider statistics through the admin API,
// a Vault deposit gives the distributor funds, and the daily rewards job computes, uploads and
// starts the epoch. The answers must equal the RewardDistributor's own views, the breakdown must
// multiply out to the points the job uploaded, and claims (relayed) show up in the history.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseEther, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { cxptAbi, distributorAbi, vaultAbi } from "../../../src/chain/abis.ts";
import { devKey } from "../../../src/devstack/keys.ts";
import { runJob } from "../../../src/jobs/run.ts";
import { BPS } from "../../../src/rewards/multipliers.ts";
import { POOL_IDS } from "../../../src/rewards/points.ts";
import { auth, BACKENDS, expectReply as expect, fundCxpt, networkHelpers, signIn, startStack, USERS, viem, walletOf, type Stack } from "./harness.ts";

const DAY_MS = 86_400_000;
const PROVIDER = devKey(20);
const OTHER_PROVIDER = devKey(21);
const yesterday = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS);
const hourOf = (hour: number) => new Date(yesterday.getTime() + hour * 3_600_000).toISOString();
const addressOf = (key: Hex): Address => privateKeyToAccount(key).address;

const get = (stack: Stack, url: string, token?: string) => stack.api.inject({ method: "GET", url: `/api/v1/${url}`, headers: token ? auth(token) : {} });
const post = (stack: Stack, url: string, token: string, payload: object) => stack.api.inject({ method: "POST", url: `/api/v1/${url}`, headers: auth(token), payload });

async function read<T>(stack: Stack, functionName: string, args: readonly unknown[] = []): Promise<T> {
  const client = await viem.getPublicClient();
  return client.readContract({ address: stack.deployment.contracts.distributor!, abi: distributorAbi, functionName: functionName as never, args: args as never }) as Promise<T>;
}

/** `amount` CXPT deposited into the Vault by the admin's wallet: accrued funds the job sweeps. */
async function deposit(stack: Stack, amount: bigint) {
  const { cxpt, vault } = stack.deployment.contracts;
  const client = await viem.getPublicClient();
  await fundCxpt(stack.deployment, addressOf(USERS.admin), amount);
  const w = await walletOf(USERS.admin);
  await client.waitForTransactionReceipt({ hash: await w.writeContract({ address: cxpt!, abi: cxptAbi, functionName: "approve", args: [vault!, amount] }) });
  await client.waitForTransactionReceipt({ hash: await w.writeContract({ address: vault!, abi: vaultAbi, functionName: "deposit", args: [amount, toHex(0n, { size: 32 })] }) });
}

/** The claim request of `token`'s account, signed by its wallet. */
async function signedClaim(stack: Stack, token: string, key: Hex) {
  const { typedData } = expect(await get(stack, "rewards/claim-request", token), 200);
  return { request: typedData.message, signature: await (await walletOf(key)).signTypedData(typedData) };
}

for (const backend of BACKENDS) {
  describe(`rewards earnings and history (${backend})`, () => {
    let stack: Stack;
    let chainOff: Stack;
    let provider: string;
    let user: string;
    let epoch: bigint;

    before(async () => {
      stack = await startStack(backend);
      chainOff = await startStack(backend, { CHAIN_STAGE: "off" });
      const admin = await signIn(stack.api, USERS.admin);
      await stack.app.db.query("update accounts set role = 'admin' where id = $1", [admin.accountId]);
      provider = (await signIn(stack.api, PROVIDER, { kind: "provider" })).token;
      await signIn(stack.api, OTHER_PROVIDER, { kind: "provider" });
      user = (await signIn(stack.api, USERS.alice)).token;
      // Yesterday: 50 requests in hour 5 and 10 in hour 6 of the network's 60 over 24 h, so demand
      // clamps to ×2.00 in both hours: the breakdown's multipliers are exact.
      const report = {
        served: [
          { provider: addressOf(PROVIDER), tier: "open-ocean", hour: hourOf(5), requests: "20" },
          { provider: addressOf(PROVIDER), tier: "tide-pool", hour: hourOf(6), requests: "10" },
          { provider: addressOf(OTHER_PROVIDER), tier: "tide-pool", hour: hourOf(5), requests: "30" },
        ],
        health: [
          { provider: addressOf(PROVIDER), day: hourOf(0).slice(0, 10), uptimeBps: 9995, p50Ms: 250 },
          { provider: addressOf(OTHER_PROVIDER), day: hourOf(0).slice(0, 10), uptimeBps: 9900, p50Ms: 800 },
        ],
      };
      expect(await stack.api.inject({ method: "PUT", url: "/api/v1/admin/providers/stats", headers: auth(admin.token), payload: report }), 200);
      await deposit(stack, parseEther("1000"));
      epoch = (await read<bigint>(stack, "currentEpoch")) + 1n;
      const run = (await runJob(stack.app, "rewards", { trigger: "manual" }))!;
      assert.equal(run.outcome, "ok", run.error ?? "");
      assert.equal(run.summary!.status, "started");
    });
    after(async () => {
      await stack?.close();
      await chainOff?.close();
    });

    it("answers 401 without a session and 409 CHAIN_OFF with the chain off", async () => {
      for (const url of ["rewards/earnings", "rewards/history", "rewards/earnings?limit=nope"]) expect(await get(stack, url), 401, "UNAUTHENTICATED");
      const off = (await signIn(chainOff.api, PROVIDER, { kind: "provider" })).token;
      expect(await get(chainOff, "rewards/earnings", off), 409, "CHAIN_OFF");
      expect(await post(chainOff, "rewards/claims", off, { txHash: `0x${"12".repeat(32)}` }), 409, "FEATURE_DISABLED");
      assert.deepEqual(expect(await get(chainOff, "rewards/history", off), 200), { claims: [], nextCursor: null }, "the history is the ledger's: no chain needed");
      for (const limit of ["0", "53", "x"]) expect(await get(stack, `rewards/earnings?limit=${limit}`, provider), 400, "VALIDATION_FAILED");
      expect(await get(stack, "rewards/history?cursor=bm9wZQ", provider), 400, "INVALID_CURSOR");
    });

    it("per epoch: the provider's points, totals, budget, entitlement and pending equal the distributor's views", async () => {
      const wallet = addressOf(PROVIDER);
      const body = expect(await get(stack, "rewards/earnings", provider), 200);
      assert.equal(body.wallet, wallet);
      assert.equal(body.pool, "providers");
      assert.equal(body.currentEpoch, Number(epoch));
      const [start, end] = await read<[bigint, bigint]>(stack, "epochTimes", [epoch]);
      const [totalShares, budget] = await read<[bigint, bigint]>(stack, "poolEpoch", [epoch, POOL_IDS.providers]);
      assert.ok(budget > 0n, "the sweep funded the providers pool");
      const mine = body.epochs.at(-1);
      assert.deepEqual(mine, {
        epoch: Number(epoch),
        start: new Date(Number(start) * 1000).toISOString(),
        end: new Date(Number(end) * 1000).toISOString(),
        points: (await read<bigint>(stack, "sharesOf", [wallet, POOL_IDS.providers, epoch])).toString(),
        totalPoints: totalShares.toString(),
        budgetWei: budget.toString(),
        entitlementWei: (await read<bigint>(stack, "entitlementOf", [wallet, POOL_IDS.providers, epoch])).toString(),
        releasedWei: mine.releasedWei,
        folded: false,
      });
      assert.equal(body.pendingWei, (await read<bigint>(stack, "pendingOf", [wallet])).toString());
      assert.equal(body.claimedWei, "0");

      // At the epoch's end everything is released: pending = released = entitlement.
      await networkHelpers.time.increaseTo(end);
      const ended = expect(await get(stack, "rewards/earnings", provider), 200);
      assert.equal(ended.epochs.at(-1).releasedWei, mine.entitlementWei);
      assert.equal(ended.pendingWei, mine.entitlementWei);
      assert.equal(ended.poolPendingWei, (await read<bigint>(stack, "pendingOf", [wallet, POOL_IDS.providers])).toString());
    });

    it("breaks the points down by tier and multiplier, multiplying out to the points the job uploaded", async () => {
      const { pointsBreakdown: b, performance } = expect(await get(stack, "rewards/earnings", provider), 200);
      const uploaded = await read<bigint>(stack, "sharesOf", [addressOf(PROVIDER), POOL_IDS.providers, epoch]);
      assert.equal(b.epoch, Number(epoch));
      assert.equal(b.from, yesterday.toISOString());
      assert.deepEqual(b.tiers, [
        { tier: "open-ocean", requests: "20", basePoints: "1400000" },
        { tier: "tide-pool", requests: "10", basePoints: "100000" },
      ]);
      assert.equal(b.basePoints, "1500000");
      assert.deepEqual(b.steps.map((s: { multiplier: string; bps: string }) => [s.multiplier, s.bps]), [["uptime", "13000"], ["latency", "11500"], ["demand", "20000"]]);
      const multiplied = b.steps.reduce((points: bigint, s: { bps: string }) => (points * BigInt(s.bps)) / BPS, BigInt(b.basePoints));
      assert.equal(multiplied, uploaded);
      assert.equal(b.points, uploaded.toString());
      assert.equal(b.uploadedPoints, uploaded.toString());
      assert.equal(b.steps.at(-1).points, b.points);
      assert.deepEqual(performance, { from: b.from, to: b.to, uptimeBps: 9995, p50LatencyMs: 250, servedRequests: "30" });

      const cashback = expect(await get(stack, "rewards/earnings", user), 200);
      assert.equal(cashback.pool, "users");
      assert.equal(cashback.pointsBreakdown, null);
      assert.equal(cashback.performance, null);
    });

    it("claims show in the history, newest first, page by page, and in claimedWei; a folded epoch keeps its figures", async () => {
      const wallet = addressOf(PROVIDER);
      const before = expect(await get(stack, "rewards/earnings", provider), 200);
      const claimed = expect(await post(stack, "rewards/claim", provider, await signedClaim(stack, provider, PROVIDER)), 200);
      assert.equal(claimed.claimedWei, before.pendingWei);

      // The next epoch (the same window again, as the job recomputes a window it did not close).
      await deposit(stack, parseEther("500"));
      await stack.app.db.query("delete from job_runs where job = 'rewards'");
      const run = (await runJob(stack.app, "rewards", { trigger: "manual" }))!;
      assert.equal(run.summary!.status, "started", JSON.stringify(run.summary));
      const [, end] = await read<[bigint, bigint]>(stack, "epochTimes", [epoch + 1n]);
      await networkHelpers.time.increaseTo(end);
      const withdrawn = expect(await post(stack, "tokens/withdraw", provider, await signedClaim(stack, provider, PROVIDER)), 200);

      const after = expect(await get(stack, "rewards/earnings", provider), 200);
      assert.equal(after.claimedWei, (BigInt(claimed.claimedWei) + BigInt(withdrawn.claimedWei)).toString());
      assert.equal(after.pendingWei, "0");
      assert.equal(await read<bigint>(stack, "sharesOf", [wallet, POOL_IDS.providers, epoch]), 0n, "the claim folded the first epoch");
      const [first, second] = after.epochs.slice(-2);
      assert.deepEqual(first, { ...before.epochs.at(-1), folded: true });
      assert.equal(second.epoch, Number(epoch + 1n));
      assert.equal(second.entitlementWei, withdrawn.claimedWei);

      const page1 = expect(await get(stack, "rewards/history?limit=1", provider), 200);
      assert.deepEqual(page1.claims, [withdrawn.transaction]);
      const page2 = expect(await get(stack, `rewards/history?limit=1&cursor=${page1.nextCursor}`, provider), 200);
      assert.deepEqual(page2.claims, [claimed.transaction]);
      assert.equal(page2.nextCursor, null);
      const all = expect(await get(stack, "rewards/history", provider), 200);
      assert.deepEqual(all.claims, [withdrawn.transaction, claimed.transaction]);
      assert.deepEqual(expect(await get(stack, "rewards/history", user), 200), { claims: [], nextCursor: null });
      assert.ok(withdrawn.transaction.txHash);
    });

    it("books a claim the wallet sent itself, once, into the history and claimedWei", async () => {
      const wallet = addressOf(PROVIDER);
      await deposit(stack, parseEther("200"));
      await stack.app.db.query("delete from job_runs where job = 'rewards'");
      const run = (await runJob(stack.app, "rewards", { trigger: "manual" }))!;
      assert.equal(run.summary!.status, "started", JSON.stringify(run.summary));
      const [, end] = await read<[bigint, bigint]>(stack, "epochTimes", [BigInt(run.summary!.epoch as string)]);
      await networkHelpers.time.increaseTo(end);
      const before = expect(await get(stack, "rewards/earnings", provider), 200);
      assert.ok(BigInt(before.pendingWei) > 0n);

      await networkHelpers.setBalance(wallet, parseEther("1"));
      const client = await viem.getPublicClient();
      const hash = await (await walletOf(PROVIDER)).writeContract({ address: stack.deployment.contracts.distributor!, abi: distributorAbi, functionName: "claim" });
      await client.waitForTransactionReceipt({ hash });
      expect(await post(stack, "rewards/claims", user, { txHash: hash }), 422, "NOT_A_CLAIM");
      const booked = expect(await post(stack, "rewards/claims", provider, { txHash: hash }), 200);
      assert.equal(booked.booked, true);
      assert.equal(booked.transaction.type, "claim");
      assert.equal(booked.transaction.amountWei, before.pendingWei);
      assert.equal(expect(await post(stack, "rewards/claims", provider, { txHash: hash }), 200).booked, false);
      expect(await post(stack, "rewards/claims", provider, { txHash: `0x${"12".repeat(32)}` }), 404, "TX_NOT_FOUND");
      expect(await post(stack, "rewards/claims", provider, { txHash: "0x12" }), 400, "VALIDATION_FAILED");

      const after = expect(await get(stack, "rewards/earnings", provider), 200);
      assert.equal(after.pendingWei, "0");
      assert.equal(BigInt(after.claimedWei), BigInt(before.claimedWei) + BigInt(before.pendingWei));
      const { claims } = expect(await get(stack, "rewards/history?limit=1", provider), 200);
      assert.deepEqual(claims, [booked.transaction]);
      expect(await stack.api.inject({ method: "POST", url: "/api/v1/rewards/claims", payload: { txHash: hash } }), 401, "UNAUTHENTICATED");
    });
  });
}
