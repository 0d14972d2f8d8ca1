// The subscription side of the "every 300 s" job: bucket tokens the drain charged to metered usage
// are consumed on chain, and each subscriber's account mirror is checked against the chain.
//
//  1. Checkpoint: per account, the bucket tokens of usage not yet checkpointed are summed and
//     consumed with one `consumeTokens(passId, sum)` from the billing key (BILLING_ROLE),
//     serialized with the backend's other transactions (`exclusive`). The intent (amount + the
//     usage it claims) is recorded before the transaction is signed, its hash before it is broadcast; a run finding
//     an intent still open asks the chain whether it landed (its receipt, else a TokensConsumed of
//     the pass for that amount since the intent's block, not yet attributed) and only sends when
//     it did not, so no usage is consumed twice. While the billing key has transactions pending,
//     open intents wait for the next run.
//  2. Reconcile: the mirror (accounts.bucket_remaining) must equal what the gate may let the
//     account draw: the chain's bucket + overage in a paid period, less the bucket tokens not yet
//     checkpointed. Any difference is returned and the mirror set to the chain's figure (the chain
//     is canonical), and the gate's cached view dropped.
//
// The usage is read from and marked in usage_events (COUNTER_STORE=postgres) or read from the counter
// store with the claims kept in PostgreSQL (COUNTER_STORE=dynamodb): ./bucket-usage.ts. Either way
// bucket_checkpoints is the record of what was consumed on chain.
import type { Address, Hex } from "viem";
import type { ChainContext, Signer } from "../app/chain.ts";
import type { AppContext } from "../app/context.ts";
import { exclusive, requireChainFeature } from "../app/guards.ts";
import { subscriptionsAbi } from "../chain/abis.ts";
import { send as sendTransaction, type Sent } from "../chain/send.ts";
import type { Queryable } from "../db/db.ts";
import { AppError } from "../errors.ts";
import { bucketUsageOf } from "./bucket-usage.ts";
import { readPass, type PassState } from "./chain.ts";

/** Bucket tokens of `accountId`'s metered usage not yet consumed on chain. */
export const uncheckpointedBucketTokens = (ctx: Pick<AppContext, "counters">, db: Queryable, accountId: string): Promise<bigint> =>
  bucketUsageOf(ctx.counters).unconsumed(db, accountId);

/** Usage consumed on chain by one `consumeTokens`. */
export interface BucketCheckpoint {
  readonly accountId: string;
  readonly passId: bigint;
  readonly tokens: bigint;
  readonly txHash: Hex;
}

/** A checkpoint the chain refused (its usage is released and tried again next run). */
export interface FailedCheckpoint {
  readonly accountId: string;
  readonly passId: bigint;
  readonly tokens: bigint;
  readonly error: string;
}

/** A mirror that disagreed with the chain, and what it was set to. */
export interface BucketDrift {
  readonly accountId: string;
  readonly passId: bigint;
  /** accounts.bucket_remaining as found. */
  readonly offchain: bigint;
  /** The chain's usable tokens: bucket + overage in a paid period, else 0. */
  readonly onchain: bigint;
  /** Bucket tokens of usage not yet consumed on chain. */
  readonly unsettled: bigint;
  /** The mirror now: `onchain - unsettled`, not below 0. */
  readonly corrected: bigint;
}

export interface BucketReconciliation {
  readonly checkpointed: BucketCheckpoint[];
  readonly failed: FailedCheckpoint[];
  /** Intents left open because the billing key has transactions pending (decided next run). */
  readonly pending: number;
  readonly drift: BucketDrift[];
}

type CheckpointRow = { id: string; account_id: string; pass_id: string; tokens: string; state: "intended" | "sent"; from_block: string; tx_hash: Hex | null };

const running = new WeakMap<AppContext, Promise<BucketReconciliation>>();

/**
 * Checkpoints metered bucket usage on chain, then reconciles every subscriber's mirror. One run
 * at a time per backend: a call during a run answers that run's result.
 * @throws AppError 409 `FEATURE_DISABLED` / `CHAIN_OFF`, 503 `BILLING_KEY_MISSING`.
 */
export function reconcileBuckets(ctx: AppContext): Promise<BucketReconciliation> {
  const chain = requireChainFeature(ctx, "subscriptions");
  const billing = chain.signers.billing;
  if (billing === undefined) throw new AppError("BILLING_KEY_MISSING", "the backend has no billing key (BILLING_PRIVATE_KEY)", 503);
  const current = running.get(ctx);
  if (current !== undefined) return current;
  const run = (async () => {
    const outcome = { checkpointed: [] as BucketCheckpoint[], failed: [] as FailedCheckpoint[], pending: 0 };
    await checkpointAll(ctx, chain, billing, outcome);
    return { ...outcome, drift: await reconcileMirrors(ctx, chain) };
  })().finally(() => running.delete(ctx));
  running.set(ctx, run);
  return run;
}

// ───────────────────────────── checkpoints ─────────────────────────────

type Outcome = { checkpointed: BucketCheckpoint[]; failed: FailedCheckpoint[]; pending: number };

async function checkpointAll(ctx: AppContext, chain: ChainContext, billing: Signer, outcome: Outcome): Promise<void> {
  // Open intents first: a pass has at most one, and new usage waits until it is decided.
  for (const cp of await openCheckpoints(ctx.db)) await exclusive(ctx, () => resolveOpen(ctx, chain, billing, cp, outcome));
  for (const cp of await recordCheckpointIntents(ctx)) await exclusive(ctx, () => send(ctx, chain, billing, cp, outcome));
}

async function openCheckpoints(db: Queryable): Promise<CheckpointRow[]> {
  const { rows } = await db.query<CheckpointRow>(
    "select id::text, account_id, pass_id::text, tokens::text, state, from_block::text, tx_hash from bucket_checkpoints where state in ('intended', 'sent') order by id",
  );
  return rows;
}

/**
 * Records an intent per account holding bucket usage not yet checkpointed (and not in an open
 * intent), claiming that usage for it; returns the new intents. Accounts without a wallet or a
 * pass on chain are left alone. Exported for the crash tests.
 */
export async function recordCheckpointIntents(ctx: AppContext): Promise<CheckpointRow[]> {
  const chain = requireChainFeature(ctx, "subscriptions");
  const usage = bucketUsageOf(ctx.counters);
  const intents: CheckpointRow[] = [];
  for (const { accountId, wallet } of await usage.dueAccounts(ctx.db)) {
    const passId = await chain.client.readContract({ address: chain.addresses.subscriptions, abi: subscriptionsAbi, functionName: "passOf", args: [wallet] });
    if (passId === 0n) continue;
    const fromBlock = await chain.client.getBlockNumber();
    const intent = await ctx.db.transaction(async (tx) => {
      await tx.query("select id from accounts where id = $1 for update", [accountId]);
      let row: CheckpointRow | undefined;
      await usage.claim(tx, accountId, async (tokens) => {
        const { rows } = await tx.query<CheckpointRow>(
          `insert into bucket_checkpoints (account_id, pass_id, tokens, from_block) values ($1, $2, $3, $4)
           on conflict (pass_id) where state in ('intended', 'sent') do nothing
           returning id::text, account_id, pass_id::text, tokens::text, state, from_block::text, tx_hash`,
          [accountId, passId, tokens, fromBlock],
        );
        row = rows[0];
        return row?.id;
      });
      return row;
    });
    if (intent !== undefined) intents.push(intent);
  }
  return intents;
}

const describeCheckpoint = (cp: CheckpointRow) => ({ accountId: cp.account_id, passId: BigInt(cp.pass_id), tokens: BigInt(cp.tokens) });

/** Sends the intent's consumeTokens; an error that leaves its fate unknown keeps it open. */
async function send(ctx: AppContext, chain: ChainContext, billing: Signer, cp: CheckpointRow, outcome: Outcome): Promise<void> {
  let sent: Sent;
  try {
    sent = await sendTransaction(
      { client: chain.client, signer: billing },
      { address: chain.addresses.subscriptions, abi: subscriptionsAbi, functionName: "consumeTokens", args: [BigInt(cp.pass_id), BigInt(cp.tokens)] },
      {
        counter: ctx.monitor.metrics.chainTransactions,
        beforeBroadcast: (hash) =>
          ctx.db.query("update bucket_checkpoints set state = 'sent', tx_hash = $2, updated_at = now() where id = $1", [cp.id, hash.toLowerCase()]),
      },
    );
  } catch (error) {
    // Refused before broadcast (the pass expired, bucket and overage exhausted): it did not land.
    if (error instanceof AppError && error.code === "TX_WOULD_REVERT") return fail(ctx, cp, error.message, outcome);
    throw error;
  }
  const { hash, receipt } = sent;
  if (receipt.status === "success") return finish(ctx, cp, hash, outcome);
  return fail(ctx, cp, `transaction ${hash} reverted`, outcome);
}

/** Decides an intent a previous run left open from the chain; sends it when it did not land. */
async function resolveOpen(ctx: AppContext, chain: ChainContext, billing: Signer, cp: CheckpointRow, outcome: Outcome): Promise<void> {
  if (cp.tx_hash !== null) {
    const receipt = await chain.client.getTransactionReceipt({ hash: cp.tx_hash }).catch(() => null);
    if (receipt?.status === "success") return finish(ctx, cp, cp.tx_hash, outcome);
    if (receipt?.status === "reverted") return fail(ctx, cp, `transaction ${cp.tx_hash} reverted`, outcome);
  }
  const address = billing.account.address;
  const [pendingNonce, minedNonce] = await Promise.all([
    chain.client.getTransactionCount({ address, blockTag: "pending" }),
    chain.client.getTransactionCount({ address, blockTag: "latest" }),
  ]);
  if (pendingNonce > minedNonce) {
    outcome.pending += 1;
    return;
  }
  const landed = await landedConsumption(ctx.db, chain, cp);
  if (landed !== null) return finish(ctx, cp, landed, outcome);
  return send(ctx, chain, billing, cp, outcome);
}

/** A TokensConsumed of the intent's pass and amount since its block that no checkpoint claims yet. */
async function landedConsumption(db: Queryable, chain: ChainContext, cp: CheckpointRow): Promise<Hex | null> {
  const events = await chain.client.getContractEvents({
    address: chain.addresses.subscriptions,
    abi: subscriptionsAbi,
    eventName: "TokensConsumed",
    args: { passId: BigInt(cp.pass_id) },
    fromBlock: BigInt(cp.from_block),
    toBlock: "latest",
    strict: true,
  });
  for (const event of events) {
    if (event.args.amount !== BigInt(cp.tokens)) continue;
    const hash = event.transactionHash.toLowerCase() as Hex;
    const { rows } = await db.query("select 1 from bucket_checkpoints where tx_hash = $1 and id <> $2", [hash, cp.id]);
    if (rows.length === 0) return hash;
  }
  return null;
}

async function finish(ctx: AppContext, cp: CheckpointRow, hash: Hex, outcome: Outcome): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    await tx.query("update bucket_checkpoints set state = 'done', tx_hash = $2, updated_at = now() where id = $1", [cp.id, hash.toLowerCase()]);
    await bucketUsageOf(ctx.counters).consumed(tx, cp.id);
  });
  outcome.checkpointed.push({ ...describeCheckpoint(cp), txHash: hash });
}

/** The intent did not land: its usage is released for the next run. */
async function fail(ctx: AppContext, cp: CheckpointRow, error: string, outcome: Outcome): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    await tx.query("update bucket_checkpoints set state = 'failed', error = $2, updated_at = now() where id = $1", [cp.id, error]);
    await bucketUsageOf(ctx.counters).released(tx, cp.id);
  });
  outcome.failed.push({ ...describeCheckpoint(cp), error });
}

// ───────────────────────────── the mirror ─────────────────────────────

/** What `consumeTokens` still accepts for `pass`: bucket + overage in a paid period, else 0. */
const usableOnChain = (pass: PassState): bigint => (pass.active ? pass.bucketRemaining + pass.overageRemaining : 0n);

async function reconcileMirrors(ctx: AppContext, chain: ChainContext): Promise<BucketDrift[]> {
  const { rows: subscribers } = await ctx.db.query<{ id: string; wallet: Address }>(
    "select id, wallet from accounts where wallet is not null and subscription_pass_id is not null order by id",
  );
  const drift: BucketDrift[] = [];
  for (const { id: accountId, wallet } of subscribers) {
    const pass = await readPass(chain.client, chain.addresses.subscriptions, wallet);
    if (pass === null) continue;
    const onchain = usableOnChain(pass);
    const found = await ctx.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ bucket_remaining: string }>("select bucket_remaining from accounts where id = $1 for update", [accountId]);
      const offchain = BigInt(rows[0]!.bucket_remaining);
      const unsettled = await uncheckpointedBucketTokens(ctx, tx, accountId);
      const corrected = onchain > unsettled ? onchain - unsettled : 0n;
      if (offchain === corrected) return undefined;
      await tx.query("update accounts set bucket_remaining = $2 where id = $1", [accountId, corrected]);
      return { accountId, passId: pass.passId, offchain, onchain, unsettled, corrected };
    });
    if (found === undefined) continue;
    ctx.billing.gate.invalidateAccount(accountId);
    drift.push(found);
  }
  return drift;
}
