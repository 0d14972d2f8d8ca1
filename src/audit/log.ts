// The admin audit log: who did what, with which parameters, and how it ended. Every mutating admin
// action writes one entry whatever the outcome: executed (with its transaction hashes), only
// proposed to the Safe owners (with the proposal), or failed (with the error code).
import { getAddress, type Address } from "viem";
import type { Db, Queryable } from "../db/db.ts";
import { AppError, badRequest } from "../errors.ts";

/** A JSON value as stored in the log. */
export type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json };
export type JsonObject = { readonly [key: string]: Json };

/** How an action ended; the rest of the fields say what it did (transaction hashes, proposal, …). */
export type AuditOutcome =
  | ({ readonly status: "executed" } & Readonly<Record<string, unknown>>)
  | ({ readonly status: "proposed" } & Readonly<Record<string, unknown>>)
  | { readonly status: "failed"; readonly code: string; readonly message: string; readonly details?: unknown };

/** One action to record. Amounts may be bigints: they are stored as decimal strings. */
export interface AuditRecord {
  /** The admin's account; null for the system itself. */
  readonly actorId: string | null;
  /** What was done, snake_case (`set_split`). */
  readonly action: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly outcome: AuditOutcome;
}

/** One entry of the log. */
export interface AuditEntry {
  /** The log's sequence number, as a decimal string (it is a bigserial). */
  readonly id: string;
  readonly actorId: string | null;
  /** The actor's wallet at the time of reading, if linked. */
  readonly actorWallet: Address | null;
  readonly action: string;
  readonly params: JsonObject;
  readonly outcome: JsonObject;
  readonly createdAt: Date;
}

export const MAX_AUDIT_PAGE = 200;
export const DEFAULT_AUDIT_PAGE = 50;

/** `value` as JSON text, bigints as decimal strings (JSON has no exact integers beyond 2^53). */
const toJson = (value: unknown): string => JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

/** Writes one audit entry and returns it. */
export async function audit(db: Queryable, record: AuditRecord): Promise<AuditEntry> {
  const { rows } = await db.query<AuditRow>(
    `insert into audit_log (actor_id, action, params, outcome) values ($1, $2, $3::jsonb, $4::jsonb)
     returning id, actor_id, null as wallet, action, params, outcome, created_at`,
    [record.actorId, record.action, toJson(record.params), toJson(record.outcome)],
  );
  return toEntry(rows[0]!);
}

/** The outcome of an action that threw `error`: its code, message and details when it is an AppError. */
export function failure(error: unknown): AuditOutcome {
  if (error instanceof AppError) {
    return { status: "failed", code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
  }
  return { status: "failed", code: "INTERNAL", message: error instanceof Error ? error.message : String(error) };
}

/**
 * Runs `work` and records it: the outcome it reports when it succeeds, `failure(error)` when it
 * throws (the error is then rethrown). Returns `work`'s result.
 */
export async function audited<T>(
  db: Queryable,
  action: Omit<AuditRecord, "outcome">,
  work: () => Promise<{ readonly result: T; readonly outcome: AuditOutcome }>,
): Promise<T> {
  let done: { result: T; outcome: AuditOutcome };
  try {
    done = await work();
  } catch (error) {
    // The caller needs the action's error more than the log's: a failed write here must not hide it.
    await audit(db, { ...action, outcome: failure(error) }).catch(() => undefined);
    throw error;
  }
  await audit(db, { ...action, outcome: done.outcome });
  return done.result;
}

/**
 * Like `audited`, for an action that only changes the database: `work` runs in a transaction that
 * also writes its audit entry, so the change and its entry commit together or not at all (a change
 * whose entry cannot be written is rolled back, and a retry cannot apply it twice). A failure is
 * recorded afterwards, outside the rolled-back transaction.
 */
export async function auditedTransaction<T>(
  db: Db,
  action: Omit<AuditRecord, "outcome">,
  work: (tx: Queryable) => Promise<{ readonly result: T; readonly outcome: AuditOutcome }>,
): Promise<T> {
  try {
    return await db.transaction(async (tx) => {
      const done = await work(tx);
      await audit(tx, { ...action, outcome: done.outcome });
      return done.result;
    });
  } catch (error) {
    await audit(db, { ...action, outcome: failure(error) }).catch(() => undefined);
    throw error;
  }
}

export interface AuditPage {
  /** Newest first. */
  readonly entries: readonly AuditEntry[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  readonly nextCursor: string | null;
}

/** Which entries to list; every filter is optional and they combine. */
export interface AuditFilter {
  /** Entries by the admin with this wallet (any case). */
  readonly actorWallet?: string;
  /** Entries of this action (`set_split`). */
  readonly action?: string;
  /** Entries at or after this time. */
  readonly since?: Date;
  /** Entries before this time. */
  readonly until?: Date;
}

/**
 * The log, newest first, `limit` entries (1–MAX_AUDIT_PAGE, 50 by default) older than `cursor`
 * (an entry id from an earlier page) that match `filter`. 400 `INVALID_LIMIT` / `INVALID_CURSOR` otherwise.
 */
export async function listAudit(db: Queryable, options: { limit?: number; cursor?: string } & AuditFilter = {}): Promise<AuditPage> {
  const limit = options.limit ?? DEFAULT_AUDIT_PAGE;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) {
    throw badRequest("INVALID_LIMIT", `limit must be an integer from 1 to ${MAX_AUDIT_PAGE}, got ${limit}`);
  }
  const { cursor } = options;
  if (cursor !== undefined && !/^[1-9][0-9]{0,18}$/.test(cursor)) {
    throw badRequest("INVALID_CURSOR", `cursor must be an entry id from an earlier page, got "${cursor}"`);
  }
  // One more than asked: whether there is a next page without a count.
  const { rows } = await db.query<AuditRow>(
    `select l.id, l.actor_id, a.wallet, l.action, l.params, l.outcome, l.created_at
       from audit_log l left join accounts a on a.id = l.actor_id
      where ($1::int8 is null or l.id < $1::int8)
        and ($3::text is null or lower(a.wallet) = lower($3::text))
        and ($4::text is null or l.action = $4::text)
        and ($5::timestamptz is null or l.created_at >= $5::timestamptz)
        and ($6::timestamptz is null or l.created_at < $6::timestamptz)
      order by l.id desc
      limit $2`,
    [cursor ?? null, limit + 1, options.actorWallet ?? null, options.action ?? null, options.since?.toISOString() ?? null, options.until?.toISOString() ?? null],
  );
  const entries = rows.slice(0, limit).map(toEntry);
  return { entries, nextCursor: rows.length > limit ? entries[entries.length - 1]!.id : null };
}

interface AuditRow {
  [column: string]: unknown;
  id: string | number;
  actor_id: string | null;
  wallet: string | null;
  action: string;
  params: JsonObject;
  outcome: JsonObject;
  created_at: Date;
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    id: String(row.id),
    actorId: row.actor_id,
    actorWallet: row.wallet === null ? null : getAddress(row.wallet),
    action: row.action,
    params: row.params,
    outcome: row.outcome,
    createdAt: new Date(row.created_at),
  };
}
