// Provider statistics as Cxmpute's orchestrator reports them: the requests each provider served per
// service tier and UTC hour (provider_requests) and its uptime and p50 latency per UTC day
// (provider_health), the inputs of the daily rewards epoch (./epoch.ts). The orchestrator routes
// requests to provider nodes, so it is the one that knows who served what; it sends its figures
// through the admin API (PUT /api/v1/admin/providers/stats), audited like every admin action.
//
// A report is checked whole before anything is written, and written in one transaction. Figures
// are keyed by (provider, tier, hour) and (provider, day): a later report of the same key replaces
// the earlier figure rather than adding to it, because the orchestrator resends corrected figures
// (and may resend a report whose answer it lost) and neither must count twice.
//
// Late figures: the rewards job (src/jobs/rewards.ts) computes each epoch over the time since the
// last closed window, up to today 00:00 UTC, and a window stays open until its epoch starts. So a
// figure for an hour or day of a window still open (not yet computed, or computed but its epoch not
// started) counts when the next run recomputes it; a figure for a closed window is stored (the admin
// dashboard shows it) but earns nothing, since those points are already on chain.
import { createHash } from "node:crypto";
import { getAddress, type Address } from "viem";
import type { AppContext } from "../app/context.ts";
import type { Queryable } from "../db/db.ts";
import { audited } from "../audit/log.ts";
import { badRequest } from "../errors.ts";
import { DEFAULT_MULTIPLIERS } from "./multipliers.ts";

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const INT4_MAX = 2 ** 31 - 1;
const INT8_MAX = 2n ** 63n - 1n;
const WALLET = /^0x[0-9a-f]{40}$/;

/** Most rows of each kind (served, health) in one report. */
export const MAX_REPORT_ROWS = 10_000;
/** Problems listed in a refused report's details (the count says how many there were in all). */
const MAX_LISTED = 50;

/** Requests one provider served in one service tier during one UTC hour. */
export interface ServedFigure {
  readonly provider: Address;
  /** A tier the multipliers know (src/rewards/multipliers.ts basePoints). */
  readonly tier: string;
  /** The hour's start, ISO 8601 (`2026-03-01T05:00:00Z`): a whole UTC hour, not in the future. */
  readonly hour: string;
  readonly requests: bigint;
}

/** One provider's health on one UTC day. */
export interface HealthFigure {
  readonly provider: Address;
  /** YYYY-MM-DD (UTC), not in the future. */
  readonly day: string;
  /** Uptime in basis points of 100 % (9995 = 99.95 %), 0–10000. */
  readonly uptimeBps: number;
  /** Median latency in milliseconds, ≥ 0. */
  readonly p50Ms: number;
}

export interface ProviderStatsReport {
  readonly served: readonly ServedFigure[];
  readonly health: readonly HealthFigure[];
}

export interface RecordedCounts {
  /** Keys seen for the first time. */
  readonly inserted: number;
  /** Keys already stored, whose figure this report replaced. */
  readonly replaced: number;
}

export interface ProviderStatsRecorded {
  readonly served: RecordedCounts;
  readonly health: RecordedCounts;
  /** Distinct providers in the report. */
  readonly providers: number;
}

/** One thing wrong with a report: where (`served[3].hour`), its code and why. */
interface Problem {
  readonly at: string;
  readonly code: string;
  readonly message: string;
}

/**
 * Milliseconds since the epoch of an ISO 8601 instant with a zone (`Z` or `±hh:mm`), or undefined
 * when `text` is not one or names a date or time that does not exist (Date.parse would roll
 * 2026-02-30 over to March).
 */
function parseInstant(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? "0"].map(Number) as [number, number, number, number, number, number];
  const wall = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  const exists = wall.getUTCFullYear() === y && wall.getUTCMonth() === mo - 1 && wall.getUTCDate() === d && wall.getUTCHours() === h && wall.getUTCMinutes() === mi && wall.getUTCSeconds() === s;
  if (!exists) return undefined;
  const zone = m[8]!;
  const offsetMinutes = zone === "Z" ? 0 : (zone[0] === "-" ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  return wall.getTime() + Number(`0.${m[7] ?? "0"}`) * 1000 - offsetMinutes * 60_000;
}

/** The start of a YYYY-MM-DD day (UTC) in milliseconds, or undefined when it is no such day. */
function parseDay(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
  const start = Date.parse(`${text}T00:00:00Z`);
  return !Number.isNaN(start) && new Date(start).toISOString().slice(0, 10) === text ? start : undefined;
}

interface CheckedServed {
  readonly wallet: string;
  readonly tier: string;
  readonly hourIso: string;
  readonly requests: bigint;
}

interface CheckedHealth {
  readonly wallet: string;
  readonly day: string;
  readonly uptimeBps: number;
  readonly p50Ms: number;
}

/** Every problem of a report that can be seen without the database, and its rows normalized. */
function check(report: ProviderStatsReport, now: number) {
  const problems: Problem[] = [];
  const problem = (at: string, code: string, message: string) => void problems.push({ at, code, message });
  for (const kind of ["served", "health"] as const) {
    if (report[kind].length > MAX_REPORT_ROWS) problem(kind, "INVALID_REPORT", `at most ${MAX_REPORT_ROWS} ${kind} rows per report, got ${report[kind].length}`);
  }
  const walletOf = (at: string, provider: string) => {
    const wallet = provider.toLowerCase();
    if (!WALLET.test(wallet)) problem(`${at}.provider`, "INVALID_PROVIDER", `not a wallet address: "${provider}"`);
    return wallet;
  };

  const served: CheckedServed[] = [];
  const servedKeys = new Set<string>();
  report.served.forEach((row, i) => {
    const at = `served[${i}]`;
    const wallet = walletOf(at, row.provider);
    // Own keys only: "constructor" must not pass for a tier.
    if (!Object.hasOwn(DEFAULT_MULTIPLIERS.basePoints, row.tier)) {
      problem(`${at}.tier`, "UNKNOWN_TIER", `no base points for tier "${row.tier}" (known: ${Object.keys(DEFAULT_MULTIPLIERS.basePoints).join(", ")})`);
    }
    const hour = parseInstant(row.hour);
    if (hour === undefined) problem(`${at}.hour`, "INVALID_HOUR", `not an ISO 8601 instant with a zone: "${row.hour}"`);
    else if (hour % HOUR_MS !== 0) problem(`${at}.hour`, "INVALID_HOUR", `not the start of a UTC hour: "${row.hour}"`);
    else if (hour > now) problem(`${at}.hour`, "INVALID_HOUR", `the hour ${row.hour} has not started yet`);
    if (row.requests < 0n || row.requests > INT8_MAX) problem(`${at}.requests`, "INVALID_REQUESTS", `requests must be from 0 to ${INT8_MAX}, got ${row.requests}`);
    if (hour === undefined) return;
    const hourIso = new Date(hour).toISOString();
    const key = `${wallet}|${row.tier}|${hourIso}`;
    if (servedKeys.has(key)) problem(at, "INVALID_REPORT", `a second figure for ${row.provider}, tier ${row.tier}, hour ${hourIso}`);
    servedKeys.add(key);
    served.push({ wallet, tier: row.tier, hourIso, requests: row.requests });
  });

  const health: CheckedHealth[] = [];
  const healthKeys = new Set<string>();
  report.health.forEach((row, i) => {
    const at = `health[${i}]`;
    const wallet = walletOf(at, row.provider);
    const day = parseDay(row.day);
    if (day === undefined) problem(`${at}.day`, "INVALID_DAY", `not a YYYY-MM-DD date: "${row.day}"`);
    else if (day > now) problem(`${at}.day`, "INVALID_DAY", `the day ${row.day} has not started yet`);
    if (!Number.isInteger(row.uptimeBps) || row.uptimeBps < 0 || row.uptimeBps > 10_000) {
      problem(`${at}.uptimeBps`, "INVALID_UPTIME", `uptimeBps must be an integer from 0 to 10000, got ${row.uptimeBps}`);
    }
    if (!Number.isInteger(row.p50Ms) || row.p50Ms < 0 || row.p50Ms > INT4_MAX) problem(`${at}.p50Ms`, "INVALID_LATENCY", `p50Ms must be an integer from 0 to ${INT4_MAX}, got ${row.p50Ms}`);
    const key = `${wallet}|${row.day}`;
    if (healthKeys.has(key)) problem(at, "INVALID_REPORT", `a second figure for ${row.provider} on ${row.day}`);
    healthKeys.add(key);
    health.push({ wallet, day: row.day, uptimeBps: row.uptimeBps, p50Ms: row.p50Ms });
  });

  if (problems.length > 0) {
    const [first] = problems as [Problem];
    throw badRequest(first.code, `the report has ${problems.length} problem(s), nothing was recorded; first: ${first.at}: ${first.message}`, {
      count: problems.length,
      problems: problems.slice(0, MAX_LISTED),
    });
  }
  return { served, health };
}

/** Each wallet's provider account id; 400 `UNKNOWN_PROVIDER` naming every wallet that is no provider's. */
async function providerIds(tx: Queryable, wallets: readonly string[]): Promise<Map<string, string>> {
  const { rows } = await tx.query<{ id: string; wallet: string }>(
    "select a.id, a.wallet from accounts a join providers p on p.account_id = a.id where a.wallet = any($1::text[])",
    [wallets],
  );
  const ids = new Map(rows.map((r) => [r.wallet, r.id]));
  const unknown = wallets.filter((w) => !ids.has(w)).map((w) => getAddress(w));
  if (unknown.length > 0) {
    throw badRequest("UNKNOWN_PROVIDER", `not the wallet of a provider account: ${unknown.slice(0, MAX_LISTED).join(", ")}; nothing was recorded`, { wallets: unknown });
  }
  return ids;
}

/** Counts of an upsert's `returning (xmax = 0) as inserted` (a row just inserted has no xmax). */
const countsOf = (rows: readonly { inserted: boolean }[]): RecordedCounts => {
  const inserted = rows.filter((r) => r.inserted).length;
  return { inserted, replaced: rows.length - inserted };
};

async function upsertServed(tx: Queryable, ids: Map<string, string>, rows: readonly CheckedServed[]): Promise<RecordedCounts> {
  if (rows.length === 0) return { inserted: 0, replaced: 0 };
  const { rows: written } = await tx.query<{ inserted: boolean }>(
    `insert into provider_requests (provider_account_id, tier, hour, requests)
     select id::uuid, tier, hour::timestamptz, requests::int8 from unnest($1::text[], $2::text[], $3::text[], $4::text[]) as t(id, tier, hour, requests)
     on conflict (provider_account_id, tier, hour) do update set requests = excluded.requests
     returning (xmax = 0) as inserted`,
    [rows.map((r) => ids.get(r.wallet)!), rows.map((r) => r.tier), rows.map((r) => r.hourIso), rows.map((r) => r.requests.toString())],
  );
  return countsOf(written);
}

async function upsertHealth(tx: Queryable, ids: Map<string, string>, rows: readonly CheckedHealth[]): Promise<RecordedCounts> {
  if (rows.length === 0) return { inserted: 0, replaced: 0 };
  const { rows: written } = await tx.query<{ inserted: boolean }>(
    `insert into provider_health (provider_account_id, day, uptime_bps, p50_ms)
     select id::uuid, day::date, uptime::int4, p50::int4 from unnest($1::text[], $2::text[], $3::int4[], $4::int4[]) as t(id, day, uptime, p50)
     on conflict (provider_account_id, day) do update set uptime_bps = excluded.uptime_bps, p50_ms = excluded.p50_ms
     returning (xmax = 0) as inserted`,
    [rows.map((r) => ids.get(r.wallet)!), rows.map((r) => r.day), rows.map((r) => r.uptimeBps), rows.map((r) => r.p50Ms)],
  );
  return countsOf(written);
}

/** The report's SHA-256, for the audit log (the rows themselves would swell it). */
const digestOf = (report: ProviderStatsReport) =>
  createHash("sha256")
    .update(JSON.stringify(report, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v)))
    .digest("hex");

/**
 * Records an orchestrator's report of provider statistics (see the file comment): every row is
 * checked first, then all are upserted in one transaction, a figure replacing an earlier one of
 * the same key. Audited as `record_provider_stats` (counts and the report's SHA-256). 400 with
 * nothing written: `UNKNOWN_PROVIDER` (details.wallets: wallets of no provider account), or the
 * code of the first problem found, every problem listed in details.problems: `UNKNOWN_TIER`,
 * `INVALID_HOUR` (not an ISO instant, not a whole UTC hour, or not started), `INVALID_DAY`,
 * `INVALID_REQUESTS`, `INVALID_UPTIME` (0–10000), `INVALID_LATENCY`, `INVALID_PROVIDER` (not an
 * address), `INVALID_REPORT` (a key twice, or more than MAX_REPORT_ROWS rows of a kind).
 */
export function recordProviderStats(ctx: AppContext, actorId: string | null, report: ProviderStatsReport): Promise<ProviderStatsRecorded> {
  const params = { served: report.served.length, health: report.health.length, sha256: digestOf(report) };
  return audited(ctx.db, { actorId, action: "record_provider_stats", params }, async () => {
    const { served, health } = check(report, Date.now());
    const wallets = [...new Set([...served, ...health].map((r) => r.wallet))];
    const result = await ctx.db.transaction(async (tx) => {
      const ids = await providerIds(tx, wallets);
      return { served: await upsertServed(tx, ids, served), health: await upsertHealth(tx, ids, health), providers: wallets.length };
    });
    return { result, outcome: { status: "executed", ...result } };
  });
}

/** The longest window listProviderStats answers for. */
export const MAX_STATS_WINDOW_DAYS = 7;
export const MAX_STATS_PAGE = 50;
export const DEFAULT_STATS_PAGE = 20;

export interface StatsQuery {
  /** ISO 8601 instants; served hours in [from, to), health days that start before `to` and end after `from`. */
  readonly from: string;
  readonly to: string;
  /** Providers per page, 1–MAX_STATS_PAGE (DEFAULT_STATS_PAGE). */
  readonly limit?: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
}

export interface StatsPage {
  readonly from: Date;
  readonly to: Date;
  /** The page's providers' figures, by provider, then hour and tier. */
  readonly served: readonly ServedFigure[];
  /** The page's providers' health, by provider, then day. */
  readonly health: readonly HealthFigure[];
  /** Pass as `cursor` for the next providers; null on the last page. */
  readonly nextCursor: string | null;
}

/**
 * The stored figures of a window of at most MAX_STATS_WINDOW_DAYS, a page of providers (by
 * wallet) at a time with all their figures in the window. 400 `INVALID_WINDOW` / `INVALID_LIMIT` /
 * `INVALID_CURSOR`.
 */
export async function listProviderStats(db: Queryable, query: StatsQuery): Promise<StatsPage> {
  const from = parseInstant(query.from);
  const to = parseInstant(query.to);
  if (from === undefined || to === undefined || from >= to || to - from > MAX_STATS_WINDOW_DAYS * DAY_MS) {
    throw badRequest("INVALID_WINDOW", `from and to must be ISO 8601 instants with a zone, from before to, at most ${MAX_STATS_WINDOW_DAYS} days apart; got ${query.from} – ${query.to}`);
  }
  const limit = query.limit ?? DEFAULT_STATS_PAGE;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_STATS_PAGE) {
    throw badRequest("INVALID_LIMIT", `limit must be an integer from 1 to ${MAX_STATS_PAGE}, got ${limit}`);
  }
  const cursor = query.cursor?.toLowerCase();
  if (cursor !== undefined && !WALLET.test(cursor)) throw badRequest("INVALID_CURSOR", `cursor must be nextCursor of an earlier page, got "${query.cursor}"`);

  const window = [new Date(from).toISOString(), new Date(to).toISOString()];
  // Health: the UTC days that overlap [from, to), from's day up to the last day starting before `to`.
  const inHours = "r.hour >= $1::timestamptz and r.hour < $2::timestamptz";
  const inDays = "h.day >= ($1::timestamptz at time zone 'UTC')::date and (h.day::timestamp at time zone 'UTC') < $2::timestamptz";
  const { rows: providers } = await db.query<{ id: string; wallet: string }>(
    `select a.id, a.wallet from accounts a
      where a.id in (select r.provider_account_id from provider_requests r where ${inHours}
                     union select h.provider_account_id from provider_health h where ${inDays})
        and ($3::text is null or a.wallet > $3)
      order by a.wallet
      limit $4`,
    [...window, cursor ?? null, limit + 1],
  );
  const page = providers.slice(0, limit);
  const ids = page.map((p) => p.id);
  const { rows: served } = await db.query<{ wallet: string; tier: string; hour_ms: string | number; requests: string | number }>(
    `select a.wallet, r.tier, (extract(epoch from r.hour) * 1000)::int8 as hour_ms, r.requests::text as requests
       from provider_requests r join accounts a on a.id = r.provider_account_id
      where ${inHours} and r.provider_account_id = any($3::uuid[])
      order by a.wallet, r.hour, r.tier`,
    [...window, ids],
  );
  const { rows: health } = await db.query<{ wallet: string; day: string; uptime_bps: number; p50_ms: number }>(
    `select a.wallet, to_char(h.day, 'YYYY-MM-DD') as day, h.uptime_bps, h.p50_ms
       from provider_health h join accounts a on a.id = h.provider_account_id
      where ${inDays} and h.provider_account_id = any($3::uuid[])
      order by a.wallet, h.day`,
    [...window, ids],
  );
  return {
    from: new Date(from),
    to: new Date(to),
    served: served.map((r) => ({ provider: getAddress(r.wallet), tier: r.tier, hour: new Date(Number(r.hour_ms)).toISOString(), requests: BigInt(r.requests) })),
    health: health.map((h) => ({ provider: getAddress(h.wallet), day: h.day, uptimeBps: Number(h.uptime_bps), p50Ms: Number(h.p50_ms) })),
    nextCursor: providers.length > limit ? getAddress(page[page.length - 1]!.wallet) : null,
  };
}
