// Accounts, sessions and API keys in PostgreSQL. Secrets (session tokens, API keys) are stored only
// as their SHA-256 (./secrets.ts); the plain value is shown once, when it is created.
import { getAddress, type Address } from "viem";
import type { Queryable } from "../db/db.ts";
import { conflict, notFound } from "../errors.ts";
import { hashSecret, newSecret } from "./secrets.ts";

export type AccountKind = "user" | "provider";
export type AccountRole = "member" | "admin";

export interface Account {
  readonly id: string;
  readonly kind: AccountKind;
  readonly role: AccountRole;
  readonly displayName: string | null;
  readonly email: string | null;
  readonly wallet: Address | null;
  readonly creditsWei: bigint;
  readonly legacyCreditsAusd: bigint;
  readonly subscriptionType: string | null;
  readonly subscriptionPlanId: number | null;
  readonly subscriptionPassId: bigint | null;
  readonly subscriptionEnd: Date | null;
  readonly bucketRemaining: bigint;
  readonly totalEarningsWei: bigint;
  readonly createdAt: Date;
}

export interface ApiKeyRecord {
  readonly id: string;
  readonly accountId: string;
  readonly name: string;
  readonly prefix: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

type AccountRow = {
  id: string;
  kind: AccountKind;
  role: AccountRole;
  display_name: string | null;
  email: string | null;
  wallet: string | null;
  credits_wei: string;
  legacy_credits_ausd: string;
  subscription_type: string | null;
  subscription_plan_id: number | null;
  subscription_pass_id: string | null;
  subscription_end: Date | string | null;
  bucket_remaining: string;
  total_earnings_wei: string;
  created_at: Date | string;
};

const toDate = (value: Date | string): Date => (value instanceof Date ? value : new Date(value));

export function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    kind: row.kind,
    role: row.role,
    displayName: row.display_name,
    email: row.email,
    wallet: row.wallet ? getAddress(row.wallet) : null,
    creditsWei: BigInt(row.credits_wei),
    legacyCreditsAusd: BigInt(row.legacy_credits_ausd),
    subscriptionType: row.subscription_type,
    subscriptionPlanId: row.subscription_plan_id,
    subscriptionPassId: row.subscription_pass_id === null ? null : BigInt(row.subscription_pass_id),
    subscriptionEnd: row.subscription_end === null ? null : toDate(row.subscription_end),
    bucketRemaining: BigInt(row.bucket_remaining),
    totalEarningsWei: BigInt(row.total_earnings_wei),
    createdAt: toDate(row.created_at),
  };
}


export interface NewAccount {
  readonly kind: AccountKind;
  readonly role?: AccountRole;
  readonly wallet?: Address;
  readonly displayName?: string;
  readonly email?: string;
}

export async function createAccount(db: Queryable, input: NewAccount): Promise<Account> {
  const { rows } = await db.query<AccountRow>(
    `insert into accounts (kind, role, wallet, display_name, email) values ($1, $2, $3, $4, $5)
     on conflict do nothing returning *`,
    [input.kind, input.role ?? "member", input.wallet?.toLowerCase() ?? null, input.displayName ?? null, input.email ?? null],
  );
  if (rows.length === 0) throw conflict("ACCOUNT_EXISTS", "An account with this wallet or email already exists");
  if (input.kind === "provider") await db.query("insert into providers (account_id) values ($1)", [rows[0]!.id]);
  return toAccount(rows[0]!);
}

export async function findAccount(db: Queryable, id: string): Promise<Account | undefined> {
  const { rows } = await db.query<AccountRow>("select * from accounts where id = $1", [id]);
  return rows[0] && toAccount(rows[0]);
}

export async function getAccount(db: Queryable, id: string): Promise<Account> {
  const account = await findAccount(db, id);
  if (!account) throw notFound("ACCOUNT_NOT_FOUND", `No account ${id}`);
  return account;
}

export async function findAccountByWallet(db: Queryable, wallet: Address): Promise<Account | undefined> {
  const { rows } = await db.query<AccountRow>("select * from accounts where wallet = $1", [wallet.toLowerCase()]);
  return rows[0] && toAccount(rows[0]);
}

/** Links `wallet` to an account that has none yet. A wallet belongs to one account only. */
export async function linkWallet(db: Queryable, accountId: string, wallet: Address): Promise<Account> {
  const owner = await findAccountByWallet(db, wallet);
  if (owner && owner.id !== accountId) throw conflict("WALLET_TAKEN", "This wallet is linked to another account");
  const { rows } = await db.query<AccountRow>(
    "update accounts set wallet = $2 where id = $1 and (wallet is null or wallet = $2) returning *",
    [accountId, wallet.toLowerCase()],
  );
  if (rows.length === 0) throw conflict("WALLET_ALREADY_LINKED", "This account is already linked to another wallet");
  return toAccount(rows[0]!);
}

// ───────────────────────────── sessions ─────────────────────────────

/**
 * Opens a session; returns the bearer token (shown once). With `maxSessions`, the account's oldest
 * sessions beyond it end, so signing in again and again cannot pile sessions up.
 */
export async function createSession(db: Queryable, accountId: string, ttlSeconds: number, maxSessions?: number): Promise<{ token: string; expiresAt: Date }> {
  await db.query("delete from sessions where account_id = $1 and expires_at < now()", [accountId]);
  if (maxSessions !== undefined) {
    // Room for the new one: keep the newest maxSessions - 1.
    await db.query(
      `delete from sessions where account_id = $1 and token_hash not in
         (select token_hash from sessions where account_id = $1 order by expires_at desc limit $2)`,
      [accountId, Math.max(0, maxSessions - 1)],
    );
  }
  const token = newSecret("cxs");
  const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
  await db.query("insert into sessions (token_hash, account_id, expires_at) values ($1, $2, $3)", [
    hashSecret(token),
    accountId,
    expiresAt,
  ]);
  return { token, expiresAt };
}

export async function accountForSession(db: Queryable, token: string): Promise<Account | undefined> {
  const { rows } = await db.query<AccountRow>(
    `select a.* from sessions s join accounts a on a.id = s.account_id
     where s.token_hash = $1 and s.expires_at > now()`,
    [hashSecret(token)],
  );
  return rows[0] && toAccount(rows[0]);
}

export async function deleteSession(db: Queryable, token: string): Promise<void> {
  await db.query("delete from sessions where token_hash = $1", [hashSecret(token)]);
}

// ───────────────────────────── API keys ─────────────────────────────

type ApiKeyRow = { id: string; account_id: string; name: string; prefix: string; created_at: Date | string; revoked_at: Date | string | null };

const toApiKey = (row: ApiKeyRow): ApiKeyRecord => ({
  id: row.id,
  accountId: row.account_id,
  name: row.name,
  prefix: row.prefix,
  createdAt: toDate(row.created_at),
  revokedAt: row.revoked_at === null ? null : toDate(row.revoked_at),
});

/**
 * Issues an API key for the compute API; the plain key is returned once and never stored. With
 * `maxKeys`, 409 `API_KEY_LIMIT` when the account already has that many active keys. Requests racing
 * each other may pass the cap by a few; the per-account rate limit on key creation bounds them.
 */
export async function createApiKey(db: Queryable, accountId: string, name: string, maxKeys?: number): Promise<{ key: string; record: ApiKeyRecord }> {
  const key = newSecret("cxk");
  const { rows } = await db.query<ApiKeyRow>(
    `insert into api_keys (account_id, name, prefix, key_hash)
     select $1, $2, $3, $4
      where $5::int is null or (select count(*) from api_keys where account_id = $1 and revoked_at is null) < $5::int
     returning *`,
    [accountId, name, key.slice(0, 10), hashSecret(key), maxKeys ?? null],
  );
  if (rows.length === 0) throw conflict("API_KEY_LIMIT", `This account has ${maxKeys} active API keys, the most it may hold: revoke one first`);
  return { key, record: toApiKey(rows[0]!) };
}

export async function listApiKeys(db: Queryable, accountId: string): Promise<ApiKeyRecord[]> {
  const { rows } = await db.query<ApiKeyRow>(
    "select * from api_keys where account_id = $1 order by created_at, id",
    [accountId],
  );
  return rows.map(toApiKey);
}

/** Revokes one of the account's keys; returns the key's hash (for caches holding it). */
export async function revokeApiKey(db: Queryable, accountId: string, keyId: string): Promise<string> {
  const { rows } = await db.query<{ key_hash: string }>(
    "update api_keys set revoked_at = coalesce(revoked_at, now()) where id = $1 and account_id = $2 returning key_hash",
    [keyId, accountId],
  );
  if (rows.length === 0) throw notFound("API_KEY_NOT_FOUND", `No API key ${keyId} on this account`);
  return rows[0]!.key_hash;
}

/** The account an active API key belongs to, by the key's hash. */
export async function accountIdForKeyHash(db: Queryable, keyHash: string): Promise<string | undefined> {
  return (await activeKeyByHash(db, keyHash))?.accountId;
}

/** The active (not revoked) key with this hash: its id and account. */
export async function activeKeyByHash(db: Queryable, keyHash: string): Promise<{ readonly keyId: string; readonly accountId: string } | undefined> {
  const { rows } = await db.query<{ id: string; account_id: string }>("select id, account_id from api_keys where key_hash = $1 and revoked_at is null", [keyHash]);
  return rows[0] && { keyId: rows[0].id, accountId: rows[0].account_id };
}
