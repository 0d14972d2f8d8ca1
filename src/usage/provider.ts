// A provider's served work and health per UTC day, read from the provider statistics the rewards epoch
// turns into points (provider_requests per tier and hour, provider_health per day). Tokens and the
// per-node split are not recorded there yet: they arrive with the served-work data of the compute path.
import type { Queryable } from "../db/db.ts";

export interface ProviderDay {
  /** YYYY-MM-DD (UTC) */
  readonly day: string;
  readonly requests: number;
  /** Requests per service tier that day. */
  readonly byTier: Readonly<Record<string, number>>;
  /** Uptime in basis points of 100 % (9995 = 99.95 %), null without a health record that day. */
  readonly uptimeBps: number | null;
  readonly p50Ms: number | null;
}

/** The provider's days in [start, end) that have requests or health, oldest first. */
export async function providerDays(db: Queryable, providerAccountId: string, range: { start: Date; end: Date }): Promise<ProviderDay[]> {
  const [requests, health] = await Promise.all([
    db.query<{ day: string; tier: string; requests: string }>(
      `select to_char(hour at time zone 'UTC', 'YYYY-MM-DD') as day, tier, sum(requests) as requests
         from provider_requests where provider_account_id = $1 and hour >= $2 and hour < $3
        group by 1, 2
        order by 1, 2`,
      [providerAccountId, range.start, range.end],
    ),
    db.query<{ day: string; uptime_bps: number; p50_ms: number }>(
      `select to_char(day, 'YYYY-MM-DD') as day, uptime_bps, p50_ms from provider_health
        where provider_account_id = $1 and day >= $2::date and day < $3::date`,
      [providerAccountId, range.start.toISOString().slice(0, 10), range.end.toISOString().slice(0, 10)],
    ),
  ]);
  const days = new Map<string, { requests: number; byTier: Record<string, number>; uptimeBps: number | null; p50Ms: number | null }>();
  const dayOf = (day: string) => days.get(day) ?? days.set(day, { requests: 0, byTier: {}, uptimeBps: null, p50Ms: null }).get(day)!;
  for (const r of requests.rows) {
    const d = dayOf(r.day);
    d.requests += Number(r.requests);
    d.byTier[r.tier] = Number(r.requests);
  }
  for (const h of health.rows) Object.assign(dayOf(h.day), { uptimeBps: Number(h.uptime_bps), p50Ms: Number(h.p50_ms) });
  return [...days.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([day, d]) => ({ day, ...d }));
}
