// The monitor job's checks: conditions read from the chain and the database that raise an alert
// while they hold and resolve it once they are gone.
//  - low_balance:<role>  a backend signer (the faucet's included) holds less native gas money than
//                        ALERT_LOW_BALANCE_WEI; low_balance:faucet_cxpt: the faucet runs short of CXPT;
//  - indexer_lag         the indexer cursor is more than ALERT_INDEXER_LAG_BLOCKS behind the head;
//  - tx_failed:<id>      a token transaction was booked as failed (one alert per transaction,
//                        raised once: an operator resolves it after looking at it).
// Checks that need the chain are skipped while it is off. Every check runs even when another one
// fails; `runChecks` then throws, naming the failures, with the whole report in the error.
import { formatEther, type Address } from "viem";
import type { AppContext } from "../app/context.ts";
import type { ChainContext } from "../app/chain.ts";
import { AppError } from "../errors.ts";
import { checkFaucetTokens, type FaucetTokens } from "../faucet/monitor.ts";
import type { AlertSeverity } from "./alerts.ts";

/** The signers whose gas money is watched. */
export const WATCHED_SIGNERS = ["operator", "billing", "settler", "rewards", "relayer", "faucet"] as const;
export type SignerRole = (typeof WATCHED_SIGNERS)[number];

/** Failed transactions alerted per run, oldest first; the rest wait for the next run. */
export const FAILED_TX_BATCH = 100;

/** What one check found: its own fields when it ran, why not when skipped, the error when it failed. */
export type CheckResult<T> = ({ readonly status: "ok" } & T) | { readonly status: "skipped"; readonly reason: string } | { readonly status: "failed"; readonly error: string };

export interface SignerBalance {
  readonly role: SignerRole;
  readonly address: Address;
  readonly balanceWei: string;
  readonly low: boolean;
}

export interface IndexerState {
  readonly chainId: number;
  readonly headBlock: string;
  /** False while the indexer has not stored a cursor for this chain (it never ran here). */
  readonly started: boolean;
  readonly cursorBlock: string | null;
  readonly lagBlocks: string | null;
  readonly behind: boolean;
}

/** What `runChecks` found; JSON as it is (amounts and blocks as decimal strings). */
export interface CheckReport {
  readonly checkedAt: string;
  readonly balances: CheckResult<{ readonly signers: readonly SignerBalance[]; readonly faucet?: FaucetTokens }>;
  readonly indexer: CheckResult<IndexerState>;
  /** The ids of the failed transactions alerted by this run. */
  readonly failedTransactions: CheckResult<{ readonly alerted: readonly string[] }>;
}

const CHAIN_OFF = { status: "skipped", reason: "the chain is off" } as const;

/** Critical when `larger` is more than ten times `smaller` (a balance at a tenth of its threshold, a lag ten times its limit), else a warning. */
const severity = (smaller: bigint, larger: bigint): AlertSeverity => (smaller * 10n < larger ? "critical" : "warning");

async function checkBalances(ctx: AppContext, chain: ChainContext): Promise<{ signers: SignerBalance[]; faucet?: FaucetTokens }> {
  const threshold = ctx.config.monitoring.lowBalanceWei;
  const configured = WATCHED_SIGNERS.flatMap((role) => {
    const signer = chain.signers[role];
    return signer ? [{ role, address: signer.account.address }] : [];
  });
  const signers = await Promise.all(
    configured.map(async ({ role, address }): Promise<SignerBalance> => {
      const balance = await chain.client.getBalance({ address });
      return { role, address, balanceWei: balance.toString(), low: balance < threshold };
    }),
  );
  for (const s of signers) {
    const key = `low_balance:${s.role}`;
    if (!s.low) {
      await ctx.monitor.resolve(key);
      continue;
    }
    const balance = BigInt(s.balanceWei);
    await ctx.monitor.alert({
      key,
      kind: "low_balance",
      severity: severity(balance, threshold),
      message: `The ${s.role} signer ${s.address} holds ${formatEther(balance)} of native gas money, below ${formatEther(threshold)}: fund it`,
      details: { role: s.role, address: s.address, balanceWei: s.balanceWei, thresholdWei: threshold.toString(), chainId: chain.chainId },
    });
  }
  const faucet = await checkFaucetTokens(ctx, chain);
  return faucet === undefined ? { signers } : { signers, faucet };
}

async function checkIndexer(ctx: AppContext, chain: ChainContext): Promise<IndexerState> {
  const limit = BigInt(ctx.config.monitoring.indexerLagBlocks);
  const [head, { rows }] = await Promise.all([
    chain.client.getBlockNumber({ cacheTime: 0 }),
    ctx.db.query<{ block_number: string }>("select block_number::text as block_number from indexer_cursor where chain_id = $1", [chain.chainId]),
  ]);
  const base = { chainId: chain.chainId, headBlock: head.toString() };
  if (!rows[0]) return { ...base, started: false, cursorBlock: null, lagBlocks: null, behind: false };
  const cursor = BigInt(rows[0].block_number);
  const lag = head > cursor ? head - cursor : 0n;
  const behind = lag > limit;
  if (behind) {
    await ctx.monitor.alert({
      key: "indexer_lag",
      kind: "indexer_lag",
      severity: severity(limit, lag),
      message: `The indexer is ${lag} blocks behind the head of chain ${chain.chainId} (more than ${limit})`,
      details: { chainId: chain.chainId, headBlock: head.toString(), cursorBlock: cursor.toString(), lagBlocks: lag.toString(), limitBlocks: limit.toString() },
    });
  } else {
    await ctx.monitor.resolve("indexer_lag");
  }
  return { ...base, started: true, cursorBlock: cursor.toString(), lagBlocks: lag.toString(), behind };
}

type FailedRow = { id: string; account_id: string; type: string; amount_wei: string; tx_hash: string | null; ref: string | null };

/** Alerts the failed transactions no alert was ever raised for (so each is alerted once). */
async function checkFailedTransactions(ctx: AppContext): Promise<{ alerted: string[] }> {
  const { rows } = await ctx.db.query<FailedRow>(
    `select t.id::text as id, t.account_id::text as account_id, t.type, t.amount_wei::text as amount_wei, t.tx_hash, t.ref
       from token_transactions t
      where t.status = 'failed' and not exists (select 1 from alerts a where a.key = 'tx_failed:' || t.id::text)
      order by t.updated_at, t.id limit $1`,
    [FAILED_TX_BATCH],
  );
  for (const row of rows) {
    await ctx.monitor.alert({
      key: `tx_failed:${row.id}`,
      kind: "tx_failed",
      severity: "warning",
      message: `A ${row.type} of ${formatEther(BigInt(row.amount_wei))} CXPT for account ${row.account_id} failed${row.tx_hash ? ` (${row.tx_hash})` : ""}`,
      details: { transactionId: row.id, accountId: row.account_id, type: row.type, amountWei: row.amount_wei, txHash: row.tx_hash, ref: row.ref },
    });
  }
  return { alerted: rows.map((row) => row.id) };
}

/** Runs `work` as one check: its result, or its error as a `failed` result. */
async function guarded<T>(work: () => Promise<T>): Promise<CheckResult<T>> {
  try {
    return { status: "ok", ...(await work()) };
  } catch (error) {
    return { status: "failed", error: error instanceof Error ? error.message.split("\n")[0]! : String(error) };
  }
}

/**
 * Runs every check once (raising and resolving their alerts) and returns what each found. Throws
 * AppError `MONITOR_CHECK_FAILED` (details: the report) when a check could not run, after the
 * others ran, so the job that called it is recorded as failed.
 */
export async function runChecks(ctx: AppContext): Promise<CheckReport> {
  const chain = ctx.chain;
  const [balances, indexer, failedTransactions] = await Promise.all([
    chain ? guarded(() => checkBalances(ctx, chain)) : CHAIN_OFF,
    chain ? guarded(() => checkIndexer(ctx, chain)) : CHAIN_OFF,
    guarded(() => checkFailedTransactions(ctx)),
  ]);
  const report: CheckReport = { checkedAt: new Date().toISOString(), balances, indexer, failedTransactions };
  const failed = Object.entries({ balances, indexer, failedTransactions }).flatMap(([name, result]) => (result.status === "failed" ? [`${name}: ${result.error}`] : []));
  if (failed.length > 0) throw new AppError("MONITOR_CHECK_FAILED", `monitor checks failed: ${failed.join("; ")}`, 502, { report });
  return report;
}
