// The whole backend in one process, as `npm start` runs it: the local chain (unless RPC_URL names
// one), the contract suite deployed or reused, the backend (PGlite and the embedded metering store
// unless DATABASE_URL / REDIS_URL name servers), the demo accounts and the API. Every setting comes
// from the environment; what is unset takes the local default.
//
// "Local" means chain id 31337: the embedded devchain, or a node you run yourself (npx hardhat node,
// scripts/devchain.ts) named by RPC_URL. Only there do the backend keys default to the development
// keys, is the suite deployed (or reused) when no ADDRESS_* is configured, and are the demo accounts
// created and funded: their private keys are public. On any other chain the configuration names
// keys and addresses, nothing is deployed and no demo account exists. With CHAIN_STAGE=off there is
// no chain at all (legacy credits) and no demo either.
import { LOCAL_CHAIN_ID } from "../chain/chains.ts";
import { startScheduler, type Scheduler } from "../jobs/scheduler.ts";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { createPublicClient, formatEther, http, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { cxptAbi } from "../chain/abis.ts";
import type { ContractKey } from "../chain/types.ts";
import { ConfigError, loadConfig, type AppConfig } from "../config/config.ts";
import { createApp, type App } from "../app/create.ts";
import { buildServer, type Api } from "../api/server.ts";
import { startDevChain, type DevChain } from "../devchain/devchain.ts";
import { AppError } from "../errors.ts";
import { DEV_BACKEND_ENV } from "./keys.ts";
import { writeStackRecord } from "./record.ts";
import { seedDemo } from "./seed.ts";
import { startDemoNodes, type StackDemoNode } from "./demo-nodes.ts";
import { DEMO_MODELS } from "../providers/demo-node.ts";
import { ensureSuite } from "./suite.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** The chain id of a local development node (Hardhat, the devchain). */

export interface LocalStackOptions {
  /** The environment (process.env by default); a setting unset or empty takes its local default. */
  readonly env?: Env;
  /** The data folder, over CXPT_DATA_DIR (default .data). */
  readonly dataDir?: string;
  /** Progress lines (devchain replay, deployment). */
  readonly log?: (line: string) => void;
}

export interface StackChain {
  readonly url: string;
  readonly chainId: number;
  /** The embedded devchain's journal folder and how many entries it replayed; undefined for RPC_URL. */
  readonly embedded: { readonly dataDir: string; readonly replayed: number } | undefined;
  /** The suite's addresses the backend uses (none while the admin has switched the chain off). */
  readonly addresses: Readonly<Partial<Record<ContractKey, Address>>>;
}

export interface StackDemoAccount {
  readonly name: "admin" | "user" | "provider";
  readonly accountId: string;
  readonly wallet: Address;
  /** A public Hardhat development key. */
  readonly privateKey: Hex;
  /** CXPT (wei) the wallet holds now. */
  readonly cxpt: bigint;
}

export interface StackDemo {
  readonly accounts: readonly StackDemoAccount[];
  readonly userApiKey: string;
  /** The demo provider's nodes (none with DEMO_NODES=off). */
  readonly nodes: readonly StackDemoNode[];
}

export interface LocalStack {
  readonly config: AppConfig;
  readonly app: App;
  readonly urls: { readonly api: string; readonly docs: string; readonly health: string };
  /** Undefined with CHAIN_STAGE=off. */
  readonly chain: StackChain | undefined;
  /** Undefined unless the chain is local (see the top of this file). */
  readonly demo: StackDemo | undefined;
  /** How the scheduled jobs run in this process. */
  readonly jobs: Scheduler["mode"];
  /** Stops the API, then the backend, then the devchain; each once, however often it is called. */
  close(): Promise<void>;
}

/** The devchain's address: CHAIN_HOST (127.0.0.1) and CHAIN_PORT (8545; 0 picks a free port). */
function devchainAddress(env: Env): { host: string; port: number } {
  const raw = env.CHAIN_PORT || "8545";
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError(`CHAIN_PORT must be a port number, got "${raw}"`);
  return { host: env.CHAIN_HOST || "127.0.0.1", port };
}

/** DEMO_NODE_PORT: the first demo node's port (the second takes the next); 0 (default) picks free ports. */
function demoNodePort(env: Env): number {
  const raw = env.DEMO_NODE_PORT || "0";
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_534) throw new ConfigError(`DEMO_NODE_PORT must be a port number, got "${raw}"`);
  return port;
}

/** What `npm start` assumes when the environment does not say: the chain on, at phase 3 (PAYG in CXPT). */
export const START_DEFAULTS: Env = { CHAIN_STAGE: "testnet", CHAIN_PHASE: "3" };

/** How old the embedded chain's head may get before npm start mines an empty block: CHAIN_MINE_INTERVAL_MS (15 s; 0 off). */
function mineInterval(env: Env): number {
  const raw = env.CHAIN_MINE_INTERVAL_MS || "15000";
  const ms = Number(raw);
  if (!Number.isSafeInteger(ms) || ms < 0) throw new ConfigError(`CHAIN_MINE_INTERVAL_MS must be a whole number of ms (0 turns it off), got "${raw}"`);
  return ms;
}

/** `env` over `defaults`, where an empty value counts as unset. */
export const withDefaults = (env: Env, defaults: Env): Env => {
  const merged: Record<string, string | undefined> = { ...defaults };
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value !== "") merged[name] = value;
  return merged;
};

/** `error` as the one line a failed start prints: the port taken, the bad setting, the failing step. */
export function startupReason(error: unknown): string {
  if (error instanceof ConfigError || error instanceof AppError) return error.message;
  if (error instanceof Error) return error.message.split("\n")[0]!;
  return String(error);
}

/** Listens or names the setting to change: a taken port is the commonest startup failure. */
async function onPort<T>(what: string, setting: string, host: string, port: number, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "EADDRINUSE") throw new AppError("PORT_IN_USE", `${what}: port ${port} on ${host} is in use (set ${setting} to another port)`, 500);
    if (code === "EACCES" || code === "EADDRNOTAVAIL") throw new AppError("PORT_UNAVAILABLE", `${what}: cannot listen on ${host}:${port} (${String(code)}; check ${setting})`, 500);
    throw error;
  }
}

/**
 * One stack per data folder: two would write the same PGlite files and chain journal. The lock
 * file names the owning process; a lock left by a process that is gone is taken over.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true });
  const file = join(dataDir, "stack.pid");
  for (;;) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: "wx" });
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as { code?: unknown }).code !== "EEXIST") throw error;
    }
    const owner = Number((await readFile(file, "utf8").catch(() => "")).trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new AppError("DATA_DIR_IN_USE", `the data folder ${dataDir} is in use by process ${owner} (another npm start?)`, 500);
    }
    await rm(file, { force: true });
  }
}

/** Fails now, not after a deployment, when the API's port is taken (it is bound for real at the end). */
async function probePort(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once("error", reject);
    probe.listen({ host, port, exclusive: true }, () => resolve());
  });
  await new Promise((resolve) => probe.close(resolve));
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === "EPERM";
  }
}

/** Where a listening server is reachable from this machine. */
function httpUrl(host: string, port: number): string {
  const reachable = host === "0.0.0.0" || host === "::" ? "localhost" : host;
  return `http://${reachable.includes(":") ? `[${reachable}]` : reachable}:${port}`;
}

/**
 * Starts the whole stack (see the top of this file) and returns once the API listens. A failure
 * stops what already started and throws: ConfigError / AppError name the setting or the problem.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const { env: given = process.env, log = () => {} } = options;
  const env = withDefaults({ ...given, CXPT_DATA_DIR: options.dataDir ?? given.CXPT_DATA_DIR }, START_DEFAULTS);
  const embeddedChain = !env.RPC_URL;
  const devchainAt = devchainAddress(env);
  // Settle the configuration before anything starts, the devchain's URL standing in for RPC_URL.
  const draft = loadConfig({ ...env, RPC_URL: env.RPC_URL ?? httpUrl(devchainAt.host, devchainAt.port) });
  const chainOn = draft.chain.stage !== "off";

  const cleanup: (() => Promise<void>)[] = [await lockDataDir(draft.dataDir)];
  // Every step runs even when one fails (the first failure is reported): nothing is left open.
  const stop = async () => {
    let failure: unknown;
    for (const step of cleanup.splice(0).reverse()) await step().catch((error: unknown) => void (failure ??= error));
    if (failure !== undefined) throw failure;
  };
  try {
    await onPort("the API", "PORT", draft.host, draft.port, () => probePort(draft.host, draft.port));
    let devchain: DevChain | undefined;
    let rpcUrl = env.RPC_URL;
    if (chainOn && embeddedChain) {
      const dataDir = join(draft.dataDir, "chain");
      devchain = await onPort("the local chain", "CHAIN_PORT", devchainAt.host, devchainAt.port, () =>
        startDevChain({ dataDir, ...devchainAt, mineEveryMs: mineInterval(env), log: (line) => log(`chain: ${line}`) }),
      );
      cleanup.push(devchain.close);
      rpcUrl = devchain.url;
    }

    let chainId: number | undefined;
    if (chainOn) {
      chainId = await createPublicClient({ transport: http(rpcUrl, { retryCount: 0 }) })
        .getChainId()
        .catch((error: unknown) => {
          throw new AppError("CHAIN_UNREACHABLE", `cannot reach the chain at ${rpcUrl}: ${startupReason(error)}`, 500);
        });
    }
    const local = chainId === LOCAL_CHAIN_ID;
    const finalEnv = local ? withDefaults({ ...env, RPC_URL: rpcUrl }, DEV_BACKEND_ENV) : { ...env, RPC_URL: rpcUrl };
    const config = loadConfig(finalEnv);

    // A local chain without configured addresses gets the suite from the development accounts.
    const deployed =
      local && Object.keys(config.chain.addresses).length === 0
        ? await ensureSuite(rpcUrl!, join(config.dataDir, "deployment.json"), (line) => log(`deploy: ${line}`))
        : undefined;

    const app = await createApp(config, deployed ? { addresses: deployed.contracts, deploymentBlock: BigInt(deployed.deploymentBlock) } : {});
    cleanup.push(app.close);

    let demo: StackDemo | undefined;
    if (local && app.chain !== undefined) {
      const seeded = await seedDemo(app.db, app.chain, rpcUrl!, join(config.dataDir, "demo.json"));
      const { client, addresses } = app.chain;
      const provider = seeded.accounts.find((a) => a.name === "provider")!;
      let nodes: StackDemoNode[] = [];
      if (env.DEMO_NODES !== "off") {
        const started = await startDemoNodes(app, provider.account.id, join(config.dataDir, "demo-nodes.json"), demoNodePort(env));
        // Stopped after the app (cleanup runs in reverse), so its health checker never records them going away.
        cleanup.splice(cleanup.indexOf(app.close), 0, started.close);
        nodes = started.nodes;
      }
      demo = {
        userApiKey: seeded.userApiKey,
        nodes,
        accounts: await Promise.all(
          seeded.accounts.map(async ({ name, account, privateKey }) => {
            const wallet = privateKeyToAccount(privateKey).address;
            const cxpt = await client.readContract({ address: addresses.cxpt, abi: cxptAbi, functionName: "balanceOf", args: [wallet] });
            return { name, accountId: account.id, wallet, privateKey, cxpt };
          }),
        ),
      };
    }

    // The jobs start once the demo is seeded; cleanup runs in reverse, so they stop before the app closes.
    const scheduler = await startScheduler(app);
    cleanup.push(() => scheduler.stop());

    const api: Api = await buildServer(app, { logRequests: env.LOG_REQUESTS === "1" });
    cleanup.push(() => api.close());
    await onPort("the API", "PORT", config.host, config.port, () => api.listen({ host: config.host, port: config.port }));
    const apiUrl = httpUrl(config.host, (api.server.address() as AddressInfo).port);
    // For the operator CLI: where this stack answers while it runs, and which chain it used.
    await writeStackRecord(config.dataDir, {
      pid: process.pid,
      apiUrl,
      chain: chainId === undefined ? undefined : { chainId, embedded: devchain !== undefined, rpcUrl: rpcUrl! },
      startedAt: new Date().toISOString(),
    });
    // Ready means healthy: the database, the metering store and the chain answer through the API.
    const health = await api.inject({ method: "GET", url: "/api/health" });
    if (health.statusCode !== 200) throw new AppError("NOT_READY", `the API started but /api/health answers ${health.statusCode}: ${health.body}`, 500);

    let closing: Promise<void> | undefined;
    return {
      config,
      app,
      urls: { api: apiUrl, docs: `${apiUrl}/api/docs`, health: `${apiUrl}/api/health` },
      chain:
        chainId === undefined
          ? undefined
          : {
              url: rpcUrl!,
              chainId,
              embedded: devchain === undefined ? undefined : { dataDir: join(config.dataDir, "chain"), replayed: devchain.replayed },
              addresses: app.chain?.addresses ?? {},
            },
      demo,
      jobs: scheduler.mode,
      close: () => (closing ??= stop()),
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The contracts the table lists, in deployment order. */
const CONTRACT_LABELS: readonly [ContractKey, string][] = [
  ["safe", "Safe (2-of-3)"],
  ["timelock", "timelock"],
  ["cxpt", "CXPT"],
  ["forwarder", "forwarder"],
  ["distributor", "rewards"],
  ["vault", "vault"],
  ["subscriptions", "subscriptions"],
  ["billing", "usage billing"],
];

/** A URL without its password, for printing. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = "***";
    return parsed.toString();
  } catch {
    return url;
  }
}

/** The body of the sample compute request the table prints. */
const SAMPLE_CHAT = JSON.stringify({ model: DEMO_MODELS[0], messages: [{ role: "user", content: "Hello" }], max_tokens: 32 });

/** What runs where, for people: chain and contracts, stores, URLs, demo accounts and a sample request. */
export function describeStack(stack: LocalStack): string[] {
  const { config, chain, demo, urls } = stack;
  const row = (label: string, value: string) => `  ${label.padEnd(14)}${value}`;
  const lines = ["", "CXPT stack"];
  if (chain === undefined) {
    lines.push(row("chain", "none (CHAIN_STAGE=off: legacy off-chain credits)"));
  } else {
    const where = chain.embedded
      ? `local devchain, journal in ${chain.embedded.dataDir} (${chain.embedded.replayed} entries replayed)`
      : "RPC_URL";
    lines.push(row("chain", `${redact(chain.url)}  chain id ${chain.chainId}, ${where}`));
    const { stage, phase } = stack.app.stage;
    lines.push(row("stage", stage === "off" ? "off (switched by the admin: legacy off-chain credits)" : `${stage}, phase ${phase}`));
    for (const [key, label] of CONTRACT_LABELS) {
      const address = chain.addresses[key];
      if (address !== undefined) lines.push(row("", `${label.padEnd(15)}${address}`));
    }
  }
  const db = config.database;
  lines.push(row("database", "url" in db ? `PostgreSQL ${redact(db.url)}` : db.dataDir ? `PGlite in ${db.dataDir}` : "PGlite in memory (nothing kept)"));
  lines.push(row("metering", config.redisUrl ? `Redis ${redact(config.redisUrl)} (prefix ${config.redisPrefix})` : `embedded store in ${config.dataDir}`));
  lines.push(row("API", `${urls.api}/api/v1`));
  lines.push(row("docs", urls.docs));
  lines.push(row("health", urls.health));
  lines.push(row("metrics", `${stack.urls.api}/metrics`));
  lines.push(
    row("jobs", stack.jobs === "off" ? "off (JOBS=off)" : `${stack.jobs === "bullmq" ? "BullMQ on Redis" : "in-process"}: settle ${config.jobs.settleCron}, rewards ${config.jobs.rewardsCron} (UTC), reconcile every ${config.jobs.reconcileEveryMs / 1000} s`),
  );
  lines.push(
    row(
      "dashboards",
      existsSync(join(config.web.dir, "index.html"))
        ? `${urls.api}/user  ${urls.api}/provider  ${urls.api}/admin${demo === undefined ? "" : "  (wallet: the development wallets below)"}`
        : `not built (${config.web.dir} is missing: npm run build:web)`,
    ),
  );
  if (demo === undefined) {
    lines.push(row("demo", chain === undefined ? "none (no chain)" : chain.chainId === LOCAL_CHAIN_ID ? "none (the chain is off)" : `none (chain ${chain.chainId} is not local)`));
  } else {
    lines.push("", "Demo accounts (public Hardhat development keys: never use them on a real network)");
    for (const account of demo.accounts) {
      lines.push(row(account.name, `${account.wallet}  ${formatEther(account.cxpt)} CXPT  account ${account.accountId}`));
      lines.push(row("", `private key ${account.privateKey}`));
    }
    lines.push(row("user API key", demo.userApiKey));
    for (const node of demo.nodes) lines.push(row("demo node", `${node.baseUrl}  ${node.tier}: ${node.models.join(", ")}  (demo provider)`));
    lines.push(
      "",
      "Try the compute API:",
      `  curl ${urls.api}/api/v1/chat/completions \\`,
      `    -H 'authorization: Bearer ${demo.userApiKey}' \\`,
      `    -H 'content-type: application/json' \\`,
      `    -d '${SAMPLE_CHAT}'`,
    );
  }
  lines.push("", `ready: API on ${urls.api} (Ctrl-C stops)`);
  return lines;
}
