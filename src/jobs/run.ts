// Runs one job now and records it: a job_runs row, the job metrics, a structured log line, and an
// alert when it fails (resolved by the next successful run). One run of a job at a time: within
// this process, and on PostgreSQL across processes (a transaction-scoped advisory lock, released
// by the database if the process dies), so the cxpt command and the scheduler never overlap.
import type { AppContext } from "../app/context.ts";
import { AppError, conflict, notFound } from "../errors.ts";
import { jobNamed } from "./definitions.ts";
import type { JobDefinition, JobName, JobParams, JobResult, Progress } from "./job.ts";
import { finishRun, startRun, type JobRun, type Trigger } from "./runs.ts";

export interface RunJobOptions {
  readonly trigger: Trigger;
  /** The slot a scheduled run is for (unique per job). */
  readonly scheduledFor?: Date;
  readonly progress?: Progress;
  /** Manual runs only (see JobParams). */
  readonly params?: JobParams;
}

/** Arbitrary first key of the jobs' advisory locks (the second is the job name's hash). */
const JOB_LOCK = 7262618;

const running = new WeakMap<AppContext, Set<JobName>>();

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Runs job `name` and returns its finished run record; null for a scheduled slot already recorded
 * (a second delivery). While the job is already running, a manual run fails and a scheduled one
 * is recorded as skipped.
 * @throws AppError 404 `UNKNOWN_JOB`; 409 `JOB_RUNNING` (manual runs only).
 */
export async function runJob(ctx: AppContext, name: string, options: RunJobOptions): Promise<JobRun | null> {
  const job = jobNamed(name);
  if (job === undefined) throw notFound("UNKNOWN_JOB", `there is no job "${name}"`);
  const busy = running.get(ctx) ?? new Set<JobName>();
  running.set(ctx, busy);
  if (busy.has(job.name)) return alreadyRunning(ctx, job, options);
  busy.add(job.name);
  try {
    return await exclusiveAcrossProcesses(
      ctx,
      job.name,
      () => execute(ctx, job, options),
      () => alreadyRunning(ctx, job, options),
    );
  } finally {
    busy.delete(job.name);
  }
}

/** Whether job `name` is running in this process. */
export const isRunning = (ctx: AppContext, name: JobName): boolean => running.get(ctx)?.has(name) ?? false;

async function exclusiveAcrossProcesses<T>(ctx: AppContext, name: JobName, work: () => Promise<T>, busy: () => Promise<T>): Promise<T> {
  // PGlite is one process's database: the in-process guard is the whole story there.
  if (ctx.db.engine !== "postgres") return work();
  return ctx.db.transaction(async (tx) => {
    const { rows } = await tx.query<{ got: boolean }>("select pg_try_advisory_xact_lock($1, hashtext($2)) as got", [JOB_LOCK, name]);
    return rows[0]!.got ? work() : busy();
  });
}

async function alreadyRunning(ctx: AppContext, job: JobDefinition, options: RunJobOptions): Promise<JobRun | null> {
  if (options.trigger === "manual") throw conflict("JOB_RUNNING", `job ${job.name} is already running`);
  return record(ctx, job, options, async () => ({ outcome: "skipped", summary: { reason: "the previous run was still going" } }));
}

const execute = (ctx: AppContext, job: JobDefinition, options: RunJobOptions) =>
  record(ctx, job, options, () => job.run(ctx, options.progress ?? (() => {}), options.params ?? {}));

async function record(ctx: AppContext, job: JobDefinition, options: RunJobOptions, work: () => Promise<JobResult>): Promise<JobRun | null> {
  const { log, metrics } = ctx.monitor;
  const started = await startRun(ctx.db, job.name, options.trigger, options.scheduledFor ?? null);
  if (started === null) {
    log.info({ component: "jobs", job: job.name, scheduledFor: options.scheduledFor?.toISOString() }, "scheduled run already recorded; this delivery is ignored");
    return null;
  }
  const t0 = performance.now();
  let result: JobResult | undefined;
  let error: unknown;
  try {
    result = await work();
  } catch (caught) {
    error = caught;
  }
  const seconds = (performance.now() - t0) / 1000;
  const outcome = result?.outcome ?? "failed";
  const run = await finishRun(ctx.db, started.id, outcome, result?.summary ?? null, error === undefined ? null : messageOf(error));
  metrics.jobRuns.inc({ job: job.name, outcome });
  metrics.jobDuration.observe({ job: job.name }, seconds);
  const fields = { component: "jobs", job: job.name, run: run.id, trigger: run.trigger, scheduledFor: run.scheduledFor, outcome, durationMs: Math.round(seconds * 1000) };
  if (outcome === "failed") {
    log.error({ ...fields, err: error }, `job ${job.name} failed`);
    await ctx.monitor.alert({
      key: `job_failed:${job.name}`,
      kind: "job_failed",
      severity: "critical",
      message: `job ${job.name} failed: ${run.error}`,
      details: { run: run.id, trigger: run.trigger, ...(error instanceof AppError ? { code: error.code } : {}) },
    });
  } else {
    log.info({ ...fields, summary: run.summary }, `job ${job.name} ${outcome}`);
    if (outcome === "ok") await ctx.monitor.resolve(`job_failed:${job.name}`);
  }
  return run;
}
