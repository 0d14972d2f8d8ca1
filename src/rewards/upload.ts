// The rewards pipeline's last step: points for the next epoch kept in reward_points (the record of
// what each account was given) and sent to the RewardDistributor with the rewards key, for the
// daily job (./epoch.ts) and the admin's CSV (src/admin/rewards.ts) alike. Rows are keyed by
// (epoch, pool, wallet) and remember whether their current points reached the chain, so uploading
// the same points again sends nothing and re-running a partly failed upload sends only what is
// missing. Like the distributor, an upload overwrites earlier ones account by account; points 0
// take an account out.
import type { Hash } from "viem";
import type { AppContext } from "../app/context.ts";
import { exclusive, requireChain } from "../app/guards.ts";
import { audited } from "../audit/log.ts";
import { distributorAbi } from "../chain/abis.ts";
import type { Db, Queryable } from "../db/db.ts";
import { conflict, unavailable } from "../errors.ts";
import { DEFAULT_BATCH_SIZE, entriesOf, POOL_IDS, uploadShares, type PointsEntry, type PointsRow, type RewardPool } from "./points.ts";

export interface PointsUploadResult {
  readonly epoch: bigint;
  /** Rows in the CSV. */
  readonly rows: number;
  /** Rows sent to the chain now. */
  readonly sent: number;
  /** Rows already on chain with these points (from an earlier upload). */
  readonly unchanged: number;
  /** Per pool: accounts and their points in this CSV. */
  readonly pools: Readonly<Record<RewardPool, { readonly accounts: number; readonly points: bigint }>>;
  /** The updateShares transactions, in order. */
  readonly txHashes: readonly Hash[];
}

const POOLS = Object.keys(POOL_IDS) as RewardPool[];

/**
 * Stores the rows for `epoch` (the epoch opened as 'uploading') and returns those whose points
 * are not on chain yet: new rows, and rows whose points changed or never finished uploading.
 */
async function storeRows(db: Db, epoch: bigint, rows: readonly PointsRow[]): Promise<PointsRow[]> {
  return db.transaction(async (tx) => {
    await tx.query(
      `insert into reward_epochs (epoch, status) values ($1, 'uploading')
       on conflict (epoch) do update set status = 'uploading'`,
      [epoch],
    );
    const { rows: stored } = await tx.query<{ pool: RewardPool; wallet: string; uploaded: boolean }>(
      `insert into reward_points (epoch, pool, wallet, points, uploaded)
       select $1, pool, wallet, points::numeric, false from unnest($2::text[], $3::text[], $4::text[]) as t(pool, wallet, points)
       on conflict (epoch, pool, wallet) do update
         set points = excluded.points,
             uploaded = reward_points.uploaded and reward_points.points = excluded.points
       returning pool, wallet, uploaded`,
      [epoch, rows.map((r) => r.pool), rows.map((r) => r.wallet.toLowerCase()), rows.map((r) => r.points.toString())],
    );
    const pending = new Set(stored.filter((s) => !s.uploaded).map((s) => `${s.pool}:${s.wallet}`));
    return rows.filter((r) => pending.has(`${r.pool}:${r.wallet.toLowerCase()}`));
  });
}

/** One mined updateShares batch: its rows are on chain, and the transaction joins the epoch's. */
async function recordBatch(db: Db, epoch: bigint, pool: RewardPool, mined: { entries: readonly PointsEntry[]; hash: Hash }): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query("update reward_points set uploaded = true where epoch = $1 and pool = $2 and wallet = any($3::text[])", [
      epoch,
      pool,
      mined.entries.map((e) => e.wallet.toLowerCase()),
    ]);
    await tx.query("insert into reward_point_batches (epoch, pool, accounts, tx_hash) values ($1, $2, $3, $4)", [epoch, pool, mined.entries.length, mined.hash]);
  });
}

/** How far the points of one epoch got: rows stored, rows on chain, the batches' transactions. */
export interface PointsProgress {
  readonly epoch: bigint;
  /** reward_epochs.status: uploading, uploaded, …; null before any upload for the epoch. */
  readonly status: string | null;
  readonly rows: number;
  readonly uploaded: number;
  /** The mined updateShares transactions, in order. */
  readonly txHashes: readonly Hash[];
}

/** The progress of `epoch`'s points upload, for polling while it runs. */
export async function pointsProgress(db: Queryable, epoch: bigint): Promise<PointsProgress> {
  const [{ rows: counts }, { rows: batches }] = await Promise.all([
    db.query<{ status: string | null; rows: string | number; uploaded: string | number }>(
      `select (select status from reward_epochs where epoch = $1) as status,
              count(p.wallet) as rows, count(p.wallet) filter (where p.uploaded) as uploaded
         from reward_points p where p.epoch = $1`,
      [epoch],
    ),
    db.query<{ tx_hash: string }>("select tx_hash from reward_point_batches where epoch = $1 order by id", [epoch]),
  ]);
  const c = counts[0]!;
  return { epoch, status: c.status, rows: Number(c.rows), uploaded: Number(c.uploaded), txHashes: batches.map((b) => b.tx_hash as Hash) };
}

/** Points for one epoch, as the rewards job computes them or as an admin's CSV gives them. */
export interface EntriesUpload {
  /** Must be the distributor's next epoch (current + 1). */
  readonly epoch: bigint;
  /** The rows; a function is called inside the audited action, so a refused input is audited too. */
  readonly rows: readonly PointsRow[] | (() => readonly PointsRow[]);
  /** Where the rows come from, for the audit entry (`{ csvSha256, pool }`, `{ source: "rewards job" }`). */
  readonly source: Readonly<Record<string, unknown>>;
}

/**
 * Stores and uploads `upload.rows` for `upload.epoch`, audited as `upload_points` (see the file
 * comment). 409 `CHAIN_OFF`, 409 `WRONG_EPOCH` unless the epoch is the next one; 503
 * `REWARDS_KEY_MISSING` without a rewards key; 502 `UPLOAD_FAILED` when a batch fails (the
 * batches mined before it count as uploaded). Each mined batch is recorded as it is mined
 * (pointsProgress). The one path for the rewards job and the admin's CSV.
 */
export function uploadEntries(ctx: AppContext, actorId: string | null, upload: EntriesUpload): Promise<PointsUploadResult> {
  const { epoch } = upload;
  return exclusive(ctx, () =>
    audited(ctx.db, { actorId, action: "upload_points", params: { epoch, ...upload.source } }, async () => {
      const chain = requireChain(ctx);
      const signer = chain.signers.rewards;
      if (signer === undefined) throw unavailable("REWARDS_KEY_MISSING", "the backend has no rewards key (REWARDS_PRIVATE_KEY): it cannot upload points");
      const rows = typeof upload.rows === "function" ? upload.rows() : upload.rows;
      const distributor = chain.addresses.distributor;
      // Checked before anything is stored: points for any other epoch could never reach the chain.
      const current = await chain.client.readContract({ address: distributor, abi: distributorAbi, functionName: "currentEpoch" });
      if (epoch !== current + 1n) {
        throw conflict("WRONG_EPOCH", `points can only be uploaded for the next epoch ${current + 1n} (epoch ${current} is current), not ${epoch}`);
      }

      const pending = await storeRows(ctx.db, epoch, rows);
      const txHashes: Hash[] = [];
      for (const p of POOLS) {
        const entries = entriesOf(pending, p);
        if (entries.length === 0) continue;
        // Each mined batch counts as uploaded at once: the progress shows it, a failure keeps it.
        const onBatch = (mined: { entries: readonly PointsEntry[]; hash: Hash }) => recordBatch(ctx.db, epoch, p, mined);
        const counter = ctx.monitor.metrics.chainTransactions;
        const batches = { distributor, epoch, pool: p, entries, batchSize: DEFAULT_BATCH_SIZE, onBatch, counter };
        txHashes.push(...(await uploadShares({ client: chain.client, signer }, batches)));
      }
      await ctx.db.query(
        `update reward_epochs set status = 'uploaded'
          where epoch = $1 and not exists (select 1 from reward_points where epoch = $1 and not uploaded)`,
        [epoch],
      );

      const tally = (p: RewardPool) => {
        const ofPool = entriesOf(rows, p);
        return { accounts: ofPool.length, points: ofPool.reduce((sum, entry) => sum + entry.points, 0n) };
      };
      const result: PointsUploadResult = {
        epoch,
        rows: rows.length,
        sent: pending.length,
        unchanged: rows.length - pending.length,
        pools: { providers: tally("providers"), users: tally("users") },
        txHashes,
      };
      return { result, outcome: { status: "executed", rows: result.rows, sent: result.sent, unchanged: result.unchanged, pools: result.pools, txHashes } };
    }),
  );
}

