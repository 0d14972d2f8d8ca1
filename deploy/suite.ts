// Deploys the CXPT suite behind UUPS proxies, wires every role and setting, and hands every admin
// role to the CxpProxyAdmin timelock, which the Safe drives. Idempotent: recorded contracts that
// still have code are reused, and every wiring step reads the chain before it writes. A step that
// needs the admin after the handover is returned (and logged) as the exact timelock proposal.
import {
  encodeFunctionData,
  getAddress,
  parseAbi,
  zeroAddress,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { billingAbi, distributorAbi, governedAbi, safeAbi, safeProxyFactoryAbi, subscriptionsAbi, timelockAbi, vaultAbi } from "../src/chain/abis.ts";
import { implementationOf } from "../src/chain/proxy.ts";
import { ROLES, roleName } from "../src/chain/roles.ts";
import { timelockOperation, timelockProposal, type TimelockProposal } from "../src/chain/timelock.ts";
import type { ContractKey, ProxyKey, SuiteDeployment } from "../src/chain/types.ts";
import { loadArtifact, type ArtifactName } from "./artifacts.ts";
import { onchainPlan, type DeployConfig } from "./config.ts";

// ───────────────────────────── tags ─────────────────────────────

export const TAGS = ["cxpt", "distributor", "vault", "subscription", "billing"] as const;
export type Tag = (typeof TAGS)[number];

/** What each tag needs deployed first. Governance (Safe + timelock) comes with every tag. */
const NEEDS: Record<Tag, readonly Tag[]> = {
  cxpt: [],
  distributor: ["cxpt"],
  vault: ["cxpt", "distributor"],
  subscription: ["vault"],
  billing: ["vault"],
};

/** Each proxy with the contract behind it, in deployment order. */
export const PROXIES: Record<ProxyKey, ArtifactName> = {
  cxpt: "CXPT",
  distributor: "RewardDistributor",
  vault: "Vault",
  subscriptions: "SubscriptionManager",
  billing: "UsageBilling",
};
const PROXY_KEYS = Object.keys(PROXIES) as ProxyKey[];

/** The recorded contracts, in the order the addresses module lists them. */
const CONTRACT_KEYS: readonly ContractKey[] = [
  "safeSingleton",
  "safeProxyFactory",
  "safe",
  "timelock",
  "forwarder",
  "sanctionsOracle",
  ...PROXY_KEYS,
];

const isTag = (tag: string): tag is Tag => (TAGS as readonly string[]).includes(tag);

/** `tags` plus everything they need, in deployment order; every tag when none is given. */
export function resolveTags(tags: readonly string[] = []): Tag[] {
  if (tags.length === 0) return [...TAGS];
  const selected = new Set<Tag>();
  const add = (tag: string): void => {
    if (!isTag(tag)) throw new Error(`unknown deploy tag "${tag}" (known: ${TAGS.join(", ")})`);
    NEEDS[tag].forEach(add);
    selected.add(tag);
  };
  tags.forEach(add);
  return TAGS.filter((tag) => selected.has(tag));
}

/** Tags from a comma-separated list such as DEPLOY_TAGS="cxpt,vault". */
export function parseTags(list: string | undefined): Tag[] {
  return resolveTags((list ?? "").split(",").map((tag) => tag.trim()).filter(Boolean));
}

/** The upgradeable contracts `tags` deploy (what to validate before a live deployment). */
export function proxiesFor(tags: readonly Tag[]): ArtifactName[] {
  const byTag: Record<Tag, ProxyKey> = { cxpt: "cxpt", distributor: "distributor", vault: "vault", subscription: "subscriptions", billing: "billing" };
  return tags.map((tag) => PROXIES[byTag[tag]]);
}

// ───────────────────────────── session ─────────────────────────────

export type Wallet = WalletClient<Transport, Chain | undefined, Account>;

export interface DeployClients {
  readonly publicClient: PublicClient;
  /** The deployer: pays for everything and holds the admin roles until the handover. */
  readonly wallet: Wallet;
}

export interface DeployOptions {
  readonly network: string;
  readonly config: DeployConfig;
  /** Tags to deploy (with what they need); all when empty. */
  readonly tags?: readonly string[];
  /** The deployment recorded by an earlier run on this network. */
  readonly existing?: SuiteDeployment;
  readonly log?: (line: string) => void;
  /** Where artifacts/ and node_modules/ are; the repository by default. */
  readonly artifactsRoot?: string;
}

export interface DeployResult {
  readonly deployment: SuiteDeployment;
  readonly tags: readonly Tag[];
  /** Admin changes the deployer could not make itself: for the Safe to run through the timelock. */
  readonly proposals: readonly TimelockProposal[];
  /** Transactions this run sent (0 when everything was in place). */
  readonly transactions: number;
}

interface Session {
  readonly publicClient: PublicClient;
  readonly wallet: Wallet;
  readonly deployer: Address;
  readonly config: DeployConfig;
  readonly log: (line: string) => void;
  readonly artifactsRoot?: string;
  readonly recorded: Partial<Record<ContractKey, Address>>;
  readonly addresses: Partial<Record<ContractKey, Address>>;
  readonly proposals: TimelockProposal[];
  transactions: number;
  reusedRecorded: boolean;
  firstBlock?: bigint;
}

function at(s: Session, key: ContractKey): Address {
  const address = s.addresses[key];
  if (address === undefined) throw new Error(`${key} is not deployed`);
  return address;
}

async function hasCode(s: Session, address: Address): Promise<boolean> {
  const code = await s.publicClient.getCode({ address });
  return code !== undefined && code !== "0x";
}

/** The recorded address of `key` when it still has code. */
async function reusable(s: Session, key: ContractKey): Promise<Address | undefined> {
  const address = s.recorded[key];
  if (address === undefined || !(await hasCode(s, address))) return undefined;
  s.addresses[key] = address;
  s.reusedRecorded = true;
  return address;
}

async function mined(s: Session, hash: Hex, label: string) {
  const receipt = await s.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${label}: transaction ${hash} reverted`);
  s.transactions += 1;
  if (s.firstBlock === undefined || receipt.blockNumber < s.firstBlock) s.firstBlock = receipt.blockNumber;
  s.log(`  ${label} (tx ${hash})`);
  return receipt;
}

async function send(s: Session, label: string, to: Address, data: Hex): Promise<void> {
  const hash = await s.wallet.sendTransaction({ account: s.wallet.account, chain: s.wallet.chain, to, data });
  await mined(s, hash, label);
}

async function create(s: Session, name: ArtifactName, args: readonly unknown[]): Promise<Address> {
  const { abi, bytecode } = loadArtifact(name, s.artifactsRoot);
  const hash = await s.wallet.deployContract({ abi, bytecode, args, account: s.wallet.account, chain: s.wallet.chain });
  const { contractAddress } = await mined(s, hash, `deploy ${name}`);
  if (!contractAddress) throw new Error(`deploy ${name}: no contract address in receipt ${hash}`);
  return getAddress(contractAddress);
}

/** Deploys `name` as `key` unless a recorded one has code. */
async function deploy(s: Session, key: ContractKey, name: ArtifactName, args: readonly unknown[]): Promise<Address> {
  return (await reusable(s, key)) ?? (s.addresses[key] = await create(s, name, args));
}

/** Deploys `key`'s implementation behind an ERC1967 proxy initialized with `init`, unless recorded. */
async function deployProxy(s: Session, key: ProxyKey, init: readonly unknown[]): Promise<Address> {
  const existing = await reusable(s, key);
  if (existing !== undefined) return existing;
  const name = PROXIES[key];
  const implementation = await create(s, name, []);
  const data = encodeFunctionData({ abi: loadArtifact(name, s.artifactsRoot).abi, functionName: "initialize", args: init });
  return (s.addresses[key] = await create(s, "ERC1967Proxy", [implementation, data]));
}

const hasRole = (s: Session, target: Address, role: Hex, account: Address): Promise<boolean> =>
  s.publicClient.readContract({ address: target, abi: governedAbi, functionName: "hasRole", args: [role, account] });

/** One admin change: skipped when `done`, sent when the deployer is still admin, else proposed. */
interface Step {
  readonly label: string;
  readonly target: Address;
  readonly data: Hex;
  readonly done: () => Promise<boolean>;
}

async function ensure(s: Session, step: Step): Promise<void> {
  if (await step.done()) return;
  if (await hasRole(s, step.target, ROLES.DEFAULT_ADMIN, s.deployer)) return send(s, step.label, step.target, step.data);
  const timelock = at(s, "timelock");
  const delay = await s.publicClient.readContract({ address: timelock, abi: timelockAbi, functionName: "getMinDelay" });
  const proposal = timelockProposal(step.label, timelock, timelockOperation(step.target, step.data), delay);
  s.proposals.push(proposal);
  s.log(`  needs the timelock (the deployer is not admin of ${step.target}): ${step.label}, operation ${proposal.id}`);
}

function grant(s: Session, target: ContractKey, role: Hex, account: Address, who: string): Promise<void> {
  const address = at(s, target);
  return ensure(s, {
    label: `grant ${roleName(role)} on ${target} to ${who} ${account}`,
    target: address,
    data: encodeFunctionData({ abi: governedAbi, functionName: "grantRole", args: [role, account] }),
    done: () => hasRole(s, address, role, account),
  });
}

/** Deep equality of read values, with bigints as decimals and addresses in any case. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : typeof v === "string" ? v.toLowerCase() : v));
const same = (a: unknown, b: unknown): boolean => canonical(a) === canonical(b);

/** Sets a value when `read` differs from `want`. */
function setting(s: Session, target: ContractKey, label: string, read: () => Promise<unknown>, want: unknown, data: Hex) {
  return ensure(s, { label: `${target}: ${label}`, target: at(s, target), data, done: async () => same(await read(), want) });
}

// ───────────────────────────── modules ─────────────────────────────

async function deploySafe(s: Session): Promise<Address> {
  const cfg = s.config.safe;
  if (cfg.address !== undefined) {
    if (!(await hasCode(s, cfg.address))) throw new Error(`SAFE_ADDRESS ${cfg.address} has no code`);
    s.addresses.safe = cfg.address;
    return cfg.address;
  }
  const existing = await reusable(s, "safe");
  if (existing !== undefined) return existing;
  const singleton = cfg.singleton ?? (await deploy(s, "safeSingleton", "Safe", []));
  const factory = cfg.factory ?? (await deploy(s, "safeProxyFactory", "SafeProxyFactory", []));
  s.addresses.safeSingleton = singleton;
  s.addresses.safeProxyFactory = factory;
  const initializer = encodeFunctionData({
    abi: safeAbi,
    functionName: "setup",
    args: [[...cfg.owners], BigInt(cfg.threshold), zeroAddress, "0x", zeroAddress, zeroAddress, 0n, zeroAddress],
  });
  const create = { address: factory, abi: safeProxyFactoryAbi, functionName: "createProxyWithNonce", args: [singleton, initializer, cfg.saltNonce] } as const;
  const { result: safe } = await s.publicClient.simulateContract({ ...create, account: s.deployer });
  await send(s, `create Safe ${cfg.threshold}-of-${cfg.owners.length} at ${safe}`, factory, encodeFunctionData(create));
  s.addresses.safe = safe;
  return safe;
}

/** A Safe's owners are changed by Safe transactions, not by the timelock: report a mismatch. */
async function checkSafe(s: Session, safe: Address): Promise<void> {
  const [owners, threshold] = await Promise.all([
    s.publicClient.readContract({ address: safe, abi: safeAbi, functionName: "getOwners" }),
    s.publicClient.readContract({ address: safe, abi: safeAbi, functionName: "getThreshold" }),
  ]);
  const sorted = (list: readonly Address[]) => list.map((a) => a.toLowerCase()).sort();
  if (!same(sorted(owners), sorted(s.config.safe.owners)) || threshold !== BigInt(s.config.safe.threshold)) {
    s.log(`  WARNING: Safe ${safe} has ${threshold}-of-[${owners.join(", ")}], not the configured owners; change them with Safe transactions`);
  }
}

async function governance(s: Session): Promise<void> {
  const safe = await deploySafe(s);
  await checkSafe(s, safe);
  const delay = s.config.timelockDelay;
  const timelock = await deploy(s, "timelock", "CxpProxyAdmin", [delay, [safe], [safe]]);
  const minDelay = () => s.publicClient.readContract({ address: timelock, abi: timelockAbi, functionName: "getMinDelay" });
  await setting(s, "timelock", `delay ${delay} s`, minDelay, delay,
    encodeFunctionData({ abi: timelockAbi, functionName: "updateDelay", args: [delay] }));
  for (const role of [ROLES.PROPOSER, ROLES.EXECUTOR, ROLES.CANCELLER]) await grant(s, "timelock", role, safe, "Safe");
}

/** The configured sanctions oracle (the mock deployed once per run), undefined for none. */
async function sanctionsOracle(s: Session): Promise<Address | undefined> {
  const oracle = s.config.sanctionsOracle;
  if (oracle !== "mock") return oracle === undefined ? undefined : (s.addresses.sanctionsOracle = oracle);
  return s.addresses.sanctionsOracle ?? deploy(s, "sanctionsOracle", "SanctionsListMock", []);
}

const screeningAbi = parseAbi(["function sanctionsOracle() view returns (address)", "function setSanctionsOracle(address oracle)"]);

/** Points `target`'s sanctions screening (the Vault's payers, the distributor's claimants) at the configured oracle. */
async function screening(s: Session, target: "vault" | "distributor"): Promise<void> {
  const oracle = await sanctionsOracle(s);
  if (oracle === undefined) return;
  const address = at(s, target);
  await setting(s, target, `sanctions oracle ${oracle}`, () => s.publicClient.readContract({ address, abi: screeningAbi, functionName: "sanctionsOracle" }),
    oracle, encodeFunctionData({ abi: screeningAbi, functionName: "setSanctionsOracle", args: [oracle] }));
}

const distributionOf = (s: Session): Address => (s.config.distribution === "safe" ? at(s, "safe") : s.config.distribution);

const MODULES: Record<Tag, (s: Session) => Promise<void>> = {
  async cxpt(s) {
    await deployProxy(s, "cxpt", [s.deployer, distributionOf(s)]);
  },

  async distributor(s) {
    const { split } = s.config.economics;
    const forwarder = await deploy(s, "forwarder", "CxpForwarder", []);
    const address = await deployProxy(s, "distributor", [s.deployer, at(s, "cxpt"), forwarder, split.protocol, split.providers, split.users]);
    const read = <F extends "split" | "trustedForwarder">(functionName: F) => () =>
      s.publicClient.readContract({ address, abi: distributorAbi, functionName });
    await setting(s, "distributor", "reward split", read("split"), [split.protocol, split.providers, split.users],
      encodeFunctionData({ abi: distributorAbi, functionName: "setSplit", args: [split.protocol, split.providers, split.users] }));
    await setting(s, "distributor", "trusted forwarder", read("trustedForwarder"), forwarder,
      encodeFunctionData({ abi: distributorAbi, functionName: "setTrustedForwarder", args: [forwarder] }));
    const { minDuration, maxDuration, reviewDelay } = s.config.epochBounds;
    // The contract reads a 0 minimum as 1 s and a 0 maximum as its own MAX_EPOCH_DURATION.
    const min = minDuration === 0n ? 1n : minDuration;
    const max = maxDuration === 0n ? await s.publicClient.readContract({ address, abi: distributorAbi, functionName: "MAX_EPOCH_DURATION" }) : maxDuration;
    const bounds = async () => (await s.publicClient.readContract({ address, abi: distributorAbi, functionName: "epochBounds" })).slice(0, 3);
    await setting(s, "distributor", `epochs ${min}–${max} s, review delay ${reviewDelay} s`, bounds, [min, max, reviewDelay],
      encodeFunctionData({ abi: distributorAbi, functionName: "setEpochBounds", args: [minDuration, maxDuration, reviewDelay] }));
    await screening(s, "distributor");
    await grant(s, "distributor", ROLES.REWARDS, s.config.operators.rewards, "rewards operator");
    await grant(s, "distributor", ROLES.TREASURER, at(s, "safe"), "Safe");
    // The Safe voids a bad shares upload during its review delay directly, not through the timelock.
    await grant(s, "distributor", ROLES.GUARDIAN, at(s, "safe"), "Safe");
  },

  async vault(s) {
    const { burnBps } = s.config.economics;
    const address = await deployProxy(s, "vault", [s.deployer, at(s, "cxpt"), at(s, "distributor"), burnBps]);
    const burnRate = () => s.publicClient.readContract({ address, abi: vaultAbi, functionName: "burnBps" });
    await setting(s, "vault", `burn rate ${burnBps} bps`, burnRate, burnBps,
      encodeFunctionData({ abi: vaultAbi, functionName: "setBurnRate", args: [burnBps] }));
    await screening(s, "vault");
    await grant(s, "vault", ROLES.OPERATOR, s.config.operators.operator, "operator");
    await grant(s, "distributor", ROLES.FUNDER, address, "Vault");
  },

  async subscription(s) {
    const { overageBps, rolloverPeriod, plans, cxptUsd } = s.config.economics;
    const address = await deployProxy(s, "subscriptions", [s.deployer, at(s, "vault"), overageBps, rolloverPeriod]);
    const read = <F extends "settings" | "lastPlanId">(functionName: F) => () =>
      s.publicClient.readContract({ address, abi: subscriptionsAbi, functionName });
    const settings = read("settings");
    await setting(s, "subscriptions", `overage ${overageBps} bps`, async () => (await settings())[1], overageBps,
      encodeFunctionData({ abi: subscriptionsAbi, functionName: "setOverageBps", args: [overageBps] }));
    await setting(s, "subscriptions", `rollover ${rolloverPeriod} s`, async () => (await settings())[2], rolloverPeriod,
      encodeFunctionData({ abi: subscriptionsAbi, functionName: "setRolloverPeriod", args: [rolloverPeriod] }));
    for (const [i, plan] of plans.entries()) {
      const planId = BigInt(i + 1);
      const want = onchainPlan(plan, cxptUsd);
      const exists = async () => (await read("lastPlanId")()) >= planId;
      await ensure(s, (await exists())
        ? {
            label: `subscriptions: update plan ${planId} (${plan.name})`,
            target: address,
            data: encodeFunctionData({ abi: subscriptionsAbi, functionName: "updatePlan", args: [planId, want] }),
            done: async () => same(await s.publicClient.readContract({ address, abi: subscriptionsAbi, functionName: "planOf", args: [planId] }), want),
          }
        : {
            label: `subscriptions: create plan ${planId} (${plan.name}, ${plan.usd} USD = ${want.price} wei)`,
            target: address,
            data: encodeFunctionData({ abi: subscriptionsAbi, functionName: "createPlan", args: [want] }),
            done: exists,
          });
    }
    await grant(s, "subscriptions", ROLES.OPERATOR, s.config.operators.operator, "operator");
    await grant(s, "subscriptions", ROLES.BILLING, s.config.operators.billing, "billing backend");
    await grant(s, "vault", ROLES.COLLECTOR, address, "SubscriptionManager");
    await grant(s, "vault", ROLES.DEPOSIT_CONSUMER, address, "SubscriptionManager");
  },

  async billing(s) {
    const address = await deployProxy(s, "billing", [s.deployer, at(s, "vault")]);
    const window = s.config.challengeWindow;
    await setting(s, "billing", `challenge window ${window} s`, () => s.publicClient.readContract({ address, abi: billingAbi, functionName: "challengeWindow" }), window,
      encodeFunctionData({ abi: billingAbi, functionName: "setChallengeWindow", args: [window] }));
    await grant(s, "billing", ROLES.SETTLER, s.config.operators.settler, "settler");
    // The Safe cancels a wrong batch during its challenge window directly, not through the timelock's delay.
    await grant(s, "billing", ROLES.GUARDIAN, at(s, "safe"), "Safe");
    await grant(s, "vault", ROLES.COLLECTOR, address, "UsageBilling");
  },
};

/** The timelock becomes admin of every proxy and the deployer renounces: no other upgrade path. */
async function handOver(s: Session): Promise<void> {
  const timelock = at(s, "timelock");
  for (const key of PROXY_KEYS) {
    const proxy = s.addresses[key] ?? (await reusable(s, key));
    if (proxy === undefined) continue;
    await grant(s, key, ROLES.DEFAULT_ADMIN, timelock, "timelock");
    if (await hasRole(s, proxy, ROLES.DEFAULT_ADMIN, s.deployer)) {
      await send(s, `${key}: deployer renounces DEFAULT_ADMIN_ROLE`, proxy,
        encodeFunctionData({ abi: governedAbi, functionName: "renounceRole", args: [ROLES.DEFAULT_ADMIN, s.deployer] }));
    }
  }
}

async function record(s: Session, network: string, existing?: SuiteDeployment): Promise<SuiteDeployment> {
  const contracts: Partial<Record<ContractKey, Address>> = {};
  for (const key of CONTRACT_KEYS) {
    const address = s.addresses[key] ?? (await reusable(s, key));
    if (address !== undefined) contracts[key] = address;
  }
  const implementations: Partial<Record<ProxyKey, Address>> = {};
  for (const key of PROXY_KEYS) {
    const proxy = contracts[key];
    if (proxy !== undefined) implementations[key] = await implementationOf(s.publicClient, proxy);
  }
  const blocks = [s.reusedRecorded ? existing?.deploymentBlock : undefined, s.firstBlock === undefined ? undefined : Number(s.firstBlock)];
  const known = blocks.filter((b): b is number => b !== undefined);
  const deploymentBlock = known.length > 0 ? Math.min(...known) : Number(await s.publicClient.getBlockNumber());
  return { network, chainId: await s.publicClient.getChainId(), deploymentBlock, contracts, implementations };
}

/** Deploys and wires the suite for `options.tags` (see the file comment). */
export async function deploySuite(clients: DeployClients, options: DeployOptions): Promise<DeployResult> {
  const { publicClient, wallet } = clients;
  const log = options.log ?? (() => {});
  const tags = resolveTags(options.tags);
  const chainId = await publicClient.getChainId();
  const existing = options.existing?.chainId === chainId ? options.existing : undefined;
  if (options.existing !== undefined && existing === undefined) log(`ignoring the recorded deployment for chain ${options.existing.chainId}`);
  const s: Session = {
    publicClient,
    wallet,
    deployer: wallet.account.address,
    config: options.config,
    log,
    artifactsRoot: options.artifactsRoot,
    recorded: { ...existing?.contracts },
    addresses: {},
    proposals: [],
    transactions: 0,
    reusedRecorded: false,
  };
  log(`deploying [${tags.join(", ")}] to ${options.network} (chain ${chainId}) from ${s.deployer}`);
  await governance(s);
  for (const tag of tags) await MODULES[tag](s);
  await handOver(s);
  const deployment = await record(s, options.network, existing);
  log(`done: ${s.transactions} transaction(s), ${s.proposals.length} timelock proposal(s) to carry out`);
  return { deployment, tags, proposals: s.proposals, transactions: s.transactions };
}
