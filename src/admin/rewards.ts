// The admin's points upload (the AirdropConsole): a CSV of points for the next epoch, checked row by
// row and previewed (what each account would receive), then stored and sent by the rewards
// pipeline's uploadEntries (src/rewards/upload.ts), the same path the daily job takes.
import { createHash } from "node:crypto";
import type { AppContext } from "../app/context.ts";
import type { ChainContext } from "../app/chain.ts";
import { requireChain } from "../app/guards.ts";
import { distributorAbi, vaultAbi } from "../chain/abis.ts";
import { conflict } from "../errors.ts";
import { checkPointsCsv, entriesOf, parsePointsCsv, POOL_IDS, type CsvProblem, type PointsRowCheck, type RewardPool } from "../rewards/points.ts";
import { uploadEntries, type PointsUploadResult } from "../rewards/upload.ts";

export interface PointsUpload {
  /** Must be the distributor's next epoch (current + 1). */
  readonly epoch: bigint;
  /** The pool of every row when the CSV has no pool column. */
  readonly pool?: RewardPool;
  readonly csv: string;
}

/**
 * Uploads the points CSV for `upload.epoch` through uploadEntries (audited as upload_points with
 * the file's SHA-256). 400 `INVALID_CSV` listing every bad line, and uploadEntries' refusals.
 */
export function uploadPoints(ctx: AppContext, actorId: string | null, upload: PointsUpload): Promise<PointsUploadResult> {
  const { epoch, pool, csv } = upload;
  const csvSha256 = createHash("sha256").update(csv).digest("hex");
  return uploadEntries(ctx, actorId, { epoch, source: { pool: pool ?? null, csvSha256 }, rows: () => parsePointsCsv(csv, pool === undefined ? {} : { pool }) });
}

/** What one pool's epoch would pay out, as the preview computes it. */
export interface PoolPreview {
  /** Accounts with points in the pool for the epoch: this CSV's and those stored before it. */
  readonly accounts: number;
  readonly points: bigint;
  /** distributor.pendingFunding(pool): the funding the epoch takes as its budget when it starts. */
  readonly pendingFunding: bigint;
  /** The pool's part of Vault.accrued(), which the rewards job sweeps in before the epoch starts. */
  readonly accruedShare: bigint;
  /** pendingFunding + accruedShare. */
  readonly budget: bigint;
}

/** One CSV row of the preview: the check, and for a good row what its account receives. */
export interface PointsPreviewRow extends PointsRowCheck {
  /** floor(points × pool budget ÷ pool points); undefined for a refused row. */
  readonly receives?: bigint;
}

export interface PointsPreview {
  readonly epoch: bigint;
  /** No problem in the file and none in any row: the upload would be accepted. */
  readonly ok: boolean;
  readonly problems: readonly CsvProblem[];
  readonly rows: readonly PointsPreviewRow[];
  readonly pools: Readonly<Record<RewardPool, PoolPreview>>;
}

/** Each pool's budget for the next epoch: its pending funding plus its share of what the Vault accrued. */
async function nextBudgets(chain: ChainContext): Promise<Record<RewardPool, { pendingFunding: bigint; accruedShare: bigint }>> {
  const distributor = { address: chain.addresses.distributor, abi: distributorAbi } as const;
  const [providers, users, accrued, [protocolBps, providersBps]] = await Promise.all([
    chain.client.readContract({ ...distributor, functionName: "pendingFunding", args: [POOL_IDS.providers] }),
    chain.client.readContract({ ...distributor, functionName: "pendingFunding", args: [POOL_IDS.users] }),
    chain.client.readContract({ address: chain.addresses.vault, abi: vaultAbi, functionName: "accrued" }),
    chain.client.readContract({ ...distributor, functionName: "split" }),
  ]);
  // The split as RewardDistributor.notifyFunding applies it: the users pool takes the remainder.
  const protocolShare = (accrued * protocolBps) / 10_000n;
  const providersShare = (accrued * providersBps) / 10_000n;
  return {
    providers: { pendingFunding: providers, accruedShare: providersShare },
    users: { pendingFunding: users, accruedShare: accrued - protocolShare - providersShare },
  };
}

/**
 * Checks a points CSV row by row without throwing or storing anything (the AirdropConsole's
 * report), and previews what each good row's account receives from epoch `epoch`: its share of
 * its pool's points (this CSV's rows plus the rows stored for the epoch before, which the upload
 * keeps) times the pool's budget, pendingFunding + its share of Vault.accrued (see PoolPreview),
 * in wei, floored. 409 `CHAIN_OFF`; 409 `WRONG_EPOCH` unless `epoch` is the next epoch.
 */
export async function previewPoints(ctx: AppContext, upload: PointsUpload): Promise<PointsPreview> {
  const chain = requireChain(ctx);
  const { epoch } = upload;
  const current = await chain.client.readContract({ address: chain.addresses.distributor, abi: distributorAbi, functionName: "currentEpoch" });
  if (epoch !== current + 1n) {
    throw conflict("WRONG_EPOCH", `points can only be uploaded for the next epoch ${current + 1n} (epoch ${current} is current), not ${epoch}`);
  }
  const checked = checkPointsCsv(upload.csv, upload.pool === undefined ? {} : { pool: upload.pool });
  const good = checked.rows.flatMap((r) => (r.row === undefined ? [] : [r.row]));
  const [budgets, { rows: stored }] = await Promise.all([
    nextBudgets(chain),
    ctx.db.query<{ pool: RewardPool; wallet: string; points: string }>("select pool, wallet, points::text from reward_points where epoch = $1 and points > 0", [epoch]),
  ]);
  const inCsv = new Set(good.map((r) => `${r.pool}:${r.wallet.toLowerCase()}`));
  const kept = stored.filter((s) => !inCsv.has(`${s.pool}:${s.wallet}`));
  const pool = (p: RewardPool): PoolPreview => {
    const entries = [...entriesOf(good, p).map((e) => e.points), ...kept.filter((s) => s.pool === p).map((s) => BigInt(s.points))].filter((points) => points > 0n);
    const { pendingFunding, accruedShare } = budgets[p];
    return { accounts: entries.length, points: entries.reduce((a, b) => a + b, 0n), pendingFunding, accruedShare, budget: pendingFunding + accruedShare };
  };
  const pools = { providers: pool("providers"), users: pool("users") };
  const rows = checked.rows.map((r): PointsPreviewRow => {
    if (r.row === undefined) return r;
    const { points, budget } = pools[r.row.pool];
    return { ...r, receives: points === 0n ? 0n : (r.row.points * budget) / points };
  });
  return { epoch, ok: checked.problems.length === 0 && rows.every((r) => r.errors.length === 0), problems: checked.problems, rows, pools };
}
