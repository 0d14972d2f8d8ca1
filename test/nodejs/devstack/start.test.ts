// `npm start` as people run it: `node scripts/start.ts` in a child process, driven over HTTP and
// JSON-RPC only, stopped with signals and started again on the same data folder.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import { createPublicClient, getAddress, http, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { REPO_ROOT } from "../../../deploy/index.ts";
import { cxptAbi } from "../../../src/chain/abis.ts";
import type { SuiteDeployment } from "../../../src/chain/types.ts";
import { startDevChain } from "../../../src/devchain/devchain.ts";
import { DEV_KEYS, devKey } from "../../../src/devstack/keys.ts";
import { DEMO_GRANT } from "../../../src/devstack/seed.ts";

const TIMEOUT = 300_000;

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "cxpt-start-"));
  dirs.push(dir);
  return dir;
}
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Settings of this machine that would switch the stack to real servers: the child starts without them. */
const INHERITED_SETTINGS = /^(RPC_URL|CHAIN_.*|DATABASE_URL|REDIS_.*|ADDRESS_.*|.*_PRIVATE_KEY|SAFE_OWNER_KEYS|PORT|HOST|PUBLIC_URL|CXPT_DATA_DIR)$/;

interface Run {
  readonly lines: string[];
  readonly stderr: string[];
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  /** Resolves on the ready line; rejects with the output if the process exits first. */
  readonly ready: Promise<void>;
  /** Resolves on the first output line that matches (already printed or to come). */
  line(pattern: RegExp): Promise<string>;
  signal(name: NodeJS.Signals): void;
  kill(): void;
}

/** `node scripts/start.ts` with `env` over a clean environment. */
function start(env: Record<string, string>): Run {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !INHERITED_SETTINGS.test(name)));
  const child = spawn(process.execPath, ["scripts/start.ts"], { cwd: REPO_ROOT, env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const stderr: string[] = [];
  const exited = once(child, "close").then(([code]) => code as number | null);
  const waiting: { pattern: RegExp; resolve(line: string): void }[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    for (const w of waiting.filter((w) => w.pattern.test(line))) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve(line);
    }
  });
  createInterface({ input: child.stderr }).on("line", (line) => stderr.push(line));
  const line = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return resolve(seen);
      waiting.push({ pattern, resolve });
      void exited.then((code) => reject(new Error(`npm start exited (${code}) before printing ${pattern}:\n${lines.join("\n")}\n${stderr.join("\n")}`)));
    });
  const ready = line(/^ready: /).then(() => undefined);
  ready.catch(() => {}); // a run that is meant to fail is awaited through `exited`
  return {
    lines,
    stderr,
    exited,
    ready,
    line,
    signal: (name) => void child.kill(name),
    kill: () => void child.kill("SIGKILL"),
  };
}

/** Sends `signal` and waits for the exit code. */
async function stop(run: Run, signal: NodeJS.Signals = "SIGINT"): Promise<number | null> {
  run.signal(signal);
  return run.exited;
}

/** The value printed after `label` in the table (rows are "  <label>  <value>"). */
function printed(run: Run, label: string): string {
  const row = new RegExp(`^  ${label} {2,}(.*)$`);
  const value = run.lines.map((line) => row.exec(line)?.[1]).find((v) => v !== undefined);
  assert.ok(value !== undefined, `no "${label}" row in:\n${run.lines.join("\n")}`);
  return value;
}

async function json<T>(url: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(url, { ...init, headers: { "content-type": "application/json", ...init.headers } });
  return { status: response.status, body: (await response.json()) as T };
}

interface AccountBody {
  id: string;
  wallet: Address | null;
  role: string;
}

/** Sign-In with Ethereum over HTTP, the message built from the nonce the API answers. */
async function signIn(api: string, privateKey: Hex): Promise<{ token: string; created: boolean; account: AccountBody }> {
  const account = privateKeyToAccount(privateKey);
  const { body: nonce } = await json<{ nonce: string; domain: string; uri: string; chainId: number | null }>(`${api}/api/v1/auth/nonce`, { method: "POST", body: "{}" });
  const message = createSiweMessage({ address: account.address, chainId: nonce.chainId ?? 1, domain: nonce.domain, nonce: nonce.nonce, uri: nonce.uri, version: "1" });
  const signature = await account.signMessage({ message });
  const { status, body } = await json<{ token: string; created: boolean; account: AccountBody }>(`${api}/api/v1/auth/siwe`, {
    method: "POST",
    body: JSON.stringify({ message, signature }),
  });
  assert.equal(status, 200, JSON.stringify(body));
  return body;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

interface Observed {
  accountId: string;
  apiKey: string;
  deployment: SuiteDeployment;
  block: bigint;
  balance: bigint;
}

/** Everything the test checks on a running stack, over HTTP and JSON-RPC. */
async function observe(run: Run, dataDir: string, api: string, rpc: string): Promise<Observed> {
  const docs = await json<{ openapi: string; paths: Record<string, unknown> }>(`${api}/api/docs/json`);
  assert.equal(docs.status, 200);
  assert.equal(docs.body.openapi, "3.0.3");
  assert.ok("/api/v1/auth/siwe" in docs.body.paths);
  const health = await json<{ status: string; chain: { chainId: number } | null; database: string; meter: string }>(`${api}/api/health`);
  assert.equal(health.status, 200);
  assert.deepEqual([health.body.status, health.body.chain?.chainId, health.body.database, health.body.meter], ["ok", 31337, "ok", "ok"]);

  const user = privateKeyToAccount(devKey(DEV_KEYS.demoUser));
  const session = await signIn(api, devKey(DEV_KEYS.demoUser));
  assert.equal(session.created, false, "the demo user exists before anyone signs in");
  const me = await json<AccountBody>(`${api}/api/v1/accounts/me`, { headers: bearer(session.token) });
  assert.equal(me.status, 200);
  assert.equal(me.body.wallet, user.address);
  assert.equal(me.body.id, session.account.id);

  // The printed API key is the demo user's, kept in the data folder.
  const apiKey = printed(run, "user API key");
  assert.match(apiKey, /^cxk_/);
  assert.deepEqual(JSON.parse(await readFile(join(dataDir, "demo.json"), "utf8")), { userApiKey: apiKey });
  const keys = await json<{ keys: { prefix: string; revokedAt: string | null }[] }>(`${api}/api/v1/keys`, { headers: bearer(session.token) });
  assert.ok(keys.body.keys.some((k) => apiKey.startsWith(k.prefix) && k.revokedAt === null));
  assert.ok(run.lines.some((line) => line.includes(`Bearer ${apiKey}`) && line.includes("authorization")), "the sample curl uses the API key");
  // The sample request answers and is billed in CXPT: the demo user's wallet allows the Vault.
  const sample = run.lines.map((line) => /^ {4}-d '(.*)'$/.exec(line)?.[1]).find((body) => body !== undefined);
  assert.ok(sample !== undefined, "a sample request body is printed");
  const chat = await json<{ usage: { total_tokens: number }; cxpt: { billedIn: string; charged: boolean } }>(`${api}/api/v1/chat/completions`, {
    method: "POST",
    headers: bearer(apiKey),
    body: sample,
  });
  assert.equal(chat.status, 200, JSON.stringify(chat.body));
  assert.equal(chat.body.cxpt.billedIn, "cxpt");
  assert.equal(chat.body.cxpt.charged, true);

  const admin = await signIn(api, devKey(DEV_KEYS.demoAdmin));
  assert.equal(admin.account.role, "admin");

  // Two demo nodes serve the demo models in two tiers, registered to the demo provider and up.
  const nodeRows = run.lines.filter((line) => /^ {2}demo node {2,}/.test(line));
  assert.equal(nodeRows.length, 2, run.lines.join("\n"));
  const provider = await signIn(api, devKey(DEV_KEYS.demoProvider));
  const nodes = await json<{ nodes: { baseUrl: string; tier: string; status: string; models: string[] }[] }>(`${api}/api/v1/provider/nodes`, { headers: bearer(provider.token) });
  assert.equal(nodes.status, 200);
  assert.deepEqual(nodes.body.nodes.map((n) => [n.tier, n.status]).sort(), [["blue-surge", "up"], ["tide-pool", "up"]]);
  for (const node of nodes.body.nodes) assert.ok(nodeRows.some((line) => line.includes(node.baseUrl)), `${node.baseUrl} is printed`);
  const models = await json<{ data: unknown[] }>(`${nodes.body.nodes[0]!.baseUrl}/models`);
  assert.equal(models.status, 200);

  const deployment = JSON.parse(await readFile(join(dataDir, "deployment.json"), "utf8")) as SuiteDeployment;
  const cxpt = deployment.contracts.cxpt!;
  assert.ok(run.lines.some((line) => line.includes("CXPT") && line.includes(cxpt)), "the table lists the CXPT address");
  const client = createPublicClient({ transport: http(rpc) });
  assert.equal(await client.getChainId(), 31337);
  const balance = await client.readContract({ address: cxpt, abi: cxptAbi, functionName: "balanceOf", args: [user.address] });
  assert.equal(balance, DEMO_GRANT);
  assert.equal(await client.readContract({ address: cxpt, abi: cxptAbi, functionName: "allowance", args: [user.address, deployment.contracts.vault!] }), DEMO_GRANT);
  for (const index of [DEV_KEYS.demoAdmin, DEV_KEYS.demoProvider]) {
    const wallet = privateKeyToAccount(devKey(index)).address;
    assert.equal(await client.readContract({ address: cxpt, abi: cxptAbi, functionName: "balanceOf", args: [wallet] }), DEMO_GRANT);
  }
  return { accountId: session.account.id, apiKey, deployment, block: await client.getBlockNumber(), balance };
}

describe("npm start", () => {
  it("runs the whole stack, stops on SIGINT and comes back with the same state", { timeout: TIMEOUT }, async () => {
    const dataDir = await tempDir();
    const [port, chainPort] = [await freePort(), await freePort()];
    // The same head block after a restart: a chain that mines only for transactions (no idle blocks).
    const env = { CXPT_DATA_DIR: dataDir, PORT: String(port), CHAIN_PORT: String(chainPort), CHAIN_MINE_INTERVAL_MS: "0" };
    const api = `http://127.0.0.1:${port}`;
    const rpc = `http://127.0.0.1:${chainPort}`;

    const first = start(env);
    let firstSeen: Observed;
    try {
      await first.ready;
      assert.equal(printed(first, "API"), `${api}/api/v1`);
      assert.equal(printed(first, "docs"), `${api}/api/docs`);
      assert.match(printed(first, "chain"), new RegExp(`^${rpc} +chain id 31337, local devchain`));
      assert.equal(printed(first, "database"), `PGlite in ${join(dataDir, "pg")}`);
      assert.equal(printed(first, "metering"), `embedded store in ${dataDir}`);
      // npm start (and npm test) build the dashboards first.
      assert.equal(printed(first, "dashboards"), `${api}/user  ${api}/provider  ${api}/admin  (wallet: the development wallets below)`);
      const page = await fetch(`${api}/admin`, { headers: { accept: "text/html" } });
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<div id="root">/);
      const web = (await (await fetch(`${api}/api/v1/config`)).json()) as { chain: { rpcUrl: string }; devWallets: { name: string; address: Address }[] };
      assert.equal(web.chain.rpcUrl, "/rpc");
      assert.deepEqual(
        web.devWallets.slice(0, 3).map((w) => [w.name, w.address]),
        [DEV_KEYS.demoAdmin, DEV_KEYS.demoUser, DEV_KEYS.demoProvider].map((index, i) => [["Demo admin", "Demo user", "Demo provider"][i], privateKeyToAccount(devKey(index)).address]),
      );
      assert.equal(printed(first, "stage"), "testnet, phase 3");
      firstSeen = await observe(first, dataDir, api, rpc);
      assert.equal(await stop(first), 0, first.stderr.join("\n"));
    } finally {
      first.kill();
    }
    assert.ok(first.lines.includes("stopped"));
    assert.equal(existsSync(join(dataDir, "stack.pid")), false, "the data folder is unlocked");

    const second = start(env);
    try {
      await second.ready;
      assert.ok(second.lines.some((line) => line.includes("done: 0 transaction(s)")), "no redeployment");
      assert.match(printed(second, "chain"), /\(\d+ entries replayed\)/);
      const seen = await observe(second, dataDir, api, rpc);
      assert.equal(seen.accountId, firstSeen.accountId);
      assert.equal(seen.apiKey, firstSeen.apiKey);
      assert.deepEqual(seen.deployment.contracts, firstSeen.deployment.contracts);
      assert.equal(seen.block, firstSeen.block);
      assert.equal(seen.balance, firstSeen.balance);
      assert.equal(await stop(second), 0, second.stderr.join("\n"));
    } finally {
      second.kill();
    }
  });

  it("stops once up after a Ctrl-C during startup; a second Ctrl-C exits at once", { timeout: TIMEOUT }, async () => {
    const env = async (dataDir: string) => ({ CXPT_DATA_DIR: dataDir, PORT: String(await freePort()), CHAIN_PORT: String(await freePort()) });
    // Signalled while the suite is being deployed (a first start), with seconds of startup still to go.
    const deploying = /^deploy: deploying/;

    const once = start(await env(await tempDir()));
    try {
      await once.line(deploying);
      assert.equal(await stop(once), 0, once.stderr.join("\n"));
    } finally {
      once.kill();
    }
    assert.ok(once.lines.includes("stopped"));
    assert.ok(!once.lines.some((l) => l.startsWith("ready: ")), "no table once stopping");

    const dataDir = await tempDir();
    const twice = start(await env(dataDir));
    try {
      await twice.line(deploying);
      twice.signal("SIGINT");
      await twice.line(/^SIGINT: stopping/);
      twice.signal("SIGINT");
      assert.equal(await twice.exited, 130);
    } finally {
      twice.kill();
    }
    assert.deepEqual(twice.stderr, ["SIGINT again: exiting without a clean stop"]);

    // The data folder survives the forced exit: its lock is taken over, the chain replayed.
    const again = start(await env(dataDir));
    try {
      await again.ready;
      assert.equal(await stop(again), 0, again.stderr.join("\n"));
    } finally {
      again.kill();
    }
  });

  it("uses a local node named by RPC_URL: deploys there, seeds the demo, leaves the node running", { timeout: TIMEOUT }, async () => {
    const node = await startDevChain({ port: 0 });
    const dataDir = await tempDir();
    const port = await freePort();
    const run = start({ CXPT_DATA_DIR: dataDir, PORT: String(port), RPC_URL: node.url });
    try {
      await run.ready;
      assert.match(printed(run, "chain"), new RegExp(`^${node.url} +chain id 31337, RPC_URL`));
      const seen = await observe(run, dataDir, `http://127.0.0.1:${port}`, node.url);
      assert.equal(await stop(run, "SIGTERM"), 0, run.stderr.join("\n"));
      // The node is not the stack's: it still answers, at the same block.
      assert.equal(await createPublicClient({ transport: http(node.url) }).getBlockNumber(), seen.block);
    } finally {
      run.kill();
      await node.close();
    }
  });

  it("deploys nothing and creates no demo on a chain that is not local", { timeout: TIMEOUT }, async () => {
    const node = await startDevChain({ port: 0, chainId: 9990 });
    const dataDir = await tempDir();
    const run = start({ CXPT_DATA_DIR: dataDir, PORT: String(await freePort()), RPC_URL: node.url });
    try {
      assert.equal(await run.exited, 1);
    } finally {
      run.kill();
      await node.close();
    }
    assert.equal(run.stderr.length, 1, run.stderr.join("\n"));
    assert.match(run.stderr[0]!, /^npm start failed: no address for cxpt, .* on chain 9990: set ADDRESS_CXPT, /);
    assert.equal(existsSync(join(dataDir, "deployment.json")), false);
    assert.equal(existsSync(join(dataDir, "demo.json")), false);
  });

  it("runs without a chain when CHAIN_STAGE=off", { timeout: TIMEOUT }, async () => {
    const dataDir = await tempDir();
    const port = await freePort();
    const run = start({ CXPT_DATA_DIR: dataDir, PORT: String(port), CHAIN_STAGE: "off" });
    try {
      await run.ready;
      assert.match(printed(run, "chain"), /^none \(CHAIN_STAGE=off/);
      assert.match(printed(run, "demo"), /^none/);
      const { body } = await json<{ chainId: number | null }>(`http://127.0.0.1:${port}/api/v1/auth/nonce`, { method: "POST", body: "{}" });
      assert.equal(body.chainId, null);
      const session = await signIn(`http://127.0.0.1:${port}`, devKey(14));
      assert.equal(session.created, true);
      assert.equal(session.account.wallet, getAddress(privateKeyToAccount(devKey(14)).address));
      assert.equal(existsSync(join(dataDir, "chain")), false, "no devchain");
      assert.equal(await stop(run, "SIGTERM"), 0, run.stderr.join("\n"));
    } finally {
      run.kill();
    }
  });

  it("exits 1 with a one-line reason on a bad setting, a taken port or a busy data folder", { timeout: TIMEOUT }, async () => {
    const dataDir = await tempDir();
    const failure = async (env: Record<string, string>) => {
      const run = start({ CXPT_DATA_DIR: dataDir, ...env });
      try {
        assert.equal(await run.exited, 1, run.lines.join("\n"));
      } finally {
        run.kill();
      }
      assert.equal(run.stderr.length, 1, run.stderr.join("\n"));
      return run.stderr[0]!;
    };
    assert.equal(await failure({ CHAIN_STAGE: "bogus" }), 'npm start failed: CHAIN_STAGE must be one of off, testnet, mainnet, got "bogus"');
    assert.equal(await failure({ CHAIN_PHASE: "7" }), 'npm start failed: CHAIN_PHASE must be one of 0, 1, 2, 3, got "7"');
    assert.equal(await failure({ PORT: "http" }), 'npm start failed: PORT must be an integer ≥ 0, got "http"');
    assert.equal(await failure({ CHAIN_PORT: "99999" }), 'npm start failed: CHAIN_PORT must be a port number, got "99999"');
    assert.match(await failure({ OPERATOR_PRIVATE_KEY: "0x1234" }), /^npm start failed: OPERATOR_PRIVATE_KEY must be a 32-byte hex private key$/);

    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const takenPort = (taken.address() as AddressInfo).port;
    try {
      assert.equal(await failure({ PORT: String(takenPort) }), `npm start failed: the API: port ${takenPort} on 127.0.0.1 is in use (set PORT to another port)`);
      assert.equal(
        await failure({ PORT: String(await freePort()), CHAIN_PORT: String(takenPort) }),
        `npm start failed: the local chain: port ${takenPort} on 127.0.0.1 is in use (set CHAIN_PORT to another port)`,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }

    // A second stack on a running stack's data folder is refused before it touches anything.
    const port = await freePort();
    const running = start({ CXPT_DATA_DIR: dataDir, CHAIN_STAGE: "off", PORT: String(port) });
    try {
      await running.ready;
      const pid = (await readFile(join(dataDir, "stack.pid"), "utf8")).trim();
      assert.equal(
        await failure({ CHAIN_STAGE: "off", PORT: String(await freePort()) }),
        `npm start failed: the data folder ${dataDir} is in use by process ${pid} (another npm start?)`,
      );
      assert.equal(await stop(running), 0, running.stderr.join("\n"));
    } finally {
      running.kill();
    }
  });
});
