// What a deployment sets up: who holds which role, and the default economics of
// ../../shared/PRICING.md as data (every figure stays admin-configurable on chain).
import { getAddress, isAddress, parseUnits, type Address } from "viem";

export const HOUR = 3_600n;
export const DAY = 24n * HOUR;

/** A subscription plan as published: the USD price is billed in CXPT at the configured rate. */
export interface PlanConfig {
  readonly name: string;
  readonly usd: string;
  readonly period: bigint;
  /** Tokens per period. */
  readonly bucket: bigint;
  readonly requestsPerMinute: number;
  readonly concurrency: number;
}

export interface Economics {
  readonly burnBps: bigint;
  readonly split: { readonly protocol: bigint; readonly providers: bigint; readonly users: bigint };
  readonly overageBps: bigint;
  readonly rolloverPeriod: bigint;
  /** USD per CXPT as a decimal string ("0.10"); fixed locally, from the admin's price source live. */
  readonly cxptUsd: string;
  /** Created in order: plan ids 1, 2, 3, … */
  readonly plans: readonly PlanConfig[];
}

export const DEFAULT_ECONOMICS: Economics = {
  burnBps: 500n,
  split: { protocol: 3_000n, providers: 5_500n, users: 1_500n },
  overageBps: 1_000n,
  rolloverPeriod: 90n * DAY,
  cxptUsd: "0.10",
  plans: [
    { name: "Starter", usd: "15", period: 30n * DAY, bucket: 20_000_000n, requestsPerMinute: 40, concurrency: 1 },
    { name: "Pro", usd: "69", period: 30n * DAY, bucket: 100_000_000n, requestsPerMinute: 200, concurrency: 4 },
    { name: "Scale", usd: "249", period: 30n * DAY, bucket: 600_000_000n, requestsPerMinute: 1_000, concurrency: 15 },
  ],
};

/** SubscriptionManager.Plan as the contract stores it. */
export interface OnchainPlan {
  readonly price: bigint;
  readonly period: number;
  readonly active: boolean;
  readonly bucket: bigint;
  readonly requestsPerMinute: number;
  readonly concurrency: number;
}

/** `usd` dollars in CXPT wei at `cxptUsd` dollars per CXPT (rounded down). */
export function usdToCxpt(usd: string, cxptUsd: string): bigint {
  const rate = parseUnits(cxptUsd, 18);
  if (rate <= 0n) throw new Error(`CXPT/USD rate must be positive, got ${cxptUsd}`);
  return (parseUnits(usd, 18) * 10n ** 18n) / rate;
}

export function onchainPlan(plan: PlanConfig, cxptUsd: string): OnchainPlan {
  return {
    price: usdToCxpt(plan.usd, cxptUsd),
    period: Number(plan.period),
    active: true,
    bucket: plan.bucket,
    requestsPerMinute: plan.requestsPerMinute,
    concurrency: plan.concurrency,
  };
}

export interface SafeConfig {
  readonly owners: readonly Address[];
  readonly threshold: number;
  /** An existing Safe to use instead of creating one. */
  readonly address?: Address;
  /** Existing Safe singleton and proxy factory; deployed from the npm build when absent. */
  readonly singleton?: Address;
  readonly factory?: Address;
  readonly saltNonce: bigint;
}

/** Backend keys: each gets its role on the contracts that need it. */
export interface Operators {
  /** OPERATOR_ROLE on the Vault and the SubscriptionManager. */
  readonly operator: Address;
  /** BILLING_ROLE on the SubscriptionManager. */
  readonly billing: Address;
  /** SETTLER_ROLE on UsageBilling. */
  readonly settler: Address;
  /** REWARDS_ROLE on the RewardDistributor. */
  readonly rewards: Address;
}

export interface DeployConfig {
  /** Receiver of the genesis supply; "safe" sends it to the multisig. */
  readonly distribution: Address | "safe";
  readonly safe: SafeConfig;
  /** CxpProxyAdmin minimum delay in seconds: 0 locally, 48 h on mainnet. */
  readonly timelockDelay: bigint;
  /** UsageBilling's challenge window in seconds (commit to first collection; the Safe may cancel
   * meanwhile): 0 locally, 24 h on mainnet. */
  readonly challengeWindow: bigint;
  /** RewardDistributor's epoch duration bounds (0 max: the contract's maximum) and the review delay
   * after each shares upload (the Safe may void it meanwhile): none locally; 1 h – 31 days and 12 h live. */
  readonly epochBounds: EpochBounds;
  readonly operators: Operators;
  /** Chainalysis-style oracle screening the Vault's payers and the RewardDistributor's claimants; "mock"
   * deploys SanctionsListMock; absent leaves both settings as they are (no screening on a new suite). */
  readonly sanctionsOracle?: Address | "mock";
  readonly economics: Economics;
}

export interface EpochBounds {
  readonly minDuration: bigint;
  readonly maxDuration: bigint;
  readonly reviewDelay: bigint;
}

/** Which development account plays which part on a local chain (account 0 deploys). */
export const DEV_ACCOUNTS = { safeOwners: [1, 2, 3], operator: 4, rewards: 5, billing: 6, settler: 7, distribution: 8 } as const;

/** Local chains: development keys in every part, a 2-of-3 Safe, no delay, a mock oracle. */
export function devConfig(accounts: readonly Address[]): DeployConfig {
  const at = (i: number): Address => {
    const account = accounts[i];
    if (account === undefined) throw new Error(`devConfig needs at least ${DEV_ACCOUNTS.distribution + 1} accounts`);
    return getAddress(account);
  };
  return {
    distribution: at(DEV_ACCOUNTS.distribution),
    safe: { owners: DEV_ACCOUNTS.safeOwners.map(at), threshold: 2, saltNonce: 0n },
    timelockDelay: 0n,
    challengeWindow: 0n,
    epochBounds: { minDuration: 0n, maxDuration: 0n, reviewDelay: 0n },
    operators: {
      operator: at(DEV_ACCOUNTS.operator),
      billing: at(DEV_ACCOUNTS.billing),
      settler: at(DEV_ACCOUNTS.settler),
      rewards: at(DEV_ACCOUNTS.rewards),
    },
    sanctionsOracle: "mock",
    economics: DEFAULT_ECONOMICS,
  };
}

type Env = Readonly<Record<string, string | undefined>>;

function parseAddress(value: string, name: string): Address {
  if (!isAddress(value)) throw new Error(`${name} is not an address: ${value}`);
  return getAddress(value);
}

function address(env: Env, name: string): Address | undefined {
  const value = env[name]?.trim();
  return value ? parseAddress(value, name) : undefined;
}

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined || value === "") throw new Error(`${name} must be set in the environment`);
  return value;
}

/** UsageBilling's challenge window on a live network unless CHALLENGE_WINDOW says otherwise. */
const LIVE_CHALLENGE_WINDOW = 24n * HOUR;
/** The timelock's minimum delay on a live network: TIMELOCK_DELAY seconds, 48 h when unset. */
export const LIVE_TIMELOCK_DELAY = 48n * HOUR;
/** A live network's epoch bounds unless EPOCH_MIN_DURATION / EPOCH_MAX_DURATION / REWARDS_REVIEW_DELAY say otherwise.
 * The review delay must stay shorter than the rewards job's cadence (daily): each run starts the epoch uploaded the run before. */
const LIVE_EPOCH_BOUNDS: EpochBounds = { minDuration: HOUR, maxDuration: 31n * 24n * HOUR, reviewDelay: 12n * HOUR };

function timelockDelay(env: Env): bigint {
  return seconds(env, "TIMELOCK_DELAY", LIVE_TIMELOCK_DELAY);
}

/** A whole number of seconds from the environment, `fallback` when unset. */
function seconds(env: Env, name: string, fallback: bigint): bigint {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number of seconds, got "${raw}"`);
  return BigInt(raw);
}

/**
 * Live networks: every address from the environment. Required: SAFE_OWNERS (comma-separated),
 * OPERATOR_ADDRESS, BILLING_ADDRESS, SETTLER_ADDRESS, REWARDS_ADDRESS, CXPT_USD. Optional:
 * SAFE_THRESHOLD (2), SAFE_ADDRESS, SAFE_SINGLETON, SAFE_PROXY_FACTORY, SAFE_SALT_NONCE (0),
 * DISTRIBUTION_ADDRESS (the Safe), SANCTIONS_ORACLE (none), TIMELOCK_DELAY in seconds (48 h).
 * The delay is a setting, never inferred from the network's name: a testnet deployment rehearses
 * mainnet's 48 h unless told otherwise.
 * CHALLENGE_WINDOW in seconds (UsageBilling's; 24 h by default, likewise a setting).
 * EPOCH_MIN_DURATION, EPOCH_MAX_DURATION and REWARDS_REVIEW_DELAY in seconds (1 h, 31 days, 12 h).
 */
export function envConfig(env: Env, _network: string): DeployConfig {
  const owners = required(env.SAFE_OWNERS, "SAFE_OWNERS")
    .split(",")
    .map((owner, i) => parseAddress(owner.trim(), `SAFE_OWNERS[${i}]`));
  const threshold = Number(env.SAFE_THRESHOLD ?? 2);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > owners.length) {
    throw new Error(`SAFE_THRESHOLD must be between 1 and ${owners.length}`);
  }
  const need = (name: string) => required(address(env, name), name);
  return {
    distribution: address(env, "DISTRIBUTION_ADDRESS") ?? "safe",
    safe: {
      owners,
      threshold,
      address: address(env, "SAFE_ADDRESS"),
      singleton: address(env, "SAFE_SINGLETON"),
      factory: address(env, "SAFE_PROXY_FACTORY"),
      saltNonce: BigInt(env.SAFE_SALT_NONCE ?? 0),
    },
    timelockDelay: timelockDelay(env),
    challengeWindow: seconds(env, "CHALLENGE_WINDOW", LIVE_CHALLENGE_WINDOW),
    epochBounds: {
      minDuration: seconds(env, "EPOCH_MIN_DURATION", LIVE_EPOCH_BOUNDS.minDuration),
      maxDuration: seconds(env, "EPOCH_MAX_DURATION", LIVE_EPOCH_BOUNDS.maxDuration),
      reviewDelay: seconds(env, "REWARDS_REVIEW_DELAY", LIVE_EPOCH_BOUNDS.reviewDelay),
    },
    operators: {
      operator: need("OPERATOR_ADDRESS"),
      billing: need("BILLING_ADDRESS"),
      settler: need("SETTLER_ADDRESS"),
      rewards: need("REWARDS_ADDRESS"),
    },
    sanctionsOracle: address(env, "SANCTIONS_ORACLE"),
    economics: { ...DEFAULT_ECONOMICS, cxptUsd: required(env.CXPT_USD, "CXPT_USD") },
  };
}
