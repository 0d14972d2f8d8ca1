// The settlement state machine: open → built → committed → collecting → settled (| failed). Each
// step persists before and after its chain call, and every step starts by reading back from the
// chain what a crash may have left unrecorded, so a run killed anywhere and restarted with only
// the database resumes without charging anyone twice (UsageBilling refuses a second collection
// of a leaf and a second commit of a batch id; the steps check first and don't rely on reverts).
// A committed batch waits out UsageBilling's challenge window before its first chunk; a batch the
// Safe (guardian) cancelled on chain fails, and its usage stays with it: never charged again.
import { parseEventLogs, zeroHash, type Hex } from "viem";
import type { ChainContext, Signer } from "../app/chain.ts";
import { billingAbi, cxptAbi } from "../chain/abis.ts";
import { send, type TransactionCounter } from "../chain/send.ts";
import type { Metrics } from "../monitoring/metrics.ts";
import type { Db } from "../db/db.ts";
import { AppError, unavailable } from "../errors.ts";
import {
  markCancelled,
  closeBatch,
  getBatch,
  leafCounts,
  leavesOf,
  markBuilt,
  markCommitted,
  markFailed,
  recordChunkTx,
  recordCommitTx,
  recordOutcomes,
  unfinishedBatches,
  type BatchState,
  type LeafStatus,
  type SettlementBatch,
  type StoredLeaf,
} from "./store.ts";
import { buildTree, type BatchDomain, type SettlementTree } from "./tree.ts";

/** What settlement needs of the app: the database, the chain with the settler's key, and (optionally) metrics. */
export interface SettlementContext {
  readonly db: Db;
  readonly chain: ChainContext | undefined;
  readonly monitor?: { readonly metrics: Pick<Metrics, "chainTransactions" | "settlementFailures"> };
}

export interface SettleOptions {
  /** Leaves per collectChunk transaction (default 64). */
  readonly chunkSize?: number;
  /** Told after every step where batch `id` stands (progress of long runs). */
  readonly onStep?: (id: bigint, result: StepResult) => void;
}

/** Where a batch stands after a step. `idle`: no step is left but retrying shortfalls (or waiting). */
export interface StepResult {
  state: BatchState;
  counts: Record<LeafStatus, number>;
  idle: boolean;
  /** A committed batch in its challenge window: the chain time (unix seconds) its leaves become collectable. */
  collectableAt?: bigint;
}

const DEFAULT_CHUNK = 64;
/** On-chain leaf status, as UsageBilling's LeafStatus enum. */
const CHAIN_STATUS = ["pending", "collected", "shortfall"] as const;

interface Settler {
  chain: ChainContext;
  signer: Signer;
  counter: TransactionCounter | undefined;
}

function settlerOf(ctx: SettlementContext): Settler {
  const signer = ctx.chain?.signers.settler;
  if (!ctx.chain || !signer) throw unavailable("SETTLEMENT_UNAVAILABLE", "Settlement needs the chain and the settler key (SETTLER_PRIVATE_KEY)");
  return { chain: ctx.chain, signer, counter: ctx.monitor?.metrics.chainTransactions };
}

/**
 * Trees of the batches being collected, by root. A built batch's leaves are final (migration 0007
 * forbids changing them), so its tree is built once per process, not once per chunk (a 10,000-leaf
 * tree takes seconds). A few entries: one batch is collected at a time, plus retries of older ones.
 */
const TREES = new Map<Hex, SettlementTree>();
const TREES_KEPT = 4;

/** Where batch `batch` is collected: the connected chain's UsageBilling, under its chain batch id. */
export function domainOf(chain: Pick<ChainContext, "chainId" | "addresses">, chainBatchId: bigint): BatchDomain {
  return { chainId: BigInt(chain.chainId), billing: chain.addresses.billing, batchId: chainBatchId };
}

function chainOf(ctx: SettlementContext): ChainContext {
  if (!ctx.chain) throw unavailable("SETTLEMENT_UNAVAILABLE", "Settlement needs the chain");
  return ctx.chain;
}

/** The batch's tree from its stored leaves, checked against the root it was built with. */
async function treeOf(db: Db, chain: ChainContext, batch: SettlementBatch): Promise<{ tree: SettlementTree; leaves: StoredLeaf[] }> {
  const leaves = await leavesOf(db, batch.id);
  // The chain batch id is the database id (build sets it so), also before it is recorded.
  const tree = buildTree(domainOf(chain, batch.chainBatchId ?? batch.id), leaves);
  if (batch.root !== null && tree.root !== batch.root) {
    throw new AppError("BATCH_CORRUPT", `settlement batch ${batch.id}: its leaves no longer give its root`, 500);
  }
  return { tree, leaves };
}

/** The tree of a built batch (cached by root: the root hashes chain, contract and batch id in). */
async function builtTree(db: Db, chain: ChainContext, batch: SettlementBatch): Promise<SettlementTree> {
  const cached = TREES.get(batch.root!);
  if (cached !== undefined) return cached;
  const { tree } = await treeOf(db, chain, batch);
  if (TREES.size >= TREES_KEPT) TREES.delete(TREES.keys().next().value!);
  TREES.set(tree.root, tree);
  return tree;
}

/** Freezes an open batch: the root, total and count the chain will hold. No chain call. */
async function build(db: Db, chain: ChainContext, batch: SettlementBatch): Promise<void> {
  const { tree, leaves } = await treeOf(db, chain, batch);
  const total = leaves.reduce((sum, leaf) => sum + leaf.amount, 0n);
  await markBuilt(db, batch.id, { root: tree.root, total, count: leaves.length, chainBatchId: batch.id });
}

/** Commits a built batch, unless the chain already holds its root (a commit sent before a crash). */
async function commit(db: Db, { chain, signer, counter }: Settler, batch: SettlementBatch): Promise<void> {
  const billing = { address: chain.addresses.billing, abi: billingAbi } as const;
  const chainId = batch.chainBatchId!;
  const onChain = async () => (await chain.client.readContract({ ...billing, functionName: "batchOf", args: [chainId] })).root;
  const settle = async (root: Hex): Promise<boolean> => {
    if (root === zeroHash) return false;
    if (root === batch.root) await markCommitted(db, batch.id);
    else await markFailed(db, batch.id, `batch id ${chainId} already holds root ${root} on chain`);
    return true;
  };
  if (await settle(await onChain())) return;
  try {
    await send(
      { client: chain.client, signer },
      { ...billing, functionName: "commitBatch", args: [chainId, batch.root!, batch.totalWei, BigInt(batch.count)] },
      { purpose: "settlement_commit", counter, beforeBroadcast: (hash) => recordCommitTx(db, batch.id, hash) },
    );
  } catch (error) {
    // A commit of the same id that landed meanwhile (one sent before a crash) is as good as ours.
    if (await settle(await onChain())) return;
    throw error;
  }
  if (!(await settle(await onChain()))) throw new AppError("COMMIT_FAILED", `settlement batch ${batch.id} is not committed on chain`, 502);
}

/**
 * Books what the chain already decided for `leaves` (sent in a chunk before a crash): a leaf the
 * chain holds collected is never sent again; one pending in the database but short on chain was
 * tried before and is booked short (a later pass retries it). Returns the indices collected on chain.
 */
async function bookDecided(db: Db, { chain }: Settler, batch: SettlementBatch, leaves: readonly StoredLeaf[]): Promise<Set<number>> {
  const billing = { address: chain.addresses.billing, abi: billingAbi } as const;
  const statuses = await Promise.all(
    leaves.map(async (leaf) => CHAIN_STATUS[await chain.client.readContract({ ...billing, functionName: "leafStatus", args: [batch.chainBatchId!, leaf.index] })]),
  );
  const known = leaves.flatMap((leaf, i) => {
    const status = statuses[i]!;
    return status !== "pending" && status !== leaf.status ? [{ index: Number(leaf.index), status }] : [];
  });
  if (known.length > 0) await recordOutcomes(db, batch.id, known);
  return new Set(leaves.filter((_, i) => statuses[i] === "collected").map((leaf) => Number(leaf.index)));
}

const alreadyCollected = (error: unknown) => error instanceof AppError && error.code === "TX_WOULD_REVERT" && error.details?.reason === "LeafAlreadyCollected";

/**
 * Collects one chunk of `leaves` and books the outcome from the LeafCollected / LeafShortfall
 * events. A chunk's hash is recorded before it is broadcast, so leaves a run that died may have
 * had decided on chain carry one: those are read back first and never sent twice. A database
 * behind the chain without such a record (restored from a backup, say) makes the simulation
 * refuse with LeafAlreadyCollected; then the whole chunk is read back and the rest sent.
 */
async function collect(db: Db, settler: Settler, batch: SettlementBatch, tree: SettlementTree, leaves: readonly StoredLeaf[]) {
  const unsent = (collected: Set<number>) => leaves.map((leaf) => Number(leaf.index)).filter((index) => !collected.has(index));
  let toSend = unsent(await bookDecided(db, settler, batch, leaves.filter((leaf) => leaf.txHash !== null)));
  if (toSend.length === 0) return;
  try {
    await sendChunk(db, settler, batch, tree, toSend);
  } catch (error) {
    if (!alreadyCollected(error)) throw error;
    toSend = unsent(await bookDecided(db, settler, batch, leaves));
    if (toSend.length > 0) await sendChunk(db, settler, batch, tree, toSend);
  }
}

async function sendChunk(db: Db, { chain, signer, counter }: Settler, batch: SettlementBatch, tree: SettlementTree, toSend: readonly number[]) {
  const billing = { address: chain.addresses.billing, abi: billingAbi } as const;
  const chainId = batch.chainBatchId!;
  const { leaves: ordered, proof, proofFlags } = tree.chunk(toSend);
  const { hash, receipt } = await send(
    { client: chain.client, signer },
    { ...billing, functionName: "collectChunk", args: [chainId, ordered, proof, proofFlags] },
    { purpose: "settlement_collect", counter, beforeBroadcast: (signed) => recordChunkTx(db, batch.id, toSend, signed) },
  );
  if (receipt.status !== "success") throw new AppError("COLLECT_FAILED", `collectChunk ${hash} of settlement batch ${batch.id} reverted`, 502);
  const events = parseEventLogs({ abi: billingAbi, logs: receipt.logs, eventName: ["LeafCollected", "LeafShortfall"] }).filter(
    (log) => log.address.toLowerCase() === chain.addresses.billing.toLowerCase() && log.args.batchId === chainId,
  );
  await recordOutcomes(
    db,
    batch.id,
    events.map((log) => ({ index: Number(log.args.index), status: log.eventName === "LeafCollected" ? "collected" : "shortfall", txHash: hash })),
  );
}

/**
 * Whether the chain lets the settler collect `batch` now. A batch a guardian cancelled is marked
 * failed (false); one in its challenge window gives the chain time it opens.
 */
async function collectable(db: Db, chain: ChainContext, batch: SettlementBatch): Promise<true | { wait: bigint } | false> {
  const billing = { address: chain.addresses.billing, abi: billingAbi } as const;
  const chainId = batch.chainBatchId!;
  const [cancelled, openAt, block] = await Promise.all([
    chain.client.readContract({ ...billing, functionName: "isCancelled", args: [chainId] }),
    chain.client.readContract({ ...billing, functionName: "collectableAt", args: [chainId] }),
    chain.client.getBlock(),
  ]);
  if (cancelled) {
    await markCancelled(db, batch.id);
    return false;
  }
  // The next block's timestamp is at least the latest one's: collect once that is past the window.
  return block.timestamp >= openAt ? true : { wait: openAt };
}

/**
 * Takes batch `batchId` one step further: builds an open batch, commits a built one, collects the
 * next chunk of pending leaves once its challenge window has passed. Shortfalls are left to
 * `retryShortfalls`. Resumes from the database alone, whatever step a previous run was killed in.
 */
export async function settleStep(ctx: SettlementContext, batchId: bigint, options: SettleOptions = {}): Promise<StepResult> {
  const batch = await getBatch(ctx.db, batchId);
  if (batch.state === "open") await build(ctx.db, chainOf(ctx), batch);
  else if (batch.state === "built") await commit(ctx.db, settlerOf(ctx), batch);
  else if (batch.state === "committed" || batch.state === "collecting") {
    const settler = settlerOf(ctx);
    const open = await collectable(ctx.db, settler.chain, batch);
    if (open === false) return stepResult(ctx.db, batchId);
    if (open !== true) return { ...(await stepResult(ctx.db, batchId)), idle: true, collectableAt: open.wait };
    const pending = await leavesOf(ctx.db, batchId, { status: "pending", limit: options.chunkSize ?? DEFAULT_CHUNK });
    if (pending.length > 0) await collect(ctx.db, settler, batch, await builtTree(ctx.db, settler.chain, batch), pending);
    // A committed batch whose leaves a crash left all booked: the next booking moves it on.
    else await recordOutcomes(ctx.db, batchId, []);
  }
  return stepResult(ctx.db, batchId);
}

async function stepResult(db: Db, batchId: bigint): Promise<StepResult> {
  const { state } = await getBatch(db, batchId);
  const counts = await leafCounts(db, batchId);
  return { state, counts, idle: state === "settled" || state === "failed" || (state === "collecting" && counts.pending === 0) };
}

/** The longest a short leaf waits between blind retries. */
const MAX_BACKOFF_MS = 24 * 3_600_000;

/** How long a leaf short after `attempts` sends waits before it is sent again blind: 1 h, 2 h, 4 h … 24 h. */
export const shortfallBackoffMs = (attempts: number): number => Math.min(MAX_BACKOFF_MS, 3_600_000 * 2 ** Math.max(0, attempts - 1));

/**
 * Whether a short leaf is worth a transaction now: the chain says its wallet can pay it (balance,
 * allowance to the Vault and spending cap left all cover it), or its backoff since the last try
 * has passed (the chain may say no for a reason the reads do not see, e.g. the sanctions oracle).
 * So a wallet that does nothing is not charged gas for on every run, and one that paid up is
 * collected on the next run.
 */
async function worthRetrying({ chain }: Settler, leaf: StoredLeaf, now: number): Promise<boolean> {
  if (now - leaf.updatedAt.getTime() >= shortfallBackoffMs(leaf.attempts)) return true;
  const { cxpt, vault, billing } = chain.addresses;
  const [balance, allowance, capLeft] = await Promise.all([
    chain.client.readContract({ address: cxpt, abi: cxptAbi, functionName: "balanceOf", args: [leaf.user] }),
    chain.client.readContract({ address: cxpt, abi: cxptAbi, functionName: "allowance", args: [leaf.user, vault] }),
    chain.client.readContract({ address: billing, abi: billingAbi, functionName: "remainingCap", args: [leaf.user] }),
  ]);
  return balance >= leaf.amount && allowance >= leaf.amount && capLeft >= leaf.amount;
}

/** Sends the short leaves of a collecting batch worth retrying (see worthRetrying) again, chunk by chunk, once. */
export async function retryShortfalls(ctx: SettlementContext, batchId: bigint, options: SettleOptions = {}): Promise<StepResult> {
  const batch = await getBatch(ctx.db, batchId);
  if (batch.state !== "collecting") return stepResult(ctx.db, batchId);
  const settler = settlerOf(ctx);
  if ((await collectable(ctx.db, settler.chain, batch)) !== true) return stepResult(ctx.db, batchId);
  const tree = await builtTree(ctx.db, settler.chain, batch);
  for (let after = -1; ; ) {
    const short = await leavesOf(ctx.db, batchId, { status: "shortfall", after, limit: options.chunkSize ?? DEFAULT_CHUNK });
    if (short.length === 0) break;
    const now = Date.now();
    const due = (await Promise.all(short.map(async (leaf) => ((await worthRetrying(settler, leaf, now)) ? [leaf] : [])))).flat();
    if (due.length > 0) await collect(ctx.db, settler, batch, tree, due);
    after = Number(short.at(-1)!.index);
  }
  return stepResult(ctx.db, batchId);
}

export interface SettlementRun {
  /** The batch this run closed, if any usage was due. */
  closed: bigint | null;
  /** Every batch the run worked on, where it stands now. */
  batches: { id: bigint; result: StepResult }[];
}

/**
 * One settlement run (what the settlement job calls): closes the due PAYG usage into a new batch,
 * then takes every unfinished batch as far as it goes, retrying shortfalls once.
 */
export async function runSettlement(ctx: SettlementContext, options: SettleOptions = {}): Promise<SettlementRun> {
  settlerOf(ctx);
  const closed = await closeBatch(ctx.db);
  const batches: SettlementRun["batches"] = [];
  const failures = ctx.monitor?.metrics.settlementFailures;
  for (const id of await unfinishedBatches(ctx.db)) {
    const result = await settleBatch(ctx, id, options).catch((error: unknown) => {
      failures?.inc({ kind: error instanceof AppError ? error.code : "error" });
      throw error;
    });
    if (result.state === "failed") failures?.inc({ kind: "batch_failed" });
    if (result.counts.shortfall > 0) failures?.inc({ kind: "shortfall" }, result.counts.shortfall);
    batches.push({ id, result });
  }
  return { closed, batches };
}

/** Takes one batch as far as it goes, retrying its shortfalls once. */
async function settleBatch(ctx: SettlementContext, id: bigint, options: SettleOptions): Promise<StepResult> {
  let result = await settleStep(ctx, id, options);
  options.onStep?.(id, result);
  while (!result.idle) {
    const progress = ({ state, counts }: StepResult) => JSON.stringify({ state, counts });
    const previous = progress(result);
    result = await settleStep(ctx, id, options);
    options.onStep?.(id, result);
    // Every step moves the state or books leaves (or waits, idle); one that did neither would repeat forever.
    if (!result.idle && progress(result) === previous) throw new AppError("SETTLEMENT_STUCK", `settlement batch ${id} made no progress in state ${result.state}`, 500);
  }
  if (result.collectableAt !== undefined) return result;
  return result.state === "collecting" ? retryShortfalls(ctx, id, options) : result;
}
