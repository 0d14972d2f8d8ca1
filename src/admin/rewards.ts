// The admin's points upload (the AirdropConsole): a CSV of points for the next epoch, kept in
// reward_points (the record of what each account was given) and sent to the RewardDistributor with
// the rewards key. Rows are keyed by (epoch, pool, wallet) and remember whether their current
// points reached the chain, so uploading the same file again sends nothing and re-running a
// partly failed upload sends only what is missing. Like the distributor, an upload overwrites
// earlier ones account by account; points 0 take an account out.
import { createHash } from "node:crypto";
import type { Hash } from "viem";
import type { AppContext } from "../app/context.ts";
import { distributorAbi } from "../chain/abis.ts";
import type { Db, Queryable } from "../db/db.ts";
import { AppError, conflict, unavailable } from "../errors.ts";
import {
  DEFAULT_BATCH_SIZE,
  entriesOf,
  parsePointsCsv,
  POOL_IDS,
  uploadShares,
  type PointsEntry,
  type PointsRow,
  type RewardPool,
} from "../rewards/points.ts";
import { audited } from "./audit.ts";
import { exclusive, requireChain } from "../app/guards.ts";

export interface PointsUpload {
  /** Must be the distributor's next epoch (current + 1). */
  readonly epoch: bigint;
  /** The pool of every row when the CSV has no pool column. */
  readonly pool?: RewardPool;
  readonly csv: string;
}

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

async function markUploaded(db: Queryable, epoch: bigint, pool: RewardPool, entries: readonly PointsEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await db.query("update reward_points set uploaded = true where epoch = $1 and pool = $2 and wallet = any($3::text[])", [
    epoch,
    pool,
    entries.map((e) => e.wallet.toLowerCase()),
  ]);
}

/**
 * Uploads the points CSV for `upload.epoch`, audited (see the file comment). 400 `INVALID_CSV`
 * listing every bad line; 409 `CHAIN_OFF`, 409 `WRONG_EPOCH` unless the epoch is the next one;
 * 503 `REWARDS_KEY_MISSING` without a rewards key; 502 `UPLOAD_FAILED` when a batch fails (the
 * batches mined before it count as uploaded).
 */
export function uploadPoints(ctx: AppContext, actorId: string | null, upload: PointsUpload): Promise<PointsUploadResult> {
  const { epoch, pool, csv } = upload;
  const csvSha256 = createHash("sha256").update(csv).digest("hex");
  return exclusive(ctx, () =>
    audited(ctx.db, { actorId, action: "upload_points", params: { epoch, pool: pool ?? null, csvSha256 } }, async () => {
      const chain = requireChain(ctx);
      const signer = chain.signers.rewards;
      if (signer === undefined) throw unavailable("REWARDS_KEY_MISSING", "the backend has no rewards key (REWARDS_PRIVATE_KEY): it cannot upload points");
      const rows = parsePointsCsv(csv, pool === undefined ? {} : { pool });
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
        try {
          txHashes.push(...(await uploadShares(signer, { distributor, epoch, pool: p, entries, batchSize: DEFAULT_BATCH_SIZE })));
        } catch (error) {
          if (error instanceof AppError && error.code === "UPLOAD_FAILED") {
            const mined = (error.details?.mined ?? []) as Hash[];
            await markUploaded(ctx.db, epoch, p, entries.slice(0, mined.length * DEFAULT_BATCH_SIZE));
          }
          throw error;
        }
        await markUploaded(ctx.db, epoch, p, entries);
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
