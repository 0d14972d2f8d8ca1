// The jobs run by hand, over both backends: each run is recorded in job_runs with its outcome and
// counted in the metrics; a job whose feature is off at the stage is skipped; a failure raises the
// job_failed alert and the next successful run resolves it; the rewards job starts the next epoch
// once per day; the admin routes list jobs and run one now.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { maxUint256, type Address } from "viem";
import pg from "pg";
import { buildServer, type Api } from "../../../src/api/server.ts";
import { cxptAbi, distributorAbi } from "../../../src/chain/abis.ts";
import { listAlerts } from "../../../src/monitoring/alerts.ts";
import { runJob } from "../../../src/jobs/run.ts";
import { listRuns } from "../../../src/jobs/runs.ts";
import { approveVault, auth, BACKENDS, expectReply, fundCxpt, networkHelpers, paygUsage, signIn, startStack, USERS, viem, type Stack } from "../api/harness.ts";

const CXPT = 10n ** 18n;

/** The API with the jobs routes (added here until src/api/routes/index.ts lists them). */
const jobsApi = (stack: Stack): Promise<Api> =>
  buildServer(stack.app, { silent: true });

async function metric(stack: Stack, name: string, labels: Record<string, string>): Promise<number> {
  const found = (await stack.app.monitor.metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
  const match = found.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want) && !("le" in v.labels));
  return match.reduce((sum, v) => sum + v.value, 0);
}

const usage = (stack: Stack, accountId: string, paygWei: bigint, recordedAt = "now()") =>
  paygUsage(stack.app.db, accountId, paygWei, { costAusd: 1_000_000n, recordedAt });

/** A signed-in user with 100 CXPT approved to the Vault. */
async function payingUser(stack: Stack) {
  const session = await signIn(stack.api, USERS.alice);
  await fundCxpt(stack.deployment, session.wallet, 100n * CXPT);
  await approveVault(stack.deployment, USERS.alice, maxUint256);
  return session;
}

const balanceOf = async (stack: Stack, who: Address) =>
  (await viem.getPublicClient()).readContract({ address: stack.deployment.contracts.cxpt!, abi: cxptAbi, functionName: "balanceOf", args: [who] });

for (const backend of BACKENDS) {
  describe(`jobs run by hand (${backend})`, () => {
    let stack: Stack;
    afterEach(async () => stack?.close());

    it("settle: runs the settlement, records the run with its summary and counts it", async () => {
      stack = await startStack(backend);
      const alice = await payingUser(stack);
      await usage(stack, alice.accountId, 2n * CXPT);
      const before = await balanceOf(stack, alice.wallet);

      const reported: [number, number, string][] = [];
      const run = (await runJob(stack.app, "settle", { trigger: "manual", progress: (done, total, label) => void reported.push([done, total, label]) }))!;
      assert.equal(run.outcome, "ok", run.error ?? "");
      // Progress follows the batch's leaves to the end: every one decided.
      assert.deepEqual(reported.at(-1), [1, 1, "batch 1: settled"]);
      assert.equal(run.trigger, "manual");
      assert.equal(run.scheduledFor, null);
      assert.ok(run.finishedAt);
      assert.equal(run.summary!.closed, "1");
      assert.deepEqual(run.summary!.batches, [{ id: "1", state: "settled", pending: 0, collected: 1, shortfall: 0 }]);
      assert.equal(before - (await balanceOf(stack, alice.wallet)), 2n * CXPT);

      const [stored] = await listRuns(stack.app.db, "settle", { limit: 10 });
      assert.deepEqual(stored, run);
      assert.equal(await metric(stack, "cxpt_job_runs_total", { job: "settle", outcome: "ok" }), 1);
      const duration = (await stack.app.monitor.metrics.registry.getSingleMetric("cxpt_job_duration_seconds")!.get()).values;
      assert.ok(duration.some((v) => (v as { metricName?: string }).metricName === "cxpt_job_duration_seconds_count" && v.labels.job === "settle" && v.value === 1));

      // Nothing new is due: a second run closes no batch and charges nobody again.
      const again = (await runJob(stack.app, "settle", { trigger: "manual" }))!;
      assert.equal(again.outcome, "ok");
      assert.equal(again.summary!.closed, null);
      assert.equal(before - (await balanceOf(stack, alice.wallet)), 2n * CXPT);
    });

    it("settle acts on shortfalls: the short account's keys are suspended and reported in the summary", async () => {
      stack = await startStack(backend);
      const bob = await signIn(stack.api, USERS.bob); // no CXPT, no allowance: nothing can be collected
      await usage(stack, bob.accountId, CXPT);
      const run = (await runJob(stack.app, "settle", { trigger: "manual" }))!;
      assert.equal(run.outcome, "ok", run.error ?? "");
      assert.deepEqual(run.summary!.batches, [{ id: "1", state: "collecting", pending: 0, collected: 0, shortfall: 1 }]);
      assert.deepEqual(run.summary!.shortfalls, { owing: 1, suspended: [bob.accountId], reinstated: [] });
      const open = await listAlerts(stack.app.db, { open: true, limit: 10, offset: 0 });
      assert.ok(open.some((a) => a.kind === "settlement_shortfall"));
    });

    it("monitor: runs the health checks and records what they found", async () => {
      stack = await startStack(backend);
      const run = (await runJob(stack.app, "monitor", { trigger: "manual" }))!;
      assert.equal(run.outcome, "ok", run.error ?? "");
      assert.equal((run.summary!.balances as { status: string }).status, "ok");
      assert.ok(run.summary!.checkedAt);
    });

    it("a job whose feature is off at the stage is skipped with the reason, not failed", async () => {
      stack = await startStack(backend, { CHAIN_PHASE: "1" });
      for (const job of ["settle", "reconcile"]) {
        const run = (await runJob(stack.app, job, { trigger: "manual" }))!;
        assert.equal(run.outcome, "skipped", job);
        assert.match(String(run.summary!.reason), /phase/);
        assert.equal(run.error, null);
        assert.equal(await metric(stack, "cxpt_job_runs_total", { job, outcome: "skipped" }), 1);
      }
      assert.equal((await listAlerts(stack.app.db, { open: true, limit: 10, offset: 0 })).length, 0);
    });

    it("with the chain off, every chain job is skipped", async () => {
      stack = await startStack(backend, { CHAIN_STAGE: "off" });
      for (const job of ["settle", "rewards", "reconcile"]) {
        const run = (await runJob(stack.app, job, { trigger: "manual" }))!;
        assert.equal(run.outcome, "skipped", job);
      }
    });

    it("a failing run raises the job_failed alert (once per key); the next ok run resolves it", async () => {
      stack = await startStack(backend);
      const chain = stack.app.chain;
      // The chain connection gone while the stage says it is on: settlement cannot run.
      stack.app.chain = undefined;
      const failed = (await runJob(stack.app, "settle", { trigger: "manual" }))!;
      await runJob(stack.app, "settle", { trigger: "manual" });
      assert.equal(failed.outcome, "failed");
      assert.match(failed.error!, /settler|chain/i);
      assert.equal(failed.summary, null);
      const [alert, ...others] = await listAlerts(stack.app.db, { open: true, limit: 10, offset: 0 });
      assert.equal(others.length, 0);
      assert.equal(alert!.key, "job_failed:settle");
      assert.equal(alert!.kind, "job_failed");
      assert.equal(alert!.severity, "critical");
      assert.equal(alert!.count, 2);
      assert.equal(await metric(stack, "cxpt_job_runs_total", { job: "settle", outcome: "failed" }), 2);

      stack.app.chain = chain;
      const ok = (await runJob(stack.app, "settle", { trigger: "manual" }))!;
      assert.equal(ok.outcome, "ok");
      assert.equal((await listAlerts(stack.app.db, { open: true, limit: 10, offset: 0 })).length, 0);
      const [resolved] = await listAlerts(stack.app.db, { limit: 10, offset: 0 });
      assert.ok(resolved!.resolvedAt);
    });

    it("one run of a job at a time: a second manual run while one is going is refused", async () => {
      stack = await startStack(backend);
      const first = runJob(stack.app, "settle", { trigger: "manual" });
      await assert.rejects(runJob(stack.app, "settle", { trigger: "manual" }), (e: { code?: string; status?: number }) => e.code === "JOB_RUNNING" && e.status === 409);
      assert.equal((await first)!.outcome, "ok");
      await assert.rejects(runJob(stack.app, "nightly", { trigger: "manual" }), (e: { code?: string }) => e.code === "UNKNOWN_JOB");
    });

    it("a scheduled slot delivered twice is run and recorded once", async () => {
      stack = await startStack(backend);
      const slot = new Date(Math.floor(Date.now() / 1000) * 1000);
      const first = await runJob(stack.app, "reconcile", { trigger: "schedule", scheduledFor: slot });
      const second = await runJob(stack.app, "reconcile", { trigger: "schedule", scheduledFor: slot });
      assert.equal(first!.outcome, "ok", first!.error ?? "");
      assert.equal(first!.scheduledFor, slot.toISOString());
      assert.equal(second, null);
      assert.equal((await listRuns(stack.app.db, "reconcile", { limit: 10 })).length, 1);
      assert.equal(await metric(stack, "cxpt_job_runs_total", { job: "reconcile" }), 1);
    });

    it("rewards: uploads yesterday's points for the next epoch and starts it; a second run the same day does nothing", async () => {
      stack = await startStack(backend);
      const alice = await signIn(stack.api, USERS.alice);
      // Spend yesterday (UTC) earns cashback points; today's belongs to tomorrow's run.
      await usage(stack, alice.accountId, 0n, "date_trunc('day', now() at time zone 'UTC') at time zone 'UTC' - interval '12 hours'");
      await usage(stack, alice.accountId, 0n);
      const client = await viem.getPublicClient();
      const distributor = { address: stack.deployment.contracts.distributor!, abi: distributorAbi } as const;
      const current = await client.readContract({ ...distributor, functionName: "currentEpoch" });

      const run = (await runJob(stack.app, "rewards", { trigger: "manual" }))!;
      assert.equal(run.outcome, "ok", run.error ?? "");
      const epoch = current + 1n;
      assert.equal(run.summary!.epoch, epoch.toString());
      assert.equal(run.summary!.status, "started");
      assert.equal(run.summary!.users, 1);
      assert.equal(run.summary!.closed, true);
      const today = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000);
      assert.equal(run.summary!.to, today.toISOString());
      assert.equal(run.summary!.from, new Date(today.getTime() - 86_400_000).toISOString());
      assert.equal(await client.readContract({ ...distributor, functionName: "currentEpoch" }), epoch);
      const [start, end] = await client.readContract({ ...distributor, functionName: "epochTimes", args: [epoch] });
      assert.ok(end > start, "the epoch runs until shortly before the next scheduled run");
      assert.equal(await metric(stack, "cxpt_chain_transactions_total", { purpose: "startEpoch", outcome: "success" }), 1);

      const again = (await runJob(stack.app, "rewards", { trigger: "manual" }))!;
      assert.equal(again.outcome, "ok");
      assert.equal(again.summary!.status, "done");
      assert.equal(await client.readContract({ ...distributor, functionName: "currentEpoch" }), epoch);

      // Forget those runs: the same window now goes to the next epoch, which must wait for this one to end.
      await stack.app.db.query("delete from job_runs where job = 'rewards'");
      const waiting = (await runJob(stack.app, "rewards", { trigger: "manual" }))!;
      assert.equal(waiting.summary!.epoch, (epoch + 1n).toString());
      assert.equal(waiting.summary!.status, "waiting");
      assert.equal(waiting.summary!.closed, false);
      assert.equal(waiting.summary!.endsAt, new Date(Number(end) * 1000).toISOString());
      assert.equal(await client.readContract({ ...distributor, functionName: "currentEpoch" }), epoch);
      // Once it has ended, the next run (same window: it was not closed) starts the waiting epoch.
      await networkHelpers.time.increaseTo(end);
      const started = (await runJob(stack.app, "rewards", { trigger: "manual" }))!;
      assert.equal(started.summary!.status, "started");
      assert.equal(started.summary!.from, waiting.summary!.from);
      assert.equal(started.summary!.sent, 0, "the points were uploaded by the waiting run");
      assert.equal(await client.readContract({ ...distributor, functionName: "currentEpoch" }), epoch + 1n);
    });

    it("rewards: an upload waits out the review delay without being re-sent; a voided upload's window goes to the next epoch", async () => {
      stack = await startStack(backend);
      const alice = await signIn(stack.api, USERS.alice);
      await usage(stack, alice.accountId, 0n, "date_trunc('day', now() at time zone 'UTC') at time zone 'UTC' - interval '12 hours'");
      const client = await viem.getPublicClient();
      const distributor = { address: stack.deployment.contracts.distributor!, abi: distributorAbi } as const;
      /** `who` (a contract of the suite, impersonated on the test chain) calls the distributor. */
      const as = async (who: Address) => {
        await networkHelpers.impersonateAccount(who);
        await networkHelpers.setBalance(who, CXPT);
        return viem.getWalletClient(who);
      };
      // The admin (the timelock) sets a one-hour review delay.
      const admin = await as(stack.deployment.contracts.timelock!);
      await admin.writeContract({ ...distributor, functionName: "setEpochBounds", args: [0n, 0n, 3_600n] });
      const current = await client.readContract({ ...distributor, functionName: "currentEpoch" });
      const epoch = current + 1n;

      const uploaded = (await runJob(stack.app, "rewards", { trigger: "manual" }))!;
      assert.equal(uploaded.outcome, "ok", uploaded.error ?? "");
      assert.equal(uploaded.summary!.status, "waiting");
      assert.equal(uploaded.summary!.epoch, epoch.toString());
      assert.equal(uploaded.summary!.sent, 1);
      assert.equal(uploaded.summary!.closed, false);
      const [, , , reviewEnd] = await client.readContract({ ...distributor, functionName: "epochBounds" });
      assert.equal(uploaded.summary!.reviewEndsAt, new Date(Number(reviewEnd) * 1000).toISOString());
      assert.equal(uploaded.summary!.startableAt, uploaded.summary!.reviewEndsAt, "the current epoch has ended: the review decides");

      // A run during the review neither re-sends the points nor restarts the delay.
      const during = (await runJob(stack.app, "rewards", { trigger: "manual" }))!;
      assert.equal(during.summary!.status, "waiting");
      assert.equal(during.summary!.sent, 0);
      assert.equal(during.summary!.from, uploaded.summary!.from);
      assert.equal((await client.readContract({ ...distributor, functionName: "epochBounds" }))[3], reviewEnd);
      assert.equal(await client.readContract({ ...distributor, functionName: "currentEpoch" }), current);

      await networkHelpers.time.increaseTo(reviewEnd);
      const started = (await runJob(stack.app, "rewards", { trigger: "manual" }))!;
      assert.equal(started.summary!.status, "started");
      assert.equal(started.summary!.epoch, epoch.toString());
      assert.equal(started.summary!.closed, true);
      assert.equal(await client.readContract({ ...distributor, functionName: "currentEpoch" }), epoch);

      // Forget those runs: the same window goes to the next epoch, whose upload the Safe (the guardian) voids.
      await stack.app.db.query("delete from job_runs where job = 'rewards'");
      const again = (await runJob(stack.app, "rewards", { trigger: "manual" }))!;
      assert.equal(again.summary!.status, "waiting");
      assert.equal(again.summary!.epoch, (epoch + 1n).toString());
      const guardian = await as(stack.deployment.contracts.safe!);
      await guardian.writeContract({ ...distributor, functionName: "voidUpload", args: [epoch + 1n] });
      const voidedEarly = (await runJob(stack.app, "rewards", { trigger: "manual" }))!;
      assert.equal(voidedEarly.summary!.status, "voided");
      const [, end] = await client.readContract({ ...distributor, functionName: "epochTimes", args: [epoch] });
      assert.equal(voidedEarly.summary!.endsAt, new Date(Number(end) * 1000).toISOString());
      await networkHelpers.time.increaseTo(end);
      const skipped = (await runJob(stack.app, "rewards", { trigger: "manual" }))!;
      assert.equal(skipped.summary!.status, "voided");
      assert.ok(typeof skipped.summary!.startTx === "string", "the voided epoch starts empty");
      assert.equal(await client.readContract({ ...distributor, functionName: "currentEpoch" }), epoch + 1n);
      const [, voidedBudget] = await client.readContract({ ...distributor, functionName: "poolEpoch", args: [epoch + 1n, 1] });
      assert.equal(voidedBudget, 0n);

      // The voided window's points are computed again, for the epoch after.
      const redone = (await runJob(stack.app, "rewards", { trigger: "manual" }))!;
      assert.equal(redone.summary!.epoch, (epoch + 2n).toString());
      assert.equal(redone.summary!.from, again.summary!.from);
      assert.equal(redone.summary!.sent, 1);
      assert.equal(redone.summary!.status, "waiting");
    });

    it("reconcile: a mirror that drifted more than ALERT_DRIFT_TOKENS raises reconcile_drift for the pass; a small drift does not", async () => {
      stack = await startStack(backend);
      const user = await signIn(stack.api, USERS.carol);
      const paid = expectReply(
        await stack.api.inject({ method: "POST", url: "/api/v1/subscriptions/create", headers: auth(user.token), payload: { planId: 1, payment: "fiat", paymentRef: `pi_jobs_${backend}` } }),
        201,
      );
      const passId = String(paid.payment.passId);
      const mirror = async () => BigInt(String((await stack.app.db.query("select bucket_remaining from accounts where id = $1", [user.accountId])).rows[0]!.bucket_remaining));
      const truth = await mirror();
      const setMirror = (value: bigint) => stack.app.db.query("update accounts set bucket_remaining = $2 where id = $1", [user.accountId, value]);

      await setMirror(truth - stack.app.config.monitoring.driftAlertTokens - 1n);
      const run = (await runJob(stack.app, "reconcile", { trigger: "manual" }))!;
      assert.equal(run.outcome, "ok", run.error ?? "");
      assert.equal((run.summary!.drift as unknown[]).length, 1);
      assert.equal(await mirror(), truth, "corrected toward the chain");
      const [alert, ...none] = await listAlerts(stack.app.db, { open: true, limit: 10, offset: 0 });
      assert.equal(none.length, 0);
      assert.equal(alert!.key, `reconcile_drift:${passId}`);
      assert.equal(alert!.kind, "reconcile_drift");
      assert.equal(alert!.details.drift, (stack.app.config.monitoring.driftAlertTokens + 1n).toString());

      await setMirror(truth - 1n);
      const small = (await runJob(stack.app, "reconcile", { trigger: "manual" }))!;
      assert.equal((small.summary!.drift as unknown[]).length, 1);
      assert.equal((await listAlerts(stack.app.db, { open: true, limit: 10, offset: 0 }))[0]!.count, 1, "not raised again");
    });

    it("admin routes: 401 / 403, list with runs, run now, 404 unknown job", async () => {
      stack = await startStack(backend);
      const api = await jobsApi(stack);
      try {
        assert.equal((await api.inject({ method: "GET", url: "/api/v1/admin/jobs" })).statusCode, 401);
        const member = await signIn(api, USERS.bob);
        expectReply(await api.inject({ method: "POST", url: "/api/v1/admin/jobs/settle/run", headers: auth(member.token) }), 403);
        const admin = await signIn(api, USERS.admin);
        await stack.app.db.query("update accounts set role = 'admin' where id = $1", [admin.accountId]);
        const headers = auth(admin.token);

        expectReply(await api.inject({ method: "POST", url: "/api/v1/admin/jobs/nightly/run", headers }), 404, "UNKNOWN_JOB");
        const run = expectReply(await api.inject({ method: "POST", url: "/api/v1/admin/jobs/reconcile/run", headers }), 200);
        assert.equal(run.job, "reconcile");
        assert.equal(run.trigger, "manual");
        assert.equal(run.outcome, "ok");
        await api.inject({ method: "POST", url: "/api/v1/admin/jobs/reconcile/run", headers });

        const list = expectReply(await api.inject({ method: "GET", url: "/api/v1/admin/jobs?limit=1", headers }), 200);
        assert.equal(list.scheduler, backend === "servers" ? "bullmq" : "embedded");
        assert.deepEqual(list.jobs.map((j: { name: string }) => j.name).sort(), ["monitor", "reconcile", "rewards", "settle"]);
        const reconcile = list.jobs.find((j: { name: string }) => j.name === "reconcile");
        assert.equal(reconcile.schedule, "every 300000 ms");
        assert.equal(reconcile.runs.length, 1);
        assert.ok(reconcile.nextCursor);
        const older = expectReply(await api.inject({ method: "GET", url: `/api/v1/admin/jobs/reconcile/runs?limit=5&cursor=${reconcile.nextCursor}`, headers }), 200);
        assert.deepEqual(older.runs.map((r: { id: string }) => r.id), [run.id]);
        assert.equal(older.nextCursor, null);
        expectReply(await api.inject({ method: "GET", url: "/api/v1/admin/jobs?limit=0", headers }), 400, "INVALID_LIMIT");
        expectReply(await api.inject({ method: "GET", url: "/api/v1/admin/jobs/nightly/runs", headers }), 404, "UNKNOWN_JOB");
      } finally {
        await api.close();
      }
    });
  });
}

describe("jobs across processes (servers)", () => {
  let stack: Stack;
  afterEach(async () => stack?.close());

  it("POST run answers 409 JOB_RUNNING while another process runs the job", async () => {
    stack = await startStack("servers");
    const api = await jobsApi(stack);
    // Another process (here: a plain connection) holding the job's run lock.
    const other = new pg.Client((stack.app.config.database as { url: string }).url);
    await other.connect();
    try {
      const admin = await signIn(api, USERS.admin);
      await stack.app.db.query("update accounts set role = 'admin' where id = $1", [admin.accountId]);
      await other.query("select pg_advisory_lock(7262618, hashtext('settle'))");
      expectReply(await api.inject({ method: "POST", url: "/api/v1/admin/jobs/settle/run", headers: auth(admin.token) }), 409, "JOB_RUNNING");
      assert.equal((await listRuns(stack.app.db, "settle", { limit: 10 })).length, 0);
      await other.query("select pg_advisory_unlock(7262618, hashtext('settle'))");
      expectReply(await api.inject({ method: "POST", url: "/api/v1/admin/jobs/settle/run", headers: auth(admin.token) }), 200);
    } finally {
      await other.end();
      await api.close();
    }
  });
});
