// The off-chain token ledger: one token_transactions row per on-chain movement that concerns an
// account, keyed by its transaction hash, so the same transaction is booked (and credited) once.
import type { Hex } from "viem";
import type { Db, Queryable } from "../db/db.ts";
import { badRequest, conflict } from "../errors.ts";

export type TransactionType = "deposit" | "withdrawal" | "claim" | "usage_charge" | "subscription_payment" | "reward";
export type TransactionStatus = "pending" | "confirmed" | "failed";

export interface TokenTransaction {
  readonly id: string;
  readonly accountId: string;
  readonly type: TransactionType;
  readonly status: TransactionStatus;
  readonly amountWei: bigint;
  readonly txHash: Hex | null;
  readonly blockNumber: bigint | null;
  readonly ref: string | null;
  readonly details: Readonly<Record<string, unknown>>;
  readonly createdAt: Date;
}

type Row = {
  id: string;
  account_id: string;
  type: TransactionType;
  status: TransactionStatus;
  amount_wei: string;
  tx_hash: Hex | null;
  block_number: string | number | null;
  ref: string | null;
  details: Record<string, unknown> | string;
  created_at: Date | string;
};

/**
 * The hash of the transaction that moved the tokens: the row's own, or for a row that shares its
 * transaction with others (a usage_charge: one collection settles many leaves, and tx_hash is
 * unique) the one its details record.
 */
const txHashOf = (row: Row, details: Record<string, unknown>): Hex | null => {
  if (row.tx_hash !== null) return row.tx_hash;
  const recorded = details.txHash;
  return typeof recorded === "string" && /^0x[0-9a-fA-F]{64}$/.test(recorded) ? (recorded as Hex) : null;
};

const toTransaction = (row: Row): TokenTransaction => {
  const details = typeof row.details === "string" ? (JSON.parse(row.details) as Record<string, unknown>) : row.details;
  return {
    id: row.id,
    accountId: row.account_id,
    type: row.type,
    status: row.status,
    amountWei: BigInt(row.amount_wei),
    txHash: txHashOf(row, details),
    blockNumber: row.block_number === null ? null : BigInt(String(row.block_number)),
    ref: row.ref,
    details,
    createdAt: row.created_at instanceof Date ? row.created_at : new Date(row.created_at),
  };
};

export interface NewTransaction {
  readonly accountId: string;
  readonly type: TransactionType;
  readonly status: TransactionStatus;
  readonly amountWei: bigint;
  readonly txHash: Hex;
  readonly blockNumber?: bigint;
  readonly ref?: string;
  readonly details?: Record<string, unknown>;
}

const json = (value: unknown): string => JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v));

/**
 * Books a transaction once per hash. Returns the booked row and whether this call booked it; a hash
 * already booked for another account or as another type is a conflict, never a second booking.
 */
export async function bookTransaction(db: Queryable, tx: NewTransaction): Promise<{ transaction: TokenTransaction; booked: boolean }> {
  const hash = tx.txHash.toLowerCase();
  const { rows } = await db.query<Row>(
    `insert into token_transactions (account_id, type, status, amount_wei, tx_hash, block_number, ref, details)
     values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (tx_hash) do nothing returning *`,
    [tx.accountId, tx.type, tx.status, tx.amountWei, hash, tx.blockNumber ?? null, tx.ref ?? null, json(tx.details ?? {})],
  );
  if (rows[0]) return { transaction: toTransaction(rows[0]), booked: true };
  const existing = (await db.query<Row>("select * from token_transactions where tx_hash = $1", [hash])).rows[0]!;
  if (existing.account_id !== tx.accountId || existing.type !== tx.type) {
    throw conflict("TX_ALREADY_BOOKED", `Transaction ${hash} is already booked as another ${existing.type}`);
  }
  return { transaction: toTransaction(existing), booked: false };
}

/**
 * Books a verified Vault deposit and adds it to the account's credits in the same database
 * transaction: the same hash credits once, however often and however concurrently it is submitted.
 */
export async function creditDeposit(
  db: Db,
  deposit: Omit<NewTransaction, "type" | "status">,
): Promise<{ transaction: TokenTransaction; credited: boolean }> {
  return db.transaction(async (tx) => {
    const { transaction, booked } = await bookTransaction(tx, { ...deposit, type: "deposit", status: "confirmed" });
    if (booked) await tx.query("update accounts set credits_wei = credits_wei + $2 where id = $1", [deposit.accountId, deposit.amountWei]);
    return { transaction, credited: booked };
  });
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

// Cursors carry milliseconds (JavaScript dates), so paging orders by the same precision.
const AT = "date_trunc('milliseconds', created_at)";

const encodeCursor = (t: TokenTransaction): string => Buffer.from(`${t.createdAt.toISOString()}|${t.id}`).toString("base64url");

function decodeCursor(cursor: string): [string, string] {
  const [at, id] = Buffer.from(cursor, "base64url").toString().split("|");
  if (!at || !id || Number.isNaN(Date.parse(at)) || !/^[0-9a-f-]{36}$/.test(id)) {
    throw badRequest("INVALID_CURSOR", "The cursor is not one this API returned");
  }
  return [at, id];
}

/** The account's transactions (of `type`: one or several), newest first, `limit` per page (keyset paging: stable under inserts). */
export async function listTransactions(
  db: Queryable,
  accountId: string,
  options: { readonly limit: number; readonly cursor?: string | undefined; readonly type?: TransactionType | readonly TransactionType[] | undefined },
): Promise<Page<TokenTransaction>> {
  const params: unknown[] = [accountId, options.limit + 1];
  let where = "account_id = $1";
  if (options.type) {
    params.push(typeof options.type === "string" ? [options.type] : options.type);
    where += ` and type = any($${params.length}::text[])`;
  }
  if (options.cursor) {
    const [at, id] = decodeCursor(options.cursor);
    params.push(at, id);
    where += ` and (${AT}, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
  }
  const { rows } = await db.query<Row>(
    `select * from token_transactions where ${where} order by ${AT} desc, id desc limit $2`,
    params,
  );
  const items = rows.slice(0, options.limit).map(toTransaction);
  return { items, nextCursor: rows.length > options.limit ? encodeCursor(items[items.length - 1]!) : null };
}

/** Metered PAYG usage drained into PostgreSQL but not yet settled on chain, in wei. */
export async function unsettledUsage(db: Queryable, accountId: string): Promise<bigint> {
  const { rows } = await db.query<{ total: string }>(
    "select coalesce(sum(payg_wei), 0)::text as total from usage_events where account_id = $1 and settled_at is null",
    [accountId],
  );
  return BigInt(rows[0]?.total ?? "0");
}
