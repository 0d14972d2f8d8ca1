import { randomUUID } from "node:crypto";
// Served work reaches rewards: the epoch counts the gateway's served work and the node checks,
// merged with the orchestrator's uploads without counting twice; and on a fresh stack, an admin's
// "run now" makes today's served work claimable at once (the epoch starts, pendingOf > 0, the
// provider claims), while work served afterwards counts in the next window only.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { maxUint256 } from "viem";
import { cxptAbi, distributorAbi } from "../../../src/chain/abis.ts";
import { runJob } from "../../../src/jobs/run.ts";
import { startDemoNode, type DemoNode } from "../../../src/providers/demo-node.ts";
import { loadProviderStats } from "../../../src/rewards/epoch.ts";
import { POOL_IDS } from "../../../src/rewards/points.ts";
import { approveVault, auth, BACKENDS, expectReply, fundCxpt, networkHelpers, paygUsage, signIn, startStack, USERS, viem, walletOf, type Stack } from "../api/harness.ts";

const CXPT = 10n ** 18n;
const NODE = "00000000-0000-4000-8000-0000000000aa";

for (const backend of BACKENDS) {
  describe(`served work and rewards (${backend})`, () => {
    let stack: Stack | undefined;
    let node: DemoNode | undefined;
    afterEach(async () => {
      await stack?.close();
      stack = undefined;
      await node?.close();
      node = undefined;
    });
    const start = async () => (stack = await startStack(backend, { PROVIDER_HEALTH_EVERY_MS: "0", PROVIDER_REFRESH_MS: "0" }, { nodes: () => [] })); // no test nodes: these tests register their own

    it("the epoch counts served work and checks; an upload of the same hour or day is not added to them", async () => {
      const s = await start();
      const provider = await signIn(s.api, USERS.bob, { kind: "provider" });
      const hour = new Date(Date.UTC(2026, 2, 1, 5));
      const record = (n: number, tier: "tide-pool" | "blue-surge", at: Date) => {
        for (let i = 0; i < n; i++) s.app.providers.served.record({ requestId: randomUUID(), nodeId: NODE, providerAccountId: provider.accountId, tier, at: at.getTime() + i, tokens: 10, latencyMs: 50 });
      };
      record(3, "tide-pool", hour);
      record(2, "blue-surge", hour);
      await s.app.providers.served.flush();
      const checks = [[true, 100], [true, 300], [false, null], [true, 200]] as const;
      for (const [i, [up, latency]] of checks.entries()) {
        await s.app.db.query("insert into provider_node_checks (node_id, provider_account_id, at, up, latency_ms) values ($1, $2, $3, $4, $5)", [
          NODE, provider.accountId, new Date(hour.getTime() + i * 60_000).toISOString(), up, latency,
        ]);
      }
      const window = { from: new Date(Date.UTC(2026, 2, 1)), to: new Date(Date.UTC(2026, 2, 2)) };
      const served = (stats: Awaited<ReturnType<typeof loadProviderStats>>) => stats.served.map((r) => [r.tier, r.hour.toISOString(), r.requests]).sort();

      const alone = await loadProviderStats(s.app.db, window);
      assert.deepEqual(served(alone), [["blue-surge", hour.toISOString(), 2n], ["tide-pool", hour.toISOString(), 3n]]);
      assert.deepEqual(alone.health.map((h) => [h.day, h.uptimeBps, h.p50Ms]), [["2026-03-01", 7500, 200]], "3 of 4 checks up; median of the good ones");

      // The orchestrator reports more tide-pool requests and fewer blue-surge ones for the same hour, and the day's health.
      await s.app.db.query(
        `insert into provider_requests (provider_account_id, tier, hour, requests) values ($1, 'tide-pool', $2, 5), ($1, 'blue-surge', $2, 1), ($1, 'open-ocean', $2, 4)`,
        [provider.accountId, hour.toISOString()],
      );
      await s.app.db.query("insert into provider_health (provider_account_id, day, uptime_bps, p50_ms) values ($1, '2026-03-01', 9990, 250)", [provider.accountId]);
      const merged = await loadProviderStats(s.app.db, window);
      assert.deepEqual(served(merged), [["blue-surge", hour.toISOString(), 2n], ["open-ocean", hour.toISOString(), 4n], ["tide-pool", hour.toISOString(), 5n]], "the greater of the two");
      assert.deepEqual(merged.health.map((h) => [h.day, h.uptimeBps, h.p50Ms]), [["2026-03-01", 9990, 250]], "the upload's health");
    });

    it("the daily run: work of a computed hour written after the run counts in the next window, never lost or twice", async () => {
      const s = await start();
      const provider = await signIn(s.api, USERS.bob, { kind: "provider" });
      const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
      const record = (at: number) => s.app.providers.served.record({ requestId: randomUUID(), nodeId: NODE, providerAccountId: provider.accountId, tier: "tide-pool", at, tokens: 1, latencyMs: 1 });
      record(today - 12 * 3_600_000);
      const run = (await runJob(s.app, "rewards", { trigger: "manual" }))!;
      assert.equal(run.outcome, "ok", run.error ?? "");
      assert.equal(run.summary!.providers, 1);
      assert.equal(run.summary!.to, new Date(today).toISOString());
      // Another instance writes yesterday's last request only now: it goes to the window after today 00:00.
      record(today - 1000);
      await s.app.providers.served.flush();
      const total = async (from: number, to: number) =>
        (await loadProviderStats(s.app.db, { from: new Date(from), to: new Date(to) })).served.reduce((sum, r) => sum + r.requests, 0n);
      assert.equal(await total(today - 86_400_000, today), 1n, "the computed window is unchanged");
      assert.equal(await total(today, Date.now() + 1000), 1n, "the late request counts in the next window");
    });

    it("run now: today's served work is claimable on a fresh stack; work served afterwards goes to the next window", async () => {
      const s = await start();
      node = await startDemoNode({});
      const publicClient = await viem.getPublicClient();
      const distributor = { address: s.deployment.contracts.distributor!, abi: distributorAbi } as const;

      // A provider registers its node (checked at once: uptime and p50 for today) and serves work today.
      const provider = await signIn(s.api, USERS.bob, { kind: "provider" });
      const registered = expectReply(
        await s.api.inject({ method: "POST", url: "/api/v1/provider/nodes", headers: auth(provider.token), payload: { baseUrl: node.baseUrl, models: ["llama-3.1-8b-instruct"], tier: "blue-surge" } }),
        201,
      );
      assert.equal(registered.status, "up");
      const lease = s.app.providers.router.acquire("llama-3.1-8b-instruct")!;
      for (let i = 0; i < 3; i++) {
        s.app.providers.served.record({ requestId: randomUUID(), nodeId: lease.node.id, providerAccountId: lease.node.providerAccountId, tier: lease.node.tier, at: Date.now(), tokens: 40, latencyMs: 12 });
      }
      lease.release();

      // A user paid for compute today (PAYG, settled): the Vault has funds for the epoch's budget.
      const user = await signIn(s.api, USERS.alice);
      await fundCxpt(s.deployment, user.wallet, 100n * CXPT);
      await approveVault(s.deployment, USERS.alice, maxUint256);
      await paygUsage(s.app.db, user.accountId, 2n * CXPT, { costAusd: 1_000_000n });
      assert.equal((await runJob(s.app, "settle", { trigger: "manual" }))!.outcome, "ok");

      // The scheduled run would close the window at today 00:00 UTC: today's work would wait for tomorrow.
      const admin = await signIn(s.api, USERS.admin);
      await s.app.db.query("update accounts set role = 'admin' where id = $1", [admin.accountId]);
      expectReply(await s.api.inject({ method: "POST", url: "/api/v1/admin/rewards/run-now", headers: auth(user.token) }), 403, "ADMIN_ONLY");
      const before = Date.now();
      const run = expectReply(await s.api.inject({ method: "POST", url: "/api/v1/admin/rewards/run-now", headers: auth(admin.token) }), 200);
      assert.equal(run.outcome, "ok", run.error ?? "");
      assert.equal(run.summary.status, "started");
      assert.equal(run.summary.closedNow, true);
      assert.equal(run.summary.providers, 1);
      assert.equal(run.summary.users, 1);
      const closedAt = new Date(run.summary.to).getTime();
      assert.ok(closedAt >= before && closedAt <= Date.now(), "the window closes at the moment of the run");
      const { rows: audit } = await s.app.db.query<{ action: string; outcome: { status: string } }>("select action, outcome from audit_log where action = 'run_rewards_now'");
      assert.deepEqual(audit.map((a) => [a.action, a.outcome.status]), [["run_rewards_now", "executed"]]);

      // The epoch releases linearly: a minute later the provider has something to claim, and claims it without gas.
      const epoch = await publicClient.readContract({ ...distributor, functionName: "currentEpoch" });
      assert.equal(epoch.toString(), run.summary.epoch);
      await networkHelpers.time.increase(60);
      await networkHelpers.mine();
      const pending = await publicClient.readContract({ ...distributor, functionName: "pendingOf", args: [provider.wallet, POOL_IDS.providers] });
      assert.ok(pending > 0n, "the provider earned from today's served work");
      const available = expectReply(await s.api.inject({ method: "GET", url: "/api/v1/rewards/available", headers: auth(provider.token) }), 200);
      assert.ok(BigInt(available.providersWei) > 0n, "the provider dashboard shows the earnings");
      const { typedData } = expectReply(await s.api.inject({ method: "GET", url: "/api/v1/rewards/claim-request", headers: auth(provider.token) }), 200);
      const signature = await (await walletOf(USERS.bob)).signTypedData(typedData);
      const cxptBefore = await publicClient.readContract({ address: s.deployment.contracts.cxpt!, abi: cxptAbi, functionName: "balanceOf", args: [provider.wallet] });
      const claimed = expectReply(await s.api.inject({ method: "POST", url: "/api/v1/rewards/claim", headers: auth(provider.token), payload: { request: typedData.message, signature } }), 200);
      assert.ok(BigInt(claimed.claimedWei) > 0n);
      const cxptAfter = await publicClient.readContract({ address: s.deployment.contracts.cxpt!, abi: cxptAbi, functionName: "balanceOf", args: [provider.wallet] });
      assert.equal(cxptAfter - cxptBefore, BigInt(claimed.claimedWei));

      // Work served after the cutoff, even within the same hour, lands in the next window, never in the closed one.
      s.app.providers.served.record({ requestId: randomUUID(), nodeId: registered.id, providerAccountId: provider.accountId, tier: "blue-surge", at: Date.now(), tokens: 1, latencyMs: 5 });
      await s.app.providers.served.flush();
      const closed = await loadProviderStats(s.app.db, { from: new Date(run.summary.from), to: new Date(closedAt) });
      assert.equal(closed.served.reduce((sum, r) => sum + r.requests, 0n), 3n);
      const next = await loadProviderStats(s.app.db, { from: new Date(closedAt), to: new Date(Date.now() + 1000) });
      assert.equal(next.served.reduce((sum, r) => sum + r.requests, 0n), 1n);
      const again = expectReply(await s.api.inject({ method: "POST", url: "/api/v1/admin/rewards/run-now", headers: auth(admin.token) }), 200);
      assert.equal(again.summary.from, run.summary.to, "the next window starts where run now closed the last");
      assert.equal(again.summary.providers, 1);
    });
  });
}
