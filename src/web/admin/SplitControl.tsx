// The three-way reward split: a slider and a percentage field per share, linked so the three
// always sum to 100 % (moving one rebalances the other two), saved through the Safe and timelock.
import { useEffect, useState } from "react";
import { ActionButton } from "../components/ActionButton.tsx";
import { StatusNote } from "../components/Notice.tsx";
import { formatBps } from "../lib/format.ts";
import { useApi } from "../lib/session.tsx";
import { describeChange, useRefreshAdmin, type ChangeResult, type Split } from "./data.ts";
import { rebalance, SPLIT_KEYS, TOTAL_BPS, type SplitKey } from "./split.ts";

const NAMES: Record<SplitKey, string> = { protocolBps: "Protocol", providersBps: "Providers", usersBps: "Users" };

/** `onSaved` hears of each saved split (the console re-runs its preview: budgets depend on it). */
export function SplitControl({ current, onSaved }: { readonly current: Split; readonly onSaved?: () => void }) {
  const api = useApi();
  const refresh = useRefreshAdmin();
  const [split, setSplit] = useState<Split>(current);
  const [done, setDone] = useState<string | null>(null);
  useEffect(() => setSplit(current), [current]);
  const set = (key: SplitKey, bps: number) => {
    setDone(null);
    setSplit(rebalance(split, key, bps));
  };
  const changed = SPLIT_KEYS.some((k) => split[k] !== current[k]);
  const save = async () => {
    const result = await api<ChangeResult>("/api/v1/admin/split", { method: "PUT", body: split });
    setDone(describeChange(result));
    await refresh();
    onSaved?.();
  };
  return (
    <fieldset className="split">
      <legend>Reward split of each funding</legend>
      {SPLIT_KEYS.map((key) => (
        <div key={key} className="split-row">
          <label>
            {NAMES[key]}
            <input type="range" min={0} max={TOTAL_BPS} step={50} value={split[key]} onChange={(e) => set(key, Number(e.target.value))} />
          </label>
          <span>
            <input
              type="number"
              aria-label={`${NAMES[key]} %`}
              min={0}
              max={100}
              step={0.01}
              value={split[key] / 100}
              onChange={(e) => e.target.value !== "" && set(key, Math.round(Number(e.target.value) * 100))}
            />{" "}
            %
          </span>
        </div>
      ))}
      <p className="muted" aria-live="polite">
        Total {formatBps(SPLIT_KEYS.reduce((sum, k) => sum + split[k], 0))} · on chain now {SPLIT_KEYS.map((k) => formatBps(current[k])).join(" / ")}
      </p>
      <ActionButton onAction={save} disabled={!changed} pendingLabel="Saving the split…">
        Save split
      </ActionButton>
      {done && <StatusNote>{done}</StatusNote>}
    </fieldset>
  );
}
