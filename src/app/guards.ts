// What every domain service checks before it acts: the chain is connected, the stage has the
// feature on, and the backend's own keys send one transaction sequence at a time.
import { conflict } from "../errors.ts";
import { features, requireFeature, type FeatureName } from "../stage/stage.ts";
import type { ChainContext } from "./chain.ts";
import type { AppContext } from "./context.ts";

/** The chain, or 409 `CHAIN_OFF` when the stage is off. */
export function requireChain(ctx: AppContext): ChainContext {
  if (ctx.chain === undefined) throw conflict("CHAIN_OFF", "the chain is off: switch the stage to testnet or mainnet first");
  return ctx.chain;
}

/**
 * The chain, when `feature` is on at the current stage and phase.
 * @throws AppError 409 `FEATURE_DISABLED`, or 409 `CHAIN_OFF` when the chain is not connected.
 */
export function requireChainFeature(ctx: AppContext, feature: FeatureName): ChainContext {
  requireFeature(features(ctx.stage.stage, ctx.stage.phase), feature);
  return requireChain(ctx);
}

const queues = new WeakMap<AppContext, Promise<unknown>>();

/**
 * Runs `work` after every exclusive work of this backend started before it has finished: admin
 * changes and operator transactions share the backend keys' nonces (and the Safe's).
 */
export function exclusive<T>(ctx: AppContext, work: () => Promise<T>): Promise<T> {
  const run = (queues.get(ctx) ?? Promise.resolve()).then(work);
  queues.set(ctx, run.catch(() => undefined));
  return run;
}
