// The contract suite behind ERC1967 proxies with plain accounts in every role, for unit tests.
// The deployment with the timelock and the Safe in the roles is tested in deploy.test.ts.
import { network } from "hardhat";
import { encodeFunctionData, keccak256, parseEther, toHex, type Address, type Hex } from "viem";

export const connection = await network.create();
export const { viem, networkHelpers } = connection;

export const GENESIS_SUPPLY = parseEther("1000000000");
export const DEFAULT_BURN_BPS = 500n;
export const SPLIT = { protocol: 3_000n, providers: 5_500n, users: 1_500n } as const;
export const OVERAGE_BPS = 1_000n;
export const ROLLOVER = 90n * 24n * 3600n;

export const role = (name: string): Hex => keccak256(toHex(name));
export const ROLES = {
  admin: "0x0000000000000000000000000000000000000000000000000000000000000000" as Hex,
  operator: role("OPERATOR_ROLE"),
  collector: role("COLLECTOR_ROLE"),
  depositConsumer: role("DEPOSIT_CONSUMER_ROLE"),
  funder: role("FUNDER_ROLE"),
  rewards: role("REWARDS_ROLE"),
  treasurer: role("TREASURER_ROLE"),
  billing: role("BILLING_ROLE"),
  settler: role("SETTLER_ROLE"),
} as const;

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
    [distributor as any, ROLES.funder, vault.address],
    [distributor as any, ROLES.rewards, rewardsOperator.account.address],
    [distributor as any, ROLES.treasurer, treasurer.account.address],
    [vault as any, ROLES.operator, operator.account.address],
    [vault as any, ROLES.collector, subscriptions.address],
    [vault as any, ROLES.collector, billing.address],
    [vault as any, ROLES.depositConsumer, subscriptions.address],
    [subscriptions as any, ROLES.operator, operator.account.address],
    [subscriptions as any, ROLES.billing, billingBackend.account.address],
    [billing as any, ROLES.settler, settler.account.address],
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
