// The jobs as AWS Lambda functions (sst.config.ts schedules them): each handler runs the same job
// code as the scheduler and the cxpt command and returns the run record. A scheduled event's
// `time` is the run's slot, so EventBridge delivering the same event twice runs it once (the
// job_runs row is unique per job and slot); any other invocation is a manual run.
// The stack is built once per Lambda container from the environment (SST links the secrets in as
// variables) and reused by the warm invocations that follow; it indexes by hand, never follows.
import type { Context, ScheduledEvent } from "aws-lambda";
import type { App } from "../app/create.ts";
import { catchUpIndexer } from "../jobs/catch-up.ts";
import type { JobName, JobSummary } from "../jobs/job.ts";
import { runJob } from "../jobs/run.ts";
import type { JobRun, Outcome, Trigger } from "../jobs/runs.ts";

/** What a handler returns: the job's run record, or null for a slot an earlier delivery already ran. */
export type LambdaResult = JobRun | IndexRun | null;

/** The index handler's run: the indexer keeps its own cursor, not a job_runs row. */
export interface IndexRun {
  readonly job: "index";
  readonly trigger: Trigger;
  readonly scheduledFor: string | null;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly outcome: Outcome;
  readonly summary: JobSummary | null;
  readonly error: string | null;
}

/** Anything Lambda may pass: a scheduled event, or a test/console invocation with any payload. */
export type LambdaEvent = Partial<ScheduledEvent> | Record<string, unknown> | null | undefined;

export type LambdaHandler = (event: LambdaEvent, context?: Context) => Promise<LambdaResult>;

export type HandlerName = JobName | "index";

/** The slot a scheduled event is for, if it is one (EventBridge's `detail-type` and ISO `time`). */
export function scheduledSlot(event: LambdaEvent): Date | undefined {
  if (event === null || typeof event !== "object") return undefined;
  const { "detail-type": detailType, time } = event as Partial<ScheduledEvent>;
  if (detailType !== "Scheduled Event" || typeof time !== "string") return undefined;
  const slot = new Date(time);
  return Number.isNaN(slot.getTime()) ? undefined : slot;
}

async function indexRun(app: App, slot: Date | undefined): Promise<IndexRun> {
  const startedAt = new Date().toISOString();
  const base = { job: "index", trigger: slot ? "schedule" : "manual", scheduledFor: slot?.toISOString() ?? null, startedAt } as const;
  try {
    const summary = await catchUpIndexer(app, () => {});
    return { ...base, finishedAt: new Date().toISOString(), outcome: "ok", summary, error: null };
  } catch (error) {
    app.monitor.log.error({ component: "jobs", job: "index", err: error }, "index run failed");
    return { ...base, finishedAt: new Date().toISOString(), outcome: "failed", summary: null, error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * The five handlers over the stack `open` builds (called once, on the first invocation; a failed
 * build is retried by the next one). A failed run is returned as such (outcome `failed`, with its
 * alert raised), not thrown: Lambda's own retry would run it again outside its slot.
 */
export function createHandlers(open: () => Promise<App>): Record<HandlerName, LambdaHandler> & { close(): Promise<void> } {
  let app: Promise<App> | undefined;
  const stack = (): Promise<App> => {
    app ??= open().catch((error: unknown) => {
      app = undefined;
      throw error;
    });
    return app;
  };
  const job = (name: JobName): LambdaHandler => async (event) => {
    const slot = scheduledSlot(event);
    return runJob(await stack(), name, slot ? { trigger: "schedule", scheduledFor: slot } : { trigger: "manual" });
  };
  return {
    settle: job("settle"),
    rewards: job("rewards"),
    reconcile: job("reconcile"),
    monitor: job("monitor"),
    index: async (event) => indexRun(await stack(), scheduledSlot(event)),
    async close() {
      const opened = app;
      app = undefined;
      if (opened) await (await opened).close();
    },
  };
}
