// Everything a request handler can reach: configuration, the database, the chain, the billing
// hot path and the runtime stage. Built once by createApp (./create.ts) and passed to every route.
import type { AppConfig, Phase, Stage } from "../config/config.ts";
import type { Billing } from "./billing.ts";
import type { ChainContext, ConnectOptions } from "./chain.ts";
import type { CounterStore } from "../counters/counters.ts";
import type { Db } from "../db/db.ts";
import type { Monitor } from "../monitoring/index.ts";
import type { Providers } from "../providers/index.ts";

/** The stage the backend runs at now: starts from the configuration, switched by the admin. */
export interface RuntimeStage {
  stage: Stage;
  phase: Phase;
}

export interface AppContext {
  readonly config: AppConfig;
  readonly db: Db;
  readonly stage: RuntimeStage;
  /** Connected while the stage is testnet or mainnet; the admin's stage switch reconnects it. */
  chain: ChainContext | undefined;
  /** How the chain is reached (transport, addresses), for reconnecting on a stage switch. */
  readonly connectOptions: ConnectOptions;
  readonly billing: Billing;
  /** The bucket and served-work counters: PostgreSQL, or DynamoDB with COUNTER_STORE=dynamodb. */
  readonly counters: CounterStore;
  /** Logs, metrics and alerts. */
  readonly monitor: Monitor;
  /** Provider nodes: the router and served-work recorder the gateway uses, health, the allow-list. */
  readonly providers: Providers;
  /** The stage switch connected or dropped the chain: billing and the indexer follow the new one. */
  chainChanged(): Promise<void>;
}
