// The indexer's tables: chain_events and indexer_cursor (migration 0006). Every cursor move is a
// compare-and-set in the transaction that writes or deletes the events it covers, so a second
// indexer on the same database (another API instance) can never move it backwards or skip blocks.
import type { Address, Hex } from "viem";
import type { Db, Queryable } from "../db/db.ts";
import { AppError } from "../errors.ts";
import type { IndexedContract, IndexedEvent, Json } from "./events.ts";

/** The last indexed block; `hash` null before the first step (number = deployment block - 1). */
export interface Cursor {
  readonly number: bigint;
  readonly hash: Hex | null;
}

/** The cursor of `chainId`, created at `start` when absent. */
export async function loadCursor(db: Db, chainId: number, start: Cursor): Promise<Cursor> {
  await db.query("insert into indexer_cursor (chain_id, block_number, block_hash) values ($1, $2, $3) on conflict do nothing", [
    chainId,
    start.number,
    start.hash,
  ]);
  const { rows } = await db.query<{ block_number: unknown; block_hash: Hex | null }>(
    "select block_number, block_hash from indexer_cursor where chain_id = $1",
    [chainId],
  );
  return { number: BigInt(String(rows[0]!.block_number)), hash: rows[0]!.block_hash };
}

async function moveCursor(tx: Queryable, chainId: number, from: Cursor, to: Cursor): Promise<void> {
  const { rows } = await tx.query(
    `update indexer_cursor set block_number = $4, block_hash = $5, updated_at = now()
      where chain_id = $1 and block_number = $2 and block_hash is not distinct from $3 returning chain_id`,
    [chainId, from.number, from.hash, to.number, to.hash],
  );
  if (rows.length === 0) throw new AppError("INDEXER_CURSOR_MOVED", `the indexer cursor of chain ${chainId} moved under this step`, 409);
}

const CHUNK = 2000;

/** Stores `events` and moves the cursor in one transaction; returns the events that were new. */
export async function commitEvents(db: Db, chainId: number, from: Cursor, to: Cursor, events: readonly IndexedEvent[]): Promise<IndexedEvent[]> {
  return db.transaction(async (tx) => {
    await moveCursor(tx, chainId, from, to);
    const added: IndexedEvent[] = [];
    for (let i = 0; i < events.length; i += CHUNK) {
      const chunk = events.slice(i, i + CHUNK);
      // One array per column, unnested into rows: one statement per chunk with a fixed text.
      const { rows } = await tx.query<{ block_hash: string; log_index: number }>(
        `insert into chain_events (chain_id, block_number, block_hash, tx_hash, log_index, contract, address, event, args)
         select $1, * from unnest($2::bigint[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::jsonb[])
         on conflict do nothing returning block_hash, log_index`,
        [
          chainId,
          chunk.map((e) => e.blockNumber),
          chunk.map((e) => e.blockHash),
          chunk.map((e) => e.txHash),
          chunk.map((e) => e.logIndex),
          chunk.map((e) => e.contract),
          chunk.map((e) => e.address),
          chunk.map((e) => e.event),
          chunk.map((e) => JSON.stringify(e.args)),
        ],
      );
      const inserted = new Set(rows.map((r) => `${r.block_hash}:${Number(r.log_index)}`));
      added.push(...chunk.filter((e) => inserted.has(`${e.blockHash}:${e.logIndex}`)));
    }
    return added;
  });
}

/** The distinct (number, hash) of blocks with stored events below `below`, newest first: reorg probes. */
export async function eventBlocksBelow(db: Db, chainId: number, below: bigint, limit: number): Promise<Cursor[]> {
  const { rows } = await db.query<{ block_number: unknown; block_hash: Hex }>(
    `select distinct block_number, block_hash from chain_events
      where chain_id = $1 and block_number < $2 order by block_number desc limit $3`,
    [chainId, below, limit],
  );
  return rows.map((r) => ({ number: BigInt(String(r.block_number)), hash: r.block_hash }));
}

type EventRow = {
  chain_id: unknown;
  block_number: unknown;
  block_hash: Hex;
  tx_hash: Hex;
  log_index: unknown;
  contract: IndexedContract;
  address: Address;
  event: string;
  args: Record<string, Json>;
};

const fromRow = (r: EventRow): IndexedEvent => ({
  chainId: Number(r.chain_id),
  blockNumber: BigInt(String(r.block_number)),
  blockHash: r.block_hash,
  txHash: r.tx_hash,
  logIndex: Number(r.log_index),
  contract: r.contract,
  address: r.address,
  event: r.event,
  args: r.args,
});

/** Deletes the events above `ancestor` and moves the cursor back to it, in one transaction; returns them. */
export async function rewind(db: Db, chainId: number, from: Cursor, ancestor: Cursor): Promise<IndexedEvent[]> {
  return db.transaction(async (tx) => {
    await moveCursor(tx, chainId, from, ancestor);
    const { rows } = await tx.query<EventRow>(
      `delete from chain_events where chain_id = $1 and block_number > $2
       returning chain_id, block_number, block_hash, tx_hash, log_index, contract, address, event, args`,
      [chainId, ancestor.number],
    );
    return rows.map(fromRow);
  });
}

export interface EventFilter {
  readonly contract?: IndexedContract;
  readonly event?: string;
  /** Blocks from (inclusive). */
  readonly fromBlock?: bigint;
  /** Blocks to (inclusive). */
  readonly toBlock?: bigint;
}

/** Stored events of `chainId` in chain order (replays to a follower that another instance overtook, tests). */
export async function listEvents(db: Queryable, chainId: number, filter: EventFilter = {}): Promise<IndexedEvent[]> {
  const { rows } = await db.query<EventRow>(
    `select chain_id, block_number, block_hash, tx_hash, log_index, contract, address, event, args from chain_events
      where chain_id = $1 and ($2::text is null or contract = $2) and ($3::text is null or event = $3)
        and ($4::bigint is null or block_number >= $4) and ($5::bigint is null or block_number <= $5)
      order by block_number, log_index`,
    [chainId, filter.contract ?? null, filter.event ?? null, filter.fromBlock ?? null, filter.toBlock ?? null],
  );
  return rows.map(fromRow);
}
