// The backend as the integration tests run it: the real contract suite (deploy/suite.ts, Safe and
// timelock included) on the in-process chain, and the API built by createApp over either the
// real PostgreSQL and Redis of this machine or the embedded stand-ins (PGlite, the embedded
// metering store). Tests loop over BACKENDS so every behaviour is checked on both.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { network } from "hardhat";
import { createWalletClient, custom, type Address, type Hex } from "viem";
import { billingAbi, cxptAbi } from "../../../src/chain/abis.ts";
import { privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { deploySuite, devConfig } from "../../../deploy/index.ts";
import type { SuiteDeployment } from "../../../src/chain/types.ts";
import type { Queryable } from "../../../src/db/db.ts";
import { loadConfig } from "../../../src/config/config.ts";
import { closeAll } from "../../../src/app/close.ts";
import { createApp, type App } from "../../../src/app/create.ts";
import { buildServer, type Api } from "../../../src/api/server.ts";
import { DEV_BACKEND_ENV, DEV_KEYS, devKey } from "../../../src/devstack/keys.ts";
import { deleteRedisPrefix, scratchDatabase, scratchPrefix } from "../../../src/devstack/scratch.ts";
import { createAccount } from "../../../src/accounts/store.ts";
import { DEMO_MODELS, startDemoNode, type DemoNode } from "../../../src/providers/demo-node.ts";
import { TIERS } from "../../../src/providers/router.ts";
import { insertNode, type NodeInput } from "../../../src/providers/store.ts";

export const connection = await network.create();
export const { viem, networkHelpers } = connection;

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export type BackendName = "embedded" | "servers";
export const BACKENDS: readonly BackendName[] = ["embedded", "servers"];

/** Private keys of development accounts that play no part in the deployment: test users. */
export const USERS = { alice: devKey(14), bob: devKey(15), carol: devKey(16), admin: devKey(DEV_KEYS.demoAdmin) } as const;

const deployAll = async (): Promise<SuiteDeployment> => {
  const wallets = await viem.getWalletClients();
  const publicClient = await viem.getPublicClient();
  const result = await deploySuite(
    { publicClient, wallet: wallets[0]! },
    { network: "hardhat", config: devConfig(wallets.map((w) => w.account.address)) },
  );
  return result.deployment;
};

/** The suite, deployed once per test file and restored from a snapshot on each call. */
export const loadDeployment = () => networkHelpers.loadFixture(deployAll);

export interface Stack {
  readonly backend: BackendName;
  readonly app: App;
  readonly api: Api;
  readonly deployment: SuiteDeployment;
  /** The demo provider nodes the stack routes to, one per tier (cheapest first), registered to `providerAccountId`. */
  readonly node: DemoNode;
  readonly providerAccountId: string;
  close(): Promise<void>;
}

/** Models the test stack's demo node serves: the demo models and the names older tests call. */
export const TEST_MODELS = [...DEMO_MODELS, "llama-3-8b", "demo"];

/** The stack's demo nodes registered one per tier. */
const nodesFor = (demo: readonly DemoNode[]): NodeInput[] => TIERS.map((tier, i) => ({ baseUrl: demo[i]!.baseUrl, models: TEST_MODELS, tier, maxConcurrency: 64 }));

/**
 * The API over `backend` with the suite deployed; `env` adds or overrides configuration
 * (CHAIN_STAGE=testnet, phase 3 by default). Close it at the end of the test.
 */
export async function startStack(
  backend: BackendName,
  env: Record<string, string> = {},
  options: { nodes?: (node: DemoNode) => NodeInput[] } = {},
): Promise<Stack> {
  const deployment = await loadDeployment();
  const demo = await Promise.all(TIERS.map(() => startDemoNode({ models: TEST_MODELS })));
  const database = backend === "servers" ? await scratchDatabase(TEST_DATABASE_URL, "cxpt_test") : undefined;
  const redisPrefix = scratchPrefix("cxpt:test");
  const config = loadConfig({
    CHAIN_STAGE: "testnet",
    CHAIN_PHASE: "3",
    RPC_URL: "http://in-process.invalid",
    DATABASE_URL: database?.url ?? "memory",
    ...(backend === "servers" ? { REDIS_URL: TEST_REDIS_URL } : {}),
    REDIS_PREFIX: redisPrefix,
    CXPT_DATA_DIR: `/tmp/cxpt-test-${randomBytes(6).toString("hex")}`,
    ...DEV_BACKEND_ENV,
    PUBLIC_URL: "http://cxpt.test",
    LOG_LEVEL: "silent", // tests assert on alerts and metrics, not on log lines
    ...env,
  });
  const app = await createApp(config, { transport: custom(connection.provider), addresses: deployment.contracts, deploymentBlock: BigInt(deployment.deploymentBlock) });
  // The provider nodes, registered as a provider would and checked once: routable at once.
  const provider = await createAccount(app.db, { kind: "provider", displayName: "test provider" });
  for (const input of options.nodes ? options.nodes(demo[0]!) : nodesFor(demo)) await insertNode(app.db, provider.id, input);
  await app.providers.registry.refresh();
  await app.providers.health.checkNow();
  const api = await buildServer(app, { silent: true });
  return {
    backend,
    app,
    api,
    deployment,
    node: demo[0]!,
    providerAccountId: provider.id,
    // Every step runs even when one fails, so a failed close leaves no database, key or socket behind.
    close: () =>
      closeAll([
        () => api.close(),
        () => app.close(),
        ...demo.map((node) => () => node.close()),
        () => database?.drop(),
        () => (backend === "servers" ? deleteRedisPrefix(TEST_REDIS_URL, redisPrefix) : undefined),
      ]),
  };
}

/** Signs in with the wallet of `privateKey` through SIWE; returns the session token and account id. */
export async function signIn(api: Api, privateKey: Hex, options: { kind?: "user" | "provider"; token?: string } = {}) {
  const account = privateKeyToAccount(privateKey);
  const nonce = (await api.inject({ method: "POST", url: "/api/v1/auth/nonce" })).json() as { nonce: string; domain: string; uri: string; chainId: number | null };
  const message = createSiweMessage({
    address: account.address,
    chainId: nonce.chainId ?? 1,
    domain: nonce.domain,
    nonce: nonce.nonce,
    uri: nonce.uri,
    version: "1",
  });
  const signature = await account.signMessage({ message });
  const response = await api.inject({
    method: "POST",
    url: "/api/v1/auth/siwe",
    payload: { message, signature, ...(options.kind ? { kind: options.kind } : {}) },
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
  });
  if (response.statusCode !== 200) throw new Error(`sign-in failed: ${response.statusCode} ${response.body}`);
  const body = response.json() as { token: string; account: { id: string; wallet: Address } };
  return { token: body.token, accountId: body.account.id, wallet: account.address, message, signature };
}

/** A wallet client signing with `privateKey` on the in-process chain. */
export async function walletOf(privateKey: Hex) {
  const publicClient = await viem.getPublicClient();
  return createWalletClient({ account: privateKeyToAccount(privateKey), chain: publicClient.chain, transport: custom(connection.provider) });
}

/** Sends `amount` CXPT from the distribution account (which holds the genesis supply) to `to`. */
export async function fundCxpt(deployment: SuiteDeployment, to: Address, amount: bigint): Promise<void> {
  const distribution = await walletOf(devKey(DEV_KEYS.distribution));
  const publicClient = await viem.getPublicClient();
  const hash = await distribution.writeContract({ address: deployment.contracts.cxpt!, abi: cxptAbi, functionName: "transfer", args: [to, amount] });
  await publicClient.waitForTransactionReceipt({ hash });
}

/** A PAYG spending cap no test reaches: the most UsageBilling stores, per day. */
export const NO_PAYG_LIMIT = { amount: 2n ** 96n - 1n, period: 86_400n } as const;

/**
 * `key`'s wallet allows the Vault to spend `amount` of its CXPT (mined). A positive allowance is a
 * PAYG set-up: the wallet also sets a spending cap on UsageBilling (`cap`, none reached by default),
 * since settlement takes nothing from a wallet without one.
 */
export async function approveVault(
  deployment: SuiteDeployment,
  key: Hex,
  amount: bigint,
  cap: { amount: bigint; period: bigint } = NO_PAYG_LIMIT,
): Promise<void> {
  const wallet = await walletOf(key);
  const publicClient = await viem.getPublicClient();
  const hash = await wallet.writeContract({ address: deployment.contracts.cxpt!, abi: cxptAbi, functionName: "approve", args: [deployment.contracts.vault!, amount] });
  await publicClient.waitForTransactionReceipt({ hash });
  if (amount > 0n) await setSpendingCap(deployment, key, cap);
}

/** `key`'s wallet sets its PAYG spending cap on UsageBilling (mined). */
export async function setSpendingCap(deployment: SuiteDeployment, key: Hex, cap: { amount: bigint; period: bigint }): Promise<void> {
  const wallet = await walletOf(key);
  const hash = await wallet.writeContract({ address: deployment.contracts.billing!, abi: billingAbi, functionName: "setSpendingCap", args: [cap.amount, cap.period] });
  await (await viem.getPublicClient()).waitForTransactionReceipt({ hash });
}

/** A drained usage event billed entirely PAYG (`paygWei`), as the drain writes one; `recordedAt` is SQL. */
export async function paygUsage(db: Queryable, accountId: string, paygWei: bigint, options: { costAusd?: bigint; recordedAt?: string } = {}): Promise<void> {
  await db.query(
    `insert into usage_events (request_id, account_id, endpoint, service, units_in, units_out, cost_ausd, cost_wei, billed_in, payg_wei, recorded_at)
     values ($1, $2, '/v1/chat/completions', 'chat', 1, 1, $4, $3, 'cxpt', $3, ${options.recordedAt ?? "now()"})`,
    [`req-${randomBytes(8).toString("hex")}`, accountId, paygWei, options.costAusd ?? 1n],
  );
}

/** The answer's body, after checking its status and, for errors, its code and that it has a message. */
export function expectReply(response: Awaited<ReturnType<Api["inject"]>>, status: number, code?: string) {
  assert.equal(response.statusCode, status, response.body);
  const body = response.json();
  if (code !== undefined) {
    assert.equal(body.error.code, code, response.body);
    assert.match(body.error.message, /\w/);
  }
  return body;
}

/** Authorization header for a session token or API key. */
export const auth = (token: string) => ({ authorization: `Bearer ${token}` });
