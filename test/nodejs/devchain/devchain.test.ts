import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, afterEach, describe, it } from "node:test";
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createTestClient,
  createWalletClient,
  encodeFunctionData,
  http,
  parseEther,
  type Account,
  type Address,
  type Hash,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { deploySuite, devConfig, REPO_ROOT } from "../../../deploy/index.ts";
import { cxptAbi } from "../../../src/chain/abis.ts";
import { startDevChain, type DevChain } from "../../../src/devchain/devchain.ts";

const MNEMONIC = "test test test test test test test test test test test junk";
const key = (i: number) => mnemonicToAccount(MNEMONIC, { addressIndex: i });
const DAY = 86_400n;

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "cxpt-devchain-"));
  dirs.push(dir);
  return dir;
}
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

/**
 * Every chain a test starts is closed after the test, passed or failed (close() is idempotent): a
 * chain left serving after a failed step would keep node:test, and `hardhat test`, from ever ending.
 */
const running = new Set<DevChain>();
afterEach(async () => {
  const chains = [...running];
  running.clear();
  await Promise.all(chains.map((chain) => chain.close()));
});
async function startTracked(options: Parameters<typeof startDevChain>[0]): Promise<DevChain> {
  const chain = await startDevChain(options);
  running.add(chain);
  return chain;
}

const start = (dataDir?: string, log?: (line: string) => void) => startTracked({ dataDir, port: 0, log });

/** viem clients over the chain's HTTP endpoint, as the backend and the dashboards use it. */
function clientsOf(chain: DevChain) {
  const transport = http(chain.url);
  const publicClient = createPublicClient({ chain: hardhat, transport, pollingInterval: 10 });
  const wallet = (account: Account | Address) => createWalletClient({ account, chain: hardhat, transport });
  const testClient = createTestClient({ mode: "hardhat", chain: hardhat, transport });
  return { publicClient, wallet, testClient };
}

const journalLines = async (dir: string) => (await readFile(join(dir, "journal.ndjson"), "utf8")).split("\n").filter(Boolean);

async function mined(chain: DevChain, hash: Hash) {
  return clientsOf(chain).publicClient.waitForTransactionReceipt({ hash });
}

/** Everything a restart must bring back, read over HTTP. */
async function chainState(chain: DevChain, cxpt: Address, holders: readonly Address[]) {
  const { publicClient } = clientsOf(chain);
  const block = await publicClient.getBlock();
  return {
    number: block.number,
    hash: block.hash,
    timestamp: block.timestamp,
    stateRoot: block.stateRoot,
    eth: await Promise.all(holders.map((address) => publicClient.getBalance({ address }))),
    nonces: await Promise.all(holders.map((address) => publicClient.getTransactionCount({ address }))),
    cxpt: await Promise.all(
      holders.map((address) => publicClient.readContract({ address: cxpt, abi: cxptAbi, functionName: "balanceOf", args: [address] })),
    ),
    code: await publicClient.getCode({ address: cxpt }),
  };
}

/** The revert error viem decoded from a failed contract call. */
function revertOf(error: unknown): ContractFunctionRevertedError {
  assert.ok(error instanceof BaseError, `not a viem error: ${String(error)}`);
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  assert.ok(reverted instanceof ContractFunctionRevertedError, `no decoded revert in: ${error.message}`);
  return reverted;
}

describe("devchain: persistence across restarts", () => {
  it("replays the journal to the same blocks, balances, code and storage, and keeps working after", async () => {
    const dataDir = await tempDir();
    let chain = await start(dataDir);
    const [deployer, , , , , , , , distribution, , , , alice, bob, carol] = chain.accounts;
    let { publicClient, wallet, testClient } = clientsOf(chain);

    // ETH through an unlocked account (eth_sendTransaction), the suite through a local key (raw transactions).
    await mined(chain, await wallet(deployer).sendTransaction({ to: alice, value: parseEther("1.5") }));
    const { deployment } = await deploySuite(
      { publicClient, wallet: wallet(key(0)) },
      { network: "devchain", config: devConfig(chain.accounts) },
    );
    const cxpt = deployment.contracts.cxpt;
    assert.ok(cxpt !== undefined);
    const transfer = (from: Account | Address, to: Address, amount: bigint) =>
      wallet(from).writeContract({ address: cxpt, abi: cxptAbi, functionName: "transfer", args: [to, amount] });
    const sent = await transfer(key(8), alice, parseEther("1000"));
    await mined(chain, sent);
    // A reverted transaction is mined too (status 0) and must come back the same.
    const data = encodeFunctionData({ abi: cxptAbi, functionName: "transfer", args: [alice, 1n] });
    const reverted = await mined(chain, await wallet(bob).sendTransaction({ to: cxpt, data, gas: 100_000n }));
    assert.equal(reverted.status, "reverted");
    // Time travel, several blocks at once, a balance set by hand, and a snapshot reverted.
    await testClient.increaseTime({ seconds: Number(DAY) });
    await testClient.mine({ blocks: 3 });
    await testClient.setBalance({ address: carol, value: 123n });
    const snapshot = await testClient.snapshot();
    await mined(chain, await transfer(key(12), bob, parseEther("1")));
    await testClient.revert({ id: snapshot });

    const holders = [deployer, distribution, alice, bob, carol];
    const before = await chainState(chain, cxpt, holders);
    assert.equal(before.cxpt[2], parseEther("1000"));
    assert.equal(before.eth[4], 123n);
    const entries = (await journalLines(dataDir)).length - 1;
    await chain.close();

    chain = await start(dataDir);
    ({ publicClient, wallet } = clientsOf(chain));
    assert.equal(chain.replayed, entries);
    assert.deepEqual(await chainState(chain, cxpt, holders), before);
    assert.equal((await publicClient.getTransactionReceipt({ hash: sent })).status, "success");
    assert.equal((await publicClient.getTransactionReceipt({ hash: reverted.transactionHash })).status, "reverted");

    // New transactions go on from there; the node clock keeps the day it was moved ahead.
    const wallClock = BigInt(Math.floor(Date.now() / 1000));
    const next = await mined(chain, await transfer(key(12), bob, parseEther("2")));
    const block = await publicClient.getBlock({ blockNumber: next.blockNumber });
    assert.equal(next.blockNumber, before.number + 1n);
    assert.ok(block.timestamp > before.timestamp);
    assert.ok(block.timestamp >= wallClock + DAY - 60n, `timestamp ${block.timestamp} lost the day ahead of ${wallClock}`);
    const afterTx = await chainState(chain, cxpt, holders);
    assert.equal(afterTx.cxpt[3], parseEther("2"));
    await chain.close();

    chain = await start(dataDir);
    assert.equal(chain.replayed, entries + 1);
    assert.deepEqual(await chainState(chain, cxpt, holders), afterTx);
    await chain.close();
  });

  it("drops a torn last line and goes on from the last complete entry", async () => {
    const dataDir = await tempDir();
    let chain = await start(dataDir);
    const [from, to] = chain.accounts;
    await mined(chain, await clientsOf(chain).wallet(from).sendTransaction({ to, value: 1n }));
    const latest = await clientsOf(chain).publicClient.getBlock();
    await chain.close();
    const complete = await readFile(join(dataDir, "journal.ndjson"), "utf8");
    await appendFile(join(dataDir, "journal.ndjson"), '{"method":"eth_sendRawTransaction","params":["0x02f8');

    const lines: string[] = [];
    chain = await start(dataDir, (line) => lines.push(line));
    assert.equal(chain.replayed, 1);
    assert.ok(lines.some((line) => line.includes("torn")), lines.join("\n"));
    assert.equal(await readFile(join(dataDir, "journal.ndjson"), "utf8"), complete);
    const { publicClient, wallet } = clientsOf(chain);
    assert.equal((await publicClient.getBlock()).hash, latest.hash);
    await mined(chain, await wallet(from).sendTransaction({ to, value: 2n }));
    await chain.close();

    chain = await start(dataDir);
    assert.equal(chain.replayed, 2);
    assert.equal(await clientsOf(chain).publicClient.getBlockNumber(), 2n);
    await chain.close();
  });

  it("keeps an acknowledged transaction when the process is killed", async () => {
    const dataDir = await tempDir();
    const child = spawn(process.execPath, ["scripts/devchain.ts", "--data", dataDir, "--port", "0"], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] });
    try {
      let url: string | undefined;
      for await (const line of createInterface({ input: child.stdout })) {
        url = /listening on (\S+)/.exec(line)?.[1];
        if (url !== undefined) break;
      }
      assert.ok(url !== undefined, "the devchain script printed no URL");
      const transport = http(url);
      const hash = await createWalletClient({ account: key(0), chain: hardhat, transport }).sendTransaction({ to: key(1).address, value: 7n });
      child.kill("SIGKILL");
      await once(child, "exit");

      const chain = await start(dataDir);
      const receipt = await clientsOf(chain).publicClient.getTransactionReceipt({ hash });
      assert.equal(receipt.status, "success");
      await chain.close();
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("refuses a journal it cannot reproduce", async () => {
    const dataDir = await tempDir();
    let chain = await start(dataDir);
    const [from, to] = chain.accounts;
    await mined(chain, await clientsOf(chain).wallet(from).sendTransaction({ to, value: 1n }));
    await chain.close();

    await assert.rejects(startTracked({ dataDir, port: 0, chainId: 1337 }), { code: "DEVCHAIN_CHAIN_MISMATCH" });
    const path = join(dataDir, "journal.ndjson");
    const [header, entry] = await journalLines(dataDir);
    await writeFile(path, `${header}\n${JSON.stringify({ ...JSON.parse(entry), head: `0x${"00".repeat(32)}` })}\n`);
    await assert.rejects(start(dataDir), { code: "DEVCHAIN_REPLAY_DIVERGED" });
    // A complete line that is not JSON is damage, not a torn write: refused, not skipped.
    await writeFile(path, `${header}\nnot json\n${entry}\n`);
    await assert.rejects(start(dataDir), { code: "DEVCHAIN_JOURNAL_CORRUPT" });
    // A failed start releases everything: the intact journal starts again.
    await writeFile(path, `${header}\n${entry}\n`);
    chain = await start(dataDir);
    assert.equal(chain.replayed, 1);
    await chain.close();
  });

  it("mines an empty block whenever the head gets older than mineEveryMs, journaled so a restart replays it", async () => {
    const dir = await tempDir();
    const chain = await startTracked({ dataDir: dir, port: 0, mineEveryMs: 1_000 });
    let head: bigint;
    try {
      const { publicClient } = clientsOf(chain);
      const first = await publicClient.getBlockNumber({ cacheTime: 0 });
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      head = await publicClient.getBlockNumber({ cacheTime: 0 });
      assert.ok(head >= first + 2n, `head ${head} after 3.5 s, from ${first}`);
      const latest = await publicClient.getBlock({ blockTag: "latest" });
      assert.ok(Date.now() / 1000 - Number(latest.timestamp) < 3, "the head is recent");
    } finally {
      await chain.close();
    }
    const again = await startTracked({ dataDir: dir, port: 0 });
    try {
      assert.ok((await clientsOf(again).publicClient.getBlockNumber({ cacheTime: 0 })) >= head);
    } finally {
      await again.close();
    }
  });

  it("keeps nothing without a data folder", async () => {
    let chain = await start();
    const [from, to] = chain.accounts;
    await mined(chain, await clientsOf(chain).wallet(from).sendTransaction({ to, value: parseEther("1") }));
    await chain.close();
    chain = await start();
    const { publicClient } = clientsOf(chain);
    assert.equal(chain.replayed, 0);
    assert.equal(await publicClient.getBlockNumber(), 0n);
    assert.equal(await publicClient.getBalance({ address: to }), parseEther("10000"));
    await chain.close();
  });
});

describe("devchain: JSON-RPC over HTTP", () => {
  it("serves the funded development accounts on chain 31337", async () => {
    const chain = await start();
    const { publicClient } = clientsOf(chain);
    assert.equal(chain.chainId, 31337);
    assert.equal(await publicClient.getChainId(), 31337);
    assert.equal(chain.accounts.length, 20);
    assert.equal(chain.accounts[0], key(0).address);
    assert.equal(await publicClient.getBalance({ address: chain.accounts[19] }), parseEther("10000"));
    await chain.close();
  });

  it("passes revert data through, so viem decodes custom errors", async () => {
    const chain = await start();
    const { publicClient, wallet } = clientsOf(chain);
    const { deployment } = await deploySuite(
      { publicClient, wallet: wallet(key(0)) },
      { network: "devchain", config: devConfig(chain.accounts), tags: ["cxpt"] },
    );
    const cxpt = deployment.contracts.cxpt;
    assert.ok(cxpt !== undefined);
    const [, , , , , , , , , , , poor, rich] = chain.accounts;
    const args = [rich, 5n] as const;

    // eth_call (simulation) and eth_estimateGas (a write) both carry the error back.
    const simulated = await publicClient
      .simulateContract({ account: poor, address: cxpt, abi: cxptAbi, functionName: "transfer", args })
      .then(() => assert.fail("expected a revert"), revertOf);
    const written = await wallet(key(11))
      .writeContract({ address: cxpt, abi: cxptAbi, functionName: "transfer", args })
      .then(() => assert.fail("expected a revert"), revertOf);
    for (const reverted of [simulated, written]) {
      assert.equal(reverted.data?.errorName, "ERC20InsufficientBalance");
      assert.deepEqual(reverted.data?.args, [poor, 0n, 5n]);
    }
    await chain.close();
  });

  it("answers batches in order, with errors in place, and batched viem requests", async () => {
    const chain = await start();
    const post = async (body: unknown) => {
      const response = await fetch(chain.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return response.json() as Promise<unknown>;
    };
    const responses = (await post([
      { jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] },
      { jsonrpc: "2.0", id: "two", method: "eth_blockNumber" },
      { jsonrpc: "2.0", id: 3, method: "eth_noSuchMethod", params: [] },
      { jsonrpc: "2.0", id: 4, method: "evm_setAutomine", params: [false] },
      { id: 5 },
    ])) as { id: unknown; result?: unknown; error?: { code: number } }[];
    assert.deepEqual(
      responses.map((r) => r.id),
      [1, "two", 3, 4, 5],
    );
    assert.equal(responses[0].result, "0x7a69");
    assert.equal(responses[1].result, "0x0");
    assert.equal(typeof responses[2].error?.code, "number");
    assert.equal(responses[3].error?.code, -32004, "a method the journal cannot replay is refused");
    assert.equal(responses[4].error?.code, -32600);
    assert.deepEqual(await post({ jsonrpc: "2.0", id: 9, method: "eth_blockNumber" }), { jsonrpc: "2.0", id: 9, result: "0x0" });

    const batched = createPublicClient({ chain: hardhat, transport: http(chain.url, { batch: true }) });
    const balances = await Promise.all(chain.accounts.slice(0, 5).map((address) => batched.getBalance({ address })));
    assert.deepEqual(balances, Array(5).fill(parseEther("10000")));
    await chain.close();
  });

  it("answers CORS preflights for the browser dashboards", async () => {
    const chain = await start();
    const response = await fetch(chain.url, {
      method: "OPTIONS",
      headers: { origin: "http://localhost:5173", "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    assert.match(response.headers.get("access-control-allow-methods") ?? "", /POST/);
    const post = await fetch(chain.url, { method: "POST", body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "net_version" }) });
    assert.equal(post.headers.get("access-control-allow-origin"), "*");
    await chain.close();
  });
});
