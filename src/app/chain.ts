// Connects the backend to the chain: a public client, the suite's addresses (configured ones over
// the recorded deployment for the chain id), and one wallet client per backend key. Before the
// backend trusts the chain, the deployment is validated: code, identities, wiring and roles.
import { createPublicClient, createWalletClient, type Address, type Hex, type PublicClient, type Transport } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { deploymentFor } from "../chain/addresses.ts";
import type { ContractKey } from "../chain/types.ts";
import { addressEnvName, type AppConfig } from "../config/config.ts";
import { AppError } from "../errors.ts";
import { assertStageChain, type Stage } from "../stage/stage.ts";
import { assertValidDeployment, validateDeployment, type DeploymentToValidate, type ValidationReport } from "../stage/validate.ts";
import { chainAt } from "../chain/chains.ts";
import { rpcTransport } from "../chain/transport.ts";
import type { Signer } from "../chain/send.ts";

export type { Signer };

const SUITE = ["cxpt", "vault", "distributor", "subscriptions", "billing", "forwarder", "safe", "timelock"] as const;

export type SuiteAddresses = Readonly<Record<(typeof SUITE)[number], Address>> & Readonly<Partial<Record<ContractKey, Address>>>;

/** The backend's signers, one per key it was given. */
export interface Signers {
  readonly operator?: Signer;
  readonly billing?: Signer;
  readonly settler?: Signer;
  readonly rewards?: Signer;
  readonly relayer?: Signer;
  /** The testnet faucet's key (src/faucet). */
  readonly faucet?: Signer;
  readonly safeOwners: readonly Signer[];
}

export interface ChainContext {
  readonly client: PublicClient;
  readonly chainId: number;
  readonly addresses: SuiteAddresses;
  readonly signers: Signers;
}

export interface ConnectOptions {
  /** How to reach the chain; HTTP to RPC_URL with retries and a timeout by default (tests pass an in-process provider). */
  readonly transport?: Transport;
  /** Addresses that take precedence over the configuration (the local stack's own deployment). */
  readonly addresses?: Readonly<Partial<Record<ContractKey, Address>>>;
  /** The block those addresses were deployed in: where the indexer starts (found on chain when unknown). */
  readonly deploymentBlock?: bigint;
}

function suiteAddresses(found: Readonly<Partial<Record<ContractKey, Address>>>, chainId: number): SuiteAddresses {
  const missing = SUITE.filter((key) => found[key] === undefined);
  if (missing.length > 0) {
    throw new AppError(
      "INVALID_DEPLOYMENT",
      `no address for ${missing.join(", ")} on chain ${chainId}: set ${missing.map(addressEnvName).join(", ")} or record a deployment`,
      422,
    );
  }
  return found as SuiteAddresses;
}

/** The configured chain opened, before anything is trusted: what connecting and checking share. */
interface OpenedChain {
  readonly client: PublicClient;
  readonly chainId: number;
  /** The addresses configured or recorded for the chain id, possibly incomplete. */
  readonly found: Readonly<Partial<Record<ContractKey, Address>>>;
  readonly signers: Signers;
}

async function openChain(config: AppConfig, options: ConnectOptions): Promise<OpenedChain> {
  const transport = options.transport ?? rpcTransport(config.chain.rpcUrl);
  const probe = createPublicClient({ transport });
  const chainId = await probe.getChainId();
  if (config.chain.chainId !== undefined && config.chain.chainId !== chainId) {
    throw new AppError("INVALID_CONFIG", `CHAIN_ID is ${config.chain.chainId} but the RPC serves chain ${chainId}`, 500);
  }
  const chain = chainAt(chainId, config.chain.rpcUrl ?? "http://127.0.0.1:8545");
  const client = createPublicClient({ chain, transport, pollingInterval: 500 }) as PublicClient;
  const found = { ...deploymentFor(chainId)?.contracts, ...config.chain.addresses, ...options.addresses };

  const signer = (key: Hex | undefined): Signer | undefined =>
    key === undefined ? undefined : createWalletClient({ chain, transport, account: privateKeyToAccount(key) });
  const { keys } = config.chain;
  const signers: Signers = {
    operator: signer(keys.operator),
    billing: signer(keys.billing),
    settler: signer(keys.settler),
    rewards: signer(keys.rewards),
    relayer: signer(keys.relayer),
    faucet: signer(keys.faucet),
    safeOwners: keys.safeOwners.map((k) => signer(k)!),
  };
  return { client, chainId, found, signers };
}

/** What validating `opened` for `stage` checks: its addresses and the backend's keys. */
function deploymentOf(opened: OpenedChain, stage: Stage): DeploymentToValidate {
  const { signers } = opened;
  const address = (s: Signer | undefined) => s?.account.address as Address;
  return {
    chainId: opened.chainId,
    stage,
    addresses: opened.found,
    backend: {
      operator: address(signers.operator),
      billing: address(signers.billing),
      settler: address(signers.settler),
      rewards: address(signers.rewards),
      ...(signers.relayer ? { relayer: signers.relayer.account.address } : {}),
    },
  };
}

/** Connects to the configured chain and validates the deployment for `stage`; throws naming every problem. */
export async function connectChain(config: AppConfig, stage: Stage, options: ConnectOptions = {}): Promise<ChainContext> {
  const opened = await openChain(config, options);
  const { client, chainId, signers } = opened;
  assertStageChain(stage, chainId);
  const addresses = suiteAddresses(opened.found, chainId);
  await assertValidDeployment(client, deploymentOf(opened, stage));
  return { client, chainId, addresses, signers };
}

/**
 * Validates the configured chain's deployment for `stage` the way connectChain does, without
 * connecting the backend: the report names every check and its result. Throws only when the chain
 * cannot be opened (unreachable, or CHAIN_ID does not match the RPC: 500 `INVALID_CONFIG`).
 */
export async function checkChain(config: AppConfig, stage: Stage, options: ConnectOptions = {}): Promise<ValidationReport> {
  const opened = await openChain(config, options);
  return validateDeployment(opened.client, deploymentOf(opened, stage));
}
