// The Vault's burn rate: the share of each payment burned, at most 10 % (Vault.MAX_BURN_BPS).
import { useEffect, useState } from "react";
import { ActionButton } from "../components/ActionButton.tsx";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading, StatusNote } from "../components/Notice.tsx";
import { formatBps } from "../lib/format.ts";
import { useApi } from "../lib/session.tsx";
import { describeChange, useRefreshAdmin, useSettings, type ChangeResult } from "./data.ts";

/** Vault.MAX_BURN_BPS: the burn can never exceed 10 %. */
export const MAX_BURN_BPS = 1_000;

/** The burn rate typed in percent as basis points, or why it cannot be one. */
export function burnBpsOf(percent: string): number | string {
  if (!/^\d+(\.\d{1,2})?$/.test(percent.trim())) return "Enter a percentage such as 5 or 2.5 (at most two decimals).";
  const bps = Math.round(Number(percent) * 100);
  return bps > MAX_BURN_BPS ? `The burn rate can be at most ${formatBps(MAX_BURN_BPS)}.` : bps;
}

export function BurnRate() {
  const api = useApi();
  const refresh = useRefreshAdmin();
  const settings = useSettings();
  const current = settings.data?.chain?.burnBps;
  const [percent, setPercent] = useState("");
  const [done, setDone] = useState<string | null>(null);
  useEffect(() => {
    if (current !== undefined) setPercent(String(current / 100));
  }, [current]);

  if (settings.error) return <Card title="Burn rate"><ErrorNote error={settings.error} /></Card>;
  if (!settings.data) return <Card title="Burn rate"><Loading what="the burn rate" /></Card>;
  if (current === undefined) return <Card title="Burn rate"><p className="note">The chain is off: the burn rate lives in the Vault.</p></Card>;
  const bps = burnBpsOf(percent);
  const save = async () => {
    if (typeof bps === "string") throw new Error(bps);
    setDone(describeChange(await api<ChangeResult>("/api/v1/admin/burn-rate", { method: "PUT", body: { burnBps: bps } })));
    await refresh();
  };
  return (
    <Card title="Burn rate">
      <div className="stack">
        <p>
          Now {formatBps(current)} of each payment is burned (at most {formatBps(MAX_BURN_BPS)}).
        </p>
        <div className="form-row">
          <label>
            Burn rate (%)
            <input type="number" min={0} max={MAX_BURN_BPS / 100} step={0.01} value={percent} onChange={(e) => (setPercent(e.target.value), setDone(null))} />
          </label>
          <ActionButton onAction={save} disabled={typeof bps === "string" || bps === current} pendingLabel="Saving…">
            Save burn rate
          </ActionButton>
        </div>
        {typeof bps === "string" && (
          <p className="note error" role="alert">
            {bps}
          </p>
        )}
        {done && <StatusNote>{done}</StatusNote>}
      </div>
    </Card>
  );
}
