// Each API key's use, read from the drained usage events: last use, requests and spend this calendar
// month (UTC), next to the key's optional monthly spend limit; and setting that limit. The compute
// gate enforces the limit (402 KEY_LIMIT_REACHED); this module only stores and reports it.
import type { Queryable } from "../db/db.ts";
import { badRequest, notFound } from "../errors.ts";

/** The largest limit accepted: far beyond any supply, small enough for numeric(78, 0). */
export const MAX_KEY_LIMIT_WEI = 10n ** 36n;

export interface KeyUsage {
  readonly keyId: string;
  readonly monthlyLimitWei: bigint | null;
  readonly lastUsedAt: Date | null;
  readonly requestsThisMonth: number;
  /** CXPT charged this month (bucket-covered and legacy-billed requests cost 0 wei). */
  readonly spentThisMonthWei: bigint;
}

/** The start of `now`'s calendar month in UTC: where "this month" begins for limits and statements. */
export const monthStart = (now: Date): Date => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));

/** The use of every key of `accountId` (revoked ones included), keyed by key id. */
export async function keyUsage(db: Queryable, accountId: string, now = new Date()): Promise<Map<string, KeyUsage>> {
  const { rows } = await db.query<{ id: string; monthly_limit_wei: string | null; last_used_at: Date | null; requests: string; spent: string }>(
    `select k.id, k.monthly_limit_wei, u.last_used_at, coalesce(m.requests, 0) as requests, coalesce(m.spent, 0) as spent
       from api_keys k
       left join lateral (select max(recorded_at) as last_used_at from usage_events where api_key_id = k.id) u on true
       left join lateral (select count(*) as requests, sum(cost_wei) as spent from usage_events
                           where api_key_id = k.id and recorded_at >= $2) m on true
      where k.account_id = $1`,
    [accountId, monthStart(now)],
  );
  return new Map(
    rows.map((r) => [
      r.id,
      {
        keyId: r.id,
        monthlyLimitWei: r.monthly_limit_wei === null ? null : BigInt(r.monthly_limit_wei),
        lastUsedAt: r.last_used_at === null ? null : new Date(r.last_used_at),
        requestsThisMonth: Number(r.requests),
        spentThisMonthWei: BigInt(r.spent),
      },
    ]),
  );
}

/**
 * Sets (or, with null, removes) the monthly spend limit of one of the account's active keys and returns
 * the key's hash, for the gate's cache. 400 INVALID_LIMIT unless 0 < limit ≤ MAX_KEY_LIMIT_WEI; 404
 * API_KEY_NOT_FOUND for another account's key or a revoked one.
 */
export async function setKeyLimit(db: Queryable, accountId: string, keyId: string, limitWei: bigint | null): Promise<string> {
  if (limitWei !== null && (limitWei <= 0n || limitWei > MAX_KEY_LIMIT_WEI)) {
    throw badRequest("INVALID_LIMIT", "the monthly limit must be more than 0 wei and at most 10^36 wei, or null for no limit");
  }
  const { rows } = await db.query<{ key_hash: string }>(
    "update api_keys set monthly_limit_wei = $3 where id = $1 and account_id = $2 and revoked_at is null returning key_hash",
    [keyId, accountId, limitWei?.toString() ?? null],
  );
  if (rows.length === 0) throw notFound("API_KEY_NOT_FOUND", `No active API key ${keyId} on this account`);
  return rows[0]!.key_hash;
}
