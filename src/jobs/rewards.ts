// The daily rewards job. Points for epoch N+1 are uploaded while epoch N runs, then N+1 is started
// once N has ended and the distributor's review delay after the upload has passed (RewardDistributor
// .startEpoch reverts EpochNotEnded / ReviewPending before; meanwhile the Safe or a guardian may void
// the upload). The window is the time since the last window that was closed, up to today 00:00 UTC;
// the first window is yesterday. An uploaded window is held: later runs only start its epoch once it
// can start and never recompute it (a new upload would restart the review delay), then, in the same
// run, upload the next window. With a review delay shorter than a day each daily run starts the epoch
// uploaded the day before and uploads the next one. A voided upload's epoch is started empty (its
// funding waits) and its window is recomputed into the next epoch, so no day's points are lost.
// Idempotent per epoch: a second run the same day finds the closed window empty and does nothing.
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
import { readNextEpochReview, type NextEpochReview } from "../rewards/review.ts";
import { features } from "../stage/stage.ts";
import { ok, skipped, type JobDefinition, type JobSummary } from "./job.ts";
import { cutServedWork } from "../providers/served.ts";
import { lastOkRun } from "./runs.ts";
import { nextRun } from "./schedule.ts";
import { isoOfSeconds } from "../time.ts";

const DAY_MS = 86_400_000;
/** An epoch ends this long (at most) before the next scheduled run, so that run can start the next one. */
const END_MARGIN_S = 300n;

const utcMidnight = (at: Date): Date => new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);

/**
 * [from, to) of the next epoch's points: from the end of the last closed window (`closedTo`: this
 * run's, else a recorded run's; else yesterday) to today 00:00 UTC, or to `now` when closing now.
 */
async function windowOf(ctx: AppContext, now: Date, closeNow: boolean, closedTo?: string): Promise<{ from: Date; to: Date }> {
  const to = closeNow ? now : utcMidnight(now);
  const last = closedTo === undefined ? (await lastOkRun(ctx.db, "rewards", { closed: true }))?.summary : undefined;
  const lastTo = closedTo ?? last?.closedTo ?? last?.to;
  return { from: typeof lastTo === "string" ? new Date(lastTo) : new Date(to.getTime() - DAY_MS), to };
}

/** The window a waiting run uploaded and holds for its epoch's start. */
interface HeldWindow {
  readonly epoch: bigint;
  readonly from: string;
  readonly to: string;
}

function heldWindow(summary: JobSummary | null | undefined): HeldWindow | undefined {
  if (summary?.status !== "waiting") return undefined;
  const { epoch, from, to } = summary;
  return typeof epoch === "string" && typeof from === "string" && typeof to === "string" ? { epoch: BigInt(epoch), from, to } : undefined;
}

/**
 * How long an epoch started at chain time `now` runs: until shortly before the next scheduled
 * rewards run, so that run finds it ended and starts the next epoch on time; within the
 * distributor's duration bounds.
 */
function durationAt(ctx: AppContext, now: bigint, review: NextEpochReview): bigint {
  const next = BigInt(Math.floor(nextRun({ pattern: ctx.config.jobs.rewardsCron }, new Date(Number(now) * 1000)).getTime() / 1000));
  const span = next - now;
  const margin = span / 10n < END_MARGIN_S ? span / 10n : END_MARGIN_S;
  const duration = span - margin > 0n ? span - margin : 1n;
  const min = review.minDuration > 1n ? review.minDuration : 1n;
  return duration < min ? min : duration > review.maxDuration ? review.maxDuration : duration;
}

/** Why a start waits: the current epoch's end, and the upload's review when there is one. */
const waitOf = (review: NextEpochReview) => ({
  endsAt: isoOfSeconds(review.currentEndsAt),
  ...(review.reviewEndsAt === null ? {} : { reviewEndsAt: isoOfSeconds(review.reviewEndsAt) }),
  startableAt: isoOfSeconds(review.startableAt),
});

type StartOutcome = { startTx: string } | ReturnType<typeof waitOf>;

/** Starts the next epoch once it can start (current ended, review passed); else says until when it waits. */
async function startWhenStartable(ctx: AppContext, chain: ChainContext): Promise<StartOutcome> {
  const review = await readNextEpochReview(chain.client, chain.addresses.distributor);
  const now = (await chain.client.getBlock({ blockTag: "latest" })).timestamp;
  if (now < review.startableAt) return waitOf(review);
  const signer = chain.signers.rewards;
  if (signer === undefined) throw unavailable("REWARDS_KEY_MISSING", "the backend has no rewards key (REWARDS_PRIVATE_KEY): it cannot start an epoch");
  const { epoch } = review;
  return exclusive(ctx, async () => {
    const { hash, receipt } = await send(
      { client: chain.client, signer },
      { address: chain.addresses.distributor, abi: distributorAbi, functionName: "startEpoch", args: [epoch, durationAt(ctx, now, review)] },
      { counter: ctx.monitor.metrics.chainTransactions },
    );
    if (receipt.status !== "success") throw new AppError("START_EPOCH_FAILED", `RewardDistributor.startEpoch(${epoch}) ${hash} reverted`, 502);
    return { startTx: hash };
  });
}

/**
 * The window the last run uploaded and left waiting: its epoch is started once it can start (or
 * found started by someone else). Returns that run's summary: `closed: false` while it still
 * waits; undefined when nothing is held, or when its upload was voided (the window stays open).
 */
async function settleHeldWindow(ctx: AppContext, chain: ChainContext): Promise<JobSummary | undefined> {
  const held = heldWindow((await lastOkRun(ctx.db, "rewards"))?.summary);
  if (held === undefined) return undefined;
  const review = await readNextEpochReview(chain.client, chain.addresses.distributor);
  const window = { epoch: held.epoch.toString(), from: held.from, to: held.to, sent: 0 };
  if (held.epoch === review.lastVoidedEpoch) return undefined;
  if (held.epoch < review.epoch) return { ...window, status: "already-started", closed: true };
  const start = await startWhenStartable(ctx, chain);
  return "startTx" in start ? { ...window, status: "started", closed: true, ...start } : { ...window, status: "waiting", closed: false, ...start };
}

/** A voided upload's epoch starts empty once the current one ends; its window stays open for the next epoch. */
async function skipVoided(ctx: AppContext, chain: ChainContext, review: NextEpochReview): Promise<JobSummary> {
  const start = await startWhenStartable(ctx, chain);
  return { epoch: review.epoch.toString(), status: "voided", closed: false, ...start };
}

export const rewardsJob: JobDefinition = {
  name: "rewards",
  description: "Daily rewards epoch: points from the last day uploaded for the next epoch, which starts when the current one ends",
  schedule: (config) => ({ pattern: config.jobs.rewardsCron }),
  async run(ctx: AppContext, progress, params) {
    if (!features(ctx.stage.stage, ctx.stage.phase).claims) return skipped("rewards are off: they need the chain at phase 1 or later");
    const chain = requireChain(ctx);
    const closeNow = params.closeNow === true;
    const held = await settleHeldWindow(ctx, chain);
    if (held?.closed === false) return ok(held);
    const review = await readNextEpochReview(chain.client, chain.addresses.distributor);
    if (review.voided) return ok(await skipVoided(ctx, chain, review));
    const closedTo = held?.to === undefined ? undefined : String(held.to);
    const { from, to } = await windowOf(ctx, new Date(), closeNow, closedTo);
    if (from.getTime() < to.getTime()) {
      // Served work written from here on lands after `to`, even a late write of an earlier hour.
      await ctx.providers.served.flush();
      await cutServedWork(ctx.db, to);
    }
    if (from.getTime() >= to.getTime()) return ok(held ?? { status: "done", to: to.toISOString(), reason: `points up to ${to.toISOString()} are already done` });
    const { epoch } = review;
    const window = { epoch: epoch.toString(), from: from.toISOString(), to: to.toISOString(), ...(closeNow ? { closedNow: true } : {}) };
    // This run also closed the held window: the next run's window starts at its end while this one waits.
    const alsoClosed: JobSummary = held === undefined || closedTo === undefined ? {} : { started: held, closedTo };
    progress(0, 2, `epoch ${epoch}: points`);
    const result = await runRewardsEpoch(ctx, { epoch, from, to });
    progress(1, 2, `epoch ${epoch}: start`);
    const points = { providers: result.providers.length, users: result.users.length, sweepTx: result.sweepTx, sent: result.upload?.sent ?? 0 };
    if (result.status !== "uploaded") {
      progress(2, 2, "done");
      // `started`: someone started the epoch meanwhile; `empty`: nobody earned, nothing to start.
      return ok({ ...window, ...points, status: result.status === "started" ? "already-started" : "empty", closed: true });
    }
    const start = await startWhenStartable(ctx, chain);
    progress(2, 2, "done");
    const started = "startTx" in start;
    return ok({ ...window, ...points, status: started ? "started" : "waiting", ...start, ...(started ? {} : alsoClosed), closed: started || held !== undefined });
  },
};
