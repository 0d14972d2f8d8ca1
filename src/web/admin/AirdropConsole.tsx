// The AirdropConsole: a points CSV for the next epoch is checked row by row (the report shows each
// line's result and, for good rows, what the account receives), the reward split is tuned, and the
// points are dispatched to RewardDistributor.updateShares with the upload's progress polled live.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { ActionButton } from "../components/ActionButton.tsx";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading, StatusNote } from "../components/Notice.tsx";
import { ProgressBar } from "../components/ProgressBar.tsx";
import { TxLink } from "../components/TxLink.tsx";
import { formatCxpt, formatTime, shortHex } from "../lib/format.ts";
import { formatPeriod } from "../user/subscriptionMath.ts";
import { useApi } from "../lib/session.tsx";
import { adminKeys, useRefreshAdmin, useSettings, type NextEpochReview, type PointsPreview, type UploadProgress, type UploadResult } from "./data.ts";
import { SplitControl } from "./SplitControl.tsx";

type PoolChoice = "" | "providers" | "users";

/** The per-row validation report and each good row's preview. */
export function PointsReport({ preview }: { readonly preview: PointsPreview }) {
  const good = preview.rows.filter((r) => r.ok).length;
  const bad = preview.rows.length - good;
  return (
    <div className="stack">
      {preview.problems.map((p) => (
        <p key={`${p.line}:${p.message}`} className="note error" role="alert">
          Line {p.line}: {p.message}
        </p>
      ))}
      {preview.rows.length > 0 && (
        <p className={bad > 0 ? "note error" : "note ok"} role={bad > 0 ? "alert" : "status"}>
          {good} row{good === 1 ? "" : "s"} ok{bad > 0 ? `, ${bad} refused: fix ${bad === 1 ? "it" : "them"} and choose the file again` : ": ready to dispatch"}.
        </p>
      )}
      {preview.rows.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="muted">Validation report and what each account receives from epoch {preview.epoch}</caption>
            <thead>
              <tr>
                <th scope="col">Line</th>
                <th scope="col">Wallet</th>
                <th scope="col">Pool</th>
                <th scope="col">Points</th>
                <th scope="col">Result</th>
                <th scope="col">Receives</th>
              </tr>
            </thead>
            <tbody>
              {preview.rows.map((r) => (
                <tr key={r.line} className={r.ok ? undefined : "row-bad"}>
                  <td>{r.line}</td>
                  <td className="mono" title={r.wallet}>
                    {shortHex(r.wallet)}
                  </td>
                  <td>{r.pool}</td>
                  <td className="mono">{r.points}</td>
                  <td>{r.ok ? "✓ ok" : `✗ ${r.error ?? "refused"}`}</td>
                  <td>{r.receivesWei === undefined ? "—" : formatCxpt(r.receivesWei)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="muted">
        Pool budgets (pending funding + the Vault's accrued share): providers {formatCxpt(preview.pools.providers.budgetWei)} for {preview.pools.providers.points} points, users{" "}
        {formatCxpt(preview.pools.users.budgetWei)} for {preview.pools.users.points} points.
      </p>
    </div>
  );
}

/** Dispatches the checked CSV and follows the upload's progress until it ends. */
function Dispatch({ epoch, csv, pool }: { readonly epoch: number; readonly csv: string; readonly pool: PoolChoice }) {
  const api = useApi();
  const refresh = useRefreshAdmin();
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<UploadResult | null>(null);
  const progress = useQuery({
    queryKey: adminKeys.progress(epoch),
    queryFn: () => api<UploadProgress>(`/api/v1/admin/rewards/points/${epoch}/progress`),
    enabled: running || result !== null,
    refetchInterval: running ? 400 : false,
  });
  const dispatch = async () => {
    setRunning(true);
    setResult(null);
    try {
      const uploaded = await api<UploadResult>("/api/v1/admin/rewards/points", { body: { epoch, csv, ...(pool ? { pool } : {}) } });
      setResult(uploaded);
    } finally {
      setRunning(false);
      await progress.refetch();
      await refresh();
    }
  };
  const p = progress.data;
  return (
    <div className="stack">
      {/* Once published the epoch's shares are on chain: publishing the same CSV again would only be refused. */}
      <ActionButton onAction={dispatch} pendingLabel={`Publishing epoch ${epoch} shares…`} disabled={result !== null}>
        {result !== null ? `Epoch ${epoch} shares published` : `Publish epoch ${epoch} shares`}
      </ActionButton>
      {p && (running || result) && (
        <div>
          <ProgressBar label="Upload progress" value={p.uploaded} max={p.rows === 0 ? 1 : p.rows} />
          <p className="muted">
            {p.uploaded} of {p.rows} rows of epoch {epoch} on chain{p.done ? ": done" : ""}.
          </p>
        </div>
      )}
      {progress.error && <ErrorNote error={progress.error} />}
      {result && (
        <StatusNote>
          Uploaded epoch {result.epoch}: {result.sent} row{result.sent === 1 ? "" : "s"} sent, {result.unchanged} unchanged, in {result.txHashes.length} transaction
          {result.txHashes.length === 1 ? "" : "s"}
          {result.txHashes.map((hash) => (
            <span key={hash}>
              {" "}
              <TxLink hash={hash} />
            </span>
          ))}
          .
        </StatusNote>
      )}
    </div>
  );
}

/** Where the next epoch's upload stands: under review (the Safe may void it), voided, or not yet uploaded. */
export function ReviewNote({ next }: { readonly next: NextEpochReview }) {
  const delay = next.reviewDelaySeconds > 0 ? formatPeriod(next.reviewDelaySeconds) : null;
  const startable = Date.parse(next.startableAt) <= Date.now() ? "now" : `from ${formatTime(next.startableAt)}`;
  if (next.voided) {
    return (
      <p className="note error" role="status">
        The Safe voided epoch {next.epoch}'s upload: the epoch starts with no budget ({startable}) and its funding waits for the next; the rewards job
        uploads the same window for epoch {next.epoch + 1}.
      </p>
    );
  }
  if (next.uploaded) {
    return (
      <p className="note" role="status">
        Epoch {next.epoch} shares are uploaded{delay ? ` and under review (${delay} after each upload)` : ""}: the epoch can start {startable}
        {next.reviewEndsAt !== null && Date.parse(next.reviewEndsAt) > Date.now() ? "; until then the Safe or a guardian can void the upload" : ""}.
      </p>
    );
  }
  return (
    <p className="muted">
      No shares uploaded for epoch {next.epoch} yet.{delay ? ` An upload is reviewed for ${delay} before the epoch can start; the Safe or a guardian can void it meanwhile.` : ""}
    </p>
  );
}

export function AirdropConsole() {
  const api = useApi();
  const settings = useSettings();
  const [csv, setCsv] = useState<{ name: string; text: string } | null>(null);
  const [pool, setPool] = useState<PoolChoice>("");
  const [preview, setPreview] = useState<PointsPreview | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [checking, setChecking] = useState(false);

  if (settings.error) return <Card title="Airdrop console"><ErrorNote error={settings.error} /></Card>;
  if (!settings.data) return <Card title="Airdrop console"><Loading what="the settings" /></Card>;
  const chain = settings.data.chain;
  if (chain === null) return <Card title="Airdrop console"><p className="note">The chain is off: switch the stage to testnet or mainnet to upload points.</p></Card>;
  const epoch = chain.currentEpoch + 1;

  // The report stays until the next one arrives (a re-check after a split change keeps the dispatch).
  const check = async (text: string, choice: PoolChoice) => {
    setChecking(true);
    setError(undefined);
    try {
      setPreview(await api<PointsPreview>("/api/v1/admin/rewards/points/preview", { body: { epoch, csv: text, ...(choice ? { pool: choice } : {}) } }));
    } catch (failure) {
      setPreview(null);
      setError(failure);
    } finally {
      setChecking(false);
    }
  };
  const choose = async (file: File | undefined) => {
    if (file === undefined) return;
    const text = await file.text();
    setCsv({ name: file.name, text });
    setPreview(null);
    if (text.trim() === "") {
      setError(new Error(`${file.name} is empty: a header wallet,points[,pool] and one row per account are needed.`));
      return;
    }
    await check(text, pool);
  };

  return (
    <Card title="Airdrop console">
      <div className="stack">
        <p className="muted">Points for epoch {epoch} (the next one; epoch {chain.currentEpoch} runs now). CSV header: wallet,points[,pool].</p>
        <ReviewNote next={chain.nextEpoch} />
        <div className="form-row">
          <label>
            Points CSV
            <input type="file" accept=".csv,text/csv" onChange={(e) => void choose(e.target.files?.[0])} />
          </label>
          <label>
            Pool for files without a pool column
            <select
              value={pool}
              onChange={(e) => {
                const choice = e.target.value as PoolChoice;
                setPool(choice);
                setPreview(null);
                if (csv) void check(csv.text, choice);
              }}
            >
              <option value="">(from the file)</option>
              <option value="providers">providers</option>
              <option value="users">users</option>
            </select>
          </label>
        </div>
        {checking && <Loading what={`the report of ${csv?.name ?? "the file"}`} />}
        <ErrorNote error={error} />
        {preview && <PointsReport preview={preview} />}
        <SplitControl current={chain.split} onSaved={() => csv && void check(csv.text, pool)} />
        {preview?.ok && csv && <Dispatch key={`${pool}:${csv.text}`} epoch={epoch} csv={csv.text} pool={pool} />}
      </div>
    </Card>
  );
}
