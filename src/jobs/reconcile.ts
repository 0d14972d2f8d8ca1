// The "every 300 s" job: checkpoints metered subscription bucket usage on chain and corrects the
// off-chain mirrors toward the chain (src/subscriptions/reconcile.ts). A pass whose mirror was off
// by more than ALERT_DRIFT_TOKENS raises an alert: the correction happened, but something let the
// mirror drift that far.
import type { AppContext } from "../app/context.ts";
import { toJson } from "../indexer/events.ts";
import { features } from "../stage/stage.ts";
import { reconcileBuckets, type BucketDrift } from "../subscriptions/reconcile.ts";
import { ok, skipped, type JobDefinition } from "./job.ts";

const driftOf = (d: BucketDrift): bigint => (d.offchain > d.corrected ? d.offchain - d.corrected : d.corrected - d.offchain);

export const reconcileJob: JobDefinition = {
  name: "reconcile",
  description: "Checkpoint subscription bucket usage on chain and correct the mirrors toward the chain",
  schedule: (config) => ({ every: config.jobs.reconcileEveryMs }),
  async run(ctx: AppContext, progress) {
    if (!features(ctx.stage.stage, ctx.stage.phase).subscriptions) return skipped("subscriptions are off: reconciliation needs the chain at phase 3");
    progress(0, 1, "reconciling buckets");
    const result = await reconcileBuckets(ctx);
    const threshold = ctx.config.monitoring.driftAlertTokens;
    for (const drift of result.drift.filter((d) => driftOf(d) > threshold)) {
      await ctx.monitor.alert({
        key: `reconcile_drift:${drift.passId}`,
        kind: "reconcile_drift",
        severity: "warning",
        message: `subscription pass ${drift.passId}: the off-chain bucket was off by ${driftOf(drift)} tokens (over ${threshold}); corrected to the chain`,
        details: { ...drift, drift: driftOf(drift) },
      });
    }
    progress(1, 1, "done");
    return ok({
      checkpointed: result.checkpointed.length,
      checkpointedTokens: result.checkpointed.reduce((sum, c) => sum + c.tokens, 0n).toString(),
      failed: toJson(result.failed),
      pending: result.pending,
      drift: toJson(result.drift),
    });
  },
};
