// The backend's configuration, read once from the environment. Every setting has an embedded
// default so `npm start` needs none; each real server is switched on by its URL.
import { isAddress, isHex, type Address, type Hex } from "viem";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { DbConfig } from "../db/db.ts";
import type { ContractKey } from "../chain/types.ts";
import { parseStage, type Phase, type Stage } from "../stage/stage.ts";
import { parseAllowList } from "../providers/allow.ts";
import type { ProvidersConfig } from "../providers/index.ts";

/** The repository root: the built dashboards are found from here, whatever the working directory. */
const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export type { Phase, Stage };

/** Private keys of the backend's own accounts; each one holds exactly the role its name says. */
export interface BackendKeys {
  /** Vault + SubscriptionManager OPERATOR_ROLE: fiat-path deposits and activations. */
  readonly operator?: Hex;
  /** SubscriptionManager BILLING_ROLE: draws subscription buckets (settlement jobs). */
  readonly billing?: Hex;
  /** UsageBilling SETTLER_ROLE: commits and collects PAYG batches (settlement jobs). */
  readonly settler?: Hex;
  /** RewardDistributor REWARDS_ROLE: uploads shares and starts epochs. */
  readonly rewards?: Hex;
  /** Pays gas for gasless claims through the trusted forwarder. */
  readonly relayer?: Hex;
  /** Holds the testnet faucet's CXPT and gas money; used by nothing else (src/faucet). */
  readonly faucet?: Hex;
  /** Safe owners the backend may sign with (local development only; production proposes). */
  readonly safeOwners: readonly Hex[];
}

export interface ChainConfig {
  readonly stage: Stage;
  readonly phase: Phase;
  /** Where the chain is; undefined with the chain off. */
  readonly rpcUrl: string | undefined;
  readonly chainId: number | undefined;
  /** Contract addresses from the environment; missing ones come from src/chain/addresses by chain id. */
  readonly addresses: Readonly<Partial<Record<ContractKey, Address>>>;
  readonly keys: BackendKeys;
  /** Blocks a deposit needs on top of its own before it is credited. */
  readonly confirmations: number;
}

export interface AppConfig {
  readonly host: string;
  readonly port: number;
  /** Local state of the embedded stand-ins (PGlite, metering journal, local chain). */
  readonly dataDir: string;
  readonly database: DbConfig;
  /** Redis for the metering hot path; the embedded store when undefined. */
  readonly redisUrl: string | undefined;
  readonly redisPrefix: string;
  readonly chain: ChainConfig;
  /** CXPT/USD: a fixed decimal rate, or a JSON price endpoint the admin configures. */
  readonly price: { readonly cxptUsd: string; readonly sourceUrl: string | undefined; readonly jsonPath: string };
  /** The origin SIWE messages must name (EIP-4361 domain + uri). */
  readonly siwe: { readonly domain: string; readonly uri: string };
  readonly sessionTtlSeconds: number;
  /** How often metered usage moves from the hot store into PostgreSQL. */
  readonly drainIntervalMs: number;
  /** How long the gate trusts a cached account before refreshing it. */
  readonly gateTtlMs: number;
  /** The compute gateway: PAYG accounts' limits, how long a hold outlives a dead instance, upstream timeouts. */
  readonly gateway: GatewayConfig;
  /** The 0x Swap API for the fiat path (selling `sellToken`, a USD stablecoin); the local development swap when unset. */
  readonly zeroEx: { readonly apiUrl: string; readonly apiKey: string; readonly sellToken: Address } | undefined;
  /** An external relayer (Biconomy-style) for gasless claims; the local relayer key when unset. */
  readonly relayerUrl: string | undefined;
  readonly relayerApiKey: string | undefined;
  readonly indexer: IndexerConfig;
  readonly jobs: JobsConfig;
  readonly monitoring: MonitoringConfig;
  /** Provider nodes (src/providers): allow-list, health checks, served work. */
  readonly providers: ProvidersConfig;
  readonly web: WebConfig;
  readonly faucet: FaucetConfig;
  /** Where the bucket and served-work counters live (src/counters). */
  readonly counters: CountersConfig;
  readonly api: ApiConfig;
}

/** COUNTER_STORE: PostgreSQL (the default) or a DynamoDB table (DYNAMODB_TABLE in AWS_REGION, or at DYNAMODB_ENDPOINT). */
export type CountersConfig =
  | { readonly store: "postgres" }
  | { readonly store: "dynamodb"; readonly table: string; readonly region: string; readonly endpoint: string | undefined };

/** The testnet faucet (src/faucet): what one request sends, and how often a wallet may ask. */
export interface FaucetConfig {
  /** CXPT per request, in wei. */
  readonly amountWei: bigint;
  /** Native gas money a wallet is topped up to per request, in wei. */
  readonly gasWei: bigint;
  /** How long a wallet waits between two requests. */
  readonly cooldownSeconds: number;
}

/** The compute gateway's limits and timeouts (src/gateway). */
export interface GatewayConfig {
  /** Requests per minute and requests in flight of an account without an active plan. */
  readonly paygRequestsPerMinute: number;
  readonly paygConcurrency: number;
  /** How long a reservation outlives an API instance that died before capturing it. */
  readonly holdMs: number;
  /** The longest a request to a provider node may run, streaming included (below holdMs). */
  readonly requestTimeoutMs: number;
  /** The longest wait for a node's first byte before trying the next node. */
  readonly connectTimeoutMs: number;
  /** max_tokens the gateway sets when a chat request gives none (the ceiling it reserves). */
  readonly defaultMaxTokens: number;
  /** Share of a node's slots (percent) PAYG requests may fill: the rest are kept for subscribers. */
  readonly paygSharePercent: number;
}

/** What the API lets one client do: timeouts, connections, request rates and per-account caps. */
export interface ApiConfig {
  /** The whole request (headers and body) must arrive within this (API_REQUEST_TIMEOUT_MS). */
  readonly requestTimeoutMs: number;
  /** The headers must arrive within this (API_HEADERS_TIMEOUT_MS). */
  readonly headersTimeoutMs: number;
  /** A connection idle this long is closed (API_IDLE_TIMEOUT_MS). */
  readonly idleTimeoutMs: number;
  /** Open connections one IP may hold (API_MAX_CONNECTIONS_PER_IP). */
  readonly maxConnectionsPerIp: number;
  /** Requests per window (RATE_LIMIT_WINDOW_MS) per IP, or per account for key creation; 0 turns a limit off. */
  readonly rateLimit: {
    readonly windowMs: number;
    /** POST /api/v1/auth/nonce per IP (RATE_LIMIT_NONCE). */
    readonly nonce: number;
    /** POST /api/v1/auth/siwe per IP (RATE_LIMIT_SIWE). */
    readonly siwe: number;
    /** POST /rpc per IP (RATE_LIMIT_RPC). */
    readonly rpc: number;
    /** POST /api/v1/keys per account (RATE_LIMIT_KEY_CREATION). */
    readonly keyCreation: number;
    /** Requests with an unknown or revoked API key per IP (RATE_LIMIT_KEY_FAILURES). */
    readonly keyFailures: number;
  };
  /** Requests in one JSON-RPC batch (RPC_MAX_BATCH). */
  readonly rpcMaxBatch: number;
  /** Blocks one eth_getLogs may span (RPC_MAX_LOG_RANGE). */
  readonly rpcMaxLogRange: number;
  /** Active API keys per account (MAX_API_KEYS). */
  readonly maxApiKeys: number;
  /** Open sessions per account; signing in beyond it ends the oldest (MAX_SESSIONS). */
  readonly maxSessions: number;
}

/** The dashboards (src/web) the API serves on its own origin. */
export interface WebConfig {
  /** The built dashboards (`npm run build:web`); WEB_DIR, dist/web by default. */
  readonly dir: string;
  /** Where the browser reads the chain; the API's own read-and-broadcast proxy (/rpc) when unset. */
  readonly publicRpcUrl: string | undefined;
  /** A block explorer's base URL for transaction links (`${explorerUrl}/tx/${hash}`); the dashboards' own receipt page when unset. */
  readonly explorerUrl: string | undefined;
  /** WalletConnect Cloud project id; the WalletConnect option is offered only with one. */
  readonly walletConnectProjectId: string | undefined;
}

/** How the chain indexer follows the suite (src/indexer). */
export interface IndexerConfig {
  /** First block to index (the deployment block); from the deployment record when unset. */
  readonly startBlock: bigint | undefined;
  /** Blocks below the head left unindexed until final enough; 12 by default, 0 on the local chain (31337). */
  readonly confirmations: number | undefined;
  readonly intervalMs: number;
  /** Blocks per eth_getLogs request. */
  readonly batchSize: number;
}

/** The scheduled jobs (src/jobs): cron patterns in UTC, intervals in ms. */
export interface JobsConfig {
  /** Whether this process runs the scheduler (every API instance may; each run happens once). */
  readonly enabled: boolean;
  /** Nightly PAYG settlement. */
  readonly settleCron: string;
  /** Daily rewards epoch. */
  readonly rewardsCron: string;
  /** Subscription bucket reconciliation. */
  readonly reconcileEveryMs: number;
  /** Balance, lag and health checks that raise alerts. */
  readonly monitorEveryMs: number;
}

/** Logs and alert thresholds (src/monitoring). */
export interface MonitoringConfig {
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  readonly logLevel: string;
  /** A backend signer (operator, billing, settler, rewards, relayer) below this many wei of gas money raises an alert. */
  readonly lowBalanceWei: bigint;
  /** Reconciliation drift above this many tokens on one pass raises an alert. */
  readonly driftAlertTokens: bigint;
  /** The indexer this many blocks behind the head raises an alert. */
  readonly indexerLagBlocks: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** ADDRESS_CXPT, ADDRESS_VAULT, …, ADDRESS_SAFE_PROXY_FACTORY: one variable per recorded contract. */
const CONTRACT_KEYS: readonly ContractKey[] = [
  "cxpt", "vault", "distributor", "subscriptions", "billing", "forwarder", "timelock", "safe",
  "safeSingleton", "safeProxyFactory", "sanctionsOracle",
];
export const addressEnvName = (contract: ContractKey): string =>
  "ADDRESS_" + contract.replace(/[A-Z]/g, (c) => "_" + c).toUpperCase();

const int = (env: Env, name: string, fallback: number, min = 0): number => {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new ConfigError(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return value;
};

const wei = (env: Env, name: string, fallback: bigint): bigint => {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number (wei), got "${raw}"`);
  return BigInt(raw);
};

const onOff = (env: Env, name: string, fallback: boolean): boolean => {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (raw === "on" || raw === "1" || raw === "true") return true;
  if (raw === "off" || raw === "0" || raw === "false") return false;
  throw new ConfigError(`${name} must be on or off, got "${raw}"`);
};

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

const key = (env: Env, name: string): Hex | undefined => {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  if (!isHex(raw) || raw.length !== 66) throw new ConfigError(`${name} must be a 32-byte hex private key`);
  return raw;
};


function sellToken(env: Env): Address {
  const raw = env.ZEROEX_SELL_TOKEN;
  if (raw === undefined || !isAddress(raw)) throw new ConfigError(`ZEROEX_API_KEY needs ZEROEX_SELL_TOKEN, the address of the USD stablecoin the operator sells (got "${raw ?? ""}")`);
  return raw;
}

function parseAddresses(env: Env): Partial<Record<ContractKey, Address>> {
  const addresses: Partial<Record<ContractKey, Address>> = {};
  for (const contract of CONTRACT_KEYS) {
    const name = addressEnvName(contract);
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    if (!isAddress(raw)) throw new ConfigError(`${name} is not an address: "${raw}"`);
    addresses[contract] = raw;
  }
  return addresses;
}

function logLevel(env: Env): string {
  const raw = env.LOG_LEVEL ?? "info";
  if (!LOG_LEVELS.includes(raw)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got "${raw}"`);
  return raw;
}

function counters(env: Env): CountersConfig {
  const store = env.COUNTER_STORE || "postgres";
  if (store === "postgres") return { store };
  if (store !== "dynamodb") throw new ConfigError(`COUNTER_STORE must be postgres or dynamodb, got "${store}"`);
  const table = env.DYNAMODB_TABLE;
  if (!table) throw new ConfigError("COUNTER_STORE=dynamodb needs DYNAMODB_TABLE, the counters table's name");
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(table)) throw new ConfigError(`DYNAMODB_TABLE is not a DynamoDB table name: "${table}"`);
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (!region) throw new ConfigError("COUNTER_STORE=dynamodb needs AWS_REGION (e.g. eu-central-1)");
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region) && !env.DYNAMODB_ENDPOINT) throw new ConfigError(`AWS_REGION is not an AWS region: "${region}"`);
  const endpoint = env.DYNAMODB_ENDPOINT || undefined;
  if (endpoint !== undefined && !URL.canParse(endpoint)) throw new ConfigError(`DYNAMODB_ENDPOINT is not a URL: "${endpoint}"`);
  return { store, table, region, endpoint };
}

function allowList(env: Env): string[] | undefined {
  try {
    return parseAllowList(env.PROVIDER_NODE_ALLOW);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/** The configuration from `env` (process.env by default). Throws ConfigError naming the bad setting. */
export function loadConfig(env: Env = process.env): AppConfig {
  const dataDir = resolve(env.CXPT_DATA_DIR ?? ".data");
  // The chain is off unless configured: a backend never bills in CXPT by accident.
  const { stage, phase } = parseStage(env);
  const rpcUrl = env.RPC_URL || undefined;
  if (stage !== "off" && rpcUrl === undefined) throw new ConfigError(`CHAIN_STAGE=${stage} needs RPC_URL`);
  const port = int(env, "PORT", 8787);
  const host = env.HOST ?? "127.0.0.1";
  // The address the banner prints, so a sign-in message names the same host as the page it came from.
  const publicUrl = env.PUBLIC_URL ?? `http://${host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host}:${port}`;
  const zeroExKey = env.ZEROEX_API_KEY;
  return {
    host,
    port,
    dataDir,
    // DATABASE_URL=memory keeps PGlite in memory (tests, benchmarks).
    database: env.DATABASE_URL
      ? env.DATABASE_URL === "memory"
        ? { dataDir: undefined }
        : { url: env.DATABASE_URL }
      : { dataDir: join(dataDir, "pg") },
    redisUrl: env.REDIS_URL || undefined,
    redisPrefix: env.REDIS_PREFIX ?? "cxpt:",
    chain: {
      stage,
      phase,
      rpcUrl,
      chainId: env.CHAIN_ID ? int(env, "CHAIN_ID", 0, 1) : undefined,
      addresses: parseAddresses(env),
      keys: {
        operator: key(env, "OPERATOR_PRIVATE_KEY"),
        billing: key(env, "BILLING_PRIVATE_KEY"),
        settler: key(env, "SETTLER_PRIVATE_KEY"),
        rewards: key(env, "REWARDS_PRIVATE_KEY"),
        relayer: key(env, "RELAYER_PRIVATE_KEY"),
        faucet: key(env, "FAUCET_PRIVATE_KEY"),
        safeOwners: (env.SAFE_OWNER_KEYS ?? "")
          .split(",")
          .map((k) => k.trim())
          .filter(Boolean)
          .map((k, i) => key({ [`SAFE_OWNER_KEYS[${i}]`]: k }, `SAFE_OWNER_KEYS[${i}]`) as Hex),
      },
      confirmations: int(env, "DEPOSIT_CONFIRMATIONS", 0),
    },
    price: { cxptUsd: env.CXPT_USD ?? "0.10", sourceUrl: env.PRICE_SOURCE_URL || undefined, jsonPath: env.PRICE_SOURCE_PATH ?? "price" },
    siwe: { domain: new URL(publicUrl).host, uri: publicUrl },
    sessionTtlSeconds: int(env, "SESSION_TTL_SECONDS", 7 * 24 * 3600, 60),
    drainIntervalMs: int(env, "DRAIN_INTERVAL_MS", 250, 10),
    gateTtlMs: int(env, "GATE_TTL_MS", 30_000, 100),
    gateway: gatewayConfig(env),
    zeroEx: zeroExKey ? { apiUrl: env.ZEROEX_API_URL ?? "https://api.0x.org", apiKey: zeroExKey, sellToken: sellToken(env) } : undefined,
    relayerUrl: env.RELAYER_URL || undefined,
    relayerApiKey: env.RELAYER_API_KEY || undefined,
    web: {
      dir: resolve(env.WEB_DIR || join(PROJECT_ROOT, "dist", "web")),
      publicRpcUrl: env.PUBLIC_RPC_URL || undefined,
      explorerUrl: env.EXPLORER_URL ? env.EXPLORER_URL.replace(/\/+$/, "") : undefined,
      walletConnectProjectId: env.WALLETCONNECT_PROJECT_ID || undefined,
    },
    indexer: {
      startBlock: env.INDEXER_START_BLOCK ? wei(env, "INDEXER_START_BLOCK", 0n) : undefined,
      confirmations: env.INDEXER_CONFIRMATIONS ? int(env, "INDEXER_CONFIRMATIONS", 0) : undefined,
      intervalMs: int(env, "INDEXER_INTERVAL_MS", 2_000, 50),
      batchSize: int(env, "INDEXER_BATCH_SIZE", 2_000, 1),
    },
    jobs: {
      enabled: onOff(env, "JOBS", true),
      settleCron: env.SETTLE_CRON ?? "0 2 * * *",
      rewardsCron: env.REWARDS_CRON ?? "0 0 * * *",
      reconcileEveryMs: int(env, "RECONCILE_EVERY_MS", 300_000, 1_000),
      monitorEveryMs: int(env, "MONITOR_EVERY_MS", 60_000, 1_000),
    },
    providers: {
      allow: allowList(env),
      healthEveryMs: int(env, "PROVIDER_HEALTH_EVERY_MS", 15_000),
      healthTimeoutMs: int(env, "PROVIDER_HEALTH_TIMEOUT_MS", 5_000, 100),
      healthRetentionDays: int(env, "PROVIDER_HEALTH_RETENTION_DAYS", 8, 2),
      refreshEveryMs: int(env, "PROVIDER_REFRESH_MS", 5_000),
      servedFlushMs: int(env, "PROVIDER_SERVED_FLUSH_MS", 1_000, 10),
    },
    monitoring: {
      logLevel: logLevel(env),
      lowBalanceWei: wei(env, "ALERT_LOW_BALANCE_WEI", 100_000_000_000_000_000n),
      driftAlertTokens: wei(env, "ALERT_DRIFT_TOKENS", 1_000n),
      indexerLagBlocks: int(env, "ALERT_INDEXER_LAG_BLOCKS", 50, 1),
    },
    faucet: {
      amountWei: wei(env, "FAUCET_AMOUNT_WEI", 1_000n * 10n ** 18n),
      gasWei: wei(env, "FAUCET_GAS_WEI", 10n ** 16n),
      cooldownSeconds: int(env, "FAUCET_COOLDOWN_SECONDS", 24 * 3600, 1),
    },
    counters: counters(env),
    api: {
      requestTimeoutMs: int(env, "API_REQUEST_TIMEOUT_MS", 30_000, 100),
      headersTimeoutMs: int(env, "API_HEADERS_TIMEOUT_MS", 10_000, 100),
      idleTimeoutMs: int(env, "API_IDLE_TIMEOUT_MS", 30_000, 100),
      maxConnectionsPerIp: int(env, "API_MAX_CONNECTIONS_PER_IP", 64, 1),
      rateLimit: {
        windowMs: int(env, "RATE_LIMIT_WINDOW_MS", 60_000, 100),
        nonce: int(env, "RATE_LIMIT_NONCE", 60),
        siwe: int(env, "RATE_LIMIT_SIWE", 30),
        rpc: int(env, "RATE_LIMIT_RPC", 1_200),
        keyCreation: int(env, "RATE_LIMIT_KEY_CREATION", 10),
        keyFailures: int(env, "RATE_LIMIT_KEY_FAILURES", 30),
      },
      rpcMaxBatch: int(env, "RPC_MAX_BATCH", 50, 1),
      rpcMaxLogRange: int(env, "RPC_MAX_LOG_RANGE", 10_000, 1),
      maxApiKeys: int(env, "MAX_API_KEYS", 25, 1),
      maxSessions: int(env, "MAX_SESSIONS", 10, 1),
    },
  };
}

function gatewayConfig(env: Env): GatewayConfig {
  const holdMs = int(env, "GATEWAY_HOLD_MS", 10 * 60_000, 1_000);
  const requestTimeoutMs = int(env, "GATEWAY_REQUEST_TIMEOUT_MS", 5 * 60_000, 100);
  if (requestTimeoutMs >= holdMs)
    throw new ConfigError(`GATEWAY_REQUEST_TIMEOUT_MS (${requestTimeoutMs}) must be below GATEWAY_HOLD_MS (${holdMs}): a hold must outlive every request`);
  const paygSharePercent = int(env, "GATEWAY_PAYG_SHARE_PERCENT", 75, 1);
  if (paygSharePercent > 100) throw new ConfigError("GATEWAY_PAYG_SHARE_PERCENT must be 1–100");
  return {
    paygRequestsPerMinute: int(env, "PAYG_REQUESTS_PER_MINUTE", 60, 1),
    paygConcurrency: int(env, "PAYG_CONCURRENCY", 4, 1),
    holdMs,
    requestTimeoutMs,
    connectTimeoutMs: int(env, "GATEWAY_CONNECT_TIMEOUT_MS", 10_000, 50),
    defaultMaxTokens: int(env, "GATEWAY_DEFAULT_MAX_TOKENS", 1_024, 1),
    paygSharePercent,
  };
}
