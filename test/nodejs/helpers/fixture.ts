// The contract suite behind ERC1967 proxies with plain accounts in every role, for unit tests.
// The deployment with the timelock and the Safe in the roles is tested in deploy.test.ts.
import { network } from "hardhat";
import { encodeFunctionData, parseEther, type Address, type Hex } from "viem";
import { DEFAULT_ECONOMICS } from "../../../deploy/config.ts";
import { ROLES } from "../../../src/chain/roles.ts";

export const connection = await network.create();
export const { viem, networkHelpers } = connection;

export const GENESIS_SUPPLY = parseEther("1000000000");
// The published economics the deployment uses (deploy/config.ts), and the suite's role ids.
export const DEFAULT_BURN_BPS = DEFAULT_ECONOMICS.burnBps;
export const SPLIT = DEFAULT_ECONOMICS.split;
export const OVERAGE_BPS = DEFAULT_ECONOMICS.overageBps;
export const ROLLOVER = DEFAULT_ECONOMICS.rolloverPeriod;
export { ROLES };
export { backendKey } from "./keys.ts";

/** Deploys `name` behind an ERC1967 proxy initialized with `args`, returned at the proxy's address. */
export async function deployProxy<const N extends "CXPT" | "Vault" | "RewardDistributor" | "SubscriptionManager" | "UsageBilling">(
  name: N,
  args: readonly unknown[],
) {
  const implementation = await viem.deployContract(name as any);
  const data = encodeFunctionData({ abi: implementation.abi as any, functionName: "initialize", args: args as any });
  const proxy = await viem.deployContract("ERC1967Proxy", [implementation.address, data]);
  return viem.getContractAt(name as any, proxy.address) as unknown as ReturnType<typeof viem.getContractAt<N>>;
}

/** Every contract wired as the deployment wires it, with one wallet per role. */
export async function deploySuite() {
  const wallets = await viem.getWalletClients();
  const [admin, distribution, operator, rewardsOperator, treasurer, billingBackend, settler, alice, bob, carol, relayer] =
    wallets;
  const publicClient = await viem.getPublicClient();

  const forwarder = await viem.deployContract("CxpForwarder");
  const cxpt = await deployProxy("CXPT", [admin.account.address, distribution.account.address]);
  const distributor = await deployProxy("RewardDistributor", [
    admin.account.address,
    cxpt.address,
    forwarder.address,
    SPLIT.protocol,
    SPLIT.providers,
    SPLIT.users,
  ]);
  const vault = await deployProxy("Vault", [admin.account.address, cxpt.address, distributor.address, DEFAULT_BURN_BPS]);
  const subscriptions = await deployProxy("SubscriptionManager", [
    admin.account.address,
    vault.address,
    OVERAGE_BPS,
    ROLLOVER,
  ]);
  const billing = await deployProxy("UsageBilling", [admin.account.address, vault.address]);
  const sanctions = await viem.deployContract("SanctionsListMock");

  const grants: [{ write: { grantRole: (a: [Hex, Address]) => Promise<Hex> } }, Hex, Address][] = [
    [distributor as any, ROLES.FUNDER, vault.address],
    [distributor as any, ROLES.REWARDS, rewardsOperator.account.address],
    [distributor as any, ROLES.TREASURER, treasurer.account.address],
    [vault as any, ROLES.OPERATOR, operator.account.address],
    [vault as any, ROLES.COLLECTOR, subscriptions.address],
    [vault as any, ROLES.COLLECTOR, billing.address],
    [vault as any, ROLES.DEPOSIT_CONSUMER, subscriptions.address],
    [subscriptions as any, ROLES.OPERATOR, operator.account.address],
    [subscriptions as any, ROLES.BILLING, billingBackend.account.address],
    [billing as any, ROLES.SETTLER, settler.account.address],
  ];
  for (const [contract, r, account] of grants) {
    await publicClient.waitForTransactionReceipt({ hash: await contract.write.grantRole([r, account]) });
  }

  // Users start with CXPT from the distribution wallet.
  for (const user of [alice, bob, carol, operator]) {
    await cxpt.write.transfer([user.account.address, parseEther("1000000")], { account: distribution.account });
  }

  return {
    publicClient,
    cxpt,
    vault,
    distributor,
    subscriptions,
    billing,
    forwarder,
    sanctions,
    wallets: { admin, distribution, operator, rewardsOperator, treasurer, billingBackend, settler, alice, bob, carol, relayer },
    allWallets: wallets,
  };
}

export type Suite = Awaited<ReturnType<typeof deploySuite>>;

/** A fresh, snapshotted suite per test: the first call deploys, later calls revert to the snapshot. */
export const loadSuite = () => networkHelpers.loadFixture(deploySuite);
