// The cxpt command outside `npm start`, as the probe ran it: on a fresh clone it says what to do in
// one line; while npm start runs, status shows the running stack through its API; after it stops,
// the command resolves the same stack npm start ran (stage, phase, local chain, development keys).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { startLocalStack, type LocalStack } from "../../../src/devstack/stack.ts";

const CLI = fileURLToPath(new URL("../../../scripts/cxpt.ts", import.meta.url));

/** Settings of this machine that would switch the stack to real servers: the command runs without them. */
const INHERITED_SETTINGS = /^(RPC_URL|CHAIN_.*|DATABASE_URL|REDIS_.*|ADDRESS_.*|.*_PRIVATE_KEY|SAFE_OWNER_KEYS|PORT|HOST|PUBLIC_URL|CXPT_DATA_DIR|JOBS)$/;
const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !INHERITED_SETTINGS.test(name)));

function cxpt(args: readonly string[], dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...base, CXPT_DATA_DIR: dataDir, LOG_LEVEL: "warn" }, timeout: 240_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr });
    });
  });
}

/** One line on stderr, no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, stderr);
  assert.doesNotMatch(stderr, /^\s+at /m);
  return lines[0]!;
}

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), "cxpt-operator-"));
  dirs.push(dir);
  return dir;
};

describe("cxpt command outside npm start", () => {
  let stack: LocalStack | undefined;
  after(async () => stack?.close());

  it("on a fresh data folder says in one line to run npm start, and exits 1", async () => {
    const dir = await tempDir();
    for (const command of ["status", "settle"]) {
      const { code, stderr } = await cxpt([command], dir);
      assert.equal(code, 1, stderr);
      assert.match(oneLine(stderr), /^cxpt: no stack in .+: run npm start once/);
    }
  });

  it("shows the running stack while npm start runs, refuses jobs in one line, and after it stops resolves the same stack", { timeout: 600_000 }, async () => {
    const dir = await tempDir();
    stack = await startLocalStack({ dataDir: dir, env: { PORT: "0", CHAIN_PORT: "0", LOG_LEVEL: "silent", JOBS: "off" } });

    const running = await cxpt(["status"], dir);
    assert.equal(running.code, 0, running.stderr);
    assert.match(running.stdout, new RegExp(`^stack\\s+npm start \\(process ${process.pid}\\) at ${stack.urls.api}: ok$`, "m"));
    assert.match(running.stdout, /^stage\s+testnet, phase 3$/m);
    assert.match(running.stdout, /^chain\s+31337: head \d+/m);
    const busy = await cxpt(["settle"], dir);
    assert.equal(busy.code, 1);
    assert.match(oneLine(busy.stderr), /holds .+: run settle from the admin dashboard .+, or stop npm start first/);

    await stack.close();
    stack = undefined;
    const stopped = await cxpt(["status"], dir);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /^stage\s+testnet, phase 3$/m);
    assert.match(stopped.stdout, /^chain\s+31337: head \d+/m);
    // PAYG in CXPT is on (phase 3) and the settler is the development key: nothing to settle, no key missing.
    const settle = await cxpt(["settle"], dir);
    assert.equal(settle.code, 0, settle.stderr + settle.stdout);
    assert.match(settle.stdout, /^settle: (ok|skipped) \(run \d+\)/m);
    assert.doesNotMatch(settle.stdout, /PAYG in CXPT is off/);
    assert.doesNotMatch(settle.stdout + settle.stderr, /SETTLER_PRIVATE_KEY/);
  });
});
