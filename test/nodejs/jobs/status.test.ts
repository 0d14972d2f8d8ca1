// What the cxpt command's `index` and `status` do, in-process over the real suite: the indexer
// caught up to the head with progress reported, and the status naming head, cursor and last runs.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { catchUpIndexer } from "../../../src/jobs/catch-up.ts";
import { runJob } from "../../../src/jobs/run.ts";
import { stackStatus } from "../../../src/jobs/status.ts";
import { BACKENDS, fundCxpt, startStack, viem, type Stack } from "../api/harness.ts";

for (const backend of BACKENDS) {
  describe(`cxpt index and status (${backend})`, () => {
    let stack: Stack;
    afterEach(async () => stack?.close());

    it("index catches up to the head with progress; status shows head, cursor, last runs and batches", async () => {
      // INDEXER_INTERVAL_MS: the app's own follower stays out of the way of this hand-run step.
      stack = await startStack(backend, { INDEXER_INTERVAL_MS: "3600000" });
      await fundCxpt(stack.deployment, "0x000000000000000000000000000000000000dEaD", 1n);
      const reports: [number, number, string][] = [];
      const summary = await catchUpIndexer(stack.app, (done, total, label) => reports.push([done, total, label]));
      const head = await (await viem.getPublicClient()).getBlockNumber();
      assert.equal(summary.to, head.toString());
      assert.equal(summary.head, head.toString());
      const last = reports.at(-1)!;
      assert.equal(last[0], last[1], "progress ends complete");
      assert.ok(reports.every(([done, total]) => done >= 0 && done <= total));

      await runJob(stack.app, "settle", { trigger: "manual" });
      const status = await stackStatus(stack.app);
      assert.equal(status.stage, "testnet");
      assert.equal(status.phase, 3);
      assert.deepEqual(status.chain, { chainId: 31337, head: head.toString(), indexedTo: head.toString(), lagBlocks: "0" });
      assert.equal(status.jobs.find((j) => j.job === "settle")!.lastRun!.outcome, "ok");
      assert.equal(status.jobs.find((j) => j.job === "rewards")!.lastRun, null);
      assert.deepEqual(status.unfinishedBatches, []);
      assert.equal(typeof status.openAlerts, "number");
    });
  });
}
