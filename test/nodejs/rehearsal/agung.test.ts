// A rehearsal of the real-network path: a second local node with agung's chain id (9990) where only
// a deployer holds gas, the suite deployed with `npm run deploy -- --network agung` reading every
// key and address from the environment (the 48 h timelock delay included), then the API started by
// `npm start`'s own code with CHAIN_STAGE=testnet, explicit ADDRESS_* and keys and no development
// default, on this machine's PostgreSQL and Redis. Through the API: the faucet, a deposit, a
// metered day billed PAYG, settlement, a rewards epoch and a gasless claim. Nothing may come from
// the development shortcuts: no development key anywhere, no demo account.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import hre from "hardhat";
import {
  createPublicClient,
  createWalletClient,
  http,
  maxUint256,
  parseEther,
  toHex,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { readDeployment, LIVE_TIMELOCK_DELAY } from "../../../deploy/index.ts";
import { billingAbi, cxptAbi, distributorAbi, vaultAbi } from "../../../src/chain/abis.ts";
import { DEMO_MODELS, startDemoNode, type DemoNode } from "../../../src/providers/demo-node.ts";
import { addressEnvName } from "../../../src/config/config.ts";
import { checkChain } from "../../../src/app/chain.ts";
import { closeAll } from "../../../src/app/close.ts";
import { chainAt } from "../../../src/chain/chains.ts";
import { startDevChain, type DevChain } from "../../../src/devchain/devchain.ts";
import { devKey } from "../../../src/devstack/keys.ts";
import { deleteRedisPrefix, scratchDatabase, scratchPrefix, type ScratchDatabase } from "../../../src/devstack/scratch.ts";
import { startLocalStack, type LocalStack } from "../../../src/devstack/stack.ts";
import type { SuiteDeployment } from "../../../src/chain/types.ts";

const AGUNG_CHAIN_ID = 9990;
const CXPT = 10n ** 18n;
const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const REPO = join(import.meta.dirname, "..", "..", "..");

/** Every key of the rehearsal: fresh, none of them a development key. */
const KEYS = {
  deployer: generatePrivateKey(),
  owners: [generatePrivateKey(), generatePrivateKey(), generatePrivateKey()],
  treasury: generatePrivateKey(),
  operator: generatePrivateKey(),
  billing: generatePrivateKey(),
  settler: generatePrivateKey(),
  rewards: generatePrivateKey(),
  relayer: generatePrivateKey(),
  faucet: generatePrivateKey(),
  admin: generatePrivateKey(),
  depositor: generatePrivateKey(),
  payer: generatePrivateKey(),
};
const addressOf = (key: Hex): Address => privateKeyToAccount(key).address;

/**
 * Under `hardhat test --coverage` the deploy builds what this run built: without the flag, its
 * `hardhat run` would rebuild artifacts/ uninstrumented in the middle of the run (the test files
 * after this one would then deploy code that reports no coverage). The flag changes nothing else:
 * the agung network is HTTP, and the node below is this process's chain, which coverage mode
 * already runs without the 24 KiB limit the instrumented contracts pass.
 */
const COVERAGE_ENV: Record<string, string> = hre.globalOptions.coverage ? { HARDHAT_COVERAGE: "true" } : {};

/** Runs `npm run deploy -- --network agung` with `env` only (PATH and HOME aside); resolves with its output. */
function deployAgung(env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("npm", ["run", "deploy", "--", "--network", "agung"], {
      cwd: REPO,
      env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? tmpdir(), ...COVERAGE_ENV, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => void (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => void (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(output) : reject(new Error(`npm run deploy exited ${code}:\n${output}`))));
  });
}

interface Reply {
  readonly status: number;
  readonly body: any;
}

describe("rehearsal: agung (chain 9990) deployed and run as live", { timeout: 600_000 }, () => {
  let chain: DevChain;
  let client: PublicClient;
  let deployment: SuiteDeployment;
  let deployOutput: string;
  let database: ScratchDatabase;
  let redisPrefix: string;
  let stack: LocalStack;
  let node: DemoNode | undefined;
  let workDir: string;

  const wallet = (key: Hex) => createWalletClient({ account: privateKeyToAccount(key), chain: chainAt(AGUNG_CHAIN_ID, chain.url), transport: http(chain.url) });
  const mined = async (hash: Hex) => {
    const receipt = await client.waitForTransactionReceipt({ hash });
    assert.equal(receipt.status, "success", hash);
    return receipt;
  };
  const sendGas = async (from: Hex, to: Address, value: bigint) => mined(await wallet(from).sendTransaction({ to, value }));

  async function call(method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const response = await fetch(`${stack.urls.api}/api/v1/${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: await response.json() };
  }
  const expect = (reply: Reply, status: number) => {
    assert.equal(reply.status, status, JSON.stringify(reply.body));
    return reply.body;
  };

  async function signIn(key: Hex): Promise<{ token: string; accountId: string; wallet: Address }> {
    const account = privateKeyToAccount(key);
    const nonce = expect(await call("POST", "auth/nonce"), 200);
    assert.equal(nonce.chainId, AGUNG_CHAIN_ID);
    const message = createSiweMessage({ address: account.address, chainId: nonce.chainId, domain: nonce.domain, nonce: nonce.nonce, uri: nonce.uri, version: "1" });
    const signed = expect(await call("POST", "auth/siwe", undefined, { message, signature: await account.signMessage({ message }) }), 200);
    return { token: signed.token, accountId: signed.account.id, wallet: account.address };
  }

  const cxptOf = (who: Address) => client.readContract({ address: deployment.contracts.cxpt!, abi: cxptAbi, functionName: "balanceOf", args: [who] });

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), "cxpt-agung-"));
    // The node: agung's chain id, and gas only for the deployer (as a live network's faucet would leave it).
    chain = await startDevChain({ chainId: AGUNG_CHAIN_ID, port: 0, accounts: [{ privateKey: KEYS.deployer, balance: parseEther("1000") }] });
    client = createPublicClient({ chain: chainAt(AGUNG_CHAIN_ID, chain.url), transport: http(chain.url) }) as PublicClient;

    deployOutput = await deployAgung({
      AGUNG_RPC_URL: chain.url,
      DEPLOYER_PRIVATE_KEY: KEYS.deployer,
      SAFE_OWNERS: KEYS.owners.map(addressOf).join(","),
      OPERATOR_ADDRESS: addressOf(KEYS.operator),
      BILLING_ADDRESS: addressOf(KEYS.billing),
      SETTLER_ADDRESS: addressOf(KEYS.settler),
      REWARDS_ADDRESS: addressOf(KEYS.rewards),
      DISTRIBUTION_ADDRESS: addressOf(KEYS.treasury),
      CXPT_USD: "0.10",
      CXPT_ADDRESSES_DIR: workDir,
      // The rehearsal settles within the test: no 24 h challenge window between commit and collection.
      CHALLENGE_WINDOW: "0",
      // The live review delay of a shares upload, shortened to an hour the rehearsal waits out on the chain.
      REWARDS_REVIEW_DELAY: "3600",
    });
    deployment = (await readDeployment("agung", workDir))!;
    assert.ok(deployment, deployOutput);

    // The operator funds the backend's keys with gas, and the faucet with CXPT and gas, from the
    // deployer and the treasury (which received the genesis supply).
    for (const key of [KEYS.operator, KEYS.billing, KEYS.settler, KEYS.rewards, KEYS.relayer, KEYS.faucet, KEYS.treasury]) {
      await sendGas(KEYS.deployer, addressOf(key), parseEther("10"));
    }
    await mined(await wallet(KEYS.treasury).writeContract({ address: deployment.contracts.cxpt!, abi: cxptAbi, functionName: "transfer", args: [addressOf(KEYS.faucet), 100_000n * CXPT] }));

    database = await scratchDatabase(TEST_DATABASE_URL, "cxpt_agung");
    redisPrefix = scratchPrefix("cxpt:agung");
    const env: Record<string, string> = {
      CHAIN_STAGE: "testnet",
      CHAIN_PHASE: "3",
      RPC_URL: chain.url,
      CHAIN_ID: String(AGUNG_CHAIN_ID),
      ...Object.fromEntries(Object.entries(deployment.contracts).map(([contract, address]) => [addressEnvName(contract as never), address as string])),
      OPERATOR_PRIVATE_KEY: KEYS.operator,
      BILLING_PRIVATE_KEY: KEYS.billing,
      SETTLER_PRIVATE_KEY: KEYS.settler,
      REWARDS_PRIVATE_KEY: KEYS.rewards,
      RELAYER_PRIVATE_KEY: KEYS.relayer,
      FAUCET_PRIVATE_KEY: KEYS.faucet,
      FAUCET_AMOUNT_WEI: (1_000n * CXPT).toString(),
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: redisPrefix,
      HOST: "127.0.0.1",
      PORT: "0",
      PUBLIC_URL: "https://agung.cxpt.test",
      CXPT_DATA_DIR: join(workDir, "data"),
      JOBS: "off",
      LOG_LEVEL: "silent",
      // The operator allows the rehearsal's provider node, on loopback (production allows public addresses only).
      PROVIDER_NODE_ALLOW: "127.0.0.1",
    };
    stack = await startLocalStack({ env });
    node = await startDemoNode();
  });

  after(async () => {
    // Every step runs even when one before it throws: a server or node left open would keep
    // node:test (and `hardhat test`) from ever ending.
    await closeAll([
      () => stack?.close(),
      () => node?.close(),
      () => chain?.close(),
      () => database?.drop(),
      () => (redisPrefix ? deleteRedisPrefix(TEST_REDIS_URL, redisPrefix) : undefined),
      () => (workDir ? rm(workDir, { recursive: true, force: true }) : undefined),
    ]);
  });

  it("deployed from the environment: the 48 h delay, the genesis supply to the treasury, the deployer left with nothing", async () => {
    assert.equal(deployment.chainId, AGUNG_CHAIN_ID);
    assert.match(deployOutput, /validated CXPT \(UUPS, upgrade-safe\)/);
    const delay = await client.readContract({
      address: deployment.contracts.timelock!,
      abi: [{ type: "function", name: "getMinDelay", stateMutability: "view", inputs: [], outputs: [{ type: "uint256" }] }],
      functionName: "getMinDelay",
    });
    assert.equal(delay, LIVE_TIMELOCK_DELAY);
    // The genesis supply went to the configured distribution address, not to a development account.
    assert.ok((await cxptOf(addressOf(KEYS.treasury))) > 0n);
    // The deployer handed every admin right to the timelock, and the node funded nobody else.
    const adminRole = toHex(0n, { size: 32 });
    for (const contract of ["cxpt", "vault", "distributor", "subscriptions", "billing"] as const) {
      const address = deployment.contracts[contract]!;
      assert.equal(await client.readContract({ address, abi: cxptAbi, functionName: "hasRole", args: [adminRole, addressOf(KEYS.deployer)] }), false, contract);
      assert.equal(await client.readContract({ address, abi: cxptAbi, functionName: "hasRole", args: [adminRole, deployment.contracts.timelock!] }), true, contract);
    }
    assert.deepEqual(chain.accounts, [addressOf(KEYS.deployer)]);
    assert.equal(await client.getBalance({ address: privateKeyToAccount(devKey(0)).address }), 0n);
    // Nothing was written into the repository's address book.
    assert.ok(!(await readdir(join(REPO, "src", "chain", "addresses"))).includes("agung.ts"));
  });

  it("the API started on agung with the stage validated and none of npm start's development shortcuts", async () => {
    assert.equal(stack.chain?.chainId, AGUNG_CHAIN_ID);
    assert.equal(stack.demo, undefined, "no demo accounts");
    assert.equal(stack.chain?.embedded, undefined, "no embedded devchain");
    const { keys } = stack.config.chain;
    const devKeys = new Set(Array.from({ length: 20 }, (_, i) => devKey(i)));
    for (const key of [keys.operator, keys.billing, keys.settler, keys.rewards, keys.relayer, keys.faucet, ...keys.safeOwners]) {
      if (key !== undefined) assert.ok(!devKeys.has(key), "a development key was configured");
    }
    assert.deepEqual(keys.safeOwners, [], "no Safe owner keys on a live network: admin changes are proposals");
    // The stage validation the API ran at start passes as the admin's check reports it: every check green.
    const report = await checkChain(stack.config, "testnet");
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.equal(report.chainId, AGUNG_CHAIN_ID);
    assert.ok(report.checks.some((c) => c.check === "role") && report.checks.some((c) => c.check === "gas"));
    const { rows } = await stack.app.db.query<{ n: string }>("select count(*)::text as n from accounts");
    assert.equal(rows[0]!.n, "0", "no account was seeded");
    const config = expect(await call("GET", "config"), 200);
    assert.deepEqual(config.devWallets, []);
    assert.equal(config.chain.chainId, AGUNG_CHAIN_ID);
    const check = await stack.app.db.query<{ n: string }>("select count(*)::text as n from job_runs");
    assert.equal(check.rows[0]!.n, "0");
  });

  it("faucet, deposit, a metered day, settlement, a rewards epoch and a gasless claim, through the API", async () => {
    // An admin, made by the operator in the database (there is no default admin on a live network).
    const admin = await signIn(KEYS.admin);
    await stack.app.db.query("update accounts set role = 'admin' where id = $1", [admin.accountId]);
    const runJob = async (name: string) => {
      const run = expect(await call("POST", `admin/jobs/${name}/run`, admin.token), 200);
      assert.equal(run.outcome, "ok", JSON.stringify(run));
      return run;
    };

    // Phase 0: both users get test CXPT and gas from the faucet (their wallets start empty).
    const depositor = await signIn(KEYS.depositor);
    const payer = await signIn(KEYS.payer);
    for (const user of [depositor, payer]) {
      const drip = expect(await call("POST", "faucet", user.token), 200);
      assert.equal(drip.amountWei, (1_000n * CXPT).toString());
      assert.equal(await cxptOf(user.wallet), 1_000n * CXPT);
    }
    assert.equal((await call("POST", "faucet", payer.token)).status, 429);

    // A deposit: approve and deposit from the wallet, credited once through the API.
    const vault = deployment.contracts.vault!;
    await mined(await wallet(KEYS.depositor).writeContract({ address: deployment.contracts.cxpt!, abi: cxptAbi, functionName: "approve", args: [vault, 200n * CXPT] }));
    const depositTx = await wallet(KEYS.depositor).writeContract({ address: vault, abi: vaultAbi, functionName: "deposit", args: [200n * CXPT, toHex(1n, { size: 32 })] });
    await mined(depositTx);
    const credited = expect(await call("POST", "tokens/deposit", depositor.token, { txHash: depositTx }), 200);
    assert.equal(credited.credited, true);
    assert.equal(credited.creditsWei, (200n * CXPT).toString());

    // A provider registers its node (the depositor's wallet doubles as a provider here); it is checked at once.
    const registered = expect(await call("POST", "provider/nodes", depositor.token, { baseUrl: node!.baseUrl, models: [DEMO_MODELS[0]], tier: "open-ocean", maxConcurrency: 8 }), 201);
    assert.equal(registered.status, "up");

    // A metered day, paid as you go: the payer allows the Vault to collect, sets a daily spending cap
    // on UsageBilling (its consent to PAYG) and uses the compute API.
    await mined(await wallet(KEYS.payer).writeContract({ address: deployment.contracts.cxpt!, abi: cxptAbi, functionName: "approve", args: [vault, maxUint256] }));
    await mined(await wallet(KEYS.payer).writeContract({ address: deployment.contracts.billing!, abi: billingAbi, functionName: "setSpendingCap", args: [100n * CXPT, 86_400n] }));
    const { key } = expect(await call("POST", "keys", payer.token, { name: "rehearsal" }), 201);
    const chat = { model: DEMO_MODELS[0], messages: [{ role: "user", content: "What is CXPT?" }], max_tokens: 64, tier: "open-ocean" };
    for (let i = 0; i < 5; i++) expect(await call("POST", "chat/completions", key, chat, { "x-request-id": `agung-${i}` }), 200);
    let metered: { n: string; payg: string } | undefined;
    for (let tries = 0; tries < 100; tries++) {
      metered = (await stack.app.db.query<{ n: string; payg: string }>("select count(*)::text as n, coalesce(sum(payg_wei), 0)::text as payg from usage_events where account_id = $1", [payer.accountId])).rows[0];
      if (metered?.n === "5") break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(metered!.n, "5");
    const owed = BigInt(metered!.payg);
    assert.ok(owed > 0n, "the usage was billed PAYG in CXPT");
    // The day is over: the rewards job counts the spend of the day before.
    await stack.app.db.query("update usage_events set recorded_at = recorded_at - interval '1 day' where account_id = $1", [payer.accountId]);

    // Settlement collects the day's PAYG through the Vault.
    const before = await cxptOf(payer.wallet);
    const settled = await runJob("settle");
    assert.equal(settled.summary.batches[0].state, "settled");
    assert.equal(before - (await cxptOf(payer.wallet)), owed);

    /** Chain time moves `seconds` on, with a block mined at the new time. */
    const later = async (seconds: number) => {
      await client.request({ method: "evm_increaseTime" as never, params: [seconds] as never });
      await client.request({ method: "evm_mine" as never, params: [] as never });
    };
    // The rewards epoch: the Vault swept, the day's points uploaded; the epoch starts once the
    // upload's review delay has passed (the Safe could void it meanwhile).
    const uploaded = await runJob("rewards");
    assert.equal(uploaded.summary.status, "waiting", JSON.stringify(uploaded.summary));
    assert.ok(uploaded.summary.reviewEndsAt, JSON.stringify(uploaded.summary));
    const [, , reviewDelay] = await client.readContract({ address: deployment.contracts.distributor!, abi: distributorAbi, functionName: "epochBounds" });
    assert.equal(reviewDelay, 3600n);
    await later(3600);
    const rewards = await runJob("rewards");
    assert.equal(rewards.summary.status, "started", JSON.stringify(rewards.summary));
    const epoch = BigInt(rewards.summary.epoch);
    const [, end] = await client.readContract({ address: deployment.contracts.distributor!, abi: distributorAbi, functionName: "epochTimes", args: [epoch] });
    // Time passes on the chain until the epoch has released everything.
    await later(Number(end - (await client.getBlock()).timestamp) + 1);

    // The gasless claim: the payer signs the forward request, the relayer pays the gas.
    const available = expect(await call("GET", "rewards/available", payer.token), 200);
    assert.ok(BigInt(available.totalWei) > 0n, JSON.stringify(available));
    const { typedData } = expect(await call("GET", "rewards/claim-request", payer.token), 200);
    assert.equal(typedData.domain.chainId, AGUNG_CHAIN_ID);
    const gasBefore = await client.getBalance({ address: payer.wallet });
    const cxptBefore = await cxptOf(payer.wallet);
    const signature = await privateKeyToAccount(KEYS.payer).signTypedData(typedData);
    const claimed = expect(await call("POST", "rewards/claim", payer.token, { request: typedData.message, signature }), 200);
    assert.equal(claimed.claimedWei, available.totalWei);
    assert.equal((await cxptOf(payer.wallet)) - cxptBefore, BigInt(available.totalWei));
    assert.equal(await client.getBalance({ address: payer.wallet }), gasBefore, "the relayer paid the gas");
    const receipt = await client.getTransactionReceipt({ hash: claimed.txHash });
    assert.equal(receipt.from, addressOf(KEYS.relayer).toLowerCase());
  });
});
