// The job_runs table (migration 0011): one row per run, written when it starts and finished with
// its outcome. A scheduled run's insert is idempotent on (job, scheduled_for).
import type { Queryable } from "../db/db.ts";
import type { Json, JobName, JobSummary } from "./job.ts";

export type Trigger = "schedule" | "manual";
export type Outcome = "ok" | "failed" | "skipped";

export interface JobRun {
  readonly id: string;
  readonly job: JobName;
  readonly trigger: Trigger;
  readonly scheduledFor: string | null;
  readonly startedAt: string;
  /** null while the run is in progress. */
  readonly finishedAt: string | null;
  readonly outcome: Outcome | null;
  readonly summary: JobSummary | null;
  readonly error: string | null;
}

type RunRow = {
  id: unknown;
  job: JobName;
  trigger: Trigger;
  scheduled_for: Date | string | null;
  started_at: Date | string;
  finished_at: Date | string | null;
  outcome: Outcome | null;
  summary: JobSummary | string | null;
  error: string | null;
};

const COLUMNS = "id, job, trigger, scheduled_for, started_at, finished_at, outcome, summary, error";
const iso = (value: Date | string | null): string | null => (value === null ? null : new Date(value).toISOString());

const runOf = (r: RunRow): JobRun => ({
  id: String(r.id),
  job: r.job,
  trigger: r.trigger,
  scheduledFor: iso(r.scheduled_for),
  startedAt: iso(r.started_at)!,
  finishedAt: iso(r.finished_at),
  outcome: r.outcome,
  summary: typeof r.summary === "string" ? (JSON.parse(r.summary) as JobSummary) : r.summary,
  error: r.error,
});

/**
 * Records the start of a run. For a scheduled run already recorded (a second delivery of the same
 * slot) nothing is written and null is returned: that delivery must not run.
 */
export async function startRun(db: Queryable, job: JobName, trigger: Trigger, scheduledFor: Date | null): Promise<JobRun | null> {
  const { rows } = await db.query<RunRow>(
    `insert into job_runs (job, trigger, scheduled_for) values ($1, $2, $3)
     on conflict (job, scheduled_for) where trigger = 'schedule' do nothing returning ${COLUMNS}`,
    [job, trigger, scheduledFor],
  );
  return rows[0] === undefined ? null : runOf(rows[0]);
}

/** Records how run `id` ended. */
export async function finishRun(db: Queryable, id: string, outcome: Outcome, summary: Json | null, error: string | null): Promise<JobRun> {
  const { rows } = await db.query<RunRow>(
    `update job_runs set finished_at = now(), outcome = $2, summary = $3::jsonb, error = $4 where id = $1 returning ${COLUMNS}`,
    [id, outcome, summary === null ? null : JSON.stringify(summary), error],
  );
  return runOf(rows[0]!);
}

/** Runs of `job`, newest first, paged by id (`before`: the last id of the previous page). */
export async function listRuns(db: Queryable, job: JobName, page: { readonly limit: number; readonly before?: string }): Promise<JobRun[]> {
  const { rows } = await db.query<RunRow>(
    `select ${COLUMNS} from job_runs where job = $1 and ($2::bigint is null or id < $2::bigint) order by id desc limit $3`,
    [job, page.before ?? null, page.limit],
  );
  return rows.map(runOf);
}

/** The newest finished run of `job` with outcome ok whose summary contains `match` (jsonb @>). */
export async function lastOkRun(db: Queryable, job: JobName, match: Json = {}): Promise<JobRun | undefined> {
  const { rows } = await db.query<RunRow>(
    `select ${COLUMNS} from job_runs where job = $1 and outcome = 'ok' and summary @> $2::jsonb order by id desc limit 1`,
    [job, JSON.stringify(match)],
  );
  return rows[0] === undefined ? undefined : runOf(rows[0]);
}
