// The jobs as Lambda functions: each handler, invoked with the scheduled-event payload EventBridge
// sends, runs the same job code against the local stack (the suite on the in-process chain,
// PostgreSQL and Redis) and returns the run record; a second delivery of the same slot runs
// nothing; a console invocation is a manual run; the entry module refuses a configuration a
// Lambda cannot run with.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import type { ScheduledEvent } from "aws-lambda";
import { ConfigError } from "../../../src/config/config.ts";
import { listRuns } from "../../../src/jobs/runs.ts";
import { createHandlers, scheduledSlot, type HandlerName } from "../../../src/lambda/handlers.ts";
import { lambdaConfig } from "../../../src/lambda/index.ts";
import { awsCron, lambdaSchedules } from "../../../src/lambda/schedules.ts";
import { loadConfig } from "../../../src/config/config.ts";
import { BACKENDS, startStack, type Stack } from "../api/harness.ts";

/** The payload of an EventBridge schedule (the classic rule's, which sst.config.ts reproduces). */
const scheduledEvent = (time: string): ScheduledEvent => ({
  version: "0",
  id: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
  "detail-type": "Scheduled Event",
  source: "aws.scheduler",
  account: "123456789012",
  time,
  region: "eu-central-1",
  resources: ["arn:aws:scheduler:eu-central-1:123456789012:schedule/default/cxpt-settle"],
  detail: {},
});

const HANDLERS: readonly HandlerName[] = ["settle", "rewards", "reconcile", "monitor", "index"];

for (const backend of BACKENDS) {
  describe(`Lambda handlers (${backend})`, () => {
    let stack: Stack;
    afterEach(async () => stack?.close());

    it("each handler runs its job for the event's slot and returns the run record", async () => {
      stack = await startStack(backend);
      let opened = 0;
      const handlers = createHandlers(async () => (opened++, stack.app));
      const slot = "2026-12-07T02:00:00Z";
      for (const name of HANDLERS) {
        const run = await handlers[name](scheduledEvent(slot));
        assert.ok(run, name);
        assert.equal(run.job, name);
        assert.equal(run.trigger, "schedule");
        assert.equal(run.scheduledFor, new Date(slot).toISOString());
        assert.ok(run.outcome === "ok" || run.outcome === "skipped", `${name}: ${run.outcome} ${run.error ?? ""}`);
        assert.ok(run.finishedAt);
        if (name !== "index") assert.deepEqual((await listRuns(stack.app.db, name, { limit: 1 }))[0], run);
      }
      // The stack is built once and reused by every warm invocation.
      assert.equal(opened, 1);
      const indexed = await handlers.index({});
      assert.equal(indexed!.outcome, "ok", indexed!.error ?? "");
      assert.equal(indexed!.summary!.chainId, 31337);
    });

    it("a second delivery of a slot runs nothing; a console invocation is a manual run", async () => {
      stack = await startStack(backend);
      const handlers = createHandlers(async () => stack.app);
      const first = await handlers.monitor(scheduledEvent("2026-12-07T03:01:00Z"));
      assert.equal(first!.outcome, "ok");
      assert.equal(await handlers.monitor(scheduledEvent("2026-12-07T03:01:00Z")), null);
      const manual = await handlers.monitor({});
      assert.equal(manual!.trigger, "manual");
      assert.equal(manual!.scheduledFor, null);
      assert.equal((await listRuns(stack.app.db, "monitor", { limit: 10 })).length, 2);
    });

    it("a feature off at the stage is a skipped run; a failed run is returned as failed, not thrown", async () => {
      stack = await startStack(backend, { CHAIN_PHASE: "0" });
      const handlers = createHandlers(async () => stack.app);
      const settle = await handlers.settle(scheduledEvent("2026-12-07T02:00:00Z"));
      assert.equal(settle!.outcome, "skipped"); // PAYG is off at phase 0
      // The chain connection gone while the stage says it is on: neither settlement nor indexing can run.
      stack.app.stage.phase = 3;
      stack.app.chain = undefined;
      const failed = await handlers.settle(scheduledEvent("2026-12-08T02:00:00Z"));
      assert.equal(failed!.outcome, "failed");
      assert.match(failed!.error!, /chain/i);
      const index = await handlers.index(scheduledEvent("2026-12-08T02:00:00Z"));
      assert.equal(index!.outcome, "failed");
      assert.match(index!.error!, /chain/i);
    });
  });
}

describe("Lambda entry", () => {
  it("reads the slot only from a scheduled event", () => {
    assert.equal(scheduledSlot(scheduledEvent("2026-12-07T00:00:00Z"))!.toISOString(), "2026-12-07T00:00:00.000Z");
    assert.equal(scheduledSlot({ time: "2026-12-07T00:00:00Z" }), undefined);
    assert.equal(scheduledSlot(scheduledEvent("<aws.scheduler.scheduled-time>")), undefined);
    assert.equal(scheduledSlot(null), undefined);
  });

  it("refuses the embedded database, with one line naming the setting", () => {
    assert.throws(() => lambdaConfig({}), (error: Error) => error instanceof ConfigError && /DATABASE_URL/.test(error.message) && !error.message.includes("\n"));
    assert.throws(() => lambdaConfig({ DATABASE_URL: "memory" }), ConfigError);
    const config = lambdaConfig({ DATABASE_URL: "postgres://postgres@127.0.0.1:5432/cxpt" });
    assert.deepEqual(config.database, loadConfig({ DATABASE_URL: "postgres://postgres@127.0.0.1:5432/cxpt" }).database);
  });

  it("a build that failed is retried by the next invocation", async () => {
    let attempts = 0;
    const handlers = createHandlers(async () => {
      attempts++;
      throw new ConfigError("RPC_URL is missing");
    });
    await assert.rejects(handlers.monitor({}), /RPC_URL/);
    await assert.rejects(handlers.index({}), /RPC_URL/);
    assert.equal(attempts, 2);
  });
});

describe("Lambda schedules", () => {
  it("are the README's schedules in EventBridge's syntax", () => {
    assert.deepEqual(lambdaSchedules({}), {
      settle: "cron(0 2 * * ? *)",
      rewards: "cron(0 0 * * ? *)",
      reconcile: "rate(5 minutes)",
      monitor: "rate(1 minute)",
      index: "rate(1 minute)",
    });
    assert.equal(lambdaSchedules({ SETTLE_CRON: "30 3 * * 1-5" }).settle, "cron(30 3 ? * 2-6 *)");
    assert.equal(awsCron("0 4 1 * *"), "cron(0 4 1 * ? *)");
    assert.equal(awsCron("0 4 * * 0,6"), "cron(0 4 ? * 1,7 *)");
  });

  it("refuses what EventBridge cannot express, naming the setting", () => {
    assert.throws(() => lambdaSchedules({ RECONCILE_EVERY_MS: "90000" }), /RECONCILE_EVERY_MS must be a whole number of minutes/);
    assert.throws(() => lambdaSchedules({ SETTLE_CRON: "0 0 2 * * *" }), /SETTLE_CRON must have five fields/);
    assert.throws(() => awsCron("0 0 1 * 1"), /cannot combine/);
  });
});
