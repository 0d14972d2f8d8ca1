// The daily rewards epoch: points for the providers pool (served requests × base points × uptime
// × latency × demand, src/rewards/multipliers.ts) and the users pool (cashback ∝ metered spend)
// over a time window, stored and uploaded by uploadEntries (./upload.ts, the admin's CSV path too), with the
// Vault's accrued payments swept into the distributor first so the epoch has a budget.
//
// Inputs: provider_requests / provider_health (0008_provider_stats.sql), which Cxmpute's
// orchestrator reports through PUT /api/v1/admin/providers/stats (./stats.ts). Users: usage_events billed in CXPT, by cost_ausd (USD-pegged, so the share
// does not move with the CXPT rate); legacy (off-chain credit) usage earns no cashback.
// Accounts without a linked wallet cannot hold points and are left out.
import type { CounterStore } from "../counters/counters.ts";
import { getAddress, type Address, type Hash } from "viem";
import type { AppContext } from "../app/context.ts";
import { exclusive, requireChain } from "../app/guards.ts";
import { distributorAbi, vaultAbi } from "../chain/abis.ts";
import { send } from "../chain/send.ts";
import type { Queryable } from "../db/db.ts";
import { AppError, badRequest, unavailable } from "../errors.ts";
import { MAX_POINTS, type PointsEntry, type PointsRow } from "./points.ts";
import { uploadEntries, type PointsUploadResult } from "./upload.ts";
import { BPS, DEFAULT_MULTIPLIERS, demandBps, latencyBps, uptimeBps, type MultiplierTables } from "./multipliers.ts";

const HOUR_MS = 3_600_000;

/** Requests one provider served in one tier and UTC hour. */
export interface ServedRequests {
  readonly wallet: Address;
  readonly tier: string;
  /** The hour's start. */
  readonly hour: Date;
  readonly requests: bigint;
}

/** One provider's health on one UTC day. */
export interface ProviderHealth {
  readonly wallet: Address;
  /** YYYY-MM-DD (UTC). */
  readonly day: string;
  /** Uptime in basis points of 100 % (9995 = 99.95 %). */
  readonly uptimeBps: number;
  readonly p50Ms: number;
}

export interface ProviderStats {
  readonly served: readonly ServedRequests[];
  readonly health: readonly ProviderHealth[];
  /** Hours in the epoch window: the mean hourly network demand is total requests / hours. */
  readonly hours: bigint;
}

const dayOf = (hour: Date) => hour.toISOString().slice(0, 10);
const byWallet = (a: { readonly wallet: Address }, b: { readonly wallet: Address }) => (a.wallet.toLowerCase() < b.wallet.toLowerCase() ? -1 : 1);

/** Requests and base points (× POINTS_SCALE) a provider earned in one tier over a window. */
export interface TierPoints {
  readonly tier: string;
  readonly requests: bigint;
  readonly basePoints: bigint;
}

/**
 * One provider's points, multiplier by multiplier: the exact sums over its hours and tiers before
 * the one division, each stage carrying one more multiplier (so one more factor of BPS).
 */
export interface ProviderBreakdown {
  readonly wallet: Address;
  /** By tier name. */
  readonly tiers: readonly TierPoints[];
  /** Σ requests × base points (× POINTS_SCALE). */
  readonly base: bigint;
  /** Σ requests × base × uptime(day) (× BPS). */
  readonly withUptime: bigint;
  /** … × latency(day) (× BPS²). */
  readonly withLatency: bigint;
  /** … × demand(hour) (× BPS³). */
  readonly withDemand: bigint;
  /** withDemand / BPS³ (floor): the provider's points. */
  readonly points: bigint;
}

/**
 * Every provider's points (× POINTS_SCALE) with their breakdown: Σ over their hours and tiers of
 * requests × base points × uptime(day) × latency(day) × demand(hour), the multipliers in basis
 * points, summed exactly and divided once per provider (floor). A day without health data earns
 * the floor multipliers (no evidence of uptime). 400 `UNKNOWN_TIER` for a tier the table lacks.
 * By wallet; providers with 0 points included.
 */
export function providerBreakdowns(stats: ProviderStats, tables: MultiplierTables = DEFAULT_MULTIPLIERS): ProviderBreakdown[] {
  const networkByHour = new Map<number, bigint>();
  let total = 0n;
  for (const s of stats.served) {
    networkByHour.set(s.hour.getTime(), (networkByHour.get(s.hour.getTime()) ?? 0n) + s.requests);
    total += s.requests;
  }
  const health = new Map(stats.health.map((h) => [`${h.wallet.toLowerCase()}:${h.day}`, h]));
  const sums = new Map<Address, { tiers: Map<string, TierPoints>; base: bigint; withUptime: bigint; withLatency: bigint; withDemand: bigint }>();
  for (const s of stats.served) {
    const perRequest = tables.basePoints[s.tier];
    if (perRequest === undefined) throw badRequest("UNKNOWN_TIER", `no base points for tier "${s.tier}"`);
    const h = health.get(`${s.wallet.toLowerCase()}:${dayOf(s.hour)}`);
    const wallet = getAddress(s.wallet);
    const sum = sums.get(wallet) ?? { tiers: new Map<string, TierPoints>(), base: 0n, withUptime: 0n, withLatency: 0n, withDemand: 0n };
    sums.set(wallet, sum);
    const base = s.requests * perRequest;
    const tier = sum.tiers.get(s.tier) ?? { tier: s.tier, requests: 0n, basePoints: 0n };
    sum.tiers.set(s.tier, { tier: s.tier, requests: tier.requests + s.requests, basePoints: tier.basePoints + base });
    const withUptime = base * (h ? uptimeBps(tables, h.uptimeBps) : BigInt(tables.uptime.floorBps));
    const withLatency = withUptime * (h ? latencyBps(tables, h.p50Ms) : BigInt(tables.latency.floorBps));
    const withDemand = withLatency * demandBps(tables, networkByHour.get(s.hour.getTime())!, total, stats.hours);
    sum.base += base;
    sum.withUptime += withUptime;
    sum.withLatency += withLatency;
    sum.withDemand += withDemand;
  }
  return [...sums]
    .map(([wallet, { tiers, ...sum }]) => ({
      wallet,
      tiers: [...tiers.values()].sort((a, b) => (a.tier < b.tier ? -1 : 1)),
      ...sum,
      points: sum.withDemand / (BPS * BPS * BPS),
    }))
    .sort(byWallet);
}

/**
 * Providers' points (× POINTS_SCALE), as providerBreakdowns computes them. 400 `UNKNOWN_TIER`;
 * 400 `POINTS_OVERFLOW` past uint96. Providers with 0 points are left out.
 */
export function providerPoints(stats: ProviderStats, tables: MultiplierTables = DEFAULT_MULTIPLIERS): PointsEntry[] {
  return finish(providerBreakdowns(stats, tables).map(({ wallet, points }) => ({ wallet, points })));
}

/** Users' cashback points: their metered spend in atto-USD, one point per atto-USD. */
export function userPoints(spend: readonly { readonly wallet: Address; readonly costAusd: bigint }[]): PointsEntry[] {
  return finish(spend.map((s) => ({ wallet: getAddress(s.wallet), points: s.costAusd })));
}

function finish(entries: PointsEntry[]): PointsEntry[] {
  const over = entries.find((e) => e.points > MAX_POINTS);
  if (over) throw badRequest("POINTS_OVERFLOW", `${over.wallet} would get ${over.points} points, past the uint96 maximum`);
  return entries.filter((e) => e.points > 0n).sort(byWallet);
}

export interface EpochWindow {
  readonly from: Date;
  /** Exclusive. */
  readonly to: Date;
}

/** Requests served in the window from a DynamoDB counter store, by provider wallet. */
async function servedFromCounters(db: Queryable, counters: CounterStore, window: EpochWindow) {
  const counts = await counters.served(window);
  const ids = [...new Set(counts.map((c) => c.providerAccountId))];
  if (ids.length === 0) return [];
  const { rows } = await db.query<{ id: string; wallet: string }>("select id::text, wallet from accounts where id = any($1::uuid[]) and wallet is not null", [ids]);
  const wallets = new Map(rows.map((r) => [r.id, r.wallet]));
  return counts.flatMap((c) => {
    const wallet = wallets.get(c.providerAccountId);
    return wallet === undefined ? [] : [{ wallet, tier: c.tier, hour_ms: c.hour.getTime(), requests: c.requests.toString() }];
  });
}

/**
 * The window's provider statistics from provider_requests / provider_health; the served requests
 * from `counters` instead when they live in DynamoDB (COUNTER_STORE=dynamodb).
 */
export async function loadProviderStats(db: Queryable, { from, to }: EpochWindow, counters?: CounterStore): Promise<ProviderStats> {
  const served =
    counters?.kind === "dynamodb"
      ? await servedFromCounters(db, counters, { from, to })
      : (
          await db.query<{ wallet: string; tier: string; hour_ms: string | number; requests: string | number }>(
            `select a.wallet, r.tier, (extract(epoch from r.hour) * 1000)::bigint as hour_ms, r.requests
               from provider_requests r join accounts a on a.id = r.provider_account_id
              where r.hour >= $1 and r.hour < $2 and a.wallet is not null and r.requests > 0`,
            [from.toISOString(), to.toISOString()],
          )
        ).rows;
  const { rows: health } = await db.query<{ wallet: string; day: string; uptime_bps: number; p50_ms: number }>(
    `select a.wallet, h.day::text as day, h.uptime_bps, h.p50_ms
       from provider_health h join accounts a on a.id = h.provider_account_id
      where h.day >= ($1::timestamptz at time zone 'UTC')::date and h.day < ($2::timestamptz at time zone 'UTC')::date + 1
        and a.wallet is not null`,
    [from.toISOString(), to.toISOString()],
  );
  return {
    served: served.map((r) => ({ wallet: r.wallet as Address, tier: r.tier, hour: new Date(Number(r.hour_ms)), requests: BigInt(String(r.requests)) })),
    health: health.map((h) => ({ wallet: h.wallet as Address, day: h.day, uptimeBps: Number(h.uptime_bps), p50Ms: Number(h.p50_ms) })),
    hours: BigInt(Math.ceil((to.getTime() - from.getTime()) / HOUR_MS)),
  };
}

/** Each wallet's metered spend (usage billed in CXPT, cost_ausd) in the window. */
export async function loadUserSpend(db: Queryable, { from, to }: EpochWindow) {
  const { rows } = await db.query<{ wallet: string; cost: string }>(
    `select a.wallet, sum(u.cost_ausd)::text as cost
       from usage_events u join accounts a on a.id = u.account_id
      where u.recorded_at >= $1 and u.recorded_at < $2 and u.billed_in = 'cxpt' and a.wallet is not null
      group by a.wallet`,
    [from.toISOString(), to.toISOString()],
  );
  return rows.map((r) => ({ wallet: r.wallet as Address, costAusd: BigInt(r.cost) }));
}

/** An epoch's points for both pools. */
export async function computeEpochPoints(db: Queryable, window: EpochWindow, tables: MultiplierTables = DEFAULT_MULTIPLIERS, counters?: CounterStore) {
  const [stats, spend] = await Promise.all([loadProviderStats(db, window, counters), loadUserSpend(db, window)]);
  return { providers: providerPoints(stats, tables), users: userPoints(spend) };
}

export interface RunEpoch extends EpochWindow {
  /** The distributor's next epoch (current + 1). */
  readonly epoch: bigint;
  readonly tables?: MultiplierTables;
}

export interface RunEpochResult {
  readonly epoch: bigint;
  /** `started`: the epoch already runs on chain, nothing was done; `empty`: nobody earned points. */
  readonly status: "uploaded" | "started" | "empty";
  readonly providers: readonly PointsEntry[];
  readonly users: readonly PointsEntry[];
  /** The Vault.sweep transaction, when the Vault had accrued funds. */
  readonly sweepTx: Hash | null;
  /** What uploadEntries sent (rows unchanged since an earlier run are not sent again). */
  readonly upload: PointsUploadResult | null;
}

/** The epoch's points as upload rows, providers first (numbered as the lines of an equivalent CSV). */
const rowsOf = (pools: { providers: readonly PointsEntry[]; users: readonly PointsEntry[] }): PointsRow[] =>
  (["providers", "users"] as const).flatMap((pool) => pools[pool].map((e) => ({ ...e, pool }))).map((row, i) => ({ ...row, line: i + 2 }));

/**
 * Computes `epoch`'s points over [from, to), sweeps the Vault's accrued funds into the distributor
 * (Vault.sweep is permissionless; sent with the rewards key) and uploads the points through
 * uploadEntries (stored in reward_points, audited, only changed rows sent, in batches). Idempotent:
 * once the epoch has started on chain a run does nothing; before that a re-run over unchanged data
 * sends nothing (a sweep happens only while the Vault has accrued something new). Starting the
 * epoch (startEpoch) is left to the caller. 409 `CHAIN_OFF` / `WRONG_EPOCH`; 503
 * `REWARDS_KEY_MISSING`; 400 `INVALID_WINDOW` unless from < to.
 */
export async function runRewardsEpoch(ctx: AppContext, run: RunEpoch): Promise<RunEpochResult> {
  const { epoch, from, to } = run;
  if (!(from.getTime() < to.getTime())) throw badRequest("INVALID_WINDOW", `the epoch window must end after it starts (${from.toISOString()} – ${to.toISOString()})`);
  const chain = requireChain(ctx);
  const { distributor, vault } = chain.addresses;
  const current = await chain.client.readContract({ address: distributor, abi: distributorAbi, functionName: "currentEpoch" });
  if (epoch <= current) return { epoch, status: "started", providers: [], users: [], sweepTx: null, upload: null };

  const points = await computeEpochPoints(ctx.db, { from, to }, run.tables, ctx.counters);
  if (points.providers.length === 0 && points.users.length === 0) return { epoch, status: "empty", ...points, sweepTx: null, upload: null };

  const signer = chain.signers.rewards;
  if (signer === undefined) throw unavailable("REWARDS_KEY_MISSING", "the backend has no rewards key (REWARDS_PRIVATE_KEY): it cannot run a rewards epoch");
  const sweepTx = await exclusive(ctx, async () => {
    const accrued = await chain.client.readContract({ address: vault, abi: vaultAbi, functionName: "accrued" });
    if (accrued === 0n) return null;
    const { hash, receipt } = await send({ client: chain.client, signer }, { address: vault, abi: vaultAbi, functionName: "sweep" }, { counter: ctx.monitor.metrics.chainTransactions });
    if (receipt.status !== "success") throw new AppError("SWEEP_FAILED", `Vault.sweep ${hash} reverted`, 502);
    return hash;
  });
  const upload = await uploadEntries(ctx, null, { epoch, rows: rowsOf(points), source: { source: "rewards job" } });
  return { epoch, status: "uploaded", ...points, sweepTx, upload };
}
