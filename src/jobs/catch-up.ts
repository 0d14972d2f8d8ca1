// `cxpt index`: one indexer step by hand, from the cursor (or the deployment block) to the
// confirmed head, with progress. The same indexOnce the app's follower runs on an interval.
import type { AppContext } from "../app/context.ts";
import { requireChain } from "../app/guards.ts";
import { confirmationsOf, startBlockOf } from "../indexer/follow.ts";
import { indexOnce } from "../indexer/indexer.ts";
import { loadCursor } from "../indexer/store.ts";
import type { JobSummary, Progress } from "./job.ts";

/** Indexes every confirmed block past the cursor; progress counts blocks. @throws AppError 409 `CHAIN_OFF`. */
export async function catchUpIndexer(ctx: AppContext, progress: Progress): Promise<JobSummary> {
  const chain = requireChain(ctx);
  const startBlock = await startBlockOf(ctx, chain);
  const confirmations = confirmationsOf(ctx, chain.chainId);
  const from = (await loadCursor(ctx.db, chain.chainId, { number: startBlock - 1n, hash: null })).number;
  const safe = (await chain.client.getBlockNumber({ cacheTime: 0 })) - BigInt(confirmations);
  const total = Number(safe > from ? safe - from : 0n);
  progress(0, total, `indexing blocks ${from + 1n}–${safe}`);
  const result = await indexOnce({
    db: ctx.db,
    chain,
    startBlock,
    confirmations,
    batchSize: ctx.config.indexer.batchSize,
    // Ranges with events report where they reached; ranges without are quick.
    onEvents: ({ added }) => {
      const last = added.at(-1);
      if (last !== undefined) progress(Math.min(total, Number(last.blockNumber - from)), total, `indexed to block ${last.blockNumber}`);
    },
  });
  progress(total, total, "done");
  return {
    chainId: chain.chainId,
    from: result.from.toString(),
    to: result.to.toString(),
    head: result.head.toString(),
    events: result.events.length,
    ...(result.reorged ? { reorgedTo: result.reorged.ancestor.toString() } : {}),
  };
}
