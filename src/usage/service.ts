// What an account used and paid, read for the dashboards: usage per day (in total, per API key or per
// model), the recent metered requests with how each was charged and its settlement batch, and the
// monthly statement (deposits, plan payments, usage by day, settlements with their transaction and
// proof, claims). Amounts stay integer wei (bigint) here; days and months are UTC.
import { formatUnits } from "viem";
import type { Queryable } from "../db/db.ts";
import { badRequest } from "../errors.ts";

export type UsageGrouping = "total" | "key" | "model";

export interface UsageDay {
  /** YYYY-MM-DD (UTC) */
  readonly day: string;
  /** The key's id or the model, by grouping; null for "total" (or a request drained without its key). */
  readonly group: string | null;
  /** The key's name or the model, for people. */
  readonly label: string | null;
  readonly requests: number;
  readonly tokens: bigint;
  readonly costWei: bigint;
  readonly bucketTokens: bigint;
  readonly creditsWei: bigint;
  readonly paygWei: bigint;
}

export const MAX_RANGE_DAYS = 366;
export const MAX_REQUESTS_PAGE = 200;
export const DEFAULT_REQUESTS_PAGE = 50;

const DAY_MS = 86_400_000;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const MONTH = /^(\d{4})-(\d{2})$/;

/** A YYYY-MM-DD day as its UTC midnight; 400 INVALID_DATE for anything else. */
export function parseDay(value: string, name: string): Date {
  const m = DAY.exec(value);
  const date = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (date === undefined || date.toISOString().slice(0, 10) !== value) throw badRequest("INVALID_DATE", `${name} must be a day as YYYY-MM-DD, got "${value}"`);
  return date;
}

/** A YYYY-MM month as [its first instant, the next month's] in UTC; 400 INVALID_MONTH otherwise. */
export function parseMonth(value: string): { readonly start: Date; readonly end: Date } {
  const m = MONTH.exec(value);
  const month = m ? Number(m[2]) : 0;
  if (!m || month < 1 || month > 12) throw badRequest("INVALID_MONTH", `the month must be YYYY-MM, got "${value}"`);
  return { start: new Date(Date.UTC(Number(m[1]), month - 1, 1)), end: new Date(Date.UTC(Number(m[1]), month, 1)) };
}

/**
 * The days from `from` to `to` (both included, YYYY-MM-DD) as a half-open range; the last 30 days up to
 * today when omitted. 400 INVALID_RANGE when reversed or longer than MAX_RANGE_DAYS.
 */
export function dayRange(from: string | undefined, to: string | undefined, now = new Date()): { readonly start: Date; readonly end: Date } {
  const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const last = to === undefined ? today : parseDay(to, "to");
  const first = from === undefined ? new Date(last.getTime() - 29 * DAY_MS) : parseDay(from, "from");
  const days = (last.getTime() - first.getTime()) / DAY_MS + 1;
  if (days < 1 || days > MAX_RANGE_DAYS) throw badRequest("INVALID_RANGE", `from must not be after to, and the range at most ${MAX_RANGE_DAYS} days (got ${days})`);
  return { start: first, end: new Date(last.getTime() + DAY_MS) };
}

/** The first and last day (YYYY-MM-DD, included) of a range from dayRange, as the routes answer them. */
export const rangeDays = (range: { readonly start: Date; readonly end: Date }) => ({
  from: range.start.toISOString().slice(0, 10),
  to: new Date(range.end.getTime() - DAY_MS).toISOString().slice(0, 10),
});

const GROUPS: Record<UsageGrouping, { id: string; label: string }> = {
  total: { id: "null::text", label: "null::text" },
  key: { id: "e.api_key_id::text", label: "k.name" },
  model: { id: "coalesce(e.model, e.service)", label: "coalesce(e.model, e.service)" },
};

/** Usage per UTC day in [start, end), one row per day and group that had any; oldest first. */
export async function usageByDay(db: Queryable, accountId: string, range: { start: Date; end: Date }, grouping: UsageGrouping = "total"): Promise<UsageDay[]> {
  const group = GROUPS[grouping];
  const { rows } = await db.query<Record<string, string | null>>(
    `select to_char(e.recorded_at at time zone 'UTC', 'YYYY-MM-DD') as day, ${group.id} as grp, ${group.label} as label,
            count(*) as requests, sum(e.units_in + e.units_out) as tokens, sum(e.cost_wei) as cost_wei,
            sum(e.bucket_tokens) as bucket_tokens, sum(e.credits_wei) as credits_wei, sum(e.payg_wei) as payg_wei
       from usage_events e left join api_keys k on k.id = e.api_key_id
      where e.account_id = $1 and e.recorded_at >= $2 and e.recorded_at < $3
      group by 1, 2, 3
      order by 1, 2 nulls first`,
    [accountId, range.start, range.end],
  );
  return rows.map((r) => ({
    day: r.day!,
    group: r.grp ?? null,
    label: r.label ?? null,
    requests: Number(r.requests),
    tokens: BigInt(r.tokens ?? 0),
    costWei: BigInt(r.cost_wei ?? 0),
    bucketTokens: BigInt(r.bucket_tokens ?? 0),
    creditsWei: BigInt(r.credits_wei ?? 0),
    paygWei: BigInt(r.payg_wei ?? 0),
  }));
}

export interface UsageRequest {
  readonly requestId: string;
  readonly recordedAt: Date;
  readonly key: { readonly id: string; readonly name: string } | null;
  readonly model: string;
  readonly endpoint: string;
  readonly tokensIn: number;
  readonly tokensOut: number;
  readonly costWei: bigint;
  readonly billedIn: "cxpt" | "legacy";
  /** How the charge was met: subscription bucket tokens, credits, PAYG (settled later), legacy credits. */
  readonly bucketTokens: bigint;
  readonly creditsWei: bigint;
  readonly paygWei: bigint;
  readonly legacyAusd: bigint;
  /** The settlement batch that took its PAYG part, once built. */
  readonly batchId: string | null;
  readonly settledAt: Date | null;
}

/**
 * The account's metered requests, newest first, `limit` (1–MAX_REQUESTS_PAGE) older than the request
 * `cursor` (a requestId from an earlier page). 400 INVALID_LIMIT / INVALID_CURSOR otherwise.
 */
export async function recentRequests(
  db: Queryable,
  accountId: string,
  options: { limit?: number; cursor?: string } = {},
): Promise<{ requests: UsageRequest[]; nextCursor: string | null }> {
  const limit = options.limit ?? DEFAULT_REQUESTS_PAGE;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_REQUESTS_PAGE) {
    throw badRequest("INVALID_LIMIT", `limit must be from 1 to ${MAX_REQUESTS_PAGE}, got ${limit}`);
  }
  if (options.cursor !== undefined) {
    const { rows } = await db.query("select 1 from usage_events where request_id = $1 and account_id = $2", [options.cursor, accountId]);
    if (rows.length === 0) throw badRequest("INVALID_CURSOR", "cursor must be a nextCursor from an earlier page");
  }
  // Keyset paging on (recorded_at, request_id) compared in SQL: JavaScript dates drop the microseconds.
  const { rows } = await db.query<Record<string, unknown>>(
    `select e.request_id, e.recorded_at, e.api_key_id, k.name as key_name, coalesce(e.model, e.service) as model, e.endpoint,
            e.units_in, e.units_out, e.cost_wei, e.billed_in, e.bucket_tokens, e.credits_wei, e.payg_wei, e.legacy_ausd,
            e.settlement_batch, e.settled_at
       from usage_events e left join api_keys k on k.id = e.api_key_id
      where e.account_id = $1
        and ($2::text is null or (e.recorded_at, e.request_id) < (select recorded_at, request_id from usage_events where request_id = $2::text))
      order by e.recorded_at desc, e.request_id desc
      limit $3`,
    [accountId, options.cursor ?? null, limit + 1],
  );
  const requests = rows.slice(0, limit).map(
    (r): UsageRequest => ({
      requestId: r.request_id as string,
      recordedAt: new Date(r.recorded_at as Date),
      key: r.api_key_id === null ? null : { id: r.api_key_id as string, name: r.key_name as string },
      model: r.model as string,
      endpoint: r.endpoint as string,
      tokensIn: Number(r.units_in),
      tokensOut: Number(r.units_out),
      costWei: BigInt(r.cost_wei as string),
      billedIn: r.billed_in as "cxpt" | "legacy",
      bucketTokens: BigInt(r.bucket_tokens as string),
      creditsWei: BigInt(r.credits_wei as string),
      paygWei: BigInt(r.payg_wei as string),
      legacyAusd: BigInt(r.legacy_ausd as string),
      batchId: r.settlement_batch === null ? null : String(r.settlement_batch),
      settledAt: r.settled_at === null ? null : new Date(r.settled_at as Date),
    }),
  );
  return { requests, nextCursor: rows.length > limit ? requests.at(-1)!.requestId : null };
}

export interface StatementEntry {
  readonly at: Date;
  readonly amountWei: bigint;
  readonly txHash: string | null;
  readonly status: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface StatementSettlement {
  readonly batchId: string;
  readonly chainBatchId: string | null;
  readonly state: string;
  readonly amountWei: bigint;
  readonly leafStatus: string;
  readonly commitTx: string | null;
  readonly collectTx: string | null;
  readonly at: Date;
  /** Where the account's Merkle proof for the batch is served. */
  readonly proofPath: string;
}

export interface Statement {
  readonly month: string;
  readonly deposits: readonly StatementEntry[];
  readonly planPayments: readonly StatementEntry[];
  readonly withdrawals: readonly StatementEntry[];
  readonly claims: readonly StatementEntry[];
  readonly usageByDay: readonly UsageDay[];
  readonly settlements: readonly StatementSettlement[];
  readonly totals: {
    readonly depositsWei: bigint;
    readonly planPaymentsWei: bigint;
    readonly withdrawalsWei: bigint;
    readonly claimsWei: bigint;
    readonly requests: number;
    readonly tokens: bigint;
    readonly usageWei: bigint;
    readonly settledWei: bigint;
  };
}

const sum = (values: readonly bigint[]) => values.reduce((a, b) => a + b, 0n);

/** The account's statement for `month` (YYYY-MM, UTC). */
export async function monthlyStatement(db: Queryable, accountId: string, month: string): Promise<Statement> {
  const range = parseMonth(month);
  const [ledger, usage, settlements] = await Promise.all([
    db.query<{ type: string; status: string; amount_wei: string; tx_hash: string | null; details: Record<string, unknown> | string; created_at: Date }>(
      `select type, status, amount_wei, tx_hash, details, created_at from token_transactions
        where account_id = $1 and type in ('deposit', 'subscription_payment', 'withdrawal', 'claim') and status <> 'failed'
          and created_at >= $2 and created_at < $3
        order by created_at, id`,
      [accountId, range.start, range.end],
    ),
    usageByDay(db, accountId, range),
    db.query<{ id: string; chain_batch_id: string | null; state: string; amount_wei: string; status: string; commit_tx: string | null; tx_hash: string | null; at: Date }>(
      `select b.id, b.chain_batch_id, b.state, l.amount_wei, l.status, b.commit_tx, l.tx_hash, coalesce(b.committed_at, b.created_at) as at
         from settlement_leaves l join settlement_batches b on b.id = l.batch_id
        where l.account_id = $1 and coalesce(b.committed_at, b.created_at) >= $2 and coalesce(b.committed_at, b.created_at) < $3
        order by b.id`,
      [accountId, range.start, range.end],
    ),
  ]);
  const entries = (type: string) =>
    ledger.rows
      .filter((r) => r.type === type)
      .map((r): StatementEntry => ({
        at: new Date(r.created_at),
        amountWei: BigInt(r.amount_wei),
        txHash: r.tx_hash,
        status: r.status,
        details: typeof r.details === "string" ? (JSON.parse(r.details) as Record<string, unknown>) : r.details,
      }));
  const deposits = entries("deposit");
  const planPayments = entries("subscription_payment");
  const withdrawals = entries("withdrawal");
  const claims = entries("claim");
  const settled = settlements.rows.map(
    (r): StatementSettlement => ({
      batchId: String(r.id),
      chainBatchId: r.chain_batch_id === null ? null : String(r.chain_batch_id),
      state: r.state,
      amountWei: BigInt(r.amount_wei),
      leafStatus: r.status,
      commitTx: r.commit_tx,
      collectTx: r.tx_hash,
      at: new Date(r.at),
      proofPath: `/api/v1/billing/batches/${r.id}/proof`,
    }),
  );
  return {
    month,
    deposits,
    planPayments,
    withdrawals,
    claims,
    usageByDay: usage,
    settlements: settled,
    totals: {
      depositsWei: sum(deposits.map((d) => d.amountWei)),
      planPaymentsWei: sum(planPayments.map((d) => d.amountWei)),
      withdrawalsWei: sum(withdrawals.map((d) => d.amountWei)),
      claimsWei: sum(claims.map((d) => d.amountWei)),
      requests: usage.reduce((a, d) => a + d.requests, 0),
      tokens: sum(usage.map((d) => d.tokens)),
      usageWei: sum(usage.map((d) => d.costWei)),
      settledWei: sum(settled.filter((s) => s.leafStatus === "collected").map((s) => s.amountWei)),
    },
  };
}

/** A CSV field, quoted when it must be (RFC 4180). */
const field = (value: string): string => (/[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);
/** wei as an exact CXPT decimal (no float on the way). */
const cxpt = (wei: bigint): string => formatUnits(wei, 18);

/** The statement as CSV: one line per entry, amounts in wei and in CXPT (exact), sections named. */
export function statementCsv(s: Statement): string {
  const lines: string[][] = [["section", "date", "description", "amount_wei", "amount_cxpt", "tx_hash", "reference"]];
  const ledger = (section: string, list: readonly StatementEntry[]) => {
    for (const e of list) lines.push([section, e.at.toISOString(), e.status, e.amountWei.toString(), cxpt(e.amountWei), e.txHash ?? "", JSON.stringify(e.details)]);
  };
  ledger("deposit", s.deposits);
  ledger("plan_payment", s.planPayments);
  for (const d of s.usageByDay) {
    lines.push(["usage", d.day, `${d.requests} requests, ${d.tokens} tokens (bucket ${d.bucketTokens} tokens, credits ${cxpt(d.creditsWei)} CXPT, PAYG ${cxpt(d.paygWei)} CXPT)`, d.costWei.toString(), cxpt(d.costWei), "", ""]);
  }
  for (const b of s.settlements) {
    lines.push(["settlement", b.at.toISOString(), `batch ${b.batchId} ${b.state}, leaf ${b.leafStatus}`, b.amountWei.toString(), cxpt(b.amountWei), b.collectTx ?? b.commitTx ?? "", b.proofPath]);
  }
  ledger("withdrawal", s.withdrawals);
  ledger("claim", s.claims);
  return `${lines.map((l) => l.map(field).join(",")).join("\r\n")}\r\n`;
}
