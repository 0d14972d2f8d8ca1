import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { custom, getAddress, parseEther, type Address, type Hash } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { loadStage } from "../../../src/app/settings.ts";
import { distributorAbi, subscriptionsAbi, vaultAbi } from "../../../src/chain/abis.ts";
import type { ContractKey } from "../../../src/chain/types.ts";
import { POOL_IDS } from "../../../src/rewards/points.ts";
import { DEV_KEYS, devKey } from "../../../src/devstack/keys.ts";
import { auth, BACKENDS, connection, signIn, startStack, USERS, viem, type Stack } from "./harness.ts";
import { expectReply as expect } from "./harness.ts";

type Method = "GET" | "PUT" | "POST";

/** Signs the demo admin in and gives the account the admin role; returns its session token. */
async function adminToken(stack: Stack): Promise<string> {
  const { token, accountId } = await signIn(stack.api, USERS.admin);
  await stack.app.db.query("update accounts set role = 'admin' where id = $1", [accountId]);
  return token;
}

const request = (stack: Stack, method: Method, url: string, token?: string, payload?: object) =>
  stack.api.inject({ method, url: `/api/v1/admin/${url}`, headers: token ? auth(token) : {}, ...(payload ? { payload } : {}) });


/** How createApp reached the chain, for the stage switch (the harness's in-process chain). */
function connectVia(stack: Stack, addresses: Readonly<Partial<Record<ContractKey, Address>>> = stack.deployment.contracts): void {
  Object.assign(stack.app, { connectOptions: { transport: custom(connection.provider), addresses } });
}

const at = (stack: Stack, key: ContractKey) => stack.deployment.contracts[key]!;

async function readSplit(stack: Stack) {
  const publicClient = await viem.getPublicClient();
  return publicClient.readContract({ address: at(stack, "distributor"), abi: distributorAbi, functionName: "split" });
}

async function assertMined(hashes: readonly Hash[], to: Address) {
  const publicClient = await viem.getPublicClient();
  for (const hash of hashes) {
    const receipt = await publicClient.getTransactionReceipt({ hash });
    assert.equal(receipt.status, "success");
    assert.equal(getAddress(receipt.to!), getAddress(to));
  }
}

/** The newest audit entries (newest first). */
async function auditLog(stack: Stack, token: string, limit = 10) {
  return (await expect(await request(stack, "GET", `audit?limit=${limit}`, token), 200)).entries as {
    id: string;
    actorId: string | null;
    actorWallet: string | null;
    action: string;
    params: Record<string, unknown>;
    outcome: Record<string, unknown>;
  }[];
}

const PLAN = { priceWei: parseEther("500").toString(), periodSeconds: 7 * 86_400, bucketTokens: "5000000", requestsPerMinute: 60, concurrency: 2 };
const wallet = (key: `0x${string}`) => privateKeyToAccount(key).address;

for (const backend of BACKENDS) {
  describe(`admin API (${backend})`, () => {
    let stack: Stack;
    let token: string;
    before(async () => {
      stack = await startStack(backend);
      token = await adminToken(stack);
    });
    after(async () => stack.close());

    it("answers 401 without a session and 403 to a member, on every route and before reading the body", async () => {
      const member = (await signIn(stack.api, USERS.alice)).token;
      const routes: [Method, string, object?][] = [
        ["GET", "settings"],
        ["PUT", "split", { protocolBps: "x" }],
        ["POST", "plans", {}],
        ["PUT", "plans/1", {}],
        ["PUT", "burn-rate", { burnBps: -1 }],
        ["PUT", "stage", { stage: "moon" }],
        ["POST", "rewards/points", {}],
        ["GET", "audit?limit=abc"],
      ];
      for (const [method, url, payload] of routes) {
        await expect(await request(stack, method, url, undefined, payload), 401, "UNAUTHENTICATED");
        await expect(await request(stack, method, url, "cxs_unknown", payload), 401, "SESSION_EXPIRED");
        await expect(await request(stack, method, url, member, payload), 403, "ADMIN_ONLY");
      }
      assert.equal((await auditLog(stack, token)).length, 0, "refused requests change nothing and are not actions");
    });

    it("shows the stage, the features and the suite's economics read from the chain", async () => {
      const settings = await expect(await request(stack, "GET", "settings", token), 200);
      assert.equal(settings.stage, "testnet");
      assert.equal(settings.phase, 3);
      assert.deepEqual(settings.features, { deposits: true, claims: true, paygInCxpt: true, subscriptions: true, faucet: true, legacyCredits: false });
      const { chain } = settings;
      assert.equal(chain.chainId, 31337);
      assert.deepEqual(chain.split, { protocolBps: 3000, providersBps: 5500, usersBps: 1500 });
      assert.equal(chain.burnBps, 500);
      assert.equal(chain.protocolBalanceWei, "0");
      assert.equal(chain.currentEpoch, 0);
      // Nothing uploaded for epoch 1 yet; the local chain's review delay is 0, so it could start at once.
      assert.deepEqual(chain.nextEpoch, {
        epoch: 1,
        uploaded: false,
        voided: false,
        reviewDelaySeconds: 0,
        currentEndsAt: new Date(0).toISOString(),
        reviewEndsAt: null,
        startableAt: new Date(0).toISOString(),
      });
      assert.equal(chain.safe, at(stack, "safe"));
      assert.equal(chain.timelock, at(stack, "timelock"));
      assert.deepEqual(chain.plans.map((p: { id: number }) => p.id), [1, 2, 3]);
      const publicClient = await viem.getPublicClient();
      const starter = await publicClient.readContract({ address: at(stack, "subscriptions"), abi: subscriptionsAbi, functionName: "planOf", args: [1n] });
      assert.deepEqual(chain.plans[0], {
        id: 1,
        priceWei: starter.price.toString(),
        periodSeconds: starter.period,
        bucketTokens: starter.bucket.toString(),
        requestsPerMinute: starter.requestsPerMinute,
        concurrency: starter.concurrency,
        active: true,
      });
    });

    it("changes the split through the Safe and the timelock (200), visible on chain and audited", async () => {
      const response = await expect(await request(stack, "PUT", "split", token, { protocolBps: 2000, providersBps: 6000, usersBps: 2000 }), 200);
      assert.equal(response.status, "executed");
      assert.match(response.label, /split protocol\/providers\/users 2000\/6000\/2000 bps/);
      assert.match(response.operationId, /^0x[0-9a-f]{64}$/);
      assert.equal(response.txHashes.length, 2);
      await assertMined(response.txHashes, at(stack, "safe"));
      assert.deepEqual(await readSplit(stack), [2000n, 6000n, 2000n]);
      assert.deepEqual((await expect(await request(stack, "GET", "settings", token), 200)).chain.split, { protocolBps: 2000, providersBps: 6000, usersBps: 2000 });

      const [entry] = await auditLog(stack, token, 1);
      assert.equal(entry!.action, "set_split");
      assert.equal(entry!.actorWallet, wallet(USERS.admin));
      assert.deepEqual(entry!.params, { protocol: "2000", providers: "6000", users: "2000" });
      assert.deepEqual(entry!.outcome, { status: "executed", label: response.label, operationId: response.operationId, txHashes: response.txHashes });
    });

    it("refuses a bad split with 400 and a code, records the failure and leaves the chain alone", async () => {
      const before = await readSplit(stack);
      const invalid = await expect(await request(stack, "PUT", "split", token, { protocolBps: 3000, providersBps: 5000, usersBps: 1000 }), 400, "INVALID_SPLIT");
      assert.match(invalid.error.message, /sum to 10000 basis points, got 3000 \+ 5000 \+ 1000 = 9000/);
      for (const payload of [{ protocolBps: "3000", providersBps: 5500, usersBps: 1500 }, { protocolBps: 3000, providersBps: 5500 }, { protocolBps: 10001, providersBps: 0, usersBps: 0 }, { protocolBps: 3000, providersBps: 5500, usersBps: 1500, extra: 1 }]) {
        await expect(await request(stack, "PUT", "split", token, payload), 400, "VALIDATION_FAILED");
      }
      assert.deepEqual(await readSplit(stack), before);
      const [entry] = await auditLog(stack, token, 1);
      assert.equal(entry!.action, "set_split");
      assert.equal((entry!.outcome as { status: string }).status, "failed");
      assert.equal(entry!.outcome.code, "INVALID_SPLIT");
      assert.match(String(entry!.outcome.message), /= 9000/);
    });

    it("creates a plan (200 with its id) and changes only the fields given", async () => {
      const created = await expect(await request(stack, "POST", "plans", token, PLAN), 200);
      assert.equal(created.status, "executed");
      const publicClient = await viem.getPublicClient();
      const read = (id: number) => publicClient.readContract({ address: at(stack, "subscriptions"), abi: subscriptionsAbi, functionName: "planOf", args: [BigInt(id)] });
      assert.equal(created.planId, Number(await publicClient.readContract({ address: at(stack, "subscriptions"), abi: subscriptionsAbi, functionName: "lastPlanId" })));
      assert.deepEqual(await read(created.planId), { price: parseEther("500"), period: 7 * 86_400, active: true, bucket: 5_000_000n, requestsPerMinute: 60, concurrency: 2 });

      const updated = await expect(await request(stack, "PUT", `plans/${created.planId}`, token, { active: false, priceWei: parseEther("400").toString() }), 200);
      assert.equal(updated.status, "executed");
      assert.deepEqual(await read(created.planId), { price: parseEther("400"), period: 7 * 86_400, active: false, bucket: 5_000_000n, requestsPerMinute: 60, concurrency: 2 });
      const plans = (await expect(await request(stack, "GET", "settings", token), 200)).chain.plans;
      assert.deepEqual(plans.at(-1), { id: created.planId, ...PLAN, priceWei: parseEther("400").toString(), active: false });

      const [update, create] = await auditLog(stack, token, 2);
      assert.equal(update!.action, "update_plan");
      assert.deepEqual(update!.params, { planId: String(created.planId), active: false, price: parseEther("400").toString() });
      assert.equal(create!.action, "create_plan");
      assert.equal(create!.outcome.planId, String(created.planId));
      assert.equal(create!.params.price, parseEther("500").toString());
    });

    it("refuses bad plans with 400 naming every problem, and unknown plans with 404", async () => {
      const invalid = await expect(await request(stack, "POST", "plans", token, { ...PLAN, priceWei: "0", periodSeconds: 3600 }), 400, "INVALID_PLAN");
      assert.match(invalid.error.message, /price must be a positive amount/);
      assert.match(invalid.error.message, /period must be whole seconds, at least 86400/);
      await expect(await request(stack, "PUT", "plans/1", token, { concurrency: 0 }), 400, "INVALID_PLAN");
      for (const [method, url, payload] of [
        ["POST", "plans", { ...PLAN, priceWei: 5 }],
        ["POST", "plans", { ...PLAN, bucketTokens: "-1" }],
        ["POST", "plans", { priceWei: "1" }],
        ["PUT", "plans/1", {}],
        ["PUT", "plans/1", { colour: "red" }],
        ["PUT", "plans/abc", { active: true }],
      ] as [Method, string, object][]) {
        await expect(await request(stack, method, url, token, payload), 400, "VALIDATION_FAILED");
      }
      const missing = await expect(await request(stack, "PUT", "plans/99", token, { active: false }), 404, "PLAN_NOT_FOUND");
      assert.match(missing.error.message, /there is no plan 99/);
      const [entry] = await auditLog(stack, token, 1);
      assert.deepEqual([entry!.action, entry!.outcome.status, entry!.outcome.code], ["update_plan", "failed", "PLAN_NOT_FOUND"]);
    });

    it("sets the burn rate within the Vault's cap", async () => {
      const response = await expect(await request(stack, "PUT", "burn-rate", token, { burnBps: 800 }), 200);
      await assertMined(response.txHashes, at(stack, "safe"));
      const publicClient = await viem.getPublicClient();
      assert.equal(await publicClient.readContract({ address: at(stack, "vault"), abi: vaultAbi, functionName: "burnBps" }), 800n);
      const tooHigh = await expect(await request(stack, "PUT", "burn-rate", token, { burnBps: 1001 }), 400, "INVALID_BURN_RATE");
      assert.match(tooHigh.error.message, /between 0 and 1000 basis points, got 1001/);
      await expect(await request(stack, "PUT", "burn-rate", token, { burnBps: "5" }), 400, "VALIDATION_FAILED");
      await expect(await request(stack, "PUT", "burn-rate", token, { burnBps: 1.5 }), 400, "VALIDATION_FAILED");
      assert.equal((await expect(await request(stack, "GET", "settings", token), 200)).chain.burnBps, 800);
      const [failed, executed] = await auditLog(stack, token, 2);
      assert.deepEqual([failed!.action, failed!.outcome.code], ["set_burn_rate", "INVALID_BURN_RATE"]);
      assert.deepEqual([executed!.action, executed!.params, executed!.outcome.status], ["set_burn_rate", { burnBps: "800" }, "executed"]);
    });

    it("runs simultaneous changes one after the other (they share the Safe's nonce)", async () => {
      const [split, burn] = await Promise.all([
        request(stack, "PUT", "split", token, { protocolBps: 2500, providersBps: 6000, usersBps: 1500 }),
        request(stack, "PUT", "burn-rate", token, { burnBps: 700 }),
      ]);
      assert.equal((await expect(split, 200)).status, "executed");
      assert.equal((await expect(burn, 200)).status, "executed");
      assert.deepEqual(await readSplit(stack), [2500n, 6000n, 1500n]);
      const publicClient = await viem.getPublicClient();
      assert.equal(await publicClient.readContract({ address: at(stack, "vault"), abi: vaultAbi, functionName: "burnBps" }), 700n);
    });

    it("documents the admin routes in the OpenAPI document", async () => {
      const doc = (await stack.api.inject({ method: "GET", url: "/api/docs/json" })).json();
      for (const [path, method] of [["settings", "get"], ["split", "put"], ["plans", "post"], ["plans/{id}", "put"], ["burn-rate", "put"], ["stage", "put"], ["rewards/points", "post"], ["audit", "get"]]) {
        assert.ok(doc.paths[`/api/v1/admin/${path}`]?.[method!], `${method} ${path}`);
      }
      assert.ok(doc.paths["/api/v1/admin/split"].put.responses["202"]);
    });

    it("uploads points for the next epoch from a CSV, stores them, and sends only what changed on a re-upload", async () => {
      const [alice, bob, carol] = [wallet(USERS.alice), wallet(USERS.bob), wallet(USERS.carol)];
      const csv = `wallet,points,pool\n${alice},100,providers\n${bob},250,providers\n${carol},40,users\n`;
      const first = await expect(await request(stack, "POST", "rewards/points", token, { epoch: 1, csv }), 200);
      assert.deepEqual({ ...first, txHashes: first.txHashes.length }, {
        epoch: 1,
        rows: 3,
        sent: 3,
        unchanged: 0,
        pools: { providers: { accounts: 2, points: "350" }, users: { accounts: 1, points: "40" } },
        txHashes: 2,
      });
      await assertMined(first.txHashes, at(stack, "distributor"));
      const publicClient = await viem.getPublicClient();
      const shares = (account: Address, pool: keyof typeof POOL_IDS) =>
        publicClient.readContract({ address: at(stack, "distributor"), abi: distributorAbi, functionName: "sharesOf", args: [account, POOL_IDS[pool], 1n] });
      assert.deepEqual([await shares(alice, "providers"), await shares(bob, "providers"), await shares(carol, "users")], [100n, 250n, 40n]);
      const { rows } = await stack.app.db.query<{ pool: string; wallet: string; points: string; uploaded: boolean }>(
        "select pool, wallet, points, uploaded from reward_points where epoch = 1 order by points",
      );
      assert.deepEqual(rows.map((r) => [r.pool, r.wallet, String(r.points), r.uploaded]), [
        ["users", carol.toLowerCase(), "40", true],
        ["providers", alice.toLowerCase(), "100", true],
        ["providers", bob.toLowerCase(), "250", true],
      ]);
      const status = async () => (await stack.app.db.query<{ status: string }>("select status from reward_epochs where epoch = 1")).rows[0]?.status;
      assert.equal(await status(), "uploaded");

      // The same file again: nothing to send.
      const again = await expect(await request(stack, "POST", "rewards/points", token, { epoch: 1, csv }), 200);
      assert.deepEqual([again.sent, again.unchanged, again.txHashes], [0, 3, []]);
      // One account changed, in a file without a pool column (the body names the pool).
      const changed = await expect(await request(stack, "POST", "rewards/points", token, { epoch: 1, pool: "providers", csv: `points,wallet\n100,${alice}\n300,${bob}\n` }), 200);
      assert.deepEqual([changed.sent, changed.unchanged, changed.txHashes.length], [1, 1, 1]);
      assert.equal(await shares(bob, "providers"), 300n);
      assert.equal(await status(), "uploaded");

      const [entry] = await auditLog(stack, token, 1);
      assert.equal(entry!.action, "upload_points");
      assert.equal(entry!.params.epoch, "1");
      assert.equal(entry!.params.pool, "providers");
      assert.match(String(entry!.params.csvSha256), /^[0-9a-f]{64}$/);
      assert.deepEqual(entry!.outcome, { status: "executed", rows: 2, sent: 1, unchanged: 1, pools: { providers: { accounts: 2, points: "400" }, users: { accounts: 0, points: "0" } }, txHashes: changed.txHashes });
    });

    it("refuses a bad points CSV (400 naming the lines) and another epoch than the next (409), storing nothing", async () => {
      const alice = wallet(USERS.alice);
      const bad = await expect(await request(stack, "POST", "rewards/points", token, { epoch: 1, csv: `wallet,points,pool\n${alice},ten,providers\n0x1234,5,users\n${alice},1,nowhere\n` }), 400, "INVALID_CSV");
      assert.match(bad.error.message, /line 2: points must be a non-negative whole number, got "ten"/);
      assert.match(bad.error.message, /line 3: "0x1234" is not an address/);
      assert.match(bad.error.message, /line 4: pool must be providers or users, got "nowhere"/);
      assert.equal(bad.error.details.problems.length, 3);
      await expect(await request(stack, "POST", "rewards/points", token, { epoch: 1, csv: `wallet,points\n${alice},5\n` }), 400, "INVALID_CSV");
      const wrong = await expect(await request(stack, "POST", "rewards/points", token, { epoch: 5, pool: "users", csv: `wallet,points\n${alice},5\n` }), 409, "WRONG_EPOCH");
      assert.match(wrong.error.message, /only be uploaded for the next epoch 1 \(epoch 0 is current\), not 5/);
      assert.equal((await stack.app.db.query("select 1 from reward_points where epoch = 5")).rows.length, 0);
      assert.equal((await stack.app.db.query("select 1 from reward_epochs where epoch = 5")).rows.length, 0);
      for (const payload of [{ csv: "wallet,points\n" }, { epoch: 0, csv: "x" }, { epoch: 1, csv: "" }, { epoch: 1, pool: "all", csv: "x" }]) {
        await expect(await request(stack, "POST", "rewards/points", token, payload), 400, "VALIDATION_FAILED");
      }
      const [entry] = await auditLog(stack, token, 1);
      assert.deepEqual([entry!.action, entry!.outcome.status, entry!.outcome.code], ["upload_points", "failed", "WRONG_EPOCH"]);
    });

    it("pages through the audit log, newest first", async () => {
      const all = await auditLog(stack, token, 200);
      assert.ok(all.length >= 10);
      const ids = all.map((e) => BigInt(e.id));
      assert.deepEqual(ids, [...ids].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { entries: { id: string }[]; nextCursor: string | null } = await expect(await request(stack, "GET", `audit?limit=3${cursor ? `&cursor=${cursor}` : ""}`, token), 200);
        assert.ok(page.entries.length <= 3);
        seen.push(...page.entries.map((e) => e.id));
        cursor = page.nextCursor;
      } while (cursor !== null);
      assert.deepEqual(seen, all.map((e) => e.id));
      await expect(await request(stack, "GET", "audit?limit=0", token), 400, "INVALID_LIMIT");
      await expect(await request(stack, "GET", "audit?limit=500", token), 400, "INVALID_LIMIT");
      await expect(await request(stack, "GET", "audit?cursor=abc", token), 400, "INVALID_CURSOR");
      await expect(await request(stack, "GET", "audit?limit=abc", token), 400, "VALIDATION_FAILED");
      await expect(await request(stack, "GET", "audit?verbose=1", token), 400, "VALIDATION_FAILED");
    });

    it("filters the audit log by admin, action and date", async () => {
      const all = await auditLog(stack, token, 200);
      const adminWallet = wallet(USERS.admin);
      const action = all[0]!.action;
      const byAction: { entries: { action: string }[] } = await expect(await request(stack, "GET", `audit?limit=200&action=${action}`, token), 200);
      assert.equal(byAction.entries.length, all.filter((e) => e.action === action).length);
      assert.ok(byAction.entries.every((e) => e.action === action));
      const byAdmin: { entries: unknown[] } = await expect(await request(stack, "GET", `audit?limit=200&admin=${adminWallet.toLowerCase()}`, token), 200);
      assert.equal(byAdmin.entries.length, all.filter((e) => e.actorWallet?.toLowerCase() === adminWallet.toLowerCase()).length);
      assert.ok(byAdmin.entries.length > 0);
      const other: { entries: unknown[] } = await expect(await request(stack, "GET", "audit?admin=0x000000000000000000000000000000000000dead", token), 200);
      assert.equal(other.entries.length, 0);
      const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
      assert.equal(((await expect(await request(stack, "GET", `audit?limit=200&from=${tomorrow}`, token), 200)) as { entries: unknown[] }).entries.length, 0);
      assert.equal(((await expect(await request(stack, "GET", `audit?limit=200&to=${tomorrow}`, token), 200)) as { entries: unknown[] }).entries.length, all.length);
      await expect(await request(stack, "GET", "audit?from=2026-13-45", token), 400, "INVALID_DATE");
      await expect(await request(stack, "GET", "audit?from=yesterday", token), 400, "VALIDATION_FAILED");
      await expect(await request(stack, "GET", "audit?action=DROP%20TABLE", token), 400, "VALIDATION_FAILED");
    });
  });

  describe(`admin stage switch (${backend})`, () => {
    let stack: Stack;
    let token: string;
    before(async () => {
      stack = await startStack(backend);
      token = await adminToken(stack);
      connectVia(stack);
    });
    after(async () => stack.close());

    const configured = { stage: "testnet", phase: 3 } as const;
    const switchTo = async (stage: string, phase: number) => request(stack, "PUT", "stage", token, { stage, phase });

    it("changes the phase, saves it for the next start and audits it", async () => {
      const chainBefore = stack.app.chain;
      const body = await expect(await switchTo("testnet", 1), 200);
      assert.deepEqual(body, {
        previous: { stage: "testnet", phase: 3 },
        stage: "testnet",
        phase: 1,
        features: { deposits: true, claims: true, paygInCxpt: false, subscriptions: false, faucet: true, legacyCredits: true },
        chainId: 31337,
      });
      assert.deepEqual(stack.app.stage, { stage: "testnet", phase: 1 });
      assert.equal(stack.app.chain, chainBefore, "the same stage keeps its connection");
      assert.deepEqual(await loadStage(stack.app.db, configured), { stage: "testnet", phase: 1 });
      const [entry] = await auditLog(stack, token, 1);
      assert.equal(entry!.action, "switch_stage");
      assert.deepEqual(entry!.params, { from: { stage: "testnet", phase: 3 }, to: { stage: "testnet", phase: 1 } });
      assert.deepEqual(entry!.outcome, { status: "executed", previous: { stage: "testnet", phase: 3 }, current: { stage: "testnet", phase: 1 }, chainId: 31337 });
    });

    it("switches the chain off (chain changes refused with 409 CHAIN_OFF) and back on, validating the deployment", async () => {
      const off = await expect(await switchTo("off", 0), 200);
      assert.equal(off.chainId, null);
      assert.equal(off.features.legacyCredits, true);
      assert.equal(stack.app.chain, undefined);
      const settings = await expect(await request(stack, "GET", "settings", token), 200);
      assert.deepEqual([settings.stage, settings.chain], ["off", null]);
      await expect(await request(stack, "PUT", "split", token, { protocolBps: 3000, providersBps: 5500, usersBps: 1500 }), 409, "CHAIN_OFF");
      await expect(await request(stack, "POST", "rewards/points", token, { epoch: 1, pool: "users", csv: `wallet,points\n${wallet(USERS.alice)},1\n` }), 409, "CHAIN_OFF");

      const on = await expect(await switchTo("testnet", 2), 200);
      assert.equal(on.chainId, 31337);
      assert.equal((await expect(await request(stack, "GET", "settings", token), 200)).chain.chainId, 31337);
      assert.deepEqual(await loadStage(stack.app.db, configured), { stage: "testnet", phase: 2 });
    });

    it("refuses a stage whose deployment is invalid (422 naming every problem) and changes nothing", async () => {
      await expect(await switchTo("off", 0), 200);
      // The Vault address points at a wallet; the rewards key is a stranger without REWARDS_ROLE.
      const eoa = wallet(USERS.alice);
      connectVia(stack, { ...stack.deployment.contracts, vault: eoa });
      const refused = await expect(await switchTo("testnet", 3), 422, "INVALID_DEPLOYMENT");
      assert.match(refused.error.message, /4 problem\(s\)/);
      assert.match(refused.error.message, new RegExp(`Vault ${eoa}: no contract code at this address`));
      assert.match(refused.error.message, new RegExp(`settings\\(\\)\\.vault is 0x[0-9a-fA-F]{40}, not the Vault ${eoa}`));
      assert.match(refused.error.message, new RegExp(`UsageBilling 0x[0-9a-fA-F]{40}: vault\\(\\) is 0x[0-9a-fA-F]{40}, not the Vault ${eoa}`));
      assert.match(refused.error.message, new RegExp(`FUNDER_ROLE is not held by Vault ${eoa}`));
      assert.deepEqual(
        refused.error.details.problems.map((p: { contract: string; check: string }) => `${p.contract}:${p.check}`).sort(),
        ["billing:wiring", "distributor:wiring", "subscriptions:wiring", "vault:code"],
      );
      assert.deepEqual(stack.app.stage, { stage: "off", phase: 0 });
      assert.equal(stack.app.chain, undefined);
      assert.deepEqual(await loadStage(stack.app.db, configured), { stage: "off", phase: 0 });
      const [entry] = await auditLog(stack, token, 1);
      assert.deepEqual([entry!.action, entry!.outcome.status, entry!.outcome.code], ["switch_stage", "failed", "INVALID_DEPLOYMENT"]);
      assert.ok(Array.isArray((entry!.outcome.details as { problems: unknown[] }).problems));
      connectVia(stack);
    });

    it("refuses mainnet on a chain that is not peaq (422) and going from mainnet back to testnet (409)", async () => {
      const mainnet = await expect(await switchTo("mainnet", 0), 422, "INVALID_CONFIG");
      assert.match(mainnet.error.message, /CHAIN_STAGE mainnet needs chain id 3338, but the chain is 31337/);
      assert.equal(stack.app.stage.stage, "off");
      // As if the backend ran on mainnet.
      stack.app.stage.stage = "mainnet";
      const back = await expect(await switchTo("testnet", 3), 409, "STAGE_DOWNGRADE");
      assert.match(back.error.message, /cannot go from mainnet back to testnet/);
      assert.equal(stack.app.stage.stage, "mainnet");
      stack.app.stage.stage = "off";
    });

    it("refuses malformed stage switches with 400", async () => {
      for (const payload of [{ stage: "moon", phase: 0 }, { stage: "testnet", phase: 4 }, { stage: "testnet" }, { stage: "testnet", phase: "1" }, { stage: "off", phase: 0, force: true }]) {
        await expect(await request(stack, "PUT", "stage", token, payload), 400, "VALIDATION_FAILED");
      }
    });
  });

  describe(`admin stage switch with a misconfigured key (${backend})`, () => {
    it("names the key's missing role and stays off", async () => {
      // REWARDS_PRIVATE_KEY is a wallet the deployment never granted REWARDS_ROLE.
      const stack = await startStack(backend, { CHAIN_STAGE: "off", REWARDS_PRIVATE_KEY: USERS.carol });
      try {
        connectVia(stack);
        const token = await adminToken(stack);
        const refused = await expect(await request(stack, "PUT", "stage", token, { stage: "testnet", phase: 1 }), 422, "INVALID_DEPLOYMENT");
        assert.match(refused.error.message, new RegExp(`REWARDS_ROLE is not held by the rewards key ${wallet(USERS.carol)}`));
        assert.equal(stack.app.stage.stage, "off");
      } finally {
        await stack.close();
      }
    });
  });

  describe(`admin changes without enough Safe owner keys (${backend})`, () => {
    let stack: Stack;
    let token: string;
    before(async () => {
      // One of the 2-of-3 Safe's owners: the backend can only propose.
      stack = await startStack(backend, { SAFE_OWNER_KEYS: devKey(DEV_KEYS.safeOwners[0]) });
      token = await adminToken(stack);
    });
    after(async () => stack.close());

    it("answers 202 with the exact timelock proposal, changes nothing on chain and audits the proposal", async () => {
      const publicClient = await viem.getPublicClient();
      const blockBefore = await publicClient.getBlockNumber();
      const response = await expect(await request(stack, "PUT", "split", token, { protocolBps: 2500, providersBps: 6000, usersBps: 1500 }), 202);
      assert.equal(response.status, "proposed");
      assert.equal(response.reason, "the backend holds 1 of the 2 Safe owner signatures needed");
      assert.equal(response.proposal.timelock, at(stack, "timelock"));
      assert.equal(response.proposal.delaySeconds, "0");
      assert.equal(response.proposal.operation.target, at(stack, "distributor"));
      assert.equal(response.proposal.schedule.to, at(stack, "timelock"));
      assert.equal(response.proposal.execute.to, at(stack, "timelock"));
      assert.match(response.text, /^timelock proposal: RewardDistributor: split protocol\/providers\/users 2500\/6000\/1500 bps/);
      assert.ok(response.text.includes(response.proposal.operationId));
      assert.equal(await publicClient.getBlockNumber(), blockBefore);
      assert.deepEqual(await readSplit(stack), [3000n, 5500n, 1500n]);

      const plan = await expect(await request(stack, "POST", "plans", token, PLAN), 202);
      assert.equal(plan.planId, undefined, "a proposed plan has no id yet");

      const [planEntry, splitEntry] = await auditLog(stack, token, 2);
      assert.deepEqual([planEntry!.action, planEntry!.outcome.status], ["create_plan", "proposed"]);
      assert.equal(splitEntry!.outcome.status, "proposed");
      assert.equal(splitEntry!.outcome.operationId, response.proposal.operationId);
      assert.equal(splitEntry!.outcome.proposal, response.text);
      assert.equal(splitEntry!.outcome.reason, response.reason);
    });
  });
}
