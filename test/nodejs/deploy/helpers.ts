// Shared setup of the deployment tests: the real deployment (deploy/) on the in-process chain,
// with the development accounts of deploy/config.ts in every part.
import { network } from "hardhat";
import type { Address } from "viem";
import { deploySuite, devConfig, DEV_ACCOUNTS, type DeployConfig, type DeployResult } from "../../../deploy/index.ts";
import type { Governance } from "../../../src/chain/timelock.ts";
import type { ContractKey, SuiteDeployment } from "../../../src/chain/types.ts";
import { backendKey } from "../helpers/keys.ts";

export const connection = await network.create();
export const { viem, networkHelpers } = connection;

/** The development accounts by the part they play (account 0 deploys, 9 plays no part). */
export async function accounts() {
  const wallets = await viem.getWalletClients();
  return {
    deployer: wallets[0],
    owners: DEV_ACCOUNTS.safeOwners.map((i) => wallets[i]),
    operator: wallets[DEV_ACCOUNTS.operator],
    rewards: wallets[DEV_ACCOUNTS.rewards],
    billing: wallets[DEV_ACCOUNTS.billing],
    settler: wallets[DEV_ACCOUNTS.settler],
    distribution: wallets[DEV_ACCOUNTS.distribution],
    stranger: wallets[9],
  };
}

export interface DeployRun {
  readonly tags?: readonly string[];
  readonly existing?: SuiteDeployment;
  readonly config?: Partial<DeployConfig>;
  readonly log?: (line: string) => void;
}

/** One run of the deployment library, as scripts/deploy.ts makes it on a local chain. */
export async function deploy(run: DeployRun = {}): Promise<DeployResult> {
  const wallets = await viem.getWalletClients();
  const publicClient = await viem.getPublicClient();
  const config: DeployConfig = { ...devConfig(wallets.map((w) => w.account.address)), ...run.config };
  return deploySuite(
    { publicClient, wallet: wallets[0] },
    { network: "hardhat", config, tags: run.tags, existing: run.existing, log: run.log },
  );
}

const deployAll = () => deploy();
/** The whole suite, deployed once per file and restored from a snapshot for each test. */
export const loadDeployment = () => networkHelpers.loadFixture(deployAll);

export function addressOf(d: SuiteDeployment, key: ContractKey): Address {
  const address = d.contracts[key];
  if (address === undefined) throw new Error(`${key} is not in the deployment`);
  return address;
}

/** Typed instances of the deployed contracts. */
export async function contractsOf(d: SuiteDeployment) {
  const at = (key: ContractKey) => addressOf(d, key);
  return {
    cxpt: await viem.getContractAt("CXPT", at("cxpt")),
    distributor: await viem.getContractAt("RewardDistributor", at("distributor")),
    vault: await viem.getContractAt("Vault", at("vault")),
    subscriptions: await viem.getContractAt("SubscriptionManager", at("subscriptions")),
    billing: await viem.getContractAt("UsageBilling", at("billing")),
    timelock: await viem.getContractAt("CxpProxyAdmin", at("timelock")),
  };
}

/** The Safe acting through two of its three owners (any two will do). */
export async function governanceOf(d: SuiteDeployment): Promise<Governance> {
  const { owners } = await accounts();
  return {
    publicClient: await viem.getPublicClient(),
    safe: addressOf(d, "safe"),
    timelock: addressOf(d, "timelock"),
    owners: [owners[2], owners[0]],
    // Submitted as the backend submits: signed by the key itself (src/chain/send.ts).
    executor: backendKey(owners[2]),
  };
}
