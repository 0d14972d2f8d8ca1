// Reconciliation driven by the indexer: a pass that changed on chain outside the backend (a plan
// activated or renewed straight on the contract, a bucket granted, renewal cancelled or resumed,
// the pass moved) has its account's mirror refreshed as soon as the event is indexed, instead of
// at the next 300 s reconciliation. TokensConsumed is the backend's own checkpoint and is left to
// the reconcile job, as is any account with a checkpoint still open (its chain figure may already
// include consumption the database has not marked yet).
import type { Address } from "viem";
import type { AppContext } from "../app/context.ts";
import type { IndexedEvent } from "../indexer/events.ts";
import { features } from "../stage/stage.ts";
import { refreshMirror } from "./service.ts";

const BY_PASS = new Set(["PassRenewed", "BucketGranted", "RenewalCancelled", "RenewalResumed"]);

/** Refreshes the mirror of every account a subscription event touched; returns the accounts refreshed. */
export async function refreshPassesOf(ctx: AppContext, events: readonly IndexedEvent[]): Promise<string[]> {
  const chain = ctx.chain;
  if (chain === undefined || !features(ctx.stage.stage, ctx.stage.phase).subscriptions) return [];
  const wallets = new Set<string>();
  const passes = new Set<string>();
  for (const { contract, event, args } of events) {
    if (contract !== "subscriptions") continue;
    if (event === "PlanActivated") wallets.add(String(args.user));
    else if (event === "Transfer") [args.from, args.to].forEach((w) => wallets.add(String(w)));
    else if (BY_PASS.has(event)) passes.add(String(args.passId));
  }
  if (wallets.size === 0 && passes.size === 0) return [];
  const { rows } = await ctx.db.query<{ id: string; wallet: Address }>(
    `select a.id, a.wallet from accounts a
      where (a.wallet = any($1::text[]) or a.subscription_pass_id::text = any($2::text[]))
        and not exists (select 1 from bucket_checkpoints c where c.account_id = a.id and c.state in ('intended', 'sent'))
      order by a.id`,
    [[...wallets], [...passes]],
  );
  for (const { id, wallet } of rows) await refreshMirror(ctx, chain, id, wallet);
  return rows.map((r) => r.id);
}
