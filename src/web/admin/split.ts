// The reward split as three linked shares in basis points that always sum to 10,000: setting one
// share gives the rest to the other two in proportion to what they had (evenly when both had none).

export type SplitKey = "protocolBps" | "providersBps" | "usersBps";
export type SplitBps = Readonly<Record<SplitKey, number>>;

export const TOTAL_BPS = 10_000;
export const SPLIT_KEYS: readonly SplitKey[] = ["protocolBps", "providersBps", "usersBps"];

/** `split` with `key` set to `value` (clamped to 0–10,000, whole bps) and the others rebalanced to sum to 10,000. */
export function rebalance(split: SplitBps, key: SplitKey, value: number): SplitBps {
  const set = Math.min(TOTAL_BPS, Math.max(0, Math.round(Number.isFinite(value) ? value : 0)));
  const [a, b] = SPLIT_KEYS.filter((k) => k !== key) as [SplitKey, SplitKey];
  const rest = TOTAL_BPS - set;
  const before = split[a] + split[b];
  const first = before === 0 ? Math.floor(rest / 2) : Math.floor((rest * split[a]) / before);
  return { ...split, [key]: set, [a]: first, [b]: rest - first } as SplitBps;
}

/** Whether the three shares are whole bps from 0 to 10,000 summing to 10,000. */
export const isValidSplit = (split: SplitBps): boolean =>
  SPLIT_KEYS.every((k) => Number.isInteger(split[k]) && split[k] >= 0 && split[k] <= TOTAL_BPS) && SPLIT_KEYS.reduce((sum, k) => sum + split[k], 0) === TOTAL_BPS;
