// Acting on settlement shortfalls: an account whose leaf the chain could not collect (its wallet held
// too little CXPT or too small an allowance to the Vault) has its API keys suspended and an alert
// raised; once a later run collects every short leaf of the account (runSettlement retries them),
// its keys are reinstated and the alert resolved. Both directions are derived from the leaves on
// every call, so a call killed half-way is completed by the next one, and a repeated call changes
// nothing.
import { OWED, owedText, shortfallOf, type OwedRow, type Shortfall } from "../accounts/suspension.ts";
import type { AppContext } from "../app/context.ts";
import type { Gate } from "../billing/gate.ts";
import type { Queryable } from "../db/db.ts";

export type { Shortfall };

export interface ShortfallReport {
  /** Every account that owes now (its keys are suspended). */
  readonly owing: readonly Shortfall[];
  /** Accounts this call suspended (owing, and not suspended before). */
  readonly suspended: readonly string[];
  /** Accounts this call reinstated: suspended, with no short leaf left. */
  readonly reinstated: readonly string[];
}

/** What acting on shortfalls needs of the app: the database, the alerts and the gate's caches. */
export interface ShortfallContext {
  readonly db: AppContext["db"];
  readonly monitor: Pick<AppContext["monitor"], "alert" | "resolve">;
  readonly billing: { readonly gate: Pick<Gate, "invalidateApiKey" | "invalidateAccount"> };
}

/** The alert key of an account's shortfall (one open alert per account). */
export const shortfallAlertKey = (accountId: string): string => `settlement_shortfall:${accountId}`;

/**
 * Suspends the API keys of every account with a short leaf and raises (or counts again) its alert;
 * reinstates the keys of suspended accounts that no longer owe and resolves their alerts. Drops the
 * gate's cached keys of both, so this instance applies the change on the next request (others do
 * within the gate's TTL). Idempotent; call it after each settlement run.
 */
export async function suspendShortfalls(ctx: ShortfallContext): Promise<ShortfallReport> {
  const { db, monitor, billing } = ctx;
  const owing = (await db.query<OwedRow>(OWED("true"))).rows.map(shortfallOf);
  const owingIds = owing.map((s) => s.accountId);
  const { rows: newly } = await db.query<{ id: string }>(
    "update accounts set keys_suspended_at = now() where id = any($1::uuid[]) and keys_suspended_at is null returning id",
    [owingIds],
  );
  for (const s of owing) {
    await monitor.alert({
      key: shortfallAlertKey(s.accountId),
      kind: "settlement_shortfall",
      severity: "warning",
      message: `${owedText(s)}: the account's API keys are suspended until it pays`,
      details: { account: s.accountId, wallet: s.wallet, batches: s.batches, amount: s.owedWei },
    });
  }

  // Resolved before the suspension is lifted: a crash in between leaves the account to the next call.
  const { rows: paid } = await db.query<{ id: string }>(
    `select id from accounts a where keys_suspended_at is not null
        and not exists (select 1 from settlement_leaves l where l.account_id = a.id and l.status = 'shortfall')`,
  );
  for (const { id } of paid) await monitor.resolve(shortfallAlertKey(id));
  const { rows: reinstated } = await db.query<{ id: string }>(
    `update accounts a set keys_suspended_at = null where id = any($1::uuid[])
        and not exists (select 1 from settlement_leaves l where l.account_id = a.id and l.status = 'shortfall')
      returning id`,
    [paid.map((r) => r.id)],
  );

  // Every owing account's keys, not only the new ones: a cached refusal states the amount owed.
  await invalidateKeys(db, billing.gate, [...owingIds, ...reinstated.map((r) => r.id)]);
  for (const { id } of reinstated) billing.gate.invalidateAccount(id);
  return { owing, suspended: newly.map((r) => r.id), reinstated: reinstated.map((r) => r.id) };
}

async function invalidateKeys(db: Queryable, gate: Pick<Gate, "invalidateApiKey">, accountIds: readonly string[]): Promise<void> {
  if (accountIds.length === 0) return;
  const { rows } = await db.query<{ key_hash: string }>("select key_hash from api_keys where account_id = any($1::uuid[])", [accountIds]);
  for (const { key_hash } of rows) gate.invalidateApiKey(key_hash);
}
