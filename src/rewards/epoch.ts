// The daily rewards epoch: points for the providers pool (served requests × base points × uptime
// × latency × demand, src/rewards/multipliers.ts) and the users pool (cashback ∝ metered spend)
// over a time window, stored and uploaded by uploadEntries (./upload.ts, the admin's CSV path too), with the
// Vault's accrued payments swept into the distributor first so the epoch has a budget.
//
// Inputs: the work served through the gateway and the node health checks (src/providers/,
// 0016_provider_nodes.sql), and provider_requests / provider_health (0008_provider_stats.sql), which
// an external orchestrator reports through PUT /api/v1/admin/providers/stats (./stats.ts); see
// loadProviderStats for how the two are merged without counting twice. Users: usage_events billed in CXPT, by cost_ausd (USD-pegged, so the share
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

/** Rows of the same wallet, tier and hour merged into one with the greater request count. */
function greatestPerHour<R extends { wallet: string; tier: string; hour_ms: string | number; requests: string | number }>(rows: readonly R[]): R[] {
  const merged = new Map<string, R>();
  for (const row of rows) {
    const key = `${row.wallet.toLowerCase()}|${row.tier}|${row.hour_ms}`;
    const known = merged.get(key);
    if (known === undefined || BigInt(row.requests) > BigInt(known.requests)) merged.set(key, row);
  }
  return [...merged.values()];
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

/** p50 of a provider-day whose checks all failed: the worst latency band. */
export const NO_GOOD_CHECK_P50_MS = 60_000;

/**
 * The window's provider statistics: the work served through the gateway (provider_served) and the
 * orchestrator's uploads (provider_requests), and health from the node checks (provider_node_checks)
 * and the uploads (provider_health). When both sources have the same provider, tier and hour, the
 * greater request count is taken (never their sum: they may describe the same requests); when both
 * have the same provider and day, the uploaded health figure is taken (the orchestrator's is the
 * operator's own measurement). Served work counts by the start of its period (0016_provider_nodes.sql),
 * uploads by their hour.
 */
export async function loadProviderStats(db: Queryable, { from, to }: EpochWindow, counters?: CounterStore): Promise<ProviderStats> {
  // With COUNTER_STORE=dynamodb the gateway's served work is counted in DynamoDB: the greater of it and
  // the uploads per provider, tier and hour, as below.
  const dynamo = counters?.kind === "dynamodb" ? await servedFromCounters(db, counters, { from, to }) : undefined;
  const { rows: uploadedOrMerged } = await db.query<{ wallet: string; tier: string; hour_ms: string | number; requests: string | number }>(
    `with recorded as (
       select provider_account_id, tier, date_trunc('hour', period_start at time zone 'UTC') at time zone 'UTC' as hour, sum(requests) as requests
         from provider_served where $3 and period_start >= $1 and period_start < $2 group by 1, 2, 3),
     uploaded as (
       select provider_account_id, tier, hour, requests from provider_requests where hour >= $1 and hour < $2),
     merged as (
       select coalesce(r.provider_account_id, u.provider_account_id) as provider_account_id, coalesce(r.tier, u.tier) as tier,
              coalesce(r.hour, u.hour) as hour, greatest(coalesce(r.requests, 0), coalesce(u.requests, 0)) as requests
         from recorded r full join uploaded u on u.provider_account_id = r.provider_account_id and u.tier = r.tier and u.hour = r.hour)
     select a.wallet, m.tier, (extract(epoch from m.hour) * 1000)::bigint as hour_ms, m.requests
       from merged m join accounts a on a.id = m.provider_account_id
      where a.wallet is not null and m.requests > 0`,
    [from.toISOString(), to.toISOString(), dynamo === undefined],
  );
  const served = dynamo === undefined ? uploadedOrMerged : greatestPerHour([...uploadedOrMerged, ...dynamo]);
  const { rows: health } = await db.query<{ wallet: string; day: string; uptime_bps: number; p50_ms: number }>(
    `with days as (
       select ($1::timestamptz at time zone 'UTC')::date as first, ($2::timestamptz at time zone 'UTC')::date as last),
     checked as (
       select c.provider_account_id, (c.at at time zone 'UTC')::date as day,
              (count(*) filter (where c.up) * 10000 / count(*))::int as uptime_bps,
              coalesce(percentile_disc(0.5) within group (order by c.latency_ms) filter (where c.up), ${NO_GOOD_CHECK_P50_MS})::int as p50_ms
         from provider_node_checks c, days
        where c.at >= days.first::timestamp at time zone 'UTC' and c.at < (days.last + 1)::timestamp at time zone 'UTC'
        group by 1, 2),
     uploaded as (
       select h.provider_account_id, h.day, h.uptime_bps, h.p50_ms from provider_health h, days where h.day >= days.first and h.day <= days.last),
     merged as (
       select * from uploaded
        union all
       select * from checked c where not exists (select 1 from uploaded u where u.provider_account_id = c.provider_account_id and u.day = c.day))
     select a.wallet, m.day::text as day, m.uptime_bps, m.p50_ms
       from merged m join accounts a on a.id = m.provider_account_id
      where a.wallet is not null`,
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
