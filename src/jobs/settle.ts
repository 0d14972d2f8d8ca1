// The nightly PAYG settlement job: closes the due usage into a batch, commits and collects every
// unfinished batch (src/settlement/settle.ts), then acts on the shortfalls it left.
import type { AppContext } from "../app/context.ts";
import { runSettlement, type SettlementRun } from "../settlement/settle.ts";
import { suspendShortfalls } from "../settlement/shortfalls.ts";
import { features } from "../stage/stage.ts";
import { toJson } from "../indexer/events.ts";
import { ok, skipped, type JobDefinition } from "./job.ts";

const summaryOf = (run: SettlementRun) => ({
  closed: run.closed === null ? null : run.closed.toString(),
  batches: run.batches.map(({ id, result }) => ({ id: id.toString(), state: result.state, ...result.counts })),
});

export const settleJob: JobDefinition = {
  name: "settle",
  description: "Nightly PAYG settlement: batch, commit and collect metered usage on chain",
  schedule: (config) => ({ pattern: config.jobs.settleCron }),
  async run(ctx: AppContext, progress) {
    if (!features(ctx.stage.stage, ctx.stage.phase).paygInCxpt) return skipped("PAYG in CXPT is off: settlement needs the chain at phase 2 or later");
    // Progress counts the leaves of the batch in hand that the chain has decided (collected or short).
    const run = await runSettlement(ctx, {
      onStep: (id, { state, counts }) => {
        const total = counts.pending + counts.collected + counts.shortfall;
        progress(total - counts.pending, total, `batch ${id}: ${state}`);
      },
    });
    // Short accounts have their keys suspended until a later run collects them (then reinstated).
    const shortfalls = await suspendShortfalls(ctx);
    return ok({ ...summaryOf(run), shortfalls: toJson({ owing: shortfalls.owing.length, suspended: shortfalls.suspended, reinstated: shortfalls.reinstated }) });
  },
};
