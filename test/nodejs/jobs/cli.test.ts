// The cxpt command as people run it: a child process against a scratch PostgreSQL database with
// the chain off. It prints a summary and exits 0; a job it runs is recorded; usage errors exit 2.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { scratchDatabase, type ScratchDatabase } from "../../../src/devstack/scratch.ts";
import { TEST_DATABASE_URL } from "../api/harness.ts";

const CLI = fileURLToPath(new URL("../../../scripts/cxpt.ts", import.meta.url));

function cxpt(args: readonly string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr });
    });
  });
}

describe("cxpt command", () => {
  let database: ScratchDatabase;
  let env: Record<string, string>;
  before(async () => {
    database = await scratchDatabase(TEST_DATABASE_URL, "cxpt_cli");
    env = { DATABASE_URL: database.url, CHAIN_STAGE: "off", REDIS_URL: "", LOG_LEVEL: "warn" };
  });
  after(async () => database?.drop());

  it("status prints the stage, each job's last run, alerts and batches, and exits 0", async () => {
    const { code, stdout, stderr } = await cxpt(["status"], env);
    assert.equal(code, 0, stderr);
    // CHAIN_PHASE unset: npm start's default (3), as npm start itself would report this stack.
    assert.match(stdout, /^stage\s+off, phase 3$/m);
    assert.match(stdout, /^chain\s+off$/m);
    for (const job of ["settle", "rewards", "reconcile", "monitor"]) assert.match(stdout, new RegExp(`^job ${job}\\s+never ran$`, "m"));
    assert.match(stdout, /^open alerts\s+0$/m);
    assert.match(stdout, /unfinished settlement batches\s+none/);
  });

  it("runs a job: a skipped settlement prints its reason, exits 0 and shows up in status", async () => {
    const run = await cxpt(["settle"], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^settle: skipped \(run \d+\)/m);
    assert.match(run.stdout, /"reason": "PAYG in CXPT is off/);
    const status = await cxpt(["status", "--json"], env);
    assert.equal(status.code, 0, status.stderr);
    const parsed = JSON.parse(status.stdout) as { jobs: { job: string; lastRun: { outcome: string; trigger: string } | null }[] };
    const last = parsed.jobs.find((j) => j.job === "settle")!.lastRun!;
    assert.equal(last.outcome, "skipped");
    assert.equal(last.trigger, "manual");
  });

  it("index with the chain off fails with a message and exit code 1", async () => {
    const { code, stderr } = await cxpt(["index"], env);
    assert.equal(code, 1);
    assert.match(stderr, /the chain is off/);
  });

  it("a bad command or option exits 2 with the usage", async () => {
    for (const args of [["frobnicate"], [], ["status", "--bogus"], ["status", "extra"]]) {
      const { code, stderr } = await cxpt(args, env);
      assert.equal(code, 2, args.join(" "));
      assert.match(stderr, /^cxpt: .+\n\nusage: npm run cxpt -- <command>/, args.join(" "));
    }
  });
});
