// Transactions the API must be told about (a deposit to credit, a plan payment to record, a claim
// to book) are kept in this browser from the moment the wallet hands out their hash until the API
// has taken them. A dashboard opened later tells the API again, so a tab closed (or a network lost)
// between the transaction and the report loses nothing: the API books each hash once.
import type { Address, Hash } from "viem";
import { ApiError, untilConfirmed, type Api } from "./api.ts";

export interface Report {
  readonly txHash: Hash;
  /** What it is, for people ("deposit"). */
  readonly what: string;
  /** The API route that books it, and its body. */
  readonly path: string;
  readonly body: Readonly<Record<string, unknown>>;
  /** When it was kept (ms since the epoch). */
  readonly at: number;
}

/** A report the API could not take for this long is given up (its transaction was most likely dropped). */
export const REPORT_TTL_MS = 7 * 24 * 3600 * 1000;

const storageKey = (wallet: Address) => `cxpt.reports.${wallet.toLowerCase()}`;

/** The wallet's reports not yet taken by the API, oldest first. */
export function pendingReports(wallet: Address, now = Date.now()): Report[] {
  try {
    const kept = JSON.parse(localStorage.getItem(storageKey(wallet)) ?? "[]") as Report[];
    return kept.filter((r) => now - r.at < REPORT_TTL_MS);
  } catch {
    return [];
  }
}

function save(wallet: Address, reports: readonly Report[]): void {
  if (reports.length === 0) localStorage.removeItem(storageKey(wallet));
  else localStorage.setItem(storageKey(wallet), JSON.stringify(reports));
}

/** Keeps `report` until the API takes it. */
export function keepReport(wallet: Address, report: Omit<Report, "at">): void {
  save(wallet, [...pendingReports(wallet).filter((r) => r.txHash !== report.txHash), { ...report, at: Date.now() }]);
}

function dropReport(wallet: Address, txHash: Hash): void {
  save(wallet, pendingReports(wallet).filter((r) => r.txHash !== txHash));
}

/**
 * Whether the API refused `error`'s report for good: the transaction is not what the route books
 * (422) or is booked as something else (409 other than TX_PENDING). A network failure, a 5xx, an
 * expired session or a transaction the node does not know yet are tried again later.
 */
const refusedForGood = (error: unknown) => error instanceof ApiError && (error.status === 422 || (error.status === 409 && error.code !== "TX_PENDING"));

/** Tells the API about `report` (waiting out TX_PENDING) and forgets it once taken or refused for good. */
export async function deliverReport<T>(api: Api, wallet: Address, report: Omit<Report, "at">): Promise<T> {
  try {
    const result = await untilConfirmed(() => api<T>(report.path, { body: report.body }));
    dropReport(wallet, report.txHash);
    return result;
  } catch (error) {
    if (refusedForGood(error)) dropReport(wallet, report.txHash);
    throw error;
  }
}

/** What telling the API about the kept reports came to. */
export interface Redelivery {
  readonly delivered: readonly Report[];
  readonly failed: readonly { readonly report: Report; readonly error: unknown }[];
}

/** Tells the API about every report kept for `wallet`, one after another. */
export async function redeliverReports(api: Api, wallet: Address): Promise<Redelivery> {
  const delivered: Report[] = [];
  const failed: { report: Report; error: unknown }[] = [];
  for (const report of pendingReports(wallet)) {
    try {
      await deliverReport(api, wallet, report);
      delivered.push(report);
    } catch (error) {
      failed.push({ report, error });
    }
  }
  return { delivered, failed };
}
