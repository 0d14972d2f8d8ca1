// The scheduler: in-process timers without Redis; BullMQ with Redis, where two API instances on
// the same PostgreSQL and Redis each run a scheduler and every scheduled run happens exactly once.
// Intervals are short so runs come quickly, but nothing is timed: the tests wait for conditions.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { custom, maxUint256 } from "viem";
import { createApp, type App } from "../../../src/app/create.ts";
import { cxptAbi } from "../../../src/chain/abis.ts";
import { startScheduler, type Scheduler } from "../../../src/jobs/scheduler.ts";
import { createLogger } from "../../../src/monitoring/log.ts";
import { approveVault, connection, fundCxpt, paygUsage, signIn, startStack, USERS, viem, type Stack } from "../api/harness.ts";

const CXPT = 10n ** 18n;

type RunRow = { id: string; trigger: string; scheduled_for: Date; outcome: string | null; summary: Record<string, unknown> | null; error: string | null };

const finishedRuns = async (app: App, job: string): Promise<RunRow[]> =>
  (
    await app.db.query<RunRow>(
      "select id::text, trigger, scheduled_for, outcome, summary, error from job_runs where job = $1 and finished_at is not null order by scheduled_for",
      [job],
    )
  ).rows;

/** Polls `check` until it holds (bounded); the scheduler's pace is not asserted, only what it did. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const jobRunsCounted = async (app: App, job: string): Promise<number> =>
  ((await app.monitor.metrics.jobRuns.get()).values.filter((v) => v.labels.job === job).reduce((sum, v) => sum + v.value, 0));

describe("scheduler (embedded)", () => {
  let stack: Stack;
  let scheduler: Scheduler | undefined;
  afterEach(async () => {
    await scheduler?.stop();
    scheduler = undefined;
    await stack?.close();
  });

  it("runs a job on its interval in-process, one slot per run, each recorded", async () => {
    stack = await startStack("embedded", { RECONCILE_EVERY_MS: "1000", MONITOR_EVERY_MS: "3600000" });
    scheduler = await startScheduler(stack.app);
    assert.equal(scheduler.mode, "embedded");
    await until("three scheduled reconcile runs", async () => (await finishedRuns(stack.app, "reconcile")).length >= 3);
    await scheduler.stop();
    const runs = await finishedRuns(stack.app, "reconcile");
    for (const run of runs) {
      assert.equal(run.trigger, "schedule");
      assert.equal(run.outcome, "ok", run.error ?? "");
      assert.equal(new Date(run.scheduled_for).getTime() % 1000, 0, "slots are whole multiples of the interval");
    }
    assert.equal(new Set(runs.map((r) => new Date(r.scheduled_for).getTime())).size, runs.length);
    assert.equal(await jobRunsCounted(stack.app, "reconcile"), runs.length);
  });

  it("JOBS=off: no scheduler", async () => {
    stack = await startStack("embedded", { JOBS: "off", RECONCILE_EVERY_MS: "1000" });
    scheduler = await startScheduler(stack.app);
    assert.equal(scheduler.mode, "off");
  });
});

describe("scheduler (BullMQ, two API instances)", () => {
  let stack: Stack;
  const apps: App[] = [];
  const schedulers: Scheduler[] = [];
  afterEach(async () => {
    for (const s of schedulers.splice(0)) await s.stop();
    for (const a of apps.splice(0)) await a.close();
    await stack?.close();
  });

  it("each scheduled run happens exactly once: one record per slot, no second delivery, usage settled once", async () => {
    // Settlement every second; the other jobs out of the way.
    stack = await startStack("servers", { SETTLE_CRON: "* * * * * *", RECONCILE_EVERY_MS: "3600000", MONITOR_EVERY_MS: "3600000", REWARDS_CRON: "0 0 1 1 *" });
    const alice = await signIn(stack.api, USERS.alice);
    await fundCxpt(stack.deployment, alice.wallet, 100n * CXPT);
    const client = await viem.getPublicClient();
    const { cxpt } = stack.deployment.contracts;
    await approveVault(stack.deployment, USERS.alice, maxUint256);
    await paygUsage(stack.app.db, alice.accountId, 3n * CXPT);
    const before = await client.readContract({ address: cxpt!, abi: cxptAbi, functionName: "balanceOf", args: [alice.wallet] });

    // Two API instances over the same database and Redis prefix, each logging what it does.
    const lines: string[] = [];
    for (let i = 0; i < 2; i++) {
      const log = createLogger({ level: "info", destination: { write: (line: string) => void lines.push(line) } });
      apps.push(
        await createApp(stack.app.config, {
          transport: custom(connection.provider),
          addresses: stack.deployment.contracts,
          deploymentBlock: BigInt(stack.deployment.deploymentBlock),
          log,
        }),
      );
    }
    for (const app of apps) schedulers.push(await startScheduler(app));
    assert.deepEqual(schedulers.map((s) => s.mode), ["bullmq", "bullmq"]);

    await until("the usage settled and two more scheduled runs", async () => {
      const runs = await finishedRuns(stack.app, "settle");
      const settledAt = runs.findIndex((r) => r.summary?.closed === "1");
      return settledAt >= 0 && runs.length - settledAt >= 3;
    });
    for (const s of schedulers.splice(0)) await s.stop();

    const runs = await finishedRuns(stack.app, "settle");
    assert.equal(new Set(runs.map((r) => new Date(r.scheduled_for).getTime())).size, runs.length, "one record per slot");
    for (const run of runs) {
      assert.equal(run.trigger, "schedule");
      assert.notEqual(run.outcome, "failed", run.error ?? "");
    }
    // Every delivery ran (each run counts itself in its instance's metrics), none was a second delivery.
    const counted = (await Promise.all(apps.map((a) => jobRunsCounted(a, "settle")))).reduce((a, b) => a + b, 0);
    assert.equal(counted, runs.length);
    const logged = lines.map((l) => JSON.parse(l) as { component?: string; job?: string; msg?: string });
    assert.equal(logged.filter((l) => l.component === "jobs" && l.job === "settle" && l.msg?.startsWith("job settle")).length, runs.length, "one log line per run");
    assert.equal(logged.filter((l) => l.msg?.includes("already recorded")).length, 0);
    // The side effect happened once: one batch, Alice charged her usage once.
    const { rows } = await stack.app.db.query<{ n: unknown }>("select count(*) as n from settlement_batches");
    assert.equal(Number(rows[0]!.n), 1);
    const after = await client.readContract({ address: cxpt!, abi: cxptAbi, functionName: "balanceOf", args: [alice.wallet] });
    assert.equal(before - after, 3n * CXPT);
  });
});
