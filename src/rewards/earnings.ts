// What an account has earned from the RewardDistributor, as its dashboard shows it: what it can
// claim now and has claimed, its points and entitlement per epoch (read from the chain), and for a
// provider how its latest epoch's points came about (base points per tier, then each multiplier)
// and its performance over that epoch's window.
//
// The distributor keeps an account's entry for an epoch only until a later claim or upload folds
// it into its balance (entitlementOf and sharesOf answer 0 afterwards); for such an epoch the
// points come from reward_points, what uploadEntries (./upload.ts) stored and sent, and the entitlement is the
// contract's own formula over the epoch's totals, which stay on chain.
import type { Address } from "viem";
import type { Account } from "../accounts/store.ts";
import type { ChainContext } from "../app/chain.ts";
import type { AppContext } from "../app/context.ts";
import { requireChain } from "../app/guards.ts";
import { distributorAbi } from "../chain/abis.ts";
import type { Queryable } from "../db/db.ts";
import { readAll } from "../chain/reads.ts";
import { requireWallet } from "../tokens/service.ts";
import { loadProviderStats, providerBreakdowns, type EpochWindow, type TierPoints } from "./epoch.ts";
import { BPS, DEFAULT_MULTIPLIERS, type MultiplierTables } from "./multipliers.ts";
import { POOL_IDS, type RewardPool } from "./points.ts";

const DAY_MS = 86_400_000;

/** Epochs an earnings answer covers: the default and the most. */
export const EARNINGS_EPOCHS = { default: 12, max: 52 } as const;

/** One epoch of one pool, seen from one account. */
export interface EpochEarnings {
  readonly epoch: bigint;
  readonly start: Date;
  readonly end: Date;
  /** The account's points (× POINTS_SCALE). */
  readonly points: bigint;
  /** Every account's points in the pool. */
  readonly totalPoints: bigint;
  /** The pool's budget for the epoch. */
  readonly budgetWei: bigint;
  /** What the account earns over the whole epoch: points × budget / totalPoints (floor). */
  readonly entitlementWei: bigint;
  /** What of it the epoch has released so far (linear from start to end). */
  readonly releasedWei: bigint;
  /** true: the chain folded the entry into the account's balance; points from reward_points. */
  readonly folded: boolean;
}

/** One multiplier applied to the points before it. */
export interface MultiplierStep {
  readonly multiplier: "uptime" | "latency" | "demand";
  /** The multiplier over the epoch, weighted by the points it applied to (bps, floor). */
  readonly bps: bigint;
  /** The points after this step (× POINTS_SCALE, floor). */
  readonly points: bigint;
}

/** How a provider's points of one epoch came about. */
export interface PointsBreakdown {
  readonly epoch: bigint;
  readonly from: Date;
  readonly to: Date;
  readonly tiers: readonly TierPoints[];
  /** Σ of the tiers' base points. */
  readonly basePoints: bigint;
  /** Uptime, then latency, then demand; the last step's points are the epoch's points. */
  readonly steps: readonly MultiplierStep[];
  readonly points: bigint;
  /** What the distributor holds for the epoch (0 once folded and not in reward_points). */
  readonly uploadedPoints: bigint;
}

/** A provider's figures over a window, from provider_requests / provider_health. */
export interface Performance {
  readonly from: Date;
  readonly to: Date;
  /** Mean daily uptime (bps of 100 %), null without health figures. */
  readonly uptimeBps: number | null;
  /** Mean daily p50 latency, null without health figures. */
  readonly p50LatencyMs: number | null;
  readonly servedRequests: bigint;
}

export interface Earnings {
  readonly wallet: Address;
  readonly pool: RewardPool;
  /** What a claim pays now, over both pools. */
  readonly pendingWei: bigint;
  /** What of it comes from `pool`. */
  readonly poolPendingWei: bigint;
  /** Σ of the account's booked claims and withdrawals. */
  readonly claimedWei: bigint;
  readonly currentEpoch: bigint;
  /** Oldest first. */
  readonly epochs: readonly EpochEarnings[];
  /** Providers only, for the latest epoch the rewards job computed; null before the first. */
  readonly pointsBreakdown: PointsBreakdown | null;
  /** Providers only. */
  readonly performance: Performance | null;
}

/** The pool an account earns in: providers are paid for serving, users get cashback. */
export const poolOf = (account: Account): RewardPool => (account.kind === "provider" ? "providers" : "users");

/**
 * The account's earnings (see the file comment) over its last `limit` epochs (1–52).
 * @throws AppError 409 `CHAIN_OFF` / `WALLET_NOT_LINKED`.
 */
export async function readEarnings(ctx: AppContext, account: Account, limit: number = EARNINGS_EPOCHS.default): Promise<Earnings> {
  const chain = requireChain(ctx);
  const wallet = requireWallet(account);
  const pool = poolOf(account);
  const distributor = { address: chain.addresses.distributor, abi: distributorAbi } as const;
  const [currentEpoch, pendingWei, poolPendingWei, block] = await Promise.all([
    chain.client.readContract({ ...distributor, functionName: "currentEpoch" }),
    chain.client.readContract({ ...distributor, functionName: "pendingOf", args: [wallet] }),
    chain.client.readContract({ ...distributor, functionName: "pendingOf", args: [wallet, POOL_IDS[pool]] }),
    chain.client.getBlock({ blockTag: "latest" }),
  ]);
  const epochs = await epochEarnings(ctx.db, chain, { wallet, pool, currentEpoch, limit, now: block.timestamp });
  // Every booked claim and withdrawal adds to total_earnings_wei (bookClaim): it is their sum.
  const claimedWei = account.totalEarningsWei;
  const provider = pool === "providers" ? await providerFigures(ctx, account, wallet) : { pointsBreakdown: null, performance: null };
  return { wallet, pool, pendingWei, poolPendingWei, claimedWei, currentEpoch, epochs, ...provider };
}

interface EpochQuery {
  readonly wallet: Address;
  readonly pool: RewardPool;
  readonly currentEpoch: bigint;
  readonly limit: number;
  /** The chain's time (unix seconds), for what has been released. */
  readonly now: bigint;
}

/** The last `limit` started epochs of `pool` for `wallet`, read in one batch. */
async function epochEarnings(db: Queryable, chain: ChainContext, q: EpochQuery): Promise<EpochEarnings[]> {
  const first = q.currentEpoch - BigInt(q.limit) + 1n > 1n ? q.currentEpoch - BigInt(q.limit) + 1n : 1n;
  const numbers: bigint[] = [];
  for (let e = first; e <= q.currentEpoch; e++) numbers.push(e);
  if (numbers.length === 0) return [];
  const address = chain.addresses.distributor;
  const poolId = POOL_IDS[q.pool];
  const reads = await readAll(
    chain.client,
    numbers.flatMap((epoch) => [
      { address, abi: distributorAbi, functionName: "epochTimes", args: [epoch] },
      { address, abi: distributorAbi, functionName: "poolEpoch", args: [epoch, poolId] },
      { address, abi: distributorAbi, functionName: "sharesOf", args: [q.wallet, poolId, epoch] },
    ] as const),
  );
  const stored = await storedPoints(db, q.pool, q.wallet, numbers);
  return numbers.map((epoch, i) => {
    const [start, end] = reads[3 * i] as readonly [bigint, bigint];
    const [totalPoints, budgetWei] = reads[3 * i + 1] as readonly [bigint, bigint];
    const onChain = reads[3 * i + 2] as bigint;
    const folded = onChain === 0n && (stored.get(epoch) ?? 0n) > 0n;
    const points = folded ? stored.get(epoch)! : onChain;
    // RewardDistributor._entitlement and _released, in the same integer math.
    const entitlementWei = points === 0n || totalPoints === 0n ? 0n : (points * budgetWei) / totalPoints;
    const releasedWei =
      q.now >= end || end === start ? entitlementWei : q.now <= start || totalPoints === 0n ? 0n : (points * budgetWei * (q.now - start)) / (totalPoints * (end - start));
    return { epoch, start: new Date(Number(start) * 1000), end: new Date(Number(end) * 1000), points, totalPoints, budgetWei, entitlementWei, releasedWei, folded };
  });
}

/** The points uploadEntries sent for `wallet` in `pool`, by epoch. */
async function storedPoints(db: Queryable, pool: RewardPool, wallet: Address, epochs: readonly bigint[]): Promise<Map<bigint, bigint>> {
  const { rows } = await db.query<{ epoch: number; points: string }>(
    "select epoch, points::text as points from reward_points where pool = $1 and wallet = $2 and uploaded and epoch = any($3::int[])",
    [pool, wallet.toLowerCase(), epochs.map(Number)],
  );
  return new Map(rows.map((r) => [BigInt(r.epoch), BigInt(r.points)]));
}

/** The latest epoch the rewards job uploaded points for, and its window. */
export async function latestComputedEpoch(db: Queryable): Promise<(EpochWindow & { epoch: bigint }) | undefined> {
  const { rows } = await db.query<{ epoch: string; from: string; to: string }>(
    `select summary->>'epoch' as epoch, summary->>'from' as "from", summary->>'to' as "to" from job_runs
      where job = 'rewards' and outcome = 'ok' and summary->>'status' in ('started', 'waiting')
      order by id desc limit 1`,
  );
  const row = rows[0];
  return row === undefined ? undefined : { epoch: BigInt(row.epoch), from: new Date(row.from), to: new Date(row.to) };
}

/** The breakdown and performance of a provider: over the latest computed epoch, else the last UTC day. */
async function providerFigures(ctx: AppContext, account: Account, wallet: Address) {
  const latest = await latestComputedEpoch(ctx.db);
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const window = latest ?? { from: new Date(today - DAY_MS), to: new Date(today) };
  const [breakdown, performance] = await Promise.all([
    latest === undefined ? null : pointsBreakdown(ctx, wallet, latest),
    performanceOf(ctx.db, account.id, window),
  ]);
  return { pointsBreakdown: breakdown, performance };
}

/**
 * How `wallet`'s points for `epoch` came about, recomputed over the epoch's window with the
 * rewards job's own function (providerBreakdowns): its points are the ones the job uploaded unless
 * the orchestrator corrected figures of the window since.
 */
export async function pointsBreakdown(
  ctx: AppContext,
  wallet: Address,
  epoch: EpochWindow & { epoch: bigint },
  tables: MultiplierTables = DEFAULT_MULTIPLIERS,
): Promise<PointsBreakdown> {
  const chain = requireChain(ctx);
  const [stats, onChain, stored] = await Promise.all([
    loadProviderStats(ctx.db, epoch, ctx.counters),
    chain.client.readContract({ address: chain.addresses.distributor, abi: distributorAbi, functionName: "sharesOf", args: [wallet, POOL_IDS.providers, epoch.epoch] }),
    storedPoints(ctx.db, "providers", wallet, [epoch.epoch]),
  ]);
  const mine = providerBreakdowns(stats, tables).find((b) => b.wallet.toLowerCase() === wallet.toLowerCase());
  const sums = mine ?? { tiers: [], base: 0n, withUptime: 0n, withLatency: 0n, withDemand: 0n, points: 0n };
  // Each stage is the previous one times a multiplier: their ratio is that multiplier's weighted mean.
  const ratio = (after: bigint, before: bigint) => (before === 0n ? BPS : after / before);
  return {
    epoch: epoch.epoch,
    from: epoch.from,
    to: epoch.to,
    tiers: sums.tiers,
    basePoints: sums.base,
    steps: [
      { multiplier: "uptime", bps: ratio(sums.withUptime, sums.base), points: sums.withUptime / BPS },
      { multiplier: "latency", bps: ratio(sums.withLatency, sums.withUptime), points: sums.withLatency / (BPS * BPS) },
      { multiplier: "demand", bps: ratio(sums.withDemand, sums.withLatency), points: sums.points },
    ],
    points: sums.points,
    uploadedPoints: onChain > 0n ? onChain : (stored.get(epoch.epoch) ?? 0n),
  };
}

/** A provider's served requests, mean uptime and mean p50 over `window` (health: the UTC days it overlaps). */
export async function performanceOf(db: Queryable, accountId: string, window: EpochWindow): Promise<Performance> {
  const range = [accountId, window.from.toISOString(), window.to.toISOString()];
  const [served, health] = await Promise.all([
    db.query<{ requests: string }>(
      `select coalesce(sum(requests), 0)::text as requests from provider_requests
        where provider_account_id = $1 and hour >= $2 and hour < $3`,
      range,
    ),
    db.query<{ uptime: string | null; p50: string | null }>(
      `select round(avg(uptime_bps))::text as uptime, round(avg(p50_ms))::text as p50 from provider_health
        where provider_account_id = $1 and day >= ($2::timestamptz at time zone 'UTC')::date
          and (day::timestamp at time zone 'UTC') < $3::timestamptz`,
      range,
    ),
  ]);
  const { uptime, p50 } = health.rows[0] ?? { uptime: null, p50: null };
  return {
    from: window.from,
    to: window.to,
    uptimeBps: uptime === null ? null : Number(uptime),
    p50LatencyMs: p50 === null ? null : Number(p50),
    servedRequests: BigInt(served.rows[0]!.requests),
  };
}
