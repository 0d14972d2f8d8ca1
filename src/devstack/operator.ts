// The stack the operator CLI (scripts/cxpt.ts) works on, resolved as `npm start` resolves it: the
// same defaults (the chain on, phase 3), the data folder's database and chain journal, the
// development keys and the recorded suite on the local chain (31337). While npm start runs, the
// data folder is its own: the CLI then reads the running stack through its API instead.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Hex } from "viem";
import { createPublicClient, http } from "viem";
import { LOCAL_CHAIN_ID } from "../chain/chains.ts";
import { loadConfig, type AppConfig } from "../config/config.ts";
import { createApp, type App, type CreateOptions } from "../app/create.ts";
import { startDevChain, type DevChain } from "../devchain/devchain.ts";
import { AppError } from "../errors.ts";
import { DEV_BACKEND_ENV } from "./keys.ts";
import { readStackRecord, type StackRecord } from "./record.ts";
import { isAlive, START_DEFAULTS, startupReason, withDefaults } from "./stack.ts";
import { readRecorded } from "./suite.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** npm start runs on this data folder: its process and what it recorded. */
export interface RunningStack {
  readonly kind: "running";
  readonly pid: number;
  readonly dataDir: string;
  readonly record: StackRecord | undefined;
}

/** The stack opened by the CLI itself (npm start is not running). */
export interface OpenedStack {
  readonly kind: "opened";
  readonly app: App;
  readonly config: AppConfig;
  /** Stops the app, then the chain the CLI started from the journal (if it did). */
  close(): Promise<void>;
}

/** One line saying what is wrong and what to do (the CLI prints it as it is). */
const stop = (code: string, message: string) => new AppError(code, message, 500);

/** The process holding `dataDir` (npm start), if it still runs. */
async function owner(dataDir: string): Promise<number | undefined> {
  const pid = Number((await readFile(join(dataDir, "stack.pid"), "utf8").catch(() => "")).trim());
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid) ? pid : undefined;
}

/**
 * The stack `given` (the environment) configures, as npm start would run it; `running` when npm
 * start holds the data folder. Throws an AppError whose message is the one line to print.
 */
export async function openOperatorStack(given: Env, options: Pick<CreateOptions, "log"> = {}): Promise<RunningStack | OpenedStack> {
  const env = withDefaults(given, START_DEFAULTS);
  const draft = loadConfig({ ...env, RPC_URL: env.RPC_URL || "http://127.0.0.1:8545" });
  const { dataDir } = draft;
  const pid = await owner(dataDir);
  if (pid !== undefined) return { kind: "running", pid, dataDir, record: await readStackRecord(dataDir) };

  const embeddedDb = !("url" in draft.database) && draft.database.dataDir !== undefined;
  if (embeddedDb && !existsSync(join(dataDir, "pg"))) {
    throw stop("NO_STACK", `no stack in ${dataDir}: run npm start once to create it (or set DATABASE_URL, or CXPT_DATA_DIR to another data folder)`);
  }
  const chainOn = draft.chain.stage !== "off";
  let devchain: DevChain | undefined;
  let rpcUrl = env.RPC_URL || undefined;
  if (chainOn && rpcUrl === undefined) {
    // npm start's own chain: started here from its journal, on a free port, for this command only.
    const journal = join(dataDir, "chain");
    if (!existsSync(journal)) {
      throw stop("NO_CHAIN", `no local chain in ${journal}: run npm start once, set RPC_URL to your node, or set CHAIN_STAGE=off`);
    }
    devchain = await startDevChain({ dataDir: journal, port: 0 });
    rpcUrl = devchain.url;
  }
  try {
    let chainId: number | undefined;
    if (chainOn) {
      chainId = await createPublicClient({ transport: http(rpcUrl, { retryCount: 0 }) })
        .getChainId()
        .catch((error: unknown) => {
          throw stop("CHAIN_UNREACHABLE", `cannot reach the chain at ${rpcUrl}: ${startupReason(error)} (start it, or fix RPC_URL)`);
        });
    }
    const local = chainId === LOCAL_CHAIN_ID;
    const config = loadConfig(local ? withDefaults({ ...env, RPC_URL: rpcUrl }, DEV_BACKEND_ENV) : { ...env, RPC_URL: rpcUrl });
    let suite: { addresses: Record<string, Hex>; deploymentBlock: bigint } | undefined;
    if (local && Object.keys(config.chain.addresses).length === 0) {
      const deployed = await readRecorded(join(config.dataDir, "deployment.json"));
      if (deployed === undefined) throw stop("NO_SUITE", `the contracts are not deployed on this chain: run npm start once (it deploys them to the local chain)`);
      suite = { addresses: deployed.contracts as Record<string, Hex>, deploymentBlock: BigInt(deployed.deploymentBlock) };
    }
    const app = await createApp(config, { ...options, follow: false, ...(suite ? { addresses: suite.addresses, deploymentBlock: suite.deploymentBlock } : {}) });
    return {
      kind: "opened",
      app,
      config,
      close: async () => {
        try {
          await app.close();
        } finally {
          await devchain?.close();
        }
      },
    };
  } catch (error) {
    await devchain?.close();
    throw error;
  }
}
