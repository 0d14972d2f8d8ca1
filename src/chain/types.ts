import type { Address } from "viem";

/** The five upgradeable contracts of the suite, each behind an ERC1967 (UUPS) proxy. */
export type ProxyKey = "cxpt" | "distributor" | "vault" | "subscriptions" | "billing";

/** Every contract a deployment records. */
export type ContractKey =
  | ProxyKey
  | "safeSingleton"
  | "safeProxyFactory"
  | "safe"
  | "timelock"
  | "forwarder"
  | "sanctionsOracle";

/** Where the suite lives on one chain, as `scripts/deploy.ts` writes it under `src/chain/addresses/`. */
export interface SuiteDeployment {
  readonly network: string;
  readonly chainId: number;
  /** The block of the deployment's first transaction: where indexers start. */
  readonly deploymentBlock: number;
  /** Proxy addresses for the upgradeable contracts, plain addresses for the rest. Tags deploy subsets. */
  readonly contracts: Readonly<Partial<Record<ContractKey, Address>>>;
  /** The implementation behind each proxy when the file was written. */
  readonly implementations: Readonly<Partial<Record<ProxyKey, Address>>>;
}
