// Follows the suite's events into PostgreSQL. Each step first checks that the last indexed block is
// still on the chain (reorg: walk back to the newest stored block still on it, delete everything
// above, re-index), then indexes confirmed blocks (head - confirmations) from the cursor in getLogs
// ranges, each range committed with the cursor move in one transaction: a crash resumes cleanly.
import { BlockNotFoundError, type Address, type Hex, type PublicClient } from "viem";
import type { Gate } from "../billing/gate.ts";
import type { Db } from "../db/db.ts";
import { AppError } from "../errors.ts";
import { decodeLog, INDEXED_CONTRACTS, walletsTouched, type IndexedContract, type IndexedEvent } from "./events.ts";
import { commitEvents, eventBlocksBelow, listEvents, loadCursor, rewind, type Cursor } from "./store.ts";

/** What the indexer needs of the chain connection (ChainContext fits). */
export interface IndexerChain {
  readonly client: PublicClient;
  readonly chainId: number;
  readonly addresses: Readonly<Record<IndexedContract, Address>>;
}

/** Events stored by a step and events deleted because their blocks left the chain. */
export interface EventChange {
  readonly added: readonly IndexedEvent[];
  readonly removed: readonly IndexedEvent[];
}

export interface IndexerOptions {
  readonly db: Db;
  readonly chain: IndexerChain;
  /** The first block to index: the suite's deployment block. */
  readonly startBlock: bigint;
  /** Blocks below the head left unindexed until final enough; default 12. */
  readonly confirmations?: number;
  /** Blocks per getLogs request; default 2000 (what common RPC providers accept). */
  readonly batchSize?: number;
  /** Called after each commit (e.g. to invalidate the billing gate); a throw fails the step, not the commit. */
  readonly onEvents?: (change: EventChange) => void | Promise<void>;
}

export interface IndexResult {
  /** First block this step looked at (cursor + 1 after any rewind). */
  readonly from: bigint;
  /** Last indexed block after the step (the cursor). */
  readonly to: bigint;
  /** The chain head the step saw: head - to is the indexer's lag. */
  readonly head: bigint;
  /** Events newly stored. */
  readonly events: readonly IndexedEvent[];
  /** Set when a reorg was found: the common ancestor the cursor moved back to and the events deleted. */
  readonly reorged?: { readonly ancestor: bigint; readonly removed: readonly IndexedEvent[] };
  /** Set when another indexer on the same database moved the cursor during the step. */
  readonly overtaken?: true;
}

/** A getLogs range, decoded, with the block it ends at. */
interface FetchedRange {
  readonly decoded: IndexedEvent[];
  readonly to: Cursor;
}

export const DEFAULT_CONFIRMATIONS = 12;
export const DEFAULT_BATCH_SIZE = 2000;
/** Stored blocks compared with the chain per database read while looking for the common ancestor. */
const PROBES = 64;

async function blockHash(client: PublicClient, number: bigint): Promise<Hex | undefined> {
  try {
    return (await client.getBlock({ blockNumber: number })).hash;
  } catch (error) {
    if (error instanceof BlockNotFoundError) return undefined; // the chain is shorter now
    throw error;
  }
}

/**
 * The newest indexed block still on the chain. Its hash commits to every block before it, and
 * blocks between stored event blocks had no events to delete, so event blocks are enough probes;
 * none left means the whole range is re-indexed from the start.
 */
async function commonAncestor(options: IndexerOptions, cursor: Cursor, start: Cursor): Promise<Cursor> {
  const { db, chain } = options;
  let below = cursor.number;
  for (;;) {
    const probes = await eventBlocksBelow(db, chain.chainId, below, PROBES);
    for (const probe of probes) {
      if ((await blockHash(chain.client, probe.number)) === probe.hash) return probe;
    }
    if (probes.length < PROBES) return start;
    below = probes.at(-1)!.number;
  }
}

/** One indexing step: reorg check, then every confirmed block past the cursor. */
export async function indexOnce(options: IndexerOptions): Promise<IndexResult> {
  const { db, chain, onEvents } = options;
  const { client, chainId } = chain;
  const confirmations = BigInt(options.confirmations ?? DEFAULT_CONFIRMATIONS);
  const batchSize = BigInt(options.batchSize ?? DEFAULT_BATCH_SIZE);
  const start: Cursor = { number: options.startBlock - 1n, hash: null };
  const addresses = INDEXED_CONTRACTS.map((key) => chain.addresses[key]);
  const contractAt = new Map(INDEXED_CONTRACTS.map((key) => [chain.addresses[key].toLowerCase(), key]));

  let cursor = await loadCursor(db, chainId, start);
  let reorged: IndexResult["reorged"];
  if (cursor.hash !== null && (await blockHash(client, cursor.number)) !== cursor.hash) {
    const ancestor = await commonAncestor(options, cursor, start);
    const removed = await rewind(db, chainId, cursor, ancestor);
    cursor = ancestor;
    reorged = { ancestor: ancestor.number, removed };
    await onEvents?.({ added: [], removed });
  }

  const from = cursor.number + 1n;
  const head = await client.getBlockNumber({ cacheTime: 0 });
  const safe = head - confirmations;
  const events: IndexedEvent[] = [];
  /** The range after block `after`, fetched and decoded; undefined when its last block vanished. */
  const fetchRange = async (after: bigint): Promise<FetchedRange | undefined> => {
    const fromBlock = after + 1n;
    const toBlock = after + batchSize < safe ? after + batchSize : safe;
    const logs = await client.getLogs({ address: addresses, fromBlock, toBlock });
    const decoded = logs.flatMap((log) => {
      const contract = contractAt.get(log.address.toLowerCase());
      return (contract && decodeLog(chainId, contract, log)) || [];
    });
    // toBlock vanished between getBlockNumber and now: a reorg deeper than the confirmations; the next step rewinds.
    const hash = await blockHash(client, toBlock);
    return hash === undefined ? undefined : { decoded, to: { number: toBlock, hash } };
  };
  // The next range is fetched while this one is committed: the database and the RPC work at once.
  let upcoming = cursor.number < safe ? fetchRange(cursor.number) : undefined;
  while (upcoming !== undefined) {
    const range = await upcoming;
    if (range === undefined) break;
    upcoming = range.to.number < safe ? fetchRange(range.to.number) : undefined;
    const added = await commitEvents(db, chainId, cursor, range.to, range.decoded).catch(async (error: unknown) => {
      await upcoming?.catch(() => undefined); // stopping here: the prefetch is not used
      if (!(error instanceof AppError && error.code === "INDEXER_CURSOR_MOVED")) throw error;
      // Another instance stored this range first: this one still reports what it saw (its own
      // hooks, e.g. its gate's cache, need it; the stored effects are idempotent) and stops here.
      if (range.decoded.length > 0) await onEvents?.({ added: range.decoded, removed: [] });
      return undefined;
    });
    if (added === undefined) return { from, to: cursor.number, head, events, ...(reorged ? { reorged } : {}), overtaken: true };
    cursor = range.to;
    events.push(...added);
    try {
      if (added.length > 0) await onEvents?.({ added, removed: [] });
    } catch (error) {
      await upcoming?.catch(() => undefined); // the step fails here: the prefetch is not used
      throw error;
    }
  }
  return { from, to: cursor.number, head, events, ...(reorged ? { reorged } : {}) };
}

/**
 * An `onEvents` hook that makes the billing gate reload every wallet an added or removed event
 * touched (balance, Vault allowance, subscription): the chain-event invalidation of the gate.
 */
export function invalidateGate(gate: Pick<Gate, "invalidateWallet">): (change: EventChange) => void {
  return ({ added, removed }) => {
    for (const wallet of walletsTouched([...added, ...removed])) gate.invalidateWallet(wallet);
  };
}

export interface Indexer {
  /** Stops polling; resolves when the step in flight has finished. */
  stop(): Promise<void>;
}

export interface FollowOptions extends IndexerOptions {
  readonly intervalMs: number;
  /** After each successful step (e.g. to export the lag). */
  readonly onStep?: (result: IndexResult) => void;
  /** After each failed step; the next tick retries. */
  readonly onError?: (error: unknown) => void;
}

/**
 * Runs `indexOnce` every `intervalMs` (after the previous step ends); errors go to `onError` and are
 * retried. With several followers on one database (API instances), the blocks another one stored
 * since this one's last step are read back from the database and handed to `onEvents` too, so
 * every follower's hooks (its own gate's cache) hear every event stored after its first step;
 * only reorgs another follower rolled back go unheard (the gate's TTL bounds that).
 */
export function startIndexer(options: FollowOptions): Indexer {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  /** The block through which this follower has handed every stored event to `onEvents`. */
  let heard: bigint | undefined;
  const step = async () => {
    const result = await indexOnce(options);
    if (heard !== undefined && result.from - 1n > heard && options.onEvents) {
      const missed = await listEvents(options.db, options.chain.chainId, { fromBlock: heard + 1n, toBlock: result.from - 1n });
      if (missed.length > 0) await options.onEvents({ added: missed, removed: [] });
    }
    heard = result.to;
    options.onStep?.(result);
  };
  const tick = () => {
    running = step()
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, options.intervalMs);
      });
  };
  tick();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
