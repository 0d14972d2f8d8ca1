// The scheduled jobs (GET /api/v1/admin/jobs): each job's schedule, next run and latest runs, and
// "Run now" with live progress: the run's elapsed time while the API works, the job list polled so a
// run started elsewhere shows as running too, and the run's outcome and summary when it ends.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { ActionButton } from "../components/ActionButton.tsx";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading, StatusNote } from "../components/Notice.tsx";
import { formatTime } from "../lib/format.ts";
import { useApi } from "../lib/session.tsx";
import { adminKeys, type Job, type JobRun, type JobsView } from "./data.ts";

/** A run's outcome for people: "ok in 1.2 s", "failed: …", "running". */
export function describeRun(run: JobRun): string {
  if (run.finishedAt === null || run.outcome === null) return "running";
  const seconds = (new Date(run.finishedAt).getTime() - new Date(run.startedAt).getTime()) / 1000;
  const took = `in ${seconds.toLocaleString(undefined, { maximumFractionDigits: 1 })} s`;
  return run.outcome === "failed" ? `failed ${took}: ${run.error ?? "no message"}` : `${run.outcome} ${took}`;
}

/** A run's summary in one line: its plain figures ("batches 1, settled 3"); nested detail stays in the API. */
export function summaryLine(summary: Readonly<Record<string, unknown>> | null): string {
  if (summary === null) return "";
  return Object.entries(summary)
    .filter(([, v]) => ["string", "number", "boolean"].includes(typeof v))
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(", ");
}

/** Seconds since `since`, ticking every 250 ms while mounted. */
function Elapsed({ since }: { readonly since: number }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, []);
  return <>{((now - since) / 1000).toLocaleString(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 })} s</>;
}

function JobRow({ job, onRun }: { readonly job: Job; readonly onRun: (name: string) => Promise<void> }) {
  const [startedAt, setStartedAt] = useState<number | null>(null);
  const last = job.runs[0];
  const run = async () => {
    setStartedAt(Date.now());
    try {
      await onRun(job.name);
    } finally {
      setStartedAt(null);
    }
  };
  return (
    <tr>
      <th scope="row">
        <span className="mono">{job.name}</span>
        <div className="muted small">{job.description}</div>
      </th>
      <td className="mono">{job.schedule}</td>
      <td>{job.nextRunAt ? formatTime(job.nextRunAt) : "—"}</td>
      <td>
        {last ? (
          <>
            <span className={last.outcome === "failed" ? "bad" : last.outcome === "ok" ? "good" : undefined}>{describeRun(last)}</span>
            <div className="muted small">
              {formatTime(last.startedAt)} · {last.trigger}
            </div>
          </>
        ) : (
          <span className="muted">never run</span>
        )}
      </td>
      <td>
        {startedAt !== null ? (
          <span role="status" aria-live="polite">
            Running… <Elapsed since={startedAt} />
          </span>
        ) : job.running ? (
          <span role="status">Running now</span>
        ) : null}
        <ActionButton onAction={run} pendingLabel="Running…" variant="secondary" disabled={job.running}>
          Run {job.name} now
        </ActionButton>
      </td>
    </tr>
  );
}

export function JobsPanel() {
  const api = useApi();
  const queries = useQueryClient();
  const [done, setDone] = useState<string | null>(null);
  const [active, setActive] = useState(0);
  const jobs = useQuery({
    queryKey: adminKeys.jobs,
    queryFn: () => api<JobsView>("/api/v1/admin/jobs?limit=3"),
    // Live while a run is under way here or elsewhere; otherwise every half minute for the next-run times.
    refetchInterval: (query) => (active > 0 || query.state.data?.jobs.some((j) => j.running) ? 1_000 : 30_000),
  });
  const runNow = async (name: string) => {
    setDone(null);
    setActive((n) => n + 1);
    try {
      const run = await api<JobRun>(`/api/v1/admin/jobs/${name}/run`, { method: "POST" });
      const summary = summaryLine(run.summary);
      setDone(`${name}: ${describeRun(run)}${summary ? ` · ${summary}` : ""}`);
    } finally {
      setActive((n) => n - 1);
      await queries.invalidateQueries({ queryKey: adminKeys.jobs });
    }
  };
  return (
    <Card title="Jobs" actions={jobs.data ? <span className="muted">scheduler: {jobs.data.scheduler}</span> : null}>
      {jobs.error ? (
        <ErrorNote error={jobs.error} />
      ) : !jobs.data ? (
        <Loading what="the jobs" />
      ) : (
        <>
          {done && <StatusNote>{done}</StatusNote>}
          <div className="table-wrap">
            <table aria-label="Jobs">
              <thead>
                <tr>
                  <th>Job</th>
                  <th>Schedule (UTC)</th>
                  <th>Next run</th>
                  <th>Last run</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {jobs.data.jobs.map((job) => (
                  <JobRow key={job.name} job={job} onRun={runNow} />
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Card>
  );
}
