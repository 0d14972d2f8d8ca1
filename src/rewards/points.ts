// Reward points for the next epoch: parsed from an admin's CSV (the AirdropConsole upload) and
// uploaded to RewardDistributor.updateShares in batches. The distributor only accepts points
// for the epoch after the current one (`currentEpoch() + 1`); an upload for an epoch overwrites
// earlier uploads account by account, so re-running a partly failed upload is safe.
import { parse } from "csv-parse/sync";
import { getAddress, isAddress, isAddressEqual, zeroAddress, type Address, type Hash } from "viem";
import { distributorAbi } from "../chain/abis.ts";
import { ROLES } from "../chain/roles.ts";
import { send, succeeded, type SendChain, type TransactionCounter } from "../chain/send.ts";
import { AppError, badRequest, conflict } from "../errors.ts";

/** The distributor's `Pool` enum. */
export const POOL_IDS = { providers: 0, users: 1 } as const;
export type RewardPool = keyof typeof POOL_IDS;

/** Largest points value the distributor stores (uint96). */
export const MAX_POINTS = 2n ** 96n - 1n;

/** One account's points. */
export interface PointsEntry {
  readonly wallet: Address;
  readonly points: bigint;
}

/** One parsed CSV row. */
export interface PointsRow extends PointsEntry {
  readonly pool: RewardPool;
  /** The row's line in the file (1 is the header). */
  readonly line: number;
}

export interface ParsePointsOptions {
  /** The pool of every row when the CSV has no `pool` column. */
  readonly pool?: RewardPool;
}

/** A problem on one line of a CSV. */
export interface CsvProblem {
  readonly line: number;
  readonly message: string;
}

const COLUMNS = ["wallet", "points", "pool"] as const;
type Column = (typeof COLUMNS)[number];
const MESSAGE_PROBLEMS = 10;

function invalidCsv(problems: readonly CsvProblem[]): AppError {
  const shown = problems.slice(0, MESSAGE_PROBLEMS).map((p) => `line ${p.line}: ${p.message}`);
  const more = problems.length > MESSAGE_PROBLEMS ? `; … and ${problems.length - MESSAGE_PROBLEMS} more` : "";
  return badRequest("INVALID_CSV", `invalid points CSV: ${shown.join("; ")}${more}`, { problems });
}

const isPool = (value: string): value is RewardPool => Object.hasOwn(POOL_IDS, value);

/** The column order of the header, or a problem. */
function readHeader(fields: readonly string[]): Record<Column, number> | string {
  const names = fields.map((field) => field.toLowerCase());
  const unknown = names.filter((name) => !(COLUMNS as readonly string[]).includes(name));
  const doubled = names.filter((name, i) => names.indexOf(name) !== i);
  if (unknown.length > 0 || doubled.length > 0 || !names.includes("wallet") || !names.includes("points")) {
    return `the header must name the columns wallet,points and optionally pool, got "${fields.join(",")}"`;
  }
  return { wallet: names.indexOf("wallet"), points: names.indexOf("points"), pool: names.indexOf("pool") };
}

/** The checksummed wallet in `value`, or undefined after noting why not. */
function parseWallet(value: string, problems: string[]): Address | undefined {
  if (!isAddress(value)) problems.push(`"${value}" is not an address (or its checksum is wrong)`);
  else if (isAddressEqual(value, zeroAddress)) problems.push("the zero address cannot hold points");
  else return getAddress(value);
  return undefined;
}

/** The points in `value`, or undefined after noting why not. */
function parsePoints(value: string, problems: string[]): bigint | undefined {
  if (!/^\d+$/.test(value)) problems.push(`points must be a non-negative whole number, got "${value}"`);
  else if (BigInt(value) > MAX_POINTS) problems.push(`points ${value} exceed the maximum ${MAX_POINTS} (uint96)`);
  else return BigInt(value);
  return undefined;
}

function parsePool(value: string | undefined, problems: string[]): RewardPool | undefined {
  const pool = value?.toLowerCase();
  if (pool !== undefined && isPool(pool)) return pool;
  problems.push(`pool must be providers or users, got "${value}"`);
  return undefined;
}

/** One CSV row as checked: its fields as written, and the parsed row or why it is refused. */
export interface PointsRowCheck {
  readonly line: number;
  readonly wallet: string;
  /** As written, or the upload's pool when the CSV has no pool column. */
  readonly pool: string;
  readonly points: string;
  /** Why the row is refused; empty when `row` is set. */
  readonly errors: readonly string[];
  readonly row?: PointsRow;
}

/** A points CSV checked line by line. */
export interface PointsCsvCheck {
  /** Problems of the file itself (malformed CSV, header, no rows): then there are no rows. */
  readonly problems: readonly CsvProblem[];
  readonly rows: readonly PointsRowCheck[];
}

/**
 * Checks a points CSV without throwing: a header naming `wallet`, `points` and optionally `pool`
 * (providers | users; otherwise `options.pool` applies to every row), in any order, then one row
 * per account. Points are whole numbers from 0 (0 removes an earlier upload) to 2^96 − 1. Blank
 * lines are skipped. Each row is refused with its reasons (wrong column count, bad or zero
 * address, bad points, unknown pool, the same wallet twice in a pool).
 */
export function checkPointsCsv(input: string | Uint8Array, options: ParsePointsOptions = {}): PointsCsvCheck {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(input, { bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, info: true }) as unknown as typeof records;
  } catch (error) {
    const line = Number((error as { lines?: unknown }).lines ?? 0);
    return { problems: [{ line, message: error instanceof Error ? error.message : String(error) }], rows: [] };
  }
  const fileProblem = (line: number, message: string): PointsCsvCheck => ({ problems: [{ line, message }], rows: [] });
  const [header, ...rows] = records;
  if (header === undefined) return fileProblem(1, "the file is empty: a header wallet,points[,pool] is required");
  const columns = readHeader(header.record);
  if (typeof columns === "string") return fileProblem(header.info.lines, columns);
  if (columns.pool < 0 && options.pool === undefined) return fileProblem(header.info.lines, "no pool column and no pool chosen for the upload");
  if (rows.length === 0) return fileProblem(header.info.lines, "no rows after the header");

  const seen = new Map<string, number>();
  const checked = rows.map(({ record, info }): PointsRowCheck => {
    const line = info.lines;
    const fields = { line, wallet: record[columns.wallet] ?? "", points: record[columns.points] ?? "", pool: (columns.pool < 0 ? options.pool : record[columns.pool]) ?? "" };
    if (record.length !== header.record.length) return { ...fields, errors: [`expected ${header.record.length} fields, got ${record.length}`] };
    const errors: string[] = [];
    const wallet = parseWallet(fields.wallet, errors);
    const points = parsePoints(fields.points, errors);
    const pool = parsePool(fields.pool, errors);
    if (wallet !== undefined && pool !== undefined) {
      const key = `${pool}:${wallet}`;
      const first = seen.get(key);
      if (first !== undefined) errors.push(`${wallet} appears twice in the ${pool} pool (first on line ${first})`);
      else seen.set(key, line);
    }
    if (wallet !== undefined && points !== undefined && pool !== undefined && errors.length === 0) return { ...fields, errors, row: { wallet, points, pool, line } };
    return { ...fields, errors };
  });
  return { problems: [], rows: checked };
}

/**
 * Parses a points CSV (see checkPointsCsv). Throws 400 `INVALID_CSV` listing every bad line.
 */
export function parsePointsCsv(input: string | Uint8Array, options: ParsePointsOptions = {}): PointsRow[] {
  const { problems, rows } = checkPointsCsv(input, options);
  const all = [...problems, ...rows.flatMap((r) => r.errors.map((message) => ({ line: r.line, message })))];
  if (all.length > 0) throw invalidCsv(all);
  return rows.map((r) => r.row!);
}

/** The rows of one pool, as the entries of an upload. */
export function entriesOf(rows: readonly PointsRow[], pool: RewardPool): PointsEntry[] {
  return rows.filter((row) => row.pool === pool).map(({ wallet, points }) => ({ wallet, points }));
}

/** Accounts per updateShares transaction by default (~49k gas each: ~10M gas a batch). */
export const DEFAULT_BATCH_SIZE = 200;

export interface UploadShares {
  readonly distributor: Address;
  /** Must be the distributor's current epoch + 1. */
  readonly epoch: bigint;
  readonly pool: RewardPool;
  readonly entries: readonly PointsEntry[];
  /** Accounts per transaction (DEFAULT_BATCH_SIZE unless given). */
  readonly batchSize?: number;
  /** Called after each batch is mined, before the next is sent (to record progress). */
  readonly onBatch?: (mined: { readonly entries: readonly PointsEntry[]; readonly hash: Hash }) => Promise<void>;
  /** Where the batches' transactions are counted. */
  readonly counter?: TransactionCounter;
}

/**
 * Uploads `entries` as the points of `pool` for `epoch` from `chain.signer` (which needs
 * REWARDS_ROLE), through the key's queue (src/chain/send.ts), `batchSize` accounts per updateShares transaction, one after the other,
 * each waited for (`onBatch` hears of each mined one). Returns the transaction hashes in order. Checks first, sending nothing when
 * they fail: 400 `INVALID_BATCH_SIZE` / `NO_SHARES`; 409 `WRONG_EPOCH` unless `epoch` is the
 * next epoch; 403 `MISSING_ROLE` without REWARDS_ROLE. A reverted batch throws
 * `UPLOAD_FAILED` (502) naming the batches already mined; re-running the upload is safe.
 */
export async function uploadShares(chain: SendChain, upload: UploadShares): Promise<Hash[]> {
  const { distributor, epoch, pool, entries } = upload;
  const batchSize = upload.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw badRequest("INVALID_BATCH_SIZE", `batch size must be a positive integer, got ${batchSize}`);
  if (entries.length === 0) throw badRequest("NO_SHARES", "nothing to upload");
  const { client, signer } = chain;
  const account = signer.account;
  const [current, allowed] = await Promise.all([
    client.readContract({ address: distributor, abi: distributorAbi, functionName: "currentEpoch" }),
    client.readContract({ address: distributor, abi: distributorAbi, functionName: "hasRole", args: [ROLES.REWARDS, account.address] }),
  ]);
  if (epoch !== current + 1n) {
    throw conflict("WRONG_EPOCH", `points can only be uploaded for the next epoch ${current + 1n} (epoch ${current} is current), not ${epoch}`);
  }
  if (!allowed) throw new AppError("MISSING_ROLE", `${account.address} lacks REWARDS_ROLE on the RewardDistributor ${distributor}`, 403);

  const hashes: Hash[] = [];
  for (let from = 0; from < entries.length; from += batchSize) {
    const batch = entries.slice(from, from + batchSize);
    const label = `updateShares batch ${hashes.length + 1} (accounts ${from + 1}–${from + batch.length} of ${entries.length})`;
    const update = {
      address: distributor,
      abi: distributorAbi,
      functionName: "updateShares",
      args: [epoch, POOL_IDS[pool], batch.map((e) => e.wallet), batch.map((e) => e.points)],
    } as const;
    const message = `${label} failed after ${hashes.length} mined batch(es)`;
    const failure = { code: "UPLOAD_FAILED", message, details: { mined: [...hashes] } };
    hashes.push((await succeeded(send(chain, update, { counter: upload.counter }), failure)).hash);
    await upload.onBatch?.({ entries: batch, hash: hashes[hashes.length - 1]! });
  }
  return hashes;
}
