// Rewards "run now": the daily rewards job scores whole past days; this runs it with the window
// closed at this moment, so today's served work earns points in an epoch that starts now and
// providers can claim within minutes (POST /api/v1/admin/rewards/run-now, audited).
import { useState } from "react";
import { ActionButton } from "../components/ActionButton.tsx";
import { Card } from "../components/Card.tsx";
import { StatusNote } from "../components/Notice.tsx";
import { useApi } from "../lib/session.tsx";

/** The job run the route answers with (the fields shown here). */
interface RewardsRun {
  readonly outcome: "ok" | "failed" | "skipped" | null;
  readonly summary: Readonly<Record<string, unknown>> | null;
  readonly error: string | null;
}

const STATUS: Readonly<Record<string, string>> = {
  started: "the epoch started: providers and users can claim as it releases",
  waiting: "points uploaded; the epoch starts when the current one ends",
  "already-started": "the epoch was already started",
  empty: "nobody earned anything in the window",
  done: "nothing new since the last closed window",
};

function describeRun(run: RewardsRun): string {
  if (run.outcome === "failed") return `The run failed: ${run.error ?? "no reason given"}`;
  const s = run.summary ?? {};
  if (run.outcome === "skipped") return `Skipped: ${String(s.reason ?? "")}`;
  const status = String(s.status ?? "");
  const window = s.from ? ` Window ${new Date(String(s.from)).toUTCString()} – ${new Date(String(s.to)).toUTCString()}.` : "";
  const who = s.providers !== undefined ? ` ${String(s.providers)} provider(s), ${String(s.users)} user(s).` : "";
  return `${s.epoch !== undefined ? `Epoch ${String(s.epoch)}: ` : ""}${STATUS[status] ?? status}.${window}${who}`;
}

export function RewardsRunNow() {
  const api = useApi();
  const [run, setRun] = useState<RewardsRun | null>(null);
  return (
    <Card title="Rewards epoch">
      <p className="muted">
        The rewards job runs daily and scores whole past days. Run it now to close the window at this moment: today's served work
        earns points in an epoch that starts now.
      </p>
      <ActionButton
        pendingLabel="Running…"
        onAction={async () => {
          setRun(null);
          setRun(await api<RewardsRun>("/api/v1/admin/rewards/run-now", { method: "POST", body: {} }));
        }}
      >
        Run now (close the window now)
      </ActionButton>
      {run === null ? null : run.outcome === "failed" ? (
        <p className="note error" role="alert">
          {describeRun(run)}
        </p>
      ) : (
        <StatusNote>{describeRun(run)}</StatusNote>
      )}
    </Card>
  );
}
