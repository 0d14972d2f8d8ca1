// Builds the backend from its configuration: the database (migrated), the runtime stage, the
// chain (validated) and the billing hot path. One call for the server, the jobs and the tests.
import type { AppConfig } from "../config/config.ts";
import { openCounters, servedWorkRecorder, type CounterStore } from "../counters/index.ts";
import { openDb } from "../db/db.ts";
import { migrate } from "../db/migrate.ts";
import { createMonitor, type Logger } from "../monitoring/index.ts";
import { openBilling } from "./billing.ts";
import { connectChain, type ConnectOptions } from "./chain.ts";
import { closeAll } from "./close.ts";
import type { AppContext, RuntimeStage } from "./context.ts";
import { loadStage } from "./settings.ts";
import { followChain, type Follower } from "../indexer/follow.ts";
import { LOCAL_CHAIN_ID } from "../chain/chains.ts";
import { openProviders, type Providers } from "../providers/index.ts";

export interface App extends AppContext {
  /** Stops background work, drains what is metered and closes every connection. */
  close(): Promise<void>;
}

/** How to reach the chain (instead of RPC_URL and the configured addresses), and: */
export interface CreateOptions extends ConnectOptions {
  /** The logger to use instead of one at LOG_LEVEL on standard output. */
  readonly log?: Logger;
  /** Follow the chain with the indexer and check provider nodes (default true; one-off commands turn it off). */
  readonly follow?: boolean;
}

export async function createApp(config: AppConfig, options: CreateOptions = {}): Promise<App> {
  const { log, follow, ...connectOptions } = options;
  const db = await openDb(config.database);
  let counters: CounterStore | undefined;
  try {
    await migrate(db);
    // Checked before anything else starts: a missing table or unreachable endpoint refuses the start.
    counters = await openCounters(config.counters, db);
    const monitor = createMonitor(db, { logLevel: config.monitoring.logLevel, ...(log ? { log } : {}) });
    const stage: RuntimeStage = await loadStage(db, { stage: config.chain.stage, phase: config.chain.phase });
    const chain = stage.stage === "off" ? undefined : await connectChain(config, stage.stage, connectOptions);
    const persistent = "url" in config.database || config.database.dataDir !== undefined;
    // Billing reads the chain through the app, since the admin's stage switch may connect or drop it.
    const built: { app?: App } = {};
    const billing = await openBilling({
      config,
      db,
      stage,
      chain: () => (built.app ? built.app.chain : chain),
      dataDir: persistent ? config.dataDir : undefined,
      counters,
      log: monitor.log,
    });
    // Development (stage off, or the local chain) keeps node calls on loopback unless the operator allows more.
    // One-off commands (follow: false) run no background node checks or reloads either.
    const background = follow !== false;
    const providersConfig = background ? config.providers : { ...config.providers, healthEveryMs: 0, refreshEveryMs: 0 };
    const opened = await openProviders(db, providersConfig, {
      paygShare: config.gateway.paygSharePercent / 100,
      development: () => {
        const current = built.app ?? { stage, chain };
        return current.stage.stage === "off" || current.chain?.chainId === LOCAL_CHAIN_ID;
      },
      log: monitor.log,
      metrics: monitor.metrics.registry,
    });
    // With COUNTER_STORE=dynamodb served work is counted in DynamoDB.
    const providers: Providers = counters.kind === "dynamodb" ? { ...opened, served: servedWorkRecorder(counters, monitor.log) } : opened;
    const app: App = (built.app = {
      config,
      db,
      stage,
      chain,
      connectOptions,
      billing,
      counters,
      monitor,
      providers,
      async chainChanged() {
        billing.chainChanged();
        await follower?.restart();
      },
      close: () => closeAll([() => follower?.stop(), () => providers.close(), () => billing.close(), () => counters!.close(), () => db.close()]),
    });
    const follower: Follower | undefined = follow === false ? undefined : followChain(app);
    return app;
  } catch (error) {
    await counters?.close();
    await db.close();
    throw error;
  }
}
