// The stage switch (CHAIN_STAGE and the migration phase): the checks the switch runs are run first
// and shown one by one with their result; switching is possible only once every check passed.
import { useState } from "react";
import { ActionButton } from "../components/ActionButton.tsx";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading, StatusNote } from "../components/Notice.tsx";
import { useApi } from "../lib/session.tsx";
import { useRefreshAdmin, useSettings, type StageCheck, type StageName } from "./data.ts";

const STAGES: readonly StageName[] = ["off", "testnet", "mainnet"];
const PHASES = [0, 1, 2, 3] as const;

/** Each check with ✓ or ✗ and what it found. */
export function CheckList({ report }: { readonly report: StageCheck }) {
  const failed = report.checks.filter((c) => !c.ok).length;
  return (
    <>
      <p className={report.ok ? "note ok" : "note error"} role={report.ok ? "status" : "alert"}>
        {report.checks.length === 0
          ? "Nothing to check: the stage off uses no chain."
          : report.ok
            ? `All ${report.checks.length} checks passed on chain ${report.chainId}.`
            : `${failed} of ${report.checks.length} checks failed on chain ${report.chainId}: the switch would be refused.`}
      </p>
      {report.checks.length > 0 && (
        <ul className="checks" aria-label="Checks">
          {report.checks.map((c, i) => (
            <li key={i} className={c.ok ? "pass" : "fail"}>
              <span aria-hidden="true">{c.ok ? "✓" : "✗"}</span> <span className="visually-hidden">{c.ok ? "passed:" : "failed:"}</span> {c.contract} · {c.check}: {c.message}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

export function ToggleMainnet() {
  const api = useApi();
  const refresh = useRefreshAdmin();
  const settings = useSettings();
  const [target, setTarget] = useState<{ stage: StageName; phase: number } | null>(null);
  const [report, setReport] = useState<StageCheck | null>(null);
  const [done, setDone] = useState<string | null>(null);

  if (settings.error) return <Card title="Stage"><ErrorNote error={settings.error} /></Card>;
  if (!settings.data) return <Card title="Stage"><Loading what="the stage" /></Card>;
  const current = { stage: settings.data.stage, phase: settings.data.phase };
  const chosen = target ?? current;
  const choose = (next: { stage: StageName; phase: number }) => {
    setTarget(next);
    setReport(null);
    setDone(null);
  };
  const check = async () => {
    setDone(null);
    setReport(await api<StageCheck>("/api/v1/admin/stage/check", { body: chosen }));
  };
  const switchStage = async () => {
    await api("/api/v1/admin/stage", { method: "PUT", body: chosen });
    setDone(`Switched to ${chosen.stage}, phase ${chosen.phase}.`);
    setReport(null);
    setTarget(null);
    await refresh();
  };
  const checked = report !== null && report.stage === chosen.stage && report.phase === chosen.phase;
  const same = chosen.stage === current.stage && chosen.phase === current.phase;
  return (
    <Card title="Stage">
      <div className="stack">
        <p>
          Now: <strong>{current.stage}</strong>, phase {current.phase}.
        </p>
        <div className="form-row">
          <label>
            Stage
            <select value={chosen.stage} onChange={(e) => choose({ ...chosen, stage: e.target.value as StageName })}>
              {STAGES.map((s) => (
                <option key={s} value={s}>
                  {s === current.stage ? `${s} (current)` : s}
                </option>
              ))}
            </select>
          </label>
          <label>
            Phase
            <select value={chosen.phase} onChange={(e) => choose({ ...chosen, phase: Number(e.target.value) })}>
              {PHASES.map((p) => (
                <option key={p} value={p}>
                  {chosen.stage === current.stage && p === current.phase ? `${p} (current)` : p}
                </option>
              ))}
            </select>
          </label>
          <ActionButton onAction={check} pendingLabel="Checking…" variant="secondary">
            Run the checks
          </ActionButton>
        </div>
        {report && <CheckList report={report} />}
        <ActionButton onAction={switchStage} disabled={!checked || !report.ok || same} pendingLabel="Switching…" variant="danger">
          {same ? `${chosen.stage}, phase ${chosen.phase} is current` : `Switch to ${chosen.stage}, phase ${chosen.phase}`}
        </ActionButton>
        {!checked && !same && <p className="muted">Run the checks first: the switch is enabled when every check passes.</p>}
        {done && <StatusNote>{done}</StatusNote>}
      </div>
    </Card>
  );
}
