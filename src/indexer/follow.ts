// The indexer as the app runs it: follows the connected chain from the deployment block, and on
// every change invalidates the billing gate's cache for the wallets it touched, books PAYG leaf
// outcomes into the transaction history, refreshes the mirror of passes changed on chain
// (reconciliation between the 300 s runs) and updates the lag metric. Every API instance follows:
// the cursor's compare-and-set lets one of them store each range, and each one still hears the
// events to invalidate its own gate's cache.
import type { AppContext } from "../app/context.ts";
import type { ChainContext } from "../app/chain.ts";
import { LOCAL_CHAIN_ID } from "../chain/chains.ts";
import { deploymentFor } from "../chain/addresses.ts";
import { refreshPassesOf } from "../subscriptions/follow.ts";
import { bookLeafOutcomes } from "./history.ts";
import { DEFAULT_CONFIRMATIONS, invalidateGate, startIndexer, type EventChange, type Indexer } from "./indexer.ts";
import { deploymentBlockOf } from "./start-block.ts";

export interface Follower {
  /** Follows the chain the app is connected to now (after a stage switch). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The block the suite was deployed in: configured, recorded for these addresses, or found on chain. */
export async function startBlockOf(ctx: Pick<AppContext, "config" | "connectOptions">, chain: ChainContext): Promise<bigint> {
  if (ctx.config.indexer.startBlock !== undefined) return ctx.config.indexer.startBlock;
  if (ctx.connectOptions.deploymentBlock !== undefined) return ctx.connectOptions.deploymentBlock;
  const recorded = deploymentFor(chain.chainId);
  if (recorded && recorded.contracts.cxpt?.toLowerCase() === chain.addresses.cxpt.toLowerCase()) return BigInt(recorded.deploymentBlock);
  return deploymentBlockOf(chain.client, chain.addresses.cxpt);
}

/** Confirmations before a block is indexed: configured, else none on the local chain (it never reorgs by itself). */
export const confirmationsOf = (ctx: Pick<AppContext, "config">, chainId: number): number =>
  ctx.config.indexer.confirmations ?? (chainId === LOCAL_CHAIN_ID ? 0 : DEFAULT_CONFIRMATIONS);

export function followChain(ctx: AppContext): Follower {
  const log = ctx.monitor.log.child({ component: "indexer" });
  const invalidate = invalidateGate(ctx.billing.gate);
  let indexer: Indexer | undefined;
  let failures = 0;

  const onEvents = async (change: EventChange) => {
    invalidate(change);
    await bookLeafOutcomes(ctx.db, change);
    await refreshPassesOf(ctx, change.added);
    if (change.removed.length > 0) log.warn({ removed: change.removed.length }, "reorg: indexed events rolled back");
  };
  const start = async () => {
    const chain = ctx.chain;
    if (chain === undefined) return;
    const startBlock = await startBlockOf(ctx, chain).catch((error: unknown) => {
      log.error({ err: error }, "indexer not started: the deployment block is unknown (set INDEXER_START_BLOCK)");
      return undefined;
    });
    if (startBlock === undefined) return;
    indexer = startIndexer({
      db: ctx.db,
      chain,
      startBlock,
      confirmations: confirmationsOf(ctx, chain.chainId),
      batchSize: ctx.config.indexer.batchSize,
      intervalMs: ctx.config.indexer.intervalMs,
      onEvents,
      onStep: (result) => {
        ctx.monitor.metrics.indexerLag.set(Number(result.head - result.to));
        if (failures > 0) log.info({ failures }, "indexer recovered");
        failures = 0;
      },
      // A failed step is retried on the next tick; the gate's TTL bounds how stale it gets meanwhile.
      onError: (error) => {
        failures += 1;
        log.error({ err: error, failures }, "indexer step failed");
      },
    });
  };
  let starting = start();
  return {
    async restart() {
      await starting;
      await indexer?.stop();
      indexer = undefined;
      starting = start();
      await starting;
    },
    async stop() {
      await starting;
      await indexer?.stop();
    },
  };
}
