// What `cxpt status` shows: the stage, how far the indexer is behind the chain, each job's last
// run, open alerts and unfinished settlement batches. Read-only.
import type { AppContext } from "../app/context.ts";
import { unfinishedBatches } from "../settlement/store.ts";
import { jobList } from "./definitions.ts";
import type { JobName } from "./job.ts";
import { listRuns, type JobRun } from "./runs.ts";

export interface StackStatus {
  readonly stage: string;
  readonly phase: number;
  /** undefined with the chain off. */
  readonly chain?: { readonly chainId: number; readonly head: string; readonly indexedTo: string | null; readonly lagBlocks: string | null };
  readonly jobs: readonly { readonly job: JobName; readonly lastRun: JobRun | null }[];
  readonly openAlerts: number;
  readonly unfinishedBatches: readonly string[];
}

export async function stackStatus(ctx: AppContext): Promise<StackStatus> {
  const chain = ctx.chain;
  let chainStatus: StackStatus["chain"];
  if (chain !== undefined) {
    const head = await chain.client.getBlockNumber({ cacheTime: 0 });
    const { rows } = await ctx.db.query<{ block_number: unknown }>("select block_number from indexer_cursor where chain_id = $1", [chain.chainId]);
    const indexed = rows[0] === undefined ? null : BigInt(String(rows[0].block_number));
    chainStatus = { chainId: chain.chainId, head: head.toString(), indexedTo: indexed?.toString() ?? null, lagBlocks: indexed === null ? null : (head - indexed).toString() };
  }
  const jobs = await Promise.all(jobList().map(async (job) => ({ job: job.name, lastRun: (await listRuns(ctx.db, job.name, { limit: 1 }))[0] ?? null })));
  const { rows: alerts } = await ctx.db.query<{ n: unknown }>("select count(*) as n from alerts where resolved_at is null");
  return {
    stage: ctx.stage.stage,
    phase: ctx.stage.phase,
    ...(chainStatus ? { chain: chainStatus } : {}),
    jobs,
    openAlerts: Number(alerts[0]!.n),
    unfinishedBatches: (await unfinishedBatches(ctx.db)).map(String),
  };
}
