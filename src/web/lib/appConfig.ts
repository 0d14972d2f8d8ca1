// The configuration the dashboards start from (GET /api/v1/config): stage, chain, contract
// addresses, wallet options. Loaded once before anything renders.
import { createContext, useContext } from "react";
import type { Address, Hex } from "viem";
import { apiFetch } from "./api.ts";

export type ContractName = "cxpt" | "vault" | "distributor" | "subscriptions" | "billing" | "forwarder" | "safe" | "timelock" | "sanctionsOracle";

export interface AppConfig {
  readonly stage: "off" | "testnet" | "mainnet";
  readonly phase: number;
  readonly features: Readonly<Record<string, boolean>>;
  readonly chain: {
    readonly chainId: number;
    /** Absolute, resolved against this origin. */
    readonly rpcUrl: string;
    readonly explorerUrl: string | null;
    readonly addresses: Readonly<Partial<Record<ContractName, Address>>>;
  } | null;
  readonly walletConnectProjectId: string | null;
  readonly devWallets: readonly { readonly name: string; readonly address: Address; readonly privateKey: Hex }[];
}

/** Fetches the configuration; the RPC URL is made absolute (viem needs one). */
export async function loadAppConfig(): Promise<AppConfig> {
  const config = await apiFetch<AppConfig>("/api/v1/config");
  return config.chain === null ? config : { ...config, chain: { ...config.chain, rpcUrl: new URL(config.chain.rpcUrl, window.location.origin).toString() } };
}

export const AppConfigContext = createContext<AppConfig | null>(null);

export function useAppConfig(): AppConfig {
  const config = useContext(AppConfigContext);
  if (config === null) throw new Error("useAppConfig outside <AppConfigContext>");
  return config;
}

/** The suite's address of `name`; throws when the chain is off (callers render only with a chain). */
export function useContractAddress(name: ContractName): Address {
  const address = useAppConfig().chain?.addresses[name];
  if (address === undefined) throw new Error(`no ${name} address: the chain is off`);
  return address;
}

/** Where a transaction is shown: the configured explorer, or the dashboards' own receipt page. */
export function txUrl(config: AppConfig, hash: string): string {
  return config.chain?.explorerUrl ? `${config.chain.explorerUrl}/tx/${hash}` : `/tx/${hash}`;
}
