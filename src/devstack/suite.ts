// The contract suite on the local chain: deployed with the development accounts on the first
// start and recorded in the data folder; later starts reuse it (deploySuite is idempotent and
// sends nothing when everything is in place).
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { createPublicClient, createWalletClient, http, type PublicClient } from "viem";
import { chainAt } from "../chain/chains.ts";
import { privateKeyToAccount } from "viem/accounts";
import { deploySuite, devConfig } from "../../deploy/index.ts";
import type { SuiteDeployment } from "../chain/types.ts";
import { DEV_KEYS, devKey } from "./keys.ts";

/** A public client for the chain at `rpcUrl`, whichever it is. */
export async function localClient(rpcUrl: string): Promise<PublicClient> {
  const probe = createPublicClient({ transport: http(rpcUrl) });
  const chain = chainAt(await probe.getChainId(), rpcUrl);
  return createPublicClient({ chain, transport: http(rpcUrl), pollingInterval: 250 }) as PublicClient;
}

/** The suite recorded in `file` by an earlier start, if any. */
export async function readRecorded(file: string): Promise<SuiteDeployment | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as SuiteDeployment;
  } catch {
    return undefined;
  }
}

/** Deploys (or finds) the suite on the local chain at `rpcUrl`; the record lives in `file`. */
export async function ensureSuite(rpcUrl: string, file: string, log: (line: string) => void): Promise<SuiteDeployment> {
  const publicClient = await localClient(rpcUrl);
  const accounts = Array.from({ length: 10 }, (_, i) => privateKeyToAccount(devKey(i)));
  const wallet = createWalletClient({ chain: publicClient.chain, transport: http(rpcUrl), account: accounts[DEV_KEYS.deployer]! });
  const result = await deploySuite(
    { publicClient, wallet },
    { network: "localhost", config: devConfig(accounts.map((a) => a.address)), existing: await readRecorded(file), log },
  );
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(result.deployment, null, 2) + "\n");
  return result.deployment;
}
