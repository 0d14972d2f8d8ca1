// The wallet's recent transactions sent from these dashboards, kept in this browser per wallet and
// chain (the last RECENT_TXS_KEPT) with their outcome, for the wallet modal's list. The modal follows
// changes through subscribeRecentTxs (also across tabs, through the storage event).
import type { Address, Hash } from "viem";

export interface RecentTx {
  readonly hash: Hash;
  /** The contract function called ("deposit"). */
  readonly label: string;
  readonly status: "pending" | "success" | "reverted";
  /** When it was sent (ms since the epoch). */
  readonly at: number;
}

export const RECENT_TXS_KEPT = 10;

const PREFIX = "cxpt.recent-txs.";
const storageKey = (wallet: Address, chainId: number) => `${PREFIX}${chainId}.${wallet.toLowerCase()}`;
const listeners = new Set<() => void>();

/** The wallet's recent transactions on `chainId`, newest first. */
export function recentTxs(wallet: Address, chainId: number): RecentTx[] {
  try {
    return JSON.parse(localStorage.getItem(storageKey(wallet, chainId)) ?? "[]") as RecentTx[];
  } catch {
    return [];
  }
}

function save(wallet: Address, chainId: number, txs: readonly RecentTx[]): void {
  try {
    localStorage.setItem(storageKey(wallet, chainId), JSON.stringify(txs.slice(0, RECENT_TXS_KEPT)));
  } catch {
    // Storage full or refused: the list is a convenience, the transaction itself is unaffected.
  }
  for (const listener of listeners) listener();
}

/** Records a transaction the wallet just sent. */
export function rememberTx(wallet: Address, chainId: number, tx: { readonly hash: Hash; readonly label: string }): void {
  save(wallet, chainId, [{ ...tx, status: "pending", at: Date.now() }, ...recentTxs(wallet, chainId).filter((t) => t.hash !== tx.hash)]);
}

/** Records how a remembered transaction ended. */
export function settleTx(wallet: Address, chainId: number, hash: Hash, status: RecentTx["status"]): void {
  save(
    wallet,
    chainId,
    recentTxs(wallet, chainId).map((t) => (t.hash === hash ? { ...t, status } : t)),
  );
}

/** Calls `listener` whenever a list changes (here or in another tab); returns the unsubscribe. */
export function subscribeRecentTxs(listener: () => void): () => void {
  listeners.add(listener);
  const fromOtherTab = (event: StorageEvent) => {
    if (event.key?.startsWith(PREFIX)) listener();
  };
  window.addEventListener("storage", fromOtherTab);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("storage", fromOtherTab);
  };
}
