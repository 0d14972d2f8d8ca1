// The daily rewards job. Points for epoch N+1 are uploaded while epoch N runs, then N+1 is started
// once N has ended (RewardDistributor.startEpoch reverts EpochNotEnded before). The window is the
// time since the last window that was closed (its epoch started, or nobody earned in it), up to
// today 00:00 UTC; the first window is yesterday. A window whose epoch could not start yet stays
// open: the next day's run recomputes the same epoch over the longer window, so no day's points
// are lost. Idempotent per epoch: a second run the same day finds the closed window empty and does
// nothing; after a waiting run it sends nothing again (unchanged points are not re-sent) and only
// starts the epoch if the current one has ended meanwhile.
//
// Run now (an admin's POST /api/v1/admin/rewards/run-now): the window closes at the moment of the
// run instead of at 00:00 UTC, so today's served work reaches an epoch today. The next scheduled
// run's window then starts at that moment. Every run first writes this instance's served work and
// records its window's end as a cutoff (src/providers/served.ts), so work written after it (even
// a late write of an earlier hour) counts in the next window, and none counts twice.
import type { AppContext } from "../app/context.ts";
import { exclusive, requireChain } from "../app/guards.ts";
import type { ChainContext } from "../app/chain.ts";
import { distributorAbi } from "../chain/abis.ts";
import { send } from "../chain/send.ts";
import { AppError, unavailable } from "../errors.ts";
import { runRewardsEpoch } from "../rewards/epoch.ts";
import { features } from "../stage/stage.ts";
import { ok, skipped, type JobDefinition } from "./job.ts";
import { cutServedWork } from "../providers/served.ts";
import { lastOkRun } from "./runs.ts";
import { nextRun } from "./schedule.ts";

const DAY_MS = 86_400_000;
/** An epoch ends this long (at most) before the next scheduled run, so that run can start the next one. */
const END_MARGIN_S = 300n;

const utcMidnight = (at: Date): Date => new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);

/** [from, to) of the next epoch's points: from the end of the last closed window (else yesterday) to today 00:00 UTC, or to `now` when closing now. */
async function windowOf(ctx: AppContext, now: Date, closeNow: boolean): Promise<{ from: Date; to: Date }> {
  const to = closeNow ? now : utcMidnight(now);
  const last = await lastOkRun(ctx.db, "rewards", { closed: true });
  const lastTo = last?.summary?.to;
  return { from: typeof lastTo === "string" ? new Date(lastTo) : new Date(to.getTime() - DAY_MS), to };
}

/**
 * How long an epoch started at chain time `now` runs: until shortly before the next
 * scheduled rewards run, so that run finds it ended and starts the next epoch on time.
 */
function durationAt(ctx: AppContext, now: bigint): bigint {
  const next = BigInt(Math.floor(nextRun({ pattern: ctx.config.jobs.rewardsCron }, new Date(Number(now) * 1000)).getTime() / 1000));
  const span = next - now;
  const margin = span / 10n < END_MARGIN_S ? span / 10n : END_MARGIN_S;
  return span - margin > 0n ? span - margin : 1n;
}

/** Starts `epoch` when the current one has ended; returns the transaction, or when the current one ends. */
async function startWhenEnded(ctx: AppContext, chain: ChainContext, epoch: bigint): Promise<{ startTx: string } | { endsAt: string }> {
  const distributor = { address: chain.addresses.distributor, abi: distributorAbi } as const;
  const [, end] = await chain.client.readContract({ ...distributor, functionName: "epochTimes", args: [epoch - 1n] });
  const now = (await chain.client.getBlock({ blockTag: "latest" })).timestamp;
  if (now < end) return { endsAt: new Date(Number(end) * 1000).toISOString() };
  const signer = chain.signers.rewards;
  if (signer === undefined) throw unavailable("REWARDS_KEY_MISSING", "the backend has no rewards key (REWARDS_PRIVATE_KEY): it cannot start an epoch");
  const duration = durationAt(ctx, now);
  return exclusive(ctx, async () => {
    const { hash, receipt } = await send(
      { client: chain.client, signer },
      { ...distributor, functionName: "startEpoch", args: [epoch, duration] },
      { counter: ctx.monitor.metrics.chainTransactions },
    );
    if (receipt.status !== "success") throw new AppError("START_EPOCH_FAILED", `RewardDistributor.startEpoch(${epoch}) ${hash} reverted`, 502);
    return { startTx: hash };
  });
}

export const rewardsJob: JobDefinition = {
  name: "rewards",
  description: "Daily rewards epoch: points from the last day uploaded for the next epoch, which starts when the current one ends",
  schedule: (config) => ({ pattern: config.jobs.rewardsCron }),
  async run(ctx: AppContext, progress, params) {
    if (!features(ctx.stage.stage, ctx.stage.phase).claims) return skipped("rewards are off: they need the chain at phase 1 or later");
    const chain = requireChain(ctx);
    const closeNow = params.closeNow === true;
    const { from, to } = await windowOf(ctx, new Date(), closeNow);
    if (from.getTime() < to.getTime()) {
      // Served work written from here on lands after `to`, even a late write of an earlier hour.
      await ctx.providers.served.flush();
      await cutServedWork(ctx.db, to);
    }
    if (from.getTime() >= to.getTime()) return ok({ status: "done", to: to.toISOString(), reason: `points up to ${to.toISOString()} are already done` });
    const current = await chain.client.readContract({ address: chain.addresses.distributor, abi: distributorAbi, functionName: "currentEpoch" });
    const epoch = current + 1n;
    const window = { epoch: epoch.toString(), from: from.toISOString(), to: to.toISOString(), ...(closeNow ? { closedNow: true } : {}) };
    progress(0, 2, `epoch ${epoch}: points`);
    const result = await runRewardsEpoch(ctx, { epoch, from, to });
    progress(1, 2, `epoch ${epoch}: start`);
    const points = { providers: result.providers.length, users: result.users.length, sweepTx: result.sweepTx, sent: result.upload?.sent ?? 0 };
    if (result.status !== "uploaded") {
      progress(2, 2, "done");
      // `started`: someone started the epoch meanwhile; `empty`: nobody earned, nothing to start.
      return ok({ ...window, ...points, status: result.status === "started" ? "already-started" : "empty", closed: true });
    }
    const start = await startWhenEnded(ctx, chain, epoch);
    progress(2, 2, "done");
    return ok({ ...window, ...points, status: "startTx" in start ? "started" : "waiting", closed: "startTx" in start, ...start });
  },
};
