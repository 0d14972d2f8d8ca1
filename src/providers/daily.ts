// A provider's served work and node health per UTC day and node, as the provider dashboard charts them:
// requests, tokens and mean latency from the served-work recorder (provider_served), and uptime and p50
// latency from the health checks (provider_node_checks, kept for PROVIDER_HEALTH_RETENTION_DAYS).
// Paged by (day, node), oldest first.
import type { Queryable } from "../db/db.ts";
import { badRequest } from "../errors.ts";

export const DEFAULT_NODE_DAYS_PAGE = 500;
export const MAX_NODE_DAYS_PAGE = 2000;

export interface NodeDay {
  /** YYYY-MM-DD (UTC) */
  readonly day: string;
  readonly nodeId: string;
  /** The node's URL and tier now; null once the node was removed (its work and checks still show). */
  readonly baseUrl: string | null;
  readonly tier: string | null;
  readonly requests: number;
  readonly tokens: bigint;
  /** Mean latency of the served requests (ms), null when none was served. */
  readonly avgLatencyMs: number | null;
  readonly checks: number;
  /** Share of good checks in basis points, null without checks. */
  readonly uptimeBps: number | null;
  /** Median latency of the good checks (ms), null without one. */
  readonly p50Ms: number | null;
}

const CURSOR = /^([0-9]{4}-[0-9]{2}-[0-9]{2})_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/**
 * The provider's (day, node) rows in [start, end) that have served work or health checks, oldest first,
 * `limit` (1–MAX_NODE_DAYS_PAGE) after `cursor` (a nextCursor from an earlier page).
 * 400 INVALID_LIMIT / INVALID_CURSOR otherwise.
 */
export async function nodeDays(
  db: Queryable,
  providerAccountId: string,
  range: { readonly start: Date; readonly end: Date },
  options: { readonly limit?: number; readonly cursor?: string } = {},
): Promise<{ days: NodeDay[]; nextCursor: string | null }> {
  const limit = options.limit ?? DEFAULT_NODE_DAYS_PAGE;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_NODE_DAYS_PAGE) {
    throw badRequest("INVALID_LIMIT", `limit must be from 1 to ${MAX_NODE_DAYS_PAGE}, got ${limit}`);
  }
  const after = options.cursor === undefined ? null : CURSOR.exec(options.cursor);
  if (options.cursor !== undefined && after === null) {
    throw badRequest("INVALID_CURSOR", `cursor must be a nextCursor from an earlier page, got "${options.cursor}"`);
  }
  const { rows } = await db.query<Record<string, string | number | null>>(
    `with served as (
       select (period_start at time zone 'UTC')::date as day, node_id, sum(requests) as requests, sum(tokens) as tokens,
              sum(latency_sum_ms) as latency_ms
         from provider_served where provider_account_id = $1 and period_start >= $2 and period_start < $3
        group by 1, 2
     ), checks as (
       select (at at time zone 'UTC')::date as day, node_id, count(*)::int as checks, count(*) filter (where up)::int as ups,
              percentile_disc(0.5) within group (order by latency_ms) filter (where up) as p50
         from provider_node_checks where provider_account_id = $1 and at >= $2 and at < $3
        group by 1, 2
     ), days as (
       select coalesce(s.day, c.day) as day, coalesce(s.node_id, c.node_id) as node_id,
              s.requests, s.tokens, s.latency_ms, c.checks, c.ups, c.p50
         from served s full join checks c on c.day = s.day and c.node_id = s.node_id
     )
     select to_char(d.day, 'YYYY-MM-DD') as day, d.node_id::text as node_id, n.base_url, n.tier,
            coalesce(d.requests, 0)::text as requests, coalesce(d.tokens, 0)::text as tokens, d.latency_ms::text as latency_ms,
            coalesce(d.checks, 0) as checks, d.ups, d.p50
       from days d left join provider_nodes n on n.id = d.node_id and n.provider_account_id = $1
      where $4::date is null or (d.day, d.node_id) > ($4::date, $5::uuid)
      order by d.day, d.node_id
      limit $6`,
    [providerAccountId, range.start.toISOString(), range.end.toISOString(), after?.[1] ?? null, after?.[2] ?? null, limit + 1],
  );
  const days = rows.slice(0, limit).map((r): NodeDay => {
    const requests = Number(r.requests);
    const checks = Number(r.checks);
    return {
      day: r.day as string,
      nodeId: r.node_id as string,
      baseUrl: r.base_url as string | null,
      tier: r.tier as string | null,
      requests,
      tokens: BigInt(r.tokens as string),
      avgLatencyMs: requests === 0 ? null : Math.round(Number(r.latency_ms) / requests),
      checks,
      uptimeBps: checks === 0 ? null : Math.floor((Number(r.ups) * 10_000) / checks),
      p50Ms: r.p50 === null ? null : Number(r.p50),
    };
  });
  const last = days.at(-1);
  return { days, nextCursor: rows.length > limit && last ? `${last.day}_${last.nodeId}` : null };
}
