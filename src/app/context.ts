// Everything a request handler can reach: configuration, the database, the chain, the billing
// hot path and the runtime stage. Built once by createApp (./create.ts) and passed to every route.
import type { AppConfig, Phase, Stage } from "../config/config.ts";
import type { Address, PublicClient } from "viem";
import type { ContractKey } from "../chain/types.ts";
import type { Db } from "../db/db.ts";

/** The suite's contracts the backend talks to. */
export type SuiteAddresses = Readonly<Record<"cxpt" | "vault" | "distributor" | "subscriptions" | "billing" | "forwarder", Address>> &
  Readonly<Partial<Record<ContractKey, Address>>>;

/** The chain, when the stage is not off. */
export interface ChainContext {
  readonly client: PublicClient;
  readonly chainId: number;
  readonly addresses: SuiteAddresses;
}

/** The stage the backend runs at now: starts from the configuration, switched by the admin. */
export interface RuntimeStage {
  stage: Stage;
  phase: Phase;
}

export interface AppContext {
  readonly config: AppConfig;
  readonly db: Db;
  readonly stage: RuntimeStage;
  readonly chain: ChainContext | undefined;
}
